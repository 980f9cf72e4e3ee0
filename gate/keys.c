/*
 * vlab-gate keys USER TYPE BASE64: sshd's AuthorizedKeysCommand, run as the unprivileged
 * vlab-gate user for every key a client offers. It asks labd which enrolled student owns
 * the key and prints that key with the student's forced command, or prints nothing: no
 * output means sshd lets nobody in with that key, so every doubt ends here in silence.
 * sshd discards what it writes to stderr; reasons go to syslog.
 */
#include "gate/keys.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/id.h"
#include "common/log.h"
#include "common/proto.h"
#include "gate/gate.h"
#include "gate/labc.h"

#define TYPE_CHARS "abcdefghijklmnopqrstuvwxyz0123456789@.-"
#define BASE64_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

static bool path_safe(const char *p)
{
	size_t i;

	if (p == NULL || p[0] != '/' || strlen(p) >= PATH_MAX)
		return false;
	for (i = 0; p[i]; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

int keys_line(const char *exe, const char *config, const char *student,
	      const struct sshkey *key, char **out)
{
	int n;

	*out = NULL;
	if (!path_safe(exe) || (config != NULL && !path_safe(config)) || !id_valid(student) ||
	    key == NULL || key->type == NULL || key->base64 == NULL)
		return -EINVAL;
	/* restrict: no forwarding of any kind, no ~/.ssh/rc; pty: the menu and the console
	 * need one. */
	n = asprintf(out, "restrict,pty,command=\"%s%s%s session %s\" %s %s\n", exe,
		     config ? " -c " : "", config ? config : "", student, key->type, key->base64);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The student labd says owns KEY ("TYPE BASE64"), in STUDENT. 0 or GATE_EXIT_*. */
static int keys_ask_labd(const struct gate_opts *o, const char *key, const char *type,
			 char student[ID_MAX_LEN + 1])
{
	json_object *req = NULL, *reply = NULL;
	const char *s = NULL, *code;
	char *socket = NULL;
	int ret, r;

	ret = gate_socket_path(o, &socket);
	if (ret != GATE_EXIT_OK)
		return ret;
	ret = GATE_EXIT_FAIL;
	req = labc_request("gate-key", &(struct gate_who){ .key = key });
	if (req == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	r = labc_call(socket, req, &reply, NULL);
	if (r < 0) {
		log_warnx("labd at %s: %s", socket, strerror(-r));
		ret = GATE_EXIT_NOCONN;
		goto out;
	}
	if (!labc_ok(reply)) {
		const char *msg = labc_error(reply, &code);

		log_info("keys: labd knows no student for this %s key: %s (%s)", type, msg, code);
		goto out;
	}
	if (proto_get_string(reply, "student", true, &s, NULL) < 0 || !id_valid(s)) {
		log_warnx("labd's gate-key reply has no valid student");
		goto out;
	}
	memcpy(student, s, strlen(s) + 1);
	ret = GATE_EXIT_OK;
out:
	json_object_put(reply);
	json_object_put(req);
	free(socket);
	return ret;
}

int keys_main(const struct gate_opts *o, int argc, char **argv)
{
	char student[ID_MAX_LEN + 1], exe[PATH_MAX], err[SSHKEY_ERR_LEN];
	struct sshkey key = { NULL, NULL, NULL };
	char *offered = NULL, *line = NULL;
	ssize_t n;
	int ret = GATE_EXIT_FAIL;

	log_init("vlab-gate", false, LOG_LVL_INFO);
	if (argc != 4) {
		log_warnx("keys: expected USER TYPE BASE64 (AuthorizedKeysCommand ... keys %%u %%t %%k)");
		return GATE_EXIT_USAGE;
	}
	/* sshd_config's AllowUsers says the same; a second lock costs nothing. */
	if (strcmp(argv[1], GATE_LOGIN) != 0) {
		/* Not quoted: a user name is the client's to choose, bytes and all. */
		log_info("keys: refusing a login other than '%s'", GATE_LOGIN);
		return GATE_EXIT_FAIL;
	}
	/* What sshd passes for %t and %k, and nothing more (a space would start a comment). */
	if (argv[2][strspn(argv[2], TYPE_CHARS)] != '\0' ||
	    argv[3][strspn(argv[3], BASE64_CHARS)] != '\0') {
		log_info("keys: refusing a key whose type or base64 holds other characters");
		goto out;
	}
	if (asprintf(&offered, "%s %s", argv[2], argv[3]) < 0) {
		offered = NULL;
		goto out;
	}
	if (sshkey_parse(offered, strlen(offered), &key, err, sizeof(err)) < 0) {
		log_info("keys: refusing an offered %.40s key: %s", argv[2], err);
		goto out;
	}
	free(offered);
	offered = NULL;
	if (asprintf(&offered, "%s %s", key.type, key.base64) < 0) {
		offered = NULL;
		goto out;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		log_warn("keys: /proc/self/exe");
		goto out;
	}
	exe[n] = '\0';

	labc_deadline(GATE_KEYS_TIMEOUT, "labd did not answer in time; nobody is let in");
	ret = keys_ask_labd(o, offered, key.type, student);
	labc_deadline(0, NULL);
	if (ret != GATE_EXIT_OK)
		goto out;
	ret = GATE_EXIT_FAIL;
	if (keys_line(exe, o->config, student, &key, &line) < 0) {
		log_warnx("keys: cannot write the line for %s (does the path %s or the config "
			  "path hold characters other than A-Z a-z 0-9 / . _ + -?)", student, exe);
		goto out;
	}
	if (fputs(line, stdout) == EOF || fflush(stdout) != 0) {
		log_warn("keys: writing to sshd");
		goto out;
	}
	log_info("key %s: student %s", key.type, student);
	ret = GATE_EXIT_OK;
out:
	free(line);
	free(offered);
	sshkey_clear(&key);
	return ret;
}
