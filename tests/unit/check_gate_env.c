/*
 * The gate's pure pieces besides the parser: what it reads from sshd (gate/sshenv.c),
 * the keys line it gives sshd (gate/keys.c) and what it prints from labd's replies
 * (gate/text.c). Refusals are the point: each must fail closed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/proto.h"
#include "common/sshkey.h"
#include "gate/labc.h"
#include "gate/keys.h"
#include "gate/sshenv.h"
#include "gate/text.h"

#define ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3"
#define ED_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC31T08tNOozJUBVtiJruM/AYkucAgC7msp2mdG0Tpj7"

/* ---- SSH_CONNECTION ---- */

START_TEST(gate_client_is_the_first_two_fields)
{
	char out[SSHENV_CLIENT_MAX];

	ck_assert_int_eq(sshenv_client("203.0.113.100 54321 203.0.113.10 2222", out), 0);
	ck_assert_str_eq(out, "203.0.113.100 54321");
	ck_assert_int_eq(sshenv_client("2001:db8::1 1 2001:db8::2 65535", out), 0);
	ck_assert_str_eq(out, "2001:db8::1 1");
	ck_assert_int_eq(sshenv_client("::ffff:203.0.113.7 65535 ::1 22", out), 0);
	ck_assert_str_eq(out, "::ffff:203.0.113.7 65535");
}
END_TEST

static const char *const bad_connections[] = {
	"",
	"203.0.113.100 54321 203.0.113.10",
	"203.0.113.100 54321 203.0.113.10 2222 extra",
	"203.0.113.100  54321 203.0.113.10 2222",
	"203.0.113.100 54321 203.0.113.10 2222 ",
	" 203.0.113.100 54321 203.0.113.10 2222",
	"203.0.113.100 0 203.0.113.10 2222",
	"203.0.113.100 65536 203.0.113.10 2222",
	"203.0.113.100 054321 203.0.113.10 2222",
	"203.0.113.100 -1 203.0.113.10 2222",
	"203.0.113.100 5432a 203.0.113.10 2222",
	"203.0.113 54321 203.0.113.10 2222",
	"alice 54321 203.0.113.10 2222",
	"203.0.113.100;reset 54321 203.0.113.10 2222",
	"203.0.113.100 54321 203.0.113.10 2222\n",
	"203.0.113.100\t54321 203.0.113.10 2222",
	"fe80::1%eth0 54321 203.0.113.10 2222",
};

