/*
 * libFuzzer target: common/sshkey.c. The input is one key line for sshkey_parse() and
 * a whole ssh_keys field for sshkey_parse_list(). Besides "no crash", it checks what
 * the header promises: an error always comes with a message, and a parsed key
 * re-emitted by sshkey_format() parses back to the same key (labd stores the
 * re-emitted form and parses it again at every seed rebuild).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* KEY re-emitted must parse back to itself. */
static void check_roundtrip(const struct sshkey *key)
{
	struct sshkey back = { 0 };
	char err[SSHKEY_ERR_LEN];
	char *line = NULL;

	if (sshkey_format(key, &line) < 0)
		abort();
	if (sshkey_parse(line, strlen(line), &back, err, sizeof(err)) < 0) {
		fprintf(stderr, "re-emitted key does not parse: %s\n  %s\n", err, line);
		abort();
	}
	if (!str_eq(key->type, back.type) || !str_eq(key->base64, back.base64) ||
	    !str_eq(key->comment, back.comment)) {
		fprintf(stderr, "re-emitted key parses to a different key:\n  %s\n", line);
		abort();
	}
	sshkey_clear(&back);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct sshkey key = { 0 }, *keys = NULL;
	char err[SSHKEY_ERR_LEN];
	size_t n = 0, i;
	int r;

	err[0] = '\0';
	r = sshkey_parse(s, size, &key, err, sizeof(err));
	if (r == 0) {
		if (!key.type || !key.base64)
			abort();
		check_roundtrip(&key);
		sshkey_clear(&key);
	} else if (err[0] == '\0') {
		fprintf(stderr, "sshkey_parse returned %d with no message\n", r);
		abort();
	}

	err[0] = '\0';
	r = sshkey_parse_list(s, size, &keys, &n, err, sizeof(err));
	if (r == 0) {
		if (n < 1 || n > SSHKEY_LIST_MAX || !keys)
			abort();
		for (i = 0; i < n; i++)
			check_roundtrip(&keys[i]);
		sshkey_free_list(keys, n);
	} else if (err[0] == '\0' || keys || n) {
		fprintf(stderr, "sshkey_parse_list returned %d: message '%s', %zu keys\n", r,
			err, n);
		abort();
	}
	return 0;
}
