/* Student rows: field rules, every error with its line, duplicate ids in a batch. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/id.h"
#include "common/student.h"

static char *key;	/* a real ed25519 key line, read once per test */

static void key_load(void)
{
	const char *dir = getenv("VLAB_TEST_DATA") ? getenv("VLAB_TEST_DATA") : "tests/unit/data";
	char path[512], buf[SSHKEY_LINE_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys/ed25519.pub", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the source tree)", path);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	key = strdup(buf);
}

static void key_unload(void)
{
	free(key);
	key = NULL;
}

/* Validate one row expected to fail with exactly one error containing needle. */
static void expect_one_error(const char *id, const char *name, const char *email,
			     const char *keys, const char *needle)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;

	ck_assert_int_eq(student_validate(4, id, name, email, keys, &rec, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.v[0].line, 4);
	ck_assert_msg(strstr(errs.v[0].message, needle) != NULL, "'%s' lacks '%s'",
		      errs.v[0].message, needle);
	ck_assert_ptr_null(rec.id);
	ck_assert_ptr_null(rec.keys);
	student_errors_free(&errs);
}

static void expect_ok(const char *id, const char *name, const char *email)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;

	ck_assert_msg(student_validate(4, id, name, email, key, &rec, &errs) == 0, "%s",
		      errs.n ? errs.v[0].message : "");
	student_rec_clear(&rec);
}

START_TEST(student_accepts_row_and_name_defaults_to_id)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;

	ck_assert_int_eq(student_validate(9, "alice", NULL, "", key, &rec, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_uint_eq(rec.line, 9);
	ck_assert_str_eq(rec.id, "alice");
	ck_assert_str_eq(rec.name, "alice");
	ck_assert_ptr_null(rec.email);
	ck_assert_uint_eq(rec.n_keys, 1);
	ck_assert_str_eq(rec.keys[0].type, "ssh-ed25519");
	student_rec_clear(&rec);
}
END_TEST

START_TEST(student_keeps_name_and_email)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;

	ck_assert_int_eq(student_validate(2, "bob-2", "Bob Builder", "bob@example.org", key,
					  &rec, &errs), 0);
	ck_assert_str_eq(rec.name, "Bob Builder");
	ck_assert_str_eq(rec.email, "bob@example.org");
	student_rec_clear(&rec);
}
END_TEST

START_TEST(student_refuses_id_with_slash)
{
	expect_one_error("../etc", NULL, NULL, key, "id '../etc' is not valid");
	expect_one_error("a/b", NULL, NULL, key, "id 'a/b' is not valid");
}
END_TEST

START_TEST(student_refuses_uppercase_and_long_id)
{
	char id[ID_MAX_LEN + 2];

	expect_one_error("Alice", NULL, NULL, key, "id 'Alice' is not valid");
	expect_one_error("-alice", NULL, NULL, key, "is not valid");
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	expect_one_error(id, NULL, NULL, key, "is not valid");
	id[ID_MAX_LEN] = '\0';
	expect_ok(id, NULL, NULL);
}
END_TEST

START_TEST(student_refuses_missing_id)
{
	expect_one_error(NULL, "Nobody", NULL, key, "id is missing");
	expect_one_error("", "Nobody", NULL, key, "id is missing");
}
END_TEST

START_TEST(student_quotes_bad_id_safely)
{
	expect_one_error("a\x1b[2Jb", NULL, NULL, key, "id 'a\\x1b[2Jb' is not valid");
}
END_TEST

START_TEST(student_accepts_utf8_name)
{
	expect_ok("zoe", "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m \xe6\x9d\x8e \xf0\x9f\x98\x80", NULL);
}
END_TEST

START_TEST(student_refuses_invalid_utf8_name)
{
	expect_one_error("zoe", "Zo\xeb", NULL, key, "not valid UTF-8 (byte 3)");
	expect_one_error("zoe", "\xc0\xaf" "etc", NULL, key, "not valid UTF-8");	/* overlong */
	expect_one_error("zoe", "\xed\xa0\x80", NULL, key, "not valid UTF-8");	/* surrogate */
	expect_one_error("zoe", "ab\xe6\x9d", NULL, key, "not valid UTF-8");	/* cut short */
}
END_TEST

