/* Roster CSV: RFC 4180 details, header rules, physical line numbers, limits. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/roster.h"
#include "testdata.h"

static char *ed, *edb;	/* real key lines (ed25519, ed25519-b) */

static void keys_load(void)
{
	ed = testdata_key_line("ed25519");
	edb = testdata_key_line("ed25519-b");
}

static void keys_unload(void)
{
	free(ed);
	free(edb);
}

/* A roster text from a format where every %s is the ed25519 key. */
static char *csv(const char *fmt)
{
	char *out = NULL;
	int r;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	r = asprintf(&out, fmt, ed, ed, ed, ed, ed, ed, ed, ed);
#pragma GCC diagnostic pop
	ck_assert_int_ge(r, 0);
	return out;
}

struct result {
	int ret;
	struct student_rec *rows;
	size_t n;
	struct student_errors errs;
};

static struct result parse_text(const char *text, size_t len)
{
	struct result r = { .errs = STUDENT_ERRORS_INIT };

	r.ret = roster_parse(text, len, &r.rows, &r.n, &r.errs);
	if (r.ret == 0)
		ck_assert_uint_eq(r.errs.n, 0);
	else
		ck_assert_ptr_null(r.rows);
	return r;
}

static struct result parse_fmt(const char *fmt)
{
	char *text = csv(fmt);
	struct result r = parse_text(text, strlen(text));

	free(text);
	return r;
}

static struct result load(const char *name)
{
	struct result r = { .errs = STUDENT_ERRORS_INIT };
	char path[512];

	snprintf(path, sizeof(path), "%s/roster/%s", testdata_dir(), name);
	r.ret = roster_load_file(path, &r.rows, &r.n, &r.errs);
	return r;
}

static void result_free(struct result *r)
{
	student_recs_free(r->rows, r->n);
	student_errors_free(&r->errs);
}

static void expect_single_error(struct result *r, unsigned line, const char *needle)
{
	ck_assert_int_eq(r->ret, -EINVAL);
	ck_assert_msg(r->errs.n == 1, "%zu errors, first: %s", r->errs.n,
		      r->errs.n ? r->errs.v[0].message : "-");
	ck_assert_uint_eq(r->errs.v[0].line, line);
	ck_assert_msg(strstr(r->errs.v[0].message, needle) != NULL, "'%s' lacks '%s'",
		      r->errs.v[0].message, needle);
}

START_TEST(roster_accepts_bom_and_crlf)
{
	struct result r = load("class-a.csv");

	ck_assert_msg(r.ret == 0, "%s", r.errs.n ? r.errs.v[0].message : "?");
	ck_assert_uint_eq(r.n, 3);
	ck_assert_str_eq(r.rows[0].id, "alice");
	ck_assert_str_eq(r.rows[1].id, "bob");
	ck_assert_str_eq(r.rows[2].id, "zoe");
	ck_assert_str_eq(r.rows[2].name, "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m");
	ck_assert_str_eq(r.rows[2].email, "zoe@example.org");
	ck_assert_str_eq(r.rows[2].keys[0].type, "ecdsa-sha2-nistp256");
	ck_assert_ptr_null(r.rows[1].email);
	result_free(&r);
}
END_TEST

START_TEST(roster_keeps_quoted_comma_in_name)
{
	struct result r = load("class-a.csv");

	ck_assert_int_eq(r.ret, 0);
	ck_assert_str_eq(r.rows[0].name, "Liddell, Alice");
	ck_assert_str_eq(r.rows[0].email, "alice@example.org");
	result_free(&r);
}
END_TEST

START_TEST(roster_multiple_keys_in_one_field)
{
	struct result r = load("class-a.csv");

	ck_assert_int_eq(r.ret, 0);
	ck_assert_uint_eq(r.rows[1].n_keys, 2);
	ck_assert_str_eq(r.rows[1].keys[0].type, "ssh-ed25519");
	ck_assert_str_eq(r.rows[1].keys[0].comment, "second key");
	ck_assert_str_eq(r.rows[1].keys[1].type, "ssh-rsa");
	result_free(&r);
}
END_TEST

