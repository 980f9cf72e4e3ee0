/*
 * libFuzzer target: what the gate reads from a student and from sshd (gate/command.c,
 * gate/sshenv.c) and what it prints from labd (gate/text.c). Besides "no crash", it
 * checks the promises the gate's safety rests on: a refusal is a non-empty sentence of
 * printable ASCII; an accepted command line holds nothing but words of the table (so
 * no name); the client taken from SSH_CONNECTION is its first two fields; an accepted
 * SSH_USER_AUTH key parses again; text_clean leaves only printable ASCII.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sshkey.h"
#include "gate/command.h"
#include "gate/sshenv.h"
#include "gate/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void check_command(const char *in, size_t size)
{
	static const char *const words[] = { "status", "console", "start", "reboot", "reset",
					     "--yes", "help", "quit", "exit" };
	char msg[GATE_MSG_LEN], *copy, *tok, *save;
	struct gate_cmd c;
	size_t i;

	if (gate_cmd_parse(in, size, &c, msg, sizeof(msg)) < 0) {
		if (msg[0] == '\0' || !printable(msg) || c.op != GATE_OP_NONE) {
			fprintf(stderr, "bad refusal: '%s'\n", msg);
			abort();
		}
		return;
	}
	copy = strndup(in, size);
	if (copy == NULL || strlen(copy) != size)
		abort();             /* an accepted line held a NUL */
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (!strcmp(tok, words[i]))
				break;
		if (i == sizeof(words) / sizeof(words[0])) {
			fprintf(stderr, "accepted the word '%s'\n", tok);
			abort();
		}
	}
	free(copy);
}

static void check_client(const char *s)
{
	char out[SSHENV_CLIENT_MAX];
	const char *sp;

	if (sshenv_client(s, out) < 0) {
		if (out[0] != '\0')
			abort();
		return;
	}
	sp = strchr(out, ' ');
	if (sp == NULL || strchr(sp + 1, ' ') != NULL || strncmp(s, out, strlen(out)) != 0 ||
	    s[strlen(out)] != ' ' || !printable(out))
		abort();
}

static void check_auth(const char *in, size_t size)
{
	struct sshkey k;
	char err[SSHKEY_ERR_LEN], *key = NULL;

	if (sshenv_auth_key(in, size, &key) < 0) {
		if (key != NULL)
			abort();
		return;
	}
	if (sshkey_parse(key, strlen(key), &k, err, sizeof(err)) < 0 || k.comment != NULL) {
		fprintf(stderr, "accepted key does not parse back: %s\n", key);
		abort();
	}
	sshkey_clear(&k);
	free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *s = strndup(in, size), out[64];

	if (s == NULL)
		return 0;
	check_command(in, size);
	check_client(s);
	check_auth(in, size);
	if (!printable(text_clean(s, out, sizeof(out))))
		abort();
	free(s);
	return 0;
}
