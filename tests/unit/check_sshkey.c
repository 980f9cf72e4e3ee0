/* SSH public key lines: what is accepted, what is refused and why, the canonical form. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sshkey.h"

/* Real keys from ssh-keygen; see tests/unit/data/keys/README. */
static char *key_line(const char *name)
{
	const char *dir = getenv("VLAB_TEST_DATA") ? getenv("VLAB_TEST_DATA") : "tests/unit/data";
	char path[512], buf[SSHKEY_LINE_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys/%s.pub", dir, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the source tree)", path);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

/* "TYPE BASE64" of a key file, without its comment. */
static char *key_nocomment(const char *name)
{
	char *l = key_line(name), *sp = strchr(l, ' ');

	sp = strchr(sp + 1, ' ');
	if (sp)
		*sp = '\0';
	return l;
}

static int parse(const char *line, struct sshkey *k, char *err)
{
	err[0] = '\0';
	return sshkey_parse(line, strlen(line), k, err, SSHKEY_ERR_LEN);
}

static void expect_accept(const char *file, const char *type)
{
	char *line = key_line(file), *out = NULL, err[SSHKEY_ERR_LEN];
	struct sshkey k;

	ck_assert_msg(parse(line, &k, err) == 0, "%s: %s", file, err);
	ck_assert_str_eq(k.type, type);
	ck_assert_int_eq(sshkey_format(&k, &out), 0);
	/* ssh-keygen writes the canonical form: re-emitting must not change a byte. */
	ck_assert_str_eq(out, line);
	free(out);
	sshkey_clear(&k);
	free(line);
}

static void expect_refuse(const char *line, size_t len, const char *needle)
{
	char err[SSHKEY_ERR_LEN] = "";
	struct sshkey k;

	ck_assert_int_eq(sshkey_parse(line, len, &k, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
	ck_assert_ptr_null(k.type);
	ck_assert_ptr_null(k.base64);
}

START_TEST(sshkey_accepts_ed25519)
{
	expect_accept("ed25519", "ssh-ed25519");
}
END_TEST

START_TEST(sshkey_accepts_rsa_2048)
{
	expect_accept("rsa2048", "ssh-rsa");
}
END_TEST

START_TEST(sshkey_refuses_rsa_1024)
{
	char *l = key_line("rsa1024");

	expect_refuse(l, strlen(l), "ssh-rsa key has 1024 bits, at least 2048");
	free(l);
}
END_TEST

START_TEST(sshkey_accepts_ecdsa_all_curves)
{
	expect_accept("ecdsa256", "ecdsa-sha2-nistp256");
	expect_accept("ecdsa384", "ecdsa-sha2-nistp384");
	expect_accept("ecdsa521", "ecdsa-sha2-nistp521");
}
END_TEST

START_TEST(sshkey_accepts_sk_ed25519)
{
	expect_accept("sk-ed25519", "sk-ssh-ed25519@openssh.com");
}
END_TEST

START_TEST(sshkey_accepts_sk_ecdsa)
{
	expect_accept("sk-ecdsa256", "sk-ecdsa-sha2-nistp256@openssh.com");
}
END_TEST

START_TEST(sshkey_refuses_sk_ecdsa_on_other_curve)
{
	char *l = key_line("sk-ecdsa-p384-bogus");

	expect_refuse(l, strlen(l), "not a valid sk-ecdsa-sha2-nistp256@openssh.com key");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_options_prefix)
{
	char *l = key_line("ed25519"), buf[SSHKEY_LINE_MAX];

	snprintf(buf, sizeof(buf), "command=\"/bin/sh -c id\" %s", l);
	expect_refuse(buf, strlen(buf), "options");
	snprintf(buf, sizeof(buf), "no-pty %s", l);
	expect_refuse(buf, strlen(buf), "options ('no-pty')");
	snprintf(buf, sizeof(buf), "restrict,pty %s", l);
	expect_refuse(buf, strlen(buf), "options");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_type_mismatch)
{
	char *l = key_line("ed25519"), buf[SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN];
	struct sshkey k;

	snprintf(buf, sizeof(buf), "ssh-rsa%s", strchr(l, ' '));
	ck_assert_int_eq(parse(buf, &k, err), -EINVAL);
	ck_assert_str_eq(err, "type says ssh-rsa but the key inside is ssh-ed25519");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_ecdsa_curve_mismatch)
{
	char *l = key_line("ecdsa384"), buf[SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN];
	struct sshkey k;

	snprintf(buf, sizeof(buf), "ecdsa-sha2-nistp256%s", strchr(l, ' '));
	ck_assert_int_eq(parse(buf, &k, err), -EINVAL);
	ck_assert_str_eq(err, "type says ecdsa-sha2-nistp256 but the key inside is "
			 "ecdsa-sha2-nistp384");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_empty)
{
	expect_refuse("", 0, "empty key");
	expect_refuse("    ", 4, "empty key");
}
END_TEST

START_TEST(sshkey_refuses_unknown_type)
{
	char *l = key_line("ed25519"), buf[SSHKEY_LINE_MAX];

	snprintf(buf, sizeof(buf), "ssh-foo%s", strchr(l, ' '));
	expect_refuse(buf, strlen(buf), "unknown key type 'ssh-foo'");
	expect_refuse("ssh-dss AAAAB3NzaC1kc3MAAACBAP", 29, "key type 'ssh-dss' is not accepted");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_certificate)
{
	char *l = key_line("ed25519"), buf[SSHKEY_LINE_MAX];

	snprintf(buf, sizeof(buf), "ssh-ed25519-cert-v01@openssh.com%s", strchr(l, ' '));
	expect_refuse(buf, strlen(buf), "certificates");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_missing_key_data)
{
	expect_refuse("ssh-ed25519", 11, "no key data");
	expect_refuse("ssh-ed25519   ", 14, "no key data");
}
END_TEST

START_TEST(sshkey_refuses_bad_base64)
{
	char *l = key_nocomment("ed25519"), buf[SSHKEY_LINE_MAX];

	snprintf(buf, sizeof(buf), "%s", l);
	buf[30] = '*';
	expect_refuse(buf, strlen(buf), "not valid base64 ('*'");
	/* A base64 alphabet but a length no encoder produces. */
	snprintf(buf, sizeof(buf), "%s", l);
	buf[strlen(buf) - 1] = '\0';
	expect_refuse(buf, strlen(buf), "not valid base64");
	/* Right length, wrong bytes: the blob's own length fields no longer add up. */
	expect_refuse("ssh-ed25519 QUFBQUFBQUFBQUFB", 28, "not a valid ssh-ed25519 key");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_truncated_blob)
{
	char *l = key_line("ed25519-truncated");

	expect_refuse(l, strlen(l), "not a valid ssh-ed25519 key");
	free(l);
}
END_TEST

/* libssh itself would take this one: only the round trip catches it. */
START_TEST(sshkey_refuses_trailing_bytes_in_blob)
{
	char *l = key_line("ed25519-trailing");

	expect_refuse(l, strlen(l), "trailing");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_embedded_nul)
{
	char *l = key_line("ed25519");
	size_t len = strlen(l);

	l[len - 3] = '\0';	/* inside the comment: still the whole line is refused */
	expect_refuse(l, len, "NUL byte");
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_control_characters)
{
	static const char ctl[] = { '\r', '\n', '\t', 0x1b, 0x7f };
	char *l = key_line("ed25519");
	size_t i, len = strlen(l);

	for (i = 0; i < sizeof(ctl); i++) {
		char *c = strdup(l);

		c[len - 2] = ctl[i];
		expect_refuse(c, len, i == 0 ? "carriage return" : i == 1 ? "line feed" :
			      i == 2 ? "tab" : "control character");
		free(c);
	}
	free(l);
}
END_TEST

START_TEST(sshkey_refuses_line_over_16k)
{
	char *l = key_nocomment("ed25519"), *buf;
	char err[SSHKEY_ERR_LEN];
	size_t len = strlen(l);
	struct sshkey k;

	buf = malloc(SSHKEY_LINE_MAX + 2);
	memcpy(buf, l, len);
	memset(buf + len, 'x', SSHKEY_LINE_MAX + 1 - len);
	buf[len] = ' ';
	/* At the limit: a valid key, its overlong comment dropped. */
	ck_assert_int_eq(sshkey_parse(buf, SSHKEY_LINE_MAX, &k, err, sizeof(err)), 0);
	ck_assert_ptr_null(k.comment);
	sshkey_clear(&k);
	expect_refuse(buf, SSHKEY_LINE_MAX + 1, "16385 bytes long");
	free(buf);
	free(l);
}
END_TEST

START_TEST(sshkey_drops_non_ascii_comment)
{
	char *l = key_nocomment("ed25519"), buf[SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN], *out;
	struct sshkey k;

	snprintf(buf, sizeof(buf), "%s Zo\xc3\xab's laptop", l);
	ck_assert_int_eq(parse(buf, &k, err), 0);
	ck_assert_ptr_null(k.comment);
	ck_assert_int_eq(sshkey_format(&k, &out), 0);
	ck_assert_str_eq(out, l);
	free(out);
	sshkey_clear(&k);
	free(l);
}
END_TEST

START_TEST(sshkey_drops_comment_over_128)
{
	char *l = key_nocomment("ed25519"), buf[SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN];
	char cm[SSHKEY_COMMENT_MAX + 2];
	struct sshkey k;

	memset(cm, 'c', sizeof(cm) - 1);
	cm[sizeof(cm) - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s %s", l, cm);
	ck_assert_int_eq(parse(buf, &k, err), 0);
	ck_assert_ptr_null(k.comment);
	sshkey_clear(&k);
	cm[SSHKEY_COMMENT_MAX] = '\0';	/* exactly 128: kept */
	snprintf(buf, sizeof(buf), "%s %s", l, cm);
	ck_assert_int_eq(parse(buf, &k, err), 0);
	ck_assert_str_eq(k.comment, cm);
	sshkey_clear(&k);
	free(l);
}
END_TEST

START_TEST(sshkey_format_reemits_canonical_spacing)
{
	char *l = key_nocomment("ed25519"), buf[SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN], *out;
	char want[SSHKEY_LINE_MAX];
	struct sshkey k;

	*strchr(l, ' ') = '\0';
	snprintf(buf, sizeof(buf), "  %s    %s   alice  laptop  ", l, l + strlen(l) + 1);
	snprintf(want, sizeof(want), "%s %s alice  laptop", l, l + strlen(l) + 1);
	ck_assert_int_eq(parse(buf, &k, err), 0);
	ck_assert_str_eq(k.comment, "alice  laptop");
	ck_assert_int_eq(sshkey_format(&k, &out), 0);
	ck_assert_str_eq(out, want);
	free(out);
	sshkey_clear(&k);
	free(l);
}
END_TEST

START_TEST(sshkey_list_accepts_crlf_and_blank_lines)
{
	char *a = key_line("ed25519"), *b = key_line("rsa2048"), *c = key_line("sk-ed25519");
	char buf[3 * SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN];
	struct sshkey *keys;
	size_t n;

	snprintf(buf, sizeof(buf), "\r\n%s\r\n\r\n   \n%s\n%s\r\n\n", a, b, c);
	ck_assert_int_eq(sshkey_parse_list(buf, strlen(buf), &keys, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(keys[0].type, "ssh-ed25519");
	ck_assert_str_eq(keys[1].type, "ssh-rsa");
	ck_assert_str_eq(keys[2].type, "sk-ssh-ed25519@openssh.com");
	ck_assert_str_eq(keys[1].comment, "test-rsa2048@vlab");
	sshkey_free_list(keys, n);
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(sshkey_list_names_bad_key_by_position)
{
	char *a = key_line("ed25519"), *b = key_nocomment("ed25519-b");
	char buf[3 * SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN];
	struct sshkey *keys = (struct sshkey *)1;
	size_t n = 99;

	snprintf(buf, sizeof(buf), "%s\n\nssh-rsa%s\n", a, strchr(b, ' '));
	ck_assert_int_eq(sshkey_parse_list(buf, strlen(buf), &keys, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "key 2: type says ssh-rsa but the key inside is ssh-ed25519");
	ck_assert_ptr_null(keys);
	ck_assert_uint_eq(n, 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(sshkey_list_refuses_empty)
{
	char err[SSHKEY_ERR_LEN];
	struct sshkey *keys;
	size_t n;

	ck_assert_int_eq(sshkey_parse_list("", 0, &keys, &n, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no SSH key given");
	ck_assert_int_eq(sshkey_parse_list("\r\n \n\n", 5, &keys, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "no SSH key given");
}
END_TEST

START_TEST(sshkey_list_refuses_more_than_16)
{
	char *a = key_line("ed25519"), *buf, err[SSHKEY_ERR_LEN];
	struct sshkey *keys;
	size_t n, i, len = strlen(a);

	buf = calloc(17, len + 1);
	for (i = 0; i < 17; i++) {
		memcpy(buf + i * (len + 1), a, len);
		buf[i * (len + 1) + len] = '\n';
	}
	ck_assert_int_eq(sshkey_parse_list(buf, 17 * (len + 1), &keys, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "17 SSH keys given, at most 16 are allowed");
	free(buf);
	free(a);
}
END_TEST

START_TEST(sshkey_list_refuses_same_key_twice)
{
	char *a = key_line("ed25519"), *b = key_nocomment("ed25519");
	char buf[3 * SSHKEY_LINE_MAX], err[SSHKEY_ERR_LEN];
	struct sshkey *keys;
	size_t n;

	/* Same blob, different comment: still the same key. */
	snprintf(buf, sizeof(buf), "%s\n%s other\n", a, b);
	ck_assert_int_eq(sshkey_parse_list(buf, strlen(buf), &keys, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "key 2: same key as key 1");
	free(a);
	free(b);
}
END_TEST

Suite *make_sshkey_suite(void);	/* called by check_all.c */
Suite *make_sshkey_suite(void)
{
	Suite *s = suite_create("sshkey");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, sshkey_accepts_ed25519);
	tcase_add_test(tc, sshkey_accepts_rsa_2048);
	tcase_add_test(tc, sshkey_refuses_rsa_1024);
	tcase_add_test(tc, sshkey_accepts_ecdsa_all_curves);
	tcase_add_test(tc, sshkey_accepts_sk_ed25519);
	tcase_add_test(tc, sshkey_accepts_sk_ecdsa);
	tcase_add_test(tc, sshkey_refuses_sk_ecdsa_on_other_curve);
	tcase_add_test(tc, sshkey_refuses_options_prefix);
	tcase_add_test(tc, sshkey_refuses_type_mismatch);
	tcase_add_test(tc, sshkey_refuses_ecdsa_curve_mismatch);
	tcase_add_test(tc, sshkey_refuses_empty);
	tcase_add_test(tc, sshkey_refuses_unknown_type);
	tcase_add_test(tc, sshkey_refuses_certificate);
	tcase_add_test(tc, sshkey_refuses_missing_key_data);
	tcase_add_test(tc, sshkey_refuses_bad_base64);
	tcase_add_test(tc, sshkey_refuses_truncated_blob);
	tcase_add_test(tc, sshkey_refuses_trailing_bytes_in_blob);
	tcase_add_test(tc, sshkey_refuses_embedded_nul);
	tcase_add_test(tc, sshkey_refuses_control_characters);
	tcase_add_test(tc, sshkey_refuses_line_over_16k);
	tcase_add_test(tc, sshkey_drops_non_ascii_comment);
	tcase_add_test(tc, sshkey_drops_comment_over_128);
	tcase_add_test(tc, sshkey_format_reemits_canonical_spacing);
	suite_add_tcase(s, tc);

	tc = tcase_create("list");
	tcase_add_test(tc, sshkey_list_accepts_crlf_and_blank_lines);
	tcase_add_test(tc, sshkey_list_names_bad_key_by_position);
	tcase_add_test(tc, sshkey_list_refuses_empty);
	tcase_add_test(tc, sshkey_list_refuses_more_than_16);
	tcase_add_test(tc, sshkey_list_refuses_same_key_twice);
	suite_add_tcase(s, tc);
	return s;
}