START_TEST(roster_line_numbers_count_embedded_newlines)
{
	struct result r = load("class-a.csv");

	/* bob's quoted key field spans lines 3-4 and a blank line 5 precedes zoe. */
	ck_assert_int_eq(r.ret, 0);
	ck_assert_uint_eq(r.rows[0].line, 2);
	ck_assert_uint_eq(r.rows[1].line, 3);
	ck_assert_uint_eq(r.rows[2].line, 6);
	result_free(&r);
}
END_TEST

START_TEST(roster_reports_every_bad_row_with_line)
{
	static const struct {
		unsigned line;
		const char *needle;
	} want[] = {
		{ 3, "id 'Bob' is not valid" },
		{ 4, "name 'Carol\\x0aSmith' contains control" },
		{ 6, "email 'dave@@example.org'" },
		{ 7, "ssh-rsa key has 1024 bits" },
		{ 8, "duplicate id 'alice' (first on line 2)" },
		{ 9, "2 fields, but the header has 4 columns" },
		{ 10, "key 2: authorized_keys options" },
		{ 12, "no SSH key given" },
	};
	struct result r = load("bad-rows.csv");
	size_t i;

	ck_assert_int_eq(r.ret, -EINVAL);
	ck_assert_ptr_null(r.rows);
	for (i = 0; i < r.errs.n && i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_uint_eq(r.errs.v[i].line, want[i].line);
		ck_assert_msg(strstr(r.errs.v[i].message, want[i].needle) != NULL,
			      "line %u: '%s' lacks '%s'", r.errs.v[i].line,
			      r.errs.v[i].message, want[i].needle);
	}
	ck_assert_uint_eq(r.errs.n, sizeof(want) / sizeof(want[0]));
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_missing_id_column)
{
	struct result r = load("missing-id.csv");

	expect_single_error(&r, 1, "missing required column 'id'");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_missing_key_column)
{
	struct result r = parse_fmt("id,name\nalice,Alice\n");

	expect_single_error(&r, 1, "missing required column 'ssh_key'");
	result_free(&r);
}
END_TEST

START_TEST(roster_header_is_case_insensitive_and_trimmed)
{
	struct result r = parse_fmt("\"  Id \",\" SSH_KEY\", NAME \nalice,%s,Alice\n");

	ck_assert_msg(r.ret == 0, "%s", r.errs.n ? r.errs.v[0].message : "?");
	ck_assert_str_eq(r.rows[0].id, "alice");
	ck_assert_str_eq(r.rows[0].name, "Alice");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_duplicate_column)
{
	struct result r = parse_fmt("id,name,ID,ssh_key\na,A,b,%s\n");

	expect_single_error(&r, 1, "duplicate column 'id' (columns 1 and 3)");
	result_free(&r);
	r = parse_fmt("id,ssh_key,ssh_keys\na,%s,%s\n");
	expect_single_error(&r, 1, "duplicate column 'ssh_keys' (columns 2 and 3)");
	result_free(&r);
}
END_TEST

START_TEST(roster_ignores_unknown_columns)
{
	struct result r = parse_fmt("group,id,ssh_key,seat,\n\"x,\"\"y\"\"\",alice,%s,12,\n");

	ck_assert_msg(r.ret == 0, "%s", r.errs.n ? r.errs.v[0].message : "?");
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.rows[0].id, "alice");
	result_free(&r);
}
END_TEST