START_TEST(student_refuses_control_char_in_name)
{
	expect_one_error("zoe", "Zoe\tSmith", NULL, key, "U+0009");
	expect_one_error("zoe", "Zoe\x7f", NULL, key, "U+007F");
	expect_one_error("zoe", "Zoe\xc2\x85", NULL, key, "U+0085");	/* C1 NEL */
	expect_one_error("zoe", "\xe2\x80\xae" "eoZ", NULL, key, "U+202E");	/* bidi override */
}
END_TEST

START_TEST(student_refuses_name_over_128_bytes)
{
	char name[STUDENT_NAME_MAX + 2];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	expect_one_error("zoe", name, NULL, key, "name is 129 bytes long, at most 128");
	name[STUDENT_NAME_MAX] = '\0';
	expect_ok("zoe", name, NULL);
}
END_TEST

START_TEST(student_refuses_email_without_single_at)
{
	expect_one_error("zoe", NULL, "zoe.example.org", key, "exactly one '@'");
	expect_one_error("zoe", NULL, "zoe@@example.org", key, "exactly one '@'");
	expect_one_error("zoe", NULL, "@example.org", key, "before '@'");
	expect_one_error("zoe", NULL, "zoe@", key, "domain");
	expect_one_error("zoe", NULL, "zoe@example..org", key, "domain");
}
END_TEST

START_TEST(student_refuses_email_with_space_or_display_name)
{
	expect_one_error("zoe", NULL, "zoe smith@example.org", key, "not a plain address");
	expect_one_error("zoe", NULL, "Zoe <zoe@example.org>", key, "not a plain address");
	expect_one_error("zoe", NULL, "zoe@example.org\r", key, "not a plain address");
	expect_ok("zoe", NULL, "zoe.smith+lab@mail.example.org");
}
END_TEST

START_TEST(student_refuses_email_over_254)
{
	char email[300];

	memset(email, 'd', sizeof(email));
	memcpy(email, "zoe@", 4);
	email[255] = '\0';
	expect_one_error("zoe", NULL, email, key, "email is 255 bytes long");
	email[254] = '\0';
	expect_ok("zoe", NULL, email);
}
END_TEST

START_TEST(student_refuses_row_without_key)
{
	expect_one_error("zoe", NULL, NULL, NULL, "no SSH key given");
	expect_one_error("zoe", NULL, NULL, " \n", "no SSH key given");
}
END_TEST

START_TEST(student_reports_every_bad_field_with_line)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;

	ck_assert_int_eq(student_validate(7, "Bad/Id", "ok name", "no-at-sign",
					  "ssh-rsa AAAA", &rec, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_uint_eq(errs.v[0].line, 7);
	ck_assert_uint_eq(errs.v[1].line, 7);
	ck_assert_uint_eq(errs.v[2].line, 7);
	ck_assert_ptr_nonnull(strstr(errs.v[0].message, "id 'Bad/Id'"));
	ck_assert_ptr_nonnull(strstr(errs.v[1].message, "email 'no-at-sign'"));
	ck_assert_ptr_nonnull(strstr(errs.v[2].message, "key 1: "));
	student_errors_free(&errs);
}
END_TEST

static struct student_rec idrec(unsigned line, const char *id)
{
	struct student_rec r = { .line = line, .id = (char *)id };

	return r;
}

START_TEST(student_batch_reports_duplicate_id_with_first_line)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec recs[] = { idrec(2, "bob"), idrec(3, "alice"), idrec(5, "carol"),
				      idrec(7, "alice") };

	ck_assert_int_eq(student_check_batch(recs, 4, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.v[0].line, 7);
	ck_assert_str_eq(errs.v[0].message, "duplicate id 'alice' (first on line 3)");
	student_errors_free(&errs);
}
END_TEST

START_TEST(student_batch_reports_each_repeat_against_the_first)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	/* Out of line order on purpose: "first" means the lowest line. */
	struct student_rec recs[] = { idrec(9, "alice"), idrec(3, "alice"), idrec(6, "alice"),
				      idrec(4, "bob"), idrec(8, "bob") };

	ck_assert_int_eq(student_check_batch(recs, 5, &errs), -EINVAL);
	student_errors_sort(&errs);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_uint_eq(errs.v[0].line, 6);
	ck_assert_str_eq(errs.v[0].message, "duplicate id 'alice' (first on line 3)");
	ck_assert_uint_eq(errs.v[1].line, 8);
	ck_assert_str_eq(errs.v[1].message, "duplicate id 'bob' (first on line 4)");
	ck_assert_uint_eq(errs.v[2].line, 9);
	ck_assert_str_eq(errs.v[2].message, "duplicate id 'alice' (first on line 3)");
	student_errors_free(&errs);
}
END_TEST

