/*
 * Keys from elsewhere, without a network: the --keys-from template (cli/keyurl.c),
 * what an answer means (cli/keyanswer.c), key pairs on disk (cli/keygen.c), and the
 * order of enrolkeys_fill() (cli/enrolkeys.c): every student's files looked at before
 * any is written.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "cli/enrolkeys.h"
#include "cli/keyanswer.h"
#include "cli/keygen.h"
#include "cli/keyurl.h"
#include "testdata.h"

/* ---- the template ---- */

static int lookup_table(void *arg, const char *name, const char **value)
{
	const char *const *t = arg;

	for (; t[0]; t += 2) {
		if (!strcmp(t[0], name)) {
			*value = t[1];
			return 0;
		}
	}
	return -ENOENT;
}

START_TEST(keyurl_needs_https_and_closed_braces)
{
	char err[256];

	ck_assert_int_eq(keyurl_check("https://gitlab.school.example/{username}.keys", err,
				      sizeof(err)), 0);
	ck_assert_int_eq(keyurl_check("HTTPS://h/{a}/{b}", err, sizeof(err)), 0);
	ck_assert_int_eq(keyurl_check("http://gitlab.school.example/{username}.keys", err,
				      sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "https://"));
	ck_assert_int_eq(keyurl_check("file:///etc/passwd", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(keyurl_check("https://h/{username", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not closed"));
	ck_assert_int_eq(keyurl_check("https://h/{a{b}", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(keyurl_check("https://h/username}", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(keyurl_check("https://h/{}.keys", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "needs a column name"));
	/* A roster value never picks the server. */
	ck_assert_int_eq(keyurl_check("https://{username}.example/keys", err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "the server after https:// must be written out"));
	ck_assert_int_eq(keyurl_check("https://x@{host}/keys", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(keyurl_check("https:///{u}.keys", err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(keyurl_percent_encodes_each_value)
{
	static const char *const t[] = { "username", "jean dupont/../admin?x=1#y",
					 "id", "jd", NULL };
	char err[256], *url = NULL;

	ck_assert_int_eq(keyurl_expand("https://h.example/{username}.keys?for={id}",
				       lookup_table, (void *)t, &url, err, sizeof(err)), 0);
	ck_assert_str_eq(url, "https://h.example/jean%20dupont%2F..%2Fadmin%3Fx%3D1%23y.keys"
			      "?for=jd");
	free(url);
}
END_TEST

START_TEST(keyurl_reports_a_missing_column_and_an_empty_value)
{
	static const char *const t[] = { "username", "", NULL };
	char err[256], *url = (char *)"x";

	ck_assert_int_eq(keyurl_expand("https://h/{github}.keys", lookup_table, (void *)t,
				       &url, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(url);
	ck_assert_str_eq(err, "{github}: the roster has no such column");
	ck_assert_int_eq(keyurl_expand("https://h/{username}.keys", lookup_table, (void *)t,
				       &url, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "{username} is empty for this student");
}
END_TEST

START_TEST(keyurl_value_cannot_leave_its_path_segment)
{
	/* Encoded, '@', '/' and ':' cannot make the value a user, a host or a port. */
	static const char *const t[] = { "u", "evil@attacker.example:443/x", NULL };
	char err[256], *url = NULL;

	ck_assert_int_eq(keyurl_expand("https://keys.example/{u}.keys", lookup_table,
				       (void *)t, &url, err, sizeof(err)), 0);
	ck_assert_str_eq(url, "https://keys.example/evil%40attacker.example%3A443%2Fx.keys");
	free(url);
}
END_TEST

/* ---- what an answer means ---- */

static struct keyfetch_answer answer(long status, const char *ct, const char *body)
{
	struct keyfetch_answer a = { .status = status };

	a.content_type = ct ? strdup(ct) : NULL;
	a.body = strdup(body ? body : "");
	a.len = strlen(a.body);
	a.final_url = strdup("https://keys.example/alice.keys");
	return a;
}

static struct keyanswer read_answer(struct keyfetch_answer *a)
{
	struct keyanswer k;

	ck_assert_int_eq(keyanswer_read(a, 64 * 1024, &k), 0);
	keyfetch_answer_clear(a);
	return k;
}

static void expect_why(const struct keyanswer *k, enum keyanswer_kind kind,
		       const char *needle)
{
	ck_assert_int_eq(k->kind, kind);
	ck_assert_ptr_nonnull(k->why);
	ck_assert_msg(strstr(k->why, needle) != NULL, "'%s' lacks '%s'", k->why, needle);
	ck_assert_uint_eq(k->n_keys, 0);
}

START_TEST(keyanswer_takes_every_key_of_a_plain_list)
{
	char *ed = testdata_key_line("ed25519"), *ec = testdata_key_line("ecdsa256"), *body = NULL;
	struct keyfetch_answer a;
	struct keyanswer k;

	/* GitLab's shape: one key a line, a comment, CRLF tolerated, blank lines. */
	ck_assert_int_ge(asprintf(&body, "%s\r\n\n%s\n", ed, ec), 0);
	a = answer(200, "text/plain; charset=utf-8", body);
	k = read_answer(&a);
	ck_assert_int_eq(k.kind, KEYANSWER_KEYS);
	ck_assert_uint_eq(k.n_keys, 2);
	ck_assert_str_eq(k.keys[0].type, "ssh-ed25519");
	ck_assert_str_eq(k.keys[1].type, "ecdsa-sha2-nistp256");
	ck_assert_ptr_null(k.notes);
	ck_assert_ptr_null(k.why);
	keyanswer_clear(&k);
	free(body);
	free(ed);
	free(ec);
}
END_TEST

START_TEST(keyanswer_leaves_out_unusable_lines_with_a_note)
{
	char *ed = testdata_key_line("ed25519"), *weak = testdata_key_line("rsa1024"), *body = NULL;
	struct keyfetch_answer a;
	struct keyanswer k;

	ck_assert_int_ge(asprintf(&body, "%s\n%s\n%s\nnot a key\n", weak, ed, ed), 0);
	a = answer(200, "text/plain", body);
	k = read_answer(&a);
	ck_assert_int_eq(k.kind, KEYANSWER_KEYS);
	ck_assert_uint_eq(k.n_keys, 1);		/* the same key twice counts once */
	ck_assert_ptr_nonnull(k.notes);
	ck_assert_ptr_nonnull(strstr(k.notes, "line 1: ssh-rsa key has 1024 bits"));
	ck_assert_ptr_nonnull(strstr(k.notes, "line 4: "));
	keyanswer_clear(&k);
	free(body);
	free(ed);
	free(weak);
}
END_TEST

START_TEST(keyanswer_with_no_usable_line_is_no_keys_and_says_why)
{
	char *weak = testdata_key_line("rsa1024");
	struct keyfetch_answer a = answer(200, "text/plain", weak);
	struct keyanswer k = read_answer(&a);

	expect_why(&k, KEYANSWER_NONE, "no usable key in the answer (HTTP 200, text/plain");
	ck_assert_ptr_nonnull(strstr(k.why, "line 1: ssh-rsa key has 1024 bits"));
	keyanswer_clear(&k);
	free(weak);
}
END_TEST

START_TEST(keyanswer_keeps_at_most_16_keys)
{
	char *body = NULL, *b64 = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&body, &len);
	struct keyfetch_answer a;
	struct keyanswer k;
	ssh_key key;

	for (i = 0; i < 18; i++) {
		ck_assert_int_eq(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key), SSH_OK);
		ck_assert_int_eq(ssh_pki_export_pubkey_base64(key, &b64), SSH_OK);
		fprintf(f, "ssh-ed25519 %s k%zu\n", b64, i);
		ssh_string_free_char(b64);
		ssh_key_free(key);
	}
	fclose(f);
	a = answer(200, "text/plain", body);
	k = read_answer(&a);
	ck_assert_int_eq(k.kind, KEYANSWER_KEYS);
	ck_assert_uint_eq(k.n_keys, SSHKEY_LIST_MAX);
	ck_assert_ptr_nonnull(strstr(k.notes, "line 17: left out, more than 16 keys"));
	keyanswer_clear(&k);
	free(body);
}
END_TEST

START_TEST(keyanswer_empty_is_no_keys)
{
	struct keyfetch_answer a = answer(200, "text/plain", "\n");
	struct keyanswer k = read_answer(&a);

	expect_why(&k, KEYANSWER_NONE, "an empty answer (HTTP 200, text/plain, 1 byte");
	ck_assert_ptr_nonnull(strstr(k.why, "the account has no SSH key"));
	keyanswer_clear(&k);
}
END_TEST

START_TEST(keyanswer_a_login_page_is_no_keys_not_parsed)
{
	struct keyfetch_answer a = answer(200, "text/html; charset=utf-8",
					  "<!DOCTYPE html><title>Sign in</title>");
	struct keyanswer k;

	free(a.final_url);
	a.final_url = strdup("https://gitlab.school.example/users/sign_in");
	a.redirects = 1;
	k = read_answer(&a);
	expect_why(&k, KEYANSWER_NONE, "a web page, not a list of keys (HTTP 200, text/html");
	ck_assert_ptr_nonnull(strstr(k.why, "after 1 redirect to "
					    "https://gitlab.school.example/users/sign_in"));
	ck_assert_ptr_nonnull(strstr(k.why, "login"));
	keyanswer_clear(&k);

	/* A page served as text/plain is still a page. */
	a = answer(200, "text/plain", "  \n<html><body>Sign in</body></html>");
	k = read_answer(&a);
	expect_why(&k, KEYANSWER_NONE, "a web page");
	keyanswer_clear(&k);
}
END_TEST

START_TEST(keyanswer_4xx_is_no_keys_5xx_is_a_failure)
{
	struct keyfetch_answer a = answer(404, "text/plain", "Not Found");
	struct keyanswer k = read_answer(&a);

	expect_why(&k, KEYANSWER_NONE, "HTTP 404, text/plain, 9 bytes: 'Not Found'");
	keyanswer_clear(&k);
	a = answer(502, NULL, "");
	k = read_answer(&a);
	expect_why(&k, KEYANSWER_FAILED, "HTTP 502, no content type, 0 bytes");
	keyanswer_clear(&k);
}
END_TEST

START_TEST(keyanswer_transfer_failures_are_failures)
{
	struct keyfetch_answer a = { .timed_out = true };
	struct keyanswer k;

	a.error = strdup("Operation timed out after 2001 milliseconds with 0 bytes received");
	k = read_answer(&a);
	expect_why(&k, KEYANSWER_FAILED, "could not fetch it: Operation timed out");
	keyanswer_clear(&k);

	a = (struct keyfetch_answer){ .tls = true };
	a.error = strdup("SSL certificate problem: unable to get local issuer certificate");
	k = read_answer(&a);
	expect_why(&k, KEYANSWER_FAILED, "--ca-file");
	keyanswer_clear(&k);

	a = (struct keyfetch_answer){ .too_large = true, .status = 200 };
	a.error = strdup("the answer is larger than the limit");
	k = read_answer(&a);
	expect_why(&k, KEYANSWER_FAILED, "larger than 64 KiB");
	keyanswer_clear(&k);
}
END_TEST

START_TEST(keyanswer_shows_a_hostile_body_escaped)
{
	struct keyfetch_answer a = answer(403, "text/plain\x1b[2J", "\x1b]0;owned\x07 no");
	struct keyanswer k = read_answer(&a);

	ck_assert_int_eq(k.kind, KEYANSWER_NONE);
	ck_assert_ptr_null(strchr(k.why, '\x1b'));
	ck_assert_ptr_null(strchr(k.why, '\x07'));
	ck_assert_ptr_nonnull(strstr(k.why, "\\x1b]0;owned\\x07 no"));
	keyanswer_clear(&k);
}
END_TEST

/* ---- key pairs on disk ---- */

static char tmpdir[64];

static void tmp_make(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vlab-keygen-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *file_text(const char *dir, const char *name)
{
	char path[512], *s = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	ck_assert_int_ge(getdelim(&s, &len, '\0', f), 0);
	fclose(f);
	return s;
}

static mode_t file_mode(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(keygen_writes_a_private_key_0600_and_its_public_key)
{
	char err[KEYGEN_ERR_LEN], sub[128], *line = NULL, *priv, *pub;
	struct keygen_dir d;

	snprintf(sub, sizeof(sub), "%s/keys", tmpdir);
	ck_assert_int_eq(keygen_dir_open(sub, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(file_mode(tmpdir, "keys"), 0700);
	ck_assert_int_eq(keygen_make(&d, "alice", &line, err, sizeof(err)), 0);
	ck_assert_uint_eq(file_mode(sub, "alice"), 0600);
	priv = file_text(sub, "alice");
	pub = file_text(sub, "alice.pub");
	ck_assert_ptr_nonnull(strstr(priv, "-----BEGIN OPENSSH PRIVATE KEY-----\n"));
	ck_assert_ptr_nonnull(strstr(priv, "-----END OPENSSH PRIVATE KEY-----"));
	ck_assert_int_eq(strncmp(line, "ssh-ed25519 AAAA", 16), 0);
	ck_assert_ptr_nonnull(strstr(line, " alice@vlab"));
	ck_assert_int_eq(strncmp(pub, line, strlen(line)), 0);
	ck_assert_str_eq(pub + strlen(line), "\n");
	/* No temporary file is left behind: only the two. */
	ck_assert_uint_eq(dir_entries(sub), 2);
	free(line);
	free(priv);
	free(pub);
	keygen_dir_close(&d);
}
END_TEST

START_TEST(keygen_never_replaces_an_existing_file)
{
	char err[KEYGEN_ERR_LEN], *line = (char *)"x", *after;
	struct keygen_dir d;
	FILE *f;

	ck_assert_int_eq(keygen_dir_open(tmpdir, &d, err, sizeof(err)), 0);
	f = fopen(strcat(strcpy((char[128]){ 0 }, tmpdir), "/bob"), "w");
	fputs("the teacher's own file\n", f);
	fclose(f);
	ck_assert_int_eq(keygen_make(&d, "bob", &line, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_null(line);
	ck_assert_ptr_nonnull(strstr(err, "/bob: exists; it is not replaced"));
	after = file_text(tmpdir, "bob");
	ck_assert_str_eq(after, "the teacher's own file\n");
	ck_assert_ptr_null(file_text(tmpdir, "bob.pub"));
	ck_assert_uint_eq(dir_entries(tmpdir), 1);
	free(after);
	keygen_dir_close(&d);
}
END_TEST

START_TEST(keygen_probe_tells_none_pair_and_half_pairs)
{
	char err[KEYGEN_ERR_LEN], *made = NULL, *found = NULL, *other = NULL, path[256];
	struct keygen_dir d;

	ck_assert_int_eq(keygen_dir_open(tmpdir, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(keygen_probe(&d, "carol", &found, err, sizeof(err)), KEYGEN_NONE);
	ck_assert_int_eq(keygen_make(&d, "carol", &made, err, sizeof(err)), 0);
	ck_assert_int_eq(keygen_probe(&d, "carol", &found, err, sizeof(err)), KEYGEN_PAIR);
	ck_assert_str_eq(found, made);
	free(found);

	/* Only the public half: not a pair labctl made. */
	snprintf(path, sizeof(path), "%s/carol", tmpdir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(keygen_probe(&d, "carol", &found, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "/carol.pub exists but "));

	/* Two halves of different pairs. */
	ck_assert_int_eq(keygen_make(&d, "dave", &other, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/dave", tmpdir);
	ck_assert_int_eq(link(path, strcat(strcpy((char[256]){ 0 }, tmpdir), "/carol")), 0);
	ck_assert_int_eq(keygen_probe(&d, "carol", &found, err, sizeof(err)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "are not a key pair"));
	ck_assert_ptr_null(found);

	ck_assert_int_eq(keygen_remove(&d, "carol"), 0);
	ck_assert_int_eq(keygen_probe(&d, "carol", &found, err, sizeof(err)), KEYGEN_NONE);
	free(made);
	free(other);
	keygen_dir_close(&d);
}
END_TEST

START_TEST(keygen_dir_must_be_a_directory)
{
	char err[KEYGEN_ERR_LEN], path[128];
	struct keygen_dir d;
	FILE *f;

	snprintf(path, sizeof(path), "%s/plain", tmpdir);
	f = fopen(path, "w");
	fclose(f);
	ck_assert_int_eq(keygen_dir_open(path, &d, err, sizeof(err)), -ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, "plain: not a directory"));
}
END_TEST

/* ---- the order of enrolkeys_fill() ---- */

static void roster_of(const char *text, struct roster *r)
{
	static const struct roster_opts o = { .keys_elsewhere = true };
	struct student_errors errs = STUDENT_ERRORS_INIT;

	ck_assert_int_eq(roster_read(text, strlen(text), &o, r, &errs), 0);
	student_errors_free(&errs);
}

START_TEST(enrolkeys_makes_pairs_for_the_keyless_only_then_reuses_them)
{
	struct enrolkeys_opts o = { .generate_dir = tmpdir };
	struct student_errors errs = STUDENT_ERRORS_INIT, notes = STUDENT_ERRORS_INIT;
	struct enrolkeys_done done = ENROLKEYS_DONE_INIT;
	char *ed = testdata_key_line("ed25519"), *text = NULL, *pub;
	struct roster r;

	ck_assert_int_ge(asprintf(&text, "id,name,ssh_key\nalice,Alice,%s\nbob,Bob,\n"
				  "carol,Carol,\n", ed), 0);
	roster_of(text, &r);
	ck_assert_int_eq(enrolkeys_fill(&r, &o, &done, &errs, &notes), 0);
	ck_assert_uint_eq(done.n_generated, 2);
	ck_assert_uint_eq(r.recs[1].n_keys, 1);
	ck_assert_ptr_null(file_text(tmpdir, "alice"));	/* she has her own key */
	pub = file_text(tmpdir, "bob.pub");
	ck_assert_int_eq(strncmp(pub, "ssh-ed25519 ", 12), 0);
	ck_assert_ptr_nonnull(strstr(pub, r.recs[1].keys[0].base64));
	free(pub);
	enrolkeys_done_free(&done);
	roster_free(&r);

	/* The same roster again: the pairs handed out are used, none is made. */
	roster_of(text, &r);
	ck_assert_int_eq(enrolkeys_fill(&r, &o, &done, &errs, &notes), 0);
	ck_assert_uint_eq(done.n_generated, 0);
	ck_assert_uint_eq(done.n_reused, 2);
	ck_assert_uint_eq(errs.n, 0);
	enrolkeys_done_free(&done);
	roster_free(&r);
	free(text);
	free(ed);
}
END_TEST

START_TEST(enrolkeys_writes_nothing_when_one_student_cannot_have_a_pair)
{
	struct enrolkeys_opts o = { .generate_dir = tmpdir };
	struct student_errors errs = STUDENT_ERRORS_INIT, notes = STUDENT_ERRORS_INIT;
	struct enrolkeys_done done = ENROLKEYS_DONE_INIT;
	struct roster r;
	char path[256];
	FILE *f;

	/* A stray dave.pub: dave cannot have a pair, so nobody gets one. */
	snprintf(path, sizeof(path), "%s/dave.pub", tmpdir);
	f = fopen(path, "w");
	fputs("ssh-ed25519 AAAA\n", f);
	fclose(f);
	roster_of("id,name\nbob,Bob\ndave,Dave\nerin,Erin\n", &r);
	ck_assert_int_eq(enrolkeys_fill(&r, &o, &done, &errs, &notes), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.v[0].line, 3);
	ck_assert_ptr_nonnull(strstr(errs.v[0].message, "dave: --generate-keys: "));
	ck_assert_ptr_nonnull(strstr(errs.v[0].message, "/dave.pub exists but "));
	ck_assert_uint_eq(dir_entries(tmpdir), 1);
	ck_assert_uint_eq(done.n_generated, 0);
	enrolkeys_done_free(&done);
	roster_free(&r);
	student_errors_free(&errs);
}
END_TEST

START_TEST(enrolkeys_undo_removes_only_the_new_pairs)
{
	struct enrolkeys_opts o = { .generate_dir = tmpdir };
	struct student_errors errs = STUDENT_ERRORS_INIT, notes = STUDENT_ERRORS_INIT;
	struct enrolkeys_done done = ENROLKEYS_DONE_INIT;
	char err[KEYGEN_ERR_LEN], *line;
	struct keygen_dir d;
	struct roster r;

	ck_assert_int_eq(keygen_dir_open(tmpdir, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(keygen_make(&d, "bob", &line, err, sizeof(err)), 0);
	free(line);
	keygen_dir_close(&d);
	roster_of("id\nbob\nerin\n", &r);
	ck_assert_int_eq(enrolkeys_fill(&r, &o, &done, &errs, &notes), 0);
	ck_assert_uint_eq(done.n_reused, 1);
	ck_assert_uint_eq(done.n_generated, 1);
	ck_assert_uint_eq(dir_entries(tmpdir), 4);
	enrolkeys_undo(&r, &done);
	ck_assert_uint_eq(dir_entries(tmpdir), 2);	/* bob's, from before, stay */
	ck_assert_uint_eq(file_mode(tmpdir, "bob"), 0600);
	enrolkeys_done_free(&done);
	roster_free(&r);
}
END_TEST

Suite *make_keys_suite(void);	/* called by check_all.c */
Suite *make_keys_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *url = tcase_create("keyurl");
	TCase *ans = tcase_create("keyanswer");
	TCase *gen = tcase_create("keygen");

	tcase_add_test(url, keyurl_needs_https_and_closed_braces);
	tcase_add_test(url, keyurl_percent_encodes_each_value);
	tcase_add_test(url, keyurl_reports_a_missing_column_and_an_empty_value);
	tcase_add_test(url, keyurl_value_cannot_leave_its_path_segment);
	suite_add_tcase(s, url);

	tcase_set_timeout(ans, 30);
	tcase_add_test(ans, keyanswer_takes_every_key_of_a_plain_list);
	tcase_add_test(ans, keyanswer_leaves_out_unusable_lines_with_a_note);
	tcase_add_test(ans, keyanswer_with_no_usable_line_is_no_keys_and_says_why);
	tcase_add_test(ans, keyanswer_keeps_at_most_16_keys);
	tcase_add_test(ans, keyanswer_empty_is_no_keys);
	tcase_add_test(ans, keyanswer_a_login_page_is_no_keys_not_parsed);
	tcase_add_test(ans, keyanswer_4xx_is_no_keys_5xx_is_a_failure);
	tcase_add_test(ans, keyanswer_transfer_failures_are_failures);
	tcase_add_test(ans, keyanswer_shows_a_hostile_body_escaped);
	suite_add_tcase(s, ans);

	tcase_set_timeout(gen, 30);
	tcase_add_checked_fixture(gen, tmp_make, tmp_remove);
	tcase_add_test(gen, keygen_writes_a_private_key_0600_and_its_public_key);
	tcase_add_test(gen, keygen_never_replaces_an_existing_file);
	tcase_add_test(gen, keygen_probe_tells_none_pair_and_half_pairs);
	tcase_add_test(gen, keygen_dir_must_be_a_directory);
	tcase_add_test(gen, enrolkeys_makes_pairs_for_the_keyless_only_then_reuses_them);
	tcase_add_test(gen, enrolkeys_writes_nothing_when_one_student_cannot_have_a_pair);
	tcase_add_test(gen, enrolkeys_undo_removes_only_the_new_pairs);
	suite_add_tcase(s, gen);
	return s;
}