START_TEST(roster_keeps_escaped_quotes_in_name)
{
	struct result r = parse_fmt("id,name,ssh_key\nalice,\"Alice \"\"Al\"\" Liddell\",%s\n");

	ck_assert_int_eq(r.ret, 0);
	ck_assert_str_eq(r.rows[0].name, "Alice \"Al\" Liddell");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_row_with_wrong_field_count)
{
	struct result r = parse_fmt("id,name,ssh_key\n\nalice,Alice,%s\nbob,Bob,%s,extra\n");

	expect_single_error(&r, 4, "4 fields, but the header has 3 columns");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_empty_and_header_only)
{
	struct result r = parse_text("", 0);

	expect_single_error(&r, 0, "roster is empty");
	result_free(&r);
	r = parse_text("\xef\xbb\xbf\r\n\r\n", 7);
	expect_single_error(&r, 0, "roster is empty");
	result_free(&r);
	r = load("header-only.csv");
	expect_single_error(&r, 0, "no student rows");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_unclosed_quote_with_line)
{
	struct result r = parse_fmt("id,name,ssh_key\nalice,Alice,%s\nbob,\"Bob,%s\n\n");

	expect_single_error(&r, 3, "never closed");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_stray_quote_with_line)
{
	struct result r = parse_fmt("id,name,ssh_key\nalice,Alice,%s\nbob,Bob \"the\" Builder,%s\n");

	expect_single_error(&r, 3, "malformed CSV");
	result_free(&r);
	r = parse_fmt("id,name,ssh_key\nalice,\"Alice\"x,%s\n");
	expect_single_error(&r, 2, "malformed CSV");
	result_free(&r);
}
END_TEST

START_TEST(roster_accepts_lf_and_no_final_newline)
{
	struct result r = parse_fmt("id,ssh_key\nalice,%s\n\n\nbob,\"%s\"");

	ck_assert_msg(r.ret == 0, "%s", r.errs.n ? r.errs.v[0].message : "?");
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.rows[1].line, 5);
	ck_assert_str_eq(r.rows[1].name, "bob");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_nul_in_field)
{
	char *text = csv("id,name,ssh_key\nalice,Al#ce,%s\n");
	struct result r;

	*strchr(text, '#') = '\0';
	r = parse_text(text, strlen(text) + 1 + strlen(strchr(text, '\0') + 1));
	expect_single_error(&r, 2, "column 'name' contains a NUL byte");
	result_free(&r);
	free(text);
}
END_TEST

START_TEST(roster_refuses_utf16)
{
	struct result r = parse_text("\xff\xfei\0d\0", 6);

	expect_single_error(&r, 0, "UTF-16");
	result_free(&r);
}
END_TEST

START_TEST(roster_refuses_more_than_5000_rows)
{
	size_t cap = 64 + (size_t)(ROSTER_MAX_ROWS + 1) * (strlen(ed) + 16), len, i;
	char *text = malloc(cap);
	struct result r;

	len = (size_t)sprintf(text, "id,ssh_key\n");
	for (i = 0; i < ROSTER_MAX_ROWS; i++)
		len += (size_t)sprintf(text + len, "s%zu,%s\n", i, ed);
	r = parse_text(text, len);
	ck_assert_msg(r.ret == 0, "%s", r.errs.n ? r.errs.v[0].message : "?");
	ck_assert_uint_eq(r.n, ROSTER_MAX_ROWS);
	ck_assert_uint_eq(r.rows[ROSTER_MAX_ROWS - 1].line, ROSTER_MAX_ROWS + 1);
	result_free(&r);

	len += (size_t)sprintf(text + len, "one-more,%s\n", ed);
	r = parse_text(text, len);
	expect_single_error(&r, 0, "more than 5000 student rows");
	result_free(&r);
	free(text);
}
END_TEST

START_TEST(roster_refuses_file_over_4_mib)
{
	char path[] = "/tmp/vlab-roster-XXXXXX";
	size_t want = ROSTER_MAX_BYTES + 1, done = 0;
	char block[4096];
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec *rows;
	size_t n;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	memset(block, ' ', sizeof(block));
	while (done < want) {
		size_t l = want - done < sizeof(block) ? want - done : sizeof(block);

		ck_assert_int_eq(write(fd, block, l), (ssize_t)l);
		done += l;
	}
	close(fd);
	ck_assert_int_eq(roster_load_file(path, &rows, &n, &errs), -EFBIG);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.v[0].line, 0);
	ck_assert_ptr_nonnull(strstr(errs.v[0].message, "larger than 4 MiB"));
	ck_assert_ptr_null(rows);
	student_errors_free(&errs);

	/* Exactly at the limit is read (and refused only for being blank). */
	ck_assert_int_eq(truncate(path, ROSTER_MAX_BYTES), 0);
	ck_assert_int_eq(roster_load_file(path, &rows, &n, &errs), -EINVAL);
	ck_assert_ptr_nonnull(strstr(errs.v[0].message, "roster is empty"));
	student_errors_free(&errs);
	unlink(path);
}
END_TEST