START_TEST(student_batch_skips_records_without_id)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec recs[] = { idrec(2, NULL), idrec(3, "alice"), idrec(4, NULL) };

	ck_assert_int_eq(student_check_batch(recs, 3, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_int_eq(student_check_batch(NULL, 0, &errs), 0);
}
END_TEST

START_TEST(student_errors_sort_is_stable_by_line)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;

	student_errors_add(&errs, 5, "five-a");
	student_errors_add(&errs, 2, "two");
	student_errors_add(&errs, 5, "five-b");
	student_errors_add(&errs, 0, "file");
	student_errors_add(&errs, 5, "five-c");
	student_errors_sort(&errs);
	ck_assert_str_eq(errs.v[0].message, "file");
	ck_assert_str_eq(errs.v[1].message, "two");
	ck_assert_str_eq(errs.v[2].message, "five-a");
	ck_assert_str_eq(errs.v[3].message, "five-b");
	ck_assert_str_eq(errs.v[4].message, "five-c");
	student_errors_free(&errs);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

/* 300 rows, every third one bad: all 100 reported, none lost to a growing list. */
START_TEST(student_batch_of_300_reports_every_bad_row)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec recs[300];
	size_t i, n = 0;
	char id[32];

	for (i = 0; i < 300; i++) {
		if (i % 3 == 2)
			snprintf(id, sizeof(id), "Student%zu", i);
		else
			snprintf(id, sizeof(id), "s%zu", i);
		if (student_validate((unsigned)i + 2, id, NULL, NULL, key, &recs[n], &errs) == 0)
			n++;
	}
	ck_assert_uint_eq(n, 200);
	ck_assert_uint_eq(errs.n, 100);
	for (i = 0; i < errs.n; i++)
		ck_assert_uint_eq(errs.v[i].line, 3 * i + 4);
	ck_assert_int_eq(student_check_batch(recs, n, &errs), 0);
	for (i = 0; i < n; i++)
		student_rec_clear(&recs[i]);
	student_errors_free(&errs);
}
END_TEST

Suite *make_student_suite(void);	/* called by check_all.c */
Suite *make_student_suite(void)
{
	Suite *s = suite_create("student");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, key_load, key_unload);
	tcase_add_test(tc, student_accepts_row_and_name_defaults_to_id);
	tcase_add_test(tc, student_keeps_name_and_email);
	tcase_add_test(tc, student_refuses_id_with_slash);
	tcase_add_test(tc, student_refuses_uppercase_and_long_id);
	tcase_add_test(tc, student_refuses_missing_id);
	tcase_add_test(tc, student_quotes_bad_id_safely);
	tcase_add_test(tc, student_accepts_utf8_name);
	tcase_add_test(tc, student_refuses_invalid_utf8_name);
	tcase_add_test(tc, student_refuses_control_char_in_name);
	tcase_add_test(tc, student_refuses_name_over_128_bytes);
	tcase_add_test(tc, student_refuses_email_without_single_at);
	tcase_add_test(tc, student_refuses_email_with_space_or_display_name);
	tcase_add_test(tc, student_refuses_email_over_254);
	tcase_add_test(tc, student_refuses_row_without_key);
	tcase_add_test(tc, student_reports_every_bad_field_with_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("batch");
	tcase_add_checked_fixture(tc, key_load, key_unload);
	tcase_add_test(tc, student_batch_reports_duplicate_id_with_first_line);
	tcase_add_test(tc, student_batch_reports_each_repeat_against_the_first);
	tcase_add_test(tc, student_batch_skips_records_without_id);
	tcase_add_test(tc, student_errors_sort_is_stable_by_line);
	tcase_add_test(tc, student_batch_of_300_reports_every_bad_row);
	suite_add_tcase(s, tc);
	return s;
}