START_TEST(gate_client_refuses_anything_else)
{
	char out[SSHENV_CLIENT_MAX];

	ck_assert_int_eq(sshenv_client(bad_connections[_i], out), -EINVAL);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(gate_client_refuses_null)
{
	char out[SSHENV_CLIENT_MAX];

	ck_assert_int_eq(sshenv_client(NULL, out), -EINVAL);
}
END_TEST

/* ---- SSH_USER_AUTH ---- */

static void expect_auth(const char *text, size_t len, int want, const char *key)
{
	char *got = (char *)0x1;
	int r = sshenv_auth_key(text, len, &got);

	ck_assert_msg(r == want, "got %d, expected %d for '%s'", r, want, text);
	if (key != NULL)
		ck_assert_str_eq(got, key);
	else
		ck_assert_ptr_null(got);
	free(got);
}

START_TEST(gate_auth_key_is_the_one_publickey_line)
{
	static const char one[] = "publickey " ED "\n";
	static const char no_nl[] = "publickey " ED;
	static const char blank[] = "\n\npublickey " ED "\n\n";

	expect_auth(one, strlen(one), 0, ED);
	expect_auth(no_nl, strlen(no_nl), 0, ED);
	expect_auth(blank, strlen(blank), 0, ED);
}
END_TEST

START_TEST(gate_auth_key_refuses_anything_else)
{
	static const char *const bad[] = {
		"",
		"\n",
		"password\n",
		"keyboard-interactive\n",
		"publickey\n",
		"publickey \n",
		"publickey " ED "\npublickey " ED_B "\n",       /* two keys: which one? */
		"publickey " ED "\npassword\n",                  /* another method too */
		"password\npublickey " ED "\n",
		"Publickey " ED "\n",
		" publickey " ED "\n",
		"publickey ssh-ed25519 AAAAnotakey\n",
		"publickey ssh-ed25519-cert-v01@openssh.com AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8\n",
		"publickey ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDII6BbGIYhvs7nIG\n",
		"publickey " ED "\rpassword\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_auth(bad[i], strlen(bad[i]), -EINVAL, NULL);
	/* A NUL inside: the key must not be read up to it only. */
	expect_auth("publickey " ED "\0x\n", sizeof("publickey " ED "\0x\n") - 1, -EINVAL, NULL);
}
END_TEST

static char tmpdir[64];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vlab-check-gate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	static const char *const files[] = { "auth", "link", "fifo" };
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(gate_auth_file_is_read_strictly)
{
	char path[128], link[128], fifo[128], *key = NULL, *big;
	static const char one[] = "publickey " ED "\n";

	snprintf(path, sizeof(path), "%s/auth", tmpdir);
	write_text(path, one, strlen(one));
	ck_assert_int_eq(sshenv_read_auth(path, &key), 0);
	ck_assert_str_eq(key, ED);
	free(key);

	snprintf(link, sizeof(link), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(sshenv_read_auth(link, &key), -ELOOP);
	ck_assert_ptr_null(key);

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(sshenv_read_auth(fifo, &key), -EINVAL);   /* and does not block */

	ck_assert_int_eq(sshenv_read_auth("/nonexistent/auth", &key), -ENOENT);
	ck_assert_int_eq(sshenv_read_auth(tmpdir, &key), -EINVAL);

	big = malloc(SSHENV_AUTH_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, '\n', SSHENV_AUTH_MAX + 1);
	memcpy(big, one, strlen(one));
	write_text(path, big, SSHENV_AUTH_MAX + 1);
	ck_assert_int_eq(sshenv_read_auth(path, &key), -EFBIG);
	free(big);
}
END_TEST

/* ---- the keys line ---- */

static void parse_key(const char *line, struct sshkey *k)
{
	char err[SSHKEY_ERR_LEN];

	ck_assert_msg(sshkey_parse(line, strlen(line), k, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(gate_keys_line_restricts_the_key_to_the_students_session)
{
	struct sshkey k;
	char *line = NULL;

	parse_key(ED " alice@laptop", &k);
	ck_assert_int_eq(keys_line("/usr/libexec/vlab/vlab-gate", NULL, "alice", &k, &line), 0);
	ck_assert_str_eq(line, "restrict,pty,command=\"/usr/libexec/vlab/vlab-gate session alice\" "
			 ED "\n");
	free(line);
	ck_assert_int_eq(keys_line("/usr/local/libexec/vlab/vlab-gate", "/etc/vlab/lab-2.conf",
				   "s_01-b", &k, &line), 0);
	ck_assert_str_eq(line, "restrict,pty,command=\"/usr/local/libexec/vlab/vlab-gate -c "
			 "/etc/vlab/lab-2.conf session s_01-b\" " ED "\n");
	/* One line: sshd would read a second line as a second key. */
	ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
	free(line);
	sshkey_clear(&k);
}
END_TEST

START_TEST(gate_keys_line_refuses_what_would_need_quoting)
{
	static const char *const bad_paths[] = {
		"vlab-gate", "", "/usr/lib/vlab gate", "/usr/lib/vlab\"gate", "/x/$(id)",
		"/x/`id`", "/x;id", "/x\\y", "/x\ny", "/x'y", "/x/vlab-gate (deleted)",
	};
	static const char *const bad_students[] = {
		"", "Alice", "a b", "../alice", "alice\"", "alice;reset", "-alice",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 33 */, "al\nice",
	};
	struct sshkey k;
	char *line = (char *)0x1;
	size_t i;

	parse_key(ED, &k);
	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		ck_assert_int_eq(keys_line(bad_paths[i], NULL, "alice", &k, &line), -EINVAL);
		ck_assert_ptr_null(line);
		ck_assert_int_eq(keys_line("/usr/bin/vlab-gate", bad_paths[i], "alice", &k, &line),
				 -EINVAL);
	}
	for (i = 0; i < sizeof(bad_students) / sizeof(bad_students[0]); i++)
		ck_assert_int_eq(keys_line("/usr/bin/vlab-gate", NULL, bad_students[i], &k, &line),
				 -EINVAL);
	ck_assert_int_eq(keys_line("/usr/bin/vlab-gate", NULL, NULL, &k, &line), -EINVAL);
	ck_assert_int_eq(keys_line("/usr/bin/vlab-gate", NULL, "alice", NULL, &line), -EINVAL);
	sshkey_clear(&k);
}
END_TEST

/* ---- what the gate prints ---- */

START_TEST(gate_text_keeps_only_printable_ascii)
{
	char out[16];

	ck_assert_str_eq(text_clean("\x1b[31mred\x07", out, sizeof(out)), "?[31mred?");
	ck_assert_str_eq(text_clean("M\xc3\xa4rtin", out, sizeof(out)), "M??rtin");
	ck_assert_str_eq(text_clean("line\r\nnext", out, sizeof(out)), "line??next");
	ck_assert_str_eq(text_clean("0123456789abcdefghij", out, sizeof(out)), "0123456789abcde");
	ck_assert_str_eq(text_clean(NULL, out, sizeof(out)), "");
	ck_assert_str_eq(text_clean("x", out, 1), "");
}
END_TEST

START_TEST(gate_status_line_from_a_reply)
{
	json_object *r = json_tokener_parse("{\"ok\":true,\"student\":\"alice\",\"state\":\"running\","
					    "\"user\":\"student\",\"public_ip\":\"203.0.113.10\","
					    "\"public_port\":20001}");
	char out[TEXT_LINE_MAX];

	ck_assert_str_eq(text_status_line(r, "alice", out, sizeof(out)),
			 "alice: running; ssh -p 20001 student@203.0.113.10");
	json_object_put(r);
	r = json_tokener_parse("{\"ok\":true,\"state\":\"shut off\"}");
	ck_assert_str_eq(text_status_line(r, "alice", out, sizeof(out)), "alice: shut off");
	json_object_put(r);
	r = json_tokener_parse("{\"ok\":true,\"state\":\"\\u001b[2Jgone\",\"public_port\":\"20001\","
			       "\"user\":\"student\",\"public_ip\":\"203.0.113.10\"}");
	ck_assert_str_eq(text_status_line(r, "alice", out, sizeof(out)), "alice: ?[2Jgone");
	json_object_put(r);
	r = json_tokener_parse("{\"ok\":true}");
	ck_assert_str_eq(text_status_line(r, "alice", out, sizeof(out)), "alice: unknown");
	json_object_put(r);
}
END_TEST

/* ---- talking to labd ---- */

START_TEST(gate_requests_carry_exactly_the_protocols_fields)
{
	const struct gate_who who = { "alice", ED, "203.0.113.100 54321" };
	json_object *r = labc_request("self-reset", &who);

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE),
			 "{\"v\":1,\"id\":1,\"op\":\"self-reset\",\"student\":\"alice\","
			 "\"key\":\"" ED "\",\"client\":\"203.0.113.100 54321\"}");
	json_object_put(r);
	r = labc_request("gate-key", &(struct gate_who){ .key = ED });
	ck_assert_str_eq(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE),
			 "{\"v\":1,\"id\":1,\"op\":\"gate-key\",\"key\":\"" ED "\"}");
	json_object_put(r);
}
END_TEST

START_TEST(gate_reads_refusals)
{
	json_object *r = json_tokener_parse("{\"v\":1,\"ok\":false,\"error\":{\"code\":\"busy\","
					    "\"message\":\"the console is in use\"}}");
	const char *code = NULL;

	ck_assert(!labc_ok(r));
	ck_assert_str_eq(proto_reply_error(r, &code), "the console is in use");
	ck_assert_str_eq(code, "busy");
	ck_assert_str_eq(labc_error(r, NULL), "the console is in use");
	json_object_put(r);
	r = json_tokener_parse("{\"v\":1,\"ok\":false,\"error\":{\"code\":7}}");
	ck_assert_ptr_null(proto_reply_error(r, &code));
	ck_assert_str_eq(code, "");
	ck_assert_str_eq(labc_error(r, &code), "the lab refused without saying why");
	json_object_put(r);
	r = json_tokener_parse("{\"v\":1,\"ok\":\"true\"}");
	ck_assert(!labc_ok(r));                 /* a string is not a yes */
	json_object_put(r);
	ck_assert(!labc_ok(NULL));
}
END_TEST

START_TEST(gate_write_all_writes_all_or_says_why)
{
	char big[100000], back[100000];
	int p[2];
	size_t got = 0;
	ssize_t n;

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	if (fork() == 0) {
		_exit(fs_write_all(p[1], big, sizeof(big)) == 0 ? 0 : 1);
	}
	close(p[1]);
	while ((n = read(p[0], back + got, sizeof(back) - got)) > 0)
		got += (size_t)n;
	ck_assert_uint_eq(got, sizeof(big));
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	ck_assert_int_eq(fs_write_all(p[1], "x", 1), -EPIPE);
	close(p[1]);
	ck_assert_int_eq(fs_pwrite_all(1, "x", 1, -1), -EINVAL);
}
END_TEST

Suite *make_gate_env_suite(void);  /* called by check_all.c */

Suite *make_gate_env_suite(void)
{
	Suite *s = suite_create("gate_env");
	TCase *env = tcase_create("sshenv");
	TCase *keys = tcase_create("keys");
	TCase *text = tcase_create("text");
	TCase *labc = tcase_create("labc");

	tcase_add_test(env, gate_client_is_the_first_two_fields);
	tcase_add_loop_test(env, gate_client_refuses_anything_else, 0,
			    (int)(sizeof(bad_connections) / sizeof(bad_connections[0])));
	tcase_add_test(env, gate_client_refuses_null);
	tcase_add_test(env, gate_auth_key_is_the_one_publickey_line);
	tcase_add_test(env, gate_auth_key_refuses_anything_else);
	tcase_add_checked_fixture(env, tmp_setup, tmp_teardown);
	tcase_add_test(env, gate_auth_file_is_read_strictly);
	suite_add_tcase(s, env);

	tcase_add_test(keys, gate_keys_line_restricts_the_key_to_the_students_session);
	tcase_add_test(keys, gate_keys_line_refuses_what_would_need_quoting);
	suite_add_tcase(s, keys);

	tcase_add_test(text, gate_text_keeps_only_printable_ascii);
	tcase_add_test(text, gate_status_line_from_a_reply);
	suite_add_tcase(s, text);

	tcase_add_test(labc, gate_requests_carry_exactly_the_protocols_fields);
	tcase_add_test(labc, gate_reads_refusals);
	tcase_add_test(labc, gate_write_all_writes_all_or_says_why);
	suite_add_tcase(s, labc);
	return s;
}