START_TEST(roster_reports_missing_file)
{
	struct result r = load("no-such-roster.csv");

	ck_assert_int_eq(r.ret, -ENOENT);
	ck_assert_uint_eq(r.errs.n, 1);
	ck_assert_uint_eq(r.errs.v[0].line, 0);
	ck_assert_ptr_nonnull(strstr(r.errs.v[0].message, "no-such-roster.csv: No such file"));
	result_free(&r);
}
END_TEST

START_TEST(roster_trims_spaces_around_id_and_email)
{
	struct result r = parse_fmt("id,email,ssh_key\n\" alice \",\" a@example.org\",\" %s \"\n");

	ck_assert_msg(r.ret == 0, "%s", r.errs.n ? r.errs.v[0].message : "?");
	ck_assert_str_eq(r.rows[0].id, "alice");
	ck_assert_str_eq(r.rows[0].email, "a@example.org");
	result_free(&r);
}
END_TEST

START_TEST(roster_duplicate_of_invalid_row_still_reported)
{
	/* Line 2 fails for its key, yet line 3 repeating its id is a second, separate error. */
	struct result r = parse_fmt("id,ssh_key\nalice,ssh-ed25519 AAAA\nalice,%s\n");

	ck_assert_int_eq(r.ret, -EINVAL);
	ck_assert_uint_eq(r.errs.n, 2);
	ck_assert_uint_eq(r.errs.v[0].line, 2);
	ck_assert_uint_eq(r.errs.v[1].line, 3);
	ck_assert_str_eq(r.errs.v[1].message, "duplicate id 'alice' (first on line 2)");
	result_free(&r);
}
END_TEST

Suite *make_roster_suite(void);	/* called by check_all.c */
Suite *make_roster_suite(void)
{
	Suite *s = suite_create("roster");
	TCase *tc = tcase_create("csv");

	tcase_add_checked_fixture(tc, keys_load, keys_unload);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, roster_accepts_bom_and_crlf);
	tcase_add_test(tc, roster_keeps_quoted_comma_in_name);
	tcase_add_test(tc, roster_multiple_keys_in_one_field);
	tcase_add_test(tc, roster_line_numbers_count_embedded_newlines);
	tcase_add_test(tc, roster_reports_every_bad_row_with_line);
	tcase_add_test(tc, roster_refuses_missing_id_column);
	tcase_add_test(tc, roster_refuses_missing_key_column);
	tcase_add_test(tc, roster_header_is_case_insensitive_and_trimmed);
	tcase_add_test(tc, roster_refuses_duplicate_column);
	tcase_add_test(tc, roster_ignores_unknown_columns);
	tcase_add_test(tc, roster_keeps_escaped_quotes_in_name);
	tcase_add_test(tc, roster_refuses_row_with_wrong_field_count);
	tcase_add_test(tc, roster_refuses_empty_and_header_only);
	tcase_add_test(tc, roster_refuses_unclosed_quote_with_line);
	tcase_add_test(tc, roster_refuses_stray_quote_with_line);
	tcase_add_test(tc, roster_accepts_lf_and_no_final_newline);
	tcase_add_test(tc, roster_refuses_nul_in_field);
	tcase_add_test(tc, roster_refuses_utf16);
	tcase_add_test(tc, roster_refuses_more_than_5000_rows);
	tcase_add_test(tc, roster_refuses_file_over_4_mib);
	tcase_add_test(tc, roster_reports_missing_file);
	tcase_add_test(tc, roster_trims_spaces_around_id_and_email);
	tcase_add_test(tc, roster_duplicate_of_invalid_row_still_reported);
	suite_add_tcase(s, tc);
	return s;
}
