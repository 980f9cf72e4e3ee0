/*
 * netd/request.c and labd/request.c: the daemons' request checks, which netd, labd and
 * the protocol fuzzers share. The messages are the ones clients see.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "labd/request.h"
#include "netd/request.h"
#include "tests/unit/testlab.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3 t@vlab"

#define MAP(st, mac, ip, port) \
	"{\"student\":\"" st "\",\"mac\":\"" mac "\",\"ip\":\"" ip "\",\"vm_port\":22," \
	"\"public_ip\":\"203.0.113.10\",\"public_port\":" port "}"

/* ---- the lab: 10.77.0.0/20, two publics, ports 20000-20999; two classes ---- */

static struct conf_public test_publics[2];
static struct conf_class test_classes[2];
static struct lab_conf test_conf;

static void lab_setup(void)
{
	testlab_fill(&test_conf, test_publics, "10.77.0.0", 20);
	memset(test_classes, 0, sizeof(test_classes));
	test_classes[0].name = (char *)"net101";
	test_classes[1].name = (char *)"sys201";
	test_conf.classes = test_classes;
	test_conf.n_classes = 2;
}

static json_object *req_of(const char *text)
{
	json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "test request does not parse: %s", text);
	return o;
}

static void assert_refusal(const struct proto_error *e, const char *code, const char *message)
{
	ck_assert_ptr_nonnull(e->code);
	ck_assert_str_eq(e->code, code);
	ck_assert_str_eq(e->message, message);
}

/* ---- netd ---- */

START_TEST(netd_put_parses_a_mapping_that_fits_the_lab)
{
	json_object *req = req_of("{\"mapping\":" MAP("alice", "52:54:00:00:00:05", "10.77.0.6",
						       "20005") "}");
	struct proto_error e = { 0 };
	struct mapping m;

	ck_assert_int_eq(netd_request_parse_put(req, &test_conf, &m, &e), 0);
	ck_assert_str_eq(m.student, "alice");
	ck_assert_uint_eq(m.public_port, 20005);
	json_object_put(req);
}
END_TEST

START_TEST(netd_put_refuses_a_missing_mapping)
{
	json_object *req = req_of("{}");
	struct proto_error e = { 0 };
	struct mapping m;

	ck_assert_int_eq(netd_request_parse_put(req, &test_conf, &m, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "field 'mapping' is missing (expected an object)");
	json_object_put(req);
}
END_TEST

START_TEST(netd_put_refuses_a_mapping_outside_the_lab)
{
	json_object *req = req_of("{\"mapping\":" MAP("alice", "52:54:00:00:00:05", "10.78.0.6",
						       "20005") "}");
	struct proto_error e = { 0 };
	struct mapping m;

	ck_assert_int_eq(netd_request_parse_put(req, &test_conf, &m, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	json_object_put(req);
}
END_TEST

START_TEST(netd_del_copies_a_valid_id)
{
	json_object *req = req_of("{\"student\":\"s1\"}");
	struct proto_error e = { 0 };
	char student[ID_MAX_LEN + 1];

	ck_assert_int_eq(netd_request_parse_del(req, student, &e), 0);
	ck_assert_str_eq(student, "s1");
	json_object_put(req);
}
END_TEST

START_TEST(netd_del_quotes_a_long_bad_id_on_a_utf8_boundary)
{
	char text[256] = "{\"student\":\"", want[256];
	json_object *req;
	struct proto_error e = { 0 };
	char student[ID_MAX_LEN + 1];
	int i;

	/* 30 times U+00E9 (2 bytes each): the quote keeps 40 bytes, 20 whole characters. */
	for (i = 0; i < 30; i++)
		strcat(text, "\xc3\xa9");
	strcat(text, "\"}");
	req = req_of(text);
	ck_assert_int_eq(netd_request_parse_del(req, student, &e), -EINVAL);
	strcpy(want, "field 'student': '");
	for (i = 0; i < 20; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "...' is not a student id ([a-z0-9][a-z0-9_-]{0,31})");
	assert_refusal(&e, PROTO_E_INVALID, want);
	json_object_put(req);
}
END_TEST

START_TEST(netd_del_not_found_names_the_student)
{
	struct proto_error e = { 0 };

	netd_request_not_found("s9", &e);
	assert_refusal(&e, PROTO_E_NOTFOUND, "no mapping for student 's9'");
}
END_TEST

START_TEST(netd_sync_builds_the_store_of_the_list)
{
	json_object *req = req_of("{\"mappings\":[" MAP("a", "52:54:00:00:01:01", "10.77.0.20",
							  "20100") ","
				  MAP("b", "52:54:00:00:01:02", "10.77.0.21", "20101") "]}");
	struct proto_error e = { 0 };
	struct netd_sync sync;

	ck_assert_int_eq(netd_request_parse_sync(req, &test_conf, &sync, &e), 0);
	ck_assert_uint_eq(sync.n, 2);
	ck_assert_ptr_nonnull(sync.fresh);
	ck_assert_uint_eq(store_count(sync.fresh), 2);
	ck_assert_str_eq(sync.maps[1].student, "b");
	netd_sync_clear(&sync);
	ck_assert_ptr_null(sync.maps);
	json_object_put(req);
}
END_TEST

START_TEST(netd_sync_accepts_an_empty_list)
{
	json_object *req = req_of("{\"mappings\":[]}");
	struct proto_error e = { 0 };
	struct netd_sync sync;

	ck_assert_int_eq(netd_request_parse_sync(req, &test_conf, &sync, &e), 0);
	ck_assert_uint_eq(sync.n, 0);
	ck_assert_uint_eq(store_count(sync.fresh), 0);
	netd_sync_clear(&sync);
	json_object_put(req);
}
END_TEST

START_TEST(netd_sync_names_the_entry_that_is_wrong)
{
	json_object *req = req_of("{\"mappings\":[" MAP("a", "52:54:00:00:01:01", "10.77.0.20",
							  "20100") ",{}]}");
	struct proto_error e = { 0 };
	struct netd_sync sync;

	ck_assert_int_eq(netd_request_parse_sync(req, &test_conf, &sync, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	ck_assert_msg(strncmp(e.message, "mappings[1]: ", 13) == 0, "message: %s", e.message);
	ck_assert_uint_eq(sync.n, 1);
	ck_assert_ptr_null(sync.fresh);
	netd_sync_clear(&sync);
	json_object_put(req);
}
END_TEST

START_TEST(netd_sync_refuses_a_student_twice_and_keeps_the_entries)
{
	json_object *req = req_of("{\"mappings\":[" MAP("a", "52:54:00:00:01:01", "10.77.0.20",
							  "20100") ","
				  MAP("a", "52:54:00:00:01:02", "10.77.0.21", "20101") "]}");
	struct proto_error e = { 0 };
	struct netd_sync sync;

	ck_assert_int_eq(netd_request_parse_sync(req, &test_conf, &sync, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "mappings[1]: student 'a' appears twice in the list");
	ck_assert_uint_eq(sync.n, 2);
	ck_assert_ptr_null(sync.fresh);
	netd_sync_clear(&sync);
	json_object_put(req);
}
END_TEST

/* ---- labd ---- */

static int enrol(const char *text, struct labd_enrol *en, struct proto_error *e)
{
	json_object *req = req_of(text);
	int r = labd_request_parse_enrol(req, &test_conf, en, e);

	json_object_put(req);   /* EN holds copies */
	return r;
}

START_TEST(labd_enrol_needs_a_class_when_the_lab_has_two)
{
	struct labd_enrol en;
	struct proto_error e = { 0 };

	ck_assert_int_eq(enrol("{\"students\":[{\"id\":\"a\",\"ssh_keys\":\"" KEY "\"}]}", &en, &e),
			 -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "this lab has 2 classes: say which one (--class NAME)");
	ck_assert_ptr_null(en.errors);
	labd_enrol_clear(&en);
}
END_TEST

START_TEST(labd_enrol_takes_the_only_class)
{
	struct labd_enrol en;
	struct proto_error e = { 0 };

	test_conf.n_classes = 1;
	ck_assert_int_eq(enrol("{\"students\":[{\"id\":\"a\",\"ssh_keys\":\"" KEY "\"}],"
			       "\"start\":false}", &en, &e), 0);
	ck_assert_ptr_eq(en.cls, &test_classes[0]);
	ck_assert(!en.start);
	ck_assert_int_eq(labd_request_enrol_finish(&en, &e), 0);
	ck_assert_str_eq(en.recs[0].id, "a");
	labd_enrol_clear(&en);
}
END_TEST

START_TEST(labd_enrol_refuses_an_unknown_class_naming_the_classes)
{
	struct labd_enrol en;
	struct proto_error e = { 0 };

	ck_assert_int_eq(enrol("{\"class\":\"art\",\"students\":[]}", &en, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "unknown class 'art' (classes: net101, sys201)");
	labd_enrol_clear(&en);
}
END_TEST

START_TEST(labd_enrol_refuses_no_rows_and_too_many_rows)
{
	struct labd_enrol en;
	struct proto_error e = { 0 };
	json_object *req = req_of("{\"class\":\"net101\"}"), *rows = json_object_new_array();
	int i;

	ck_assert_int_eq(enrol("{\"class\":\"net101\",\"students\":[]}", &en, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "no students to enrol");
	labd_enrol_clear(&en);

	for (i = 0; i < LABD_ENROL_MAX + 1; i++)
		json_object_array_add(rows, json_object_new_object());
	json_object_object_add(req, "students", rows);
	ck_assert_int_eq(labd_request_parse_enrol(req, &test_conf, &en, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "5001 students in one batch: at most 5000");
	ck_assert_ptr_null(en.errors);
	labd_enrol_clear(&en);
	json_object_put(req);
}
END_TEST

START_TEST(labd_enrol_reports_every_row_then_the_sorted_problems)
{
	struct labd_enrol en;
	struct proto_error e = { 0 };
	json_object *o;

	ck_assert_int_eq(enrol("{\"class\":\"sys201\",\"students\":[1,"
			       "{\"line\":9,\"id\":\"Bad\",\"ssh_keys\":\"" KEY "\"},"
			       "{\"line\":3,\"id\":\"alice\",\"ssh_keys\":\"" KEY "\"},"
			       "{\"line\":5,\"id\":\"alice\",\"ssh_keys\":\"" KEY "\"},"
			       "{\"ssh_keys\":\"" KEY "\"}]}", &en, &e), 0);
	ck_assert_ptr_eq(en.cls, &test_classes[1]);
	ck_assert_uint_eq(en.n, 5);
	ck_assert_ptr_null(en.recs[0].id);
	ck_assert_ptr_null(en.recs[1].id);
	ck_assert_str_eq(en.recs[2].id, "alice");
	/* Refused before validation: in row order, with the row's default line. */
	ck_assert_uint_eq(json_object_array_length(en.errors), 2);
	o = json_object_array_get_idx(en.errors, 0);
	ck_assert(!json_object_object_get_ex(o, "line", NULL));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "message")),
			 "students[0]: expected an object");
	o = json_object_array_get_idx(en.errors, 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "line")), 5);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "message")),
			 "field 'id' is missing (expected a string)");

	/* The caller's own problem (line 0) goes first once sorted. */
	student_errors_add(&en.errs, 0, "no free public endpoint");
	ck_assert_int_eq(labd_request_enrol_finish(&en, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "5 problem(s) in the roster; nothing was created");
	o = json_object_array_get_idx(en.errors, 2);
	ck_assert(!json_object_object_get_ex(o, "line", NULL));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "message")),
			 "no free public endpoint");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(
		json_object_array_get_idx(en.errors, 3), "line")), 5);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(en.errors, 3), "message")),
			 "duplicate id 'alice' (first on line 3)");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(
		json_object_array_get_idx(en.errors, 4), "line")), 9);
	labd_enrol_clear(&en);
}
END_TEST

START_TEST(labd_set_keys_reads_both_fields_and_checks_the_keys)
{
	json_object *req = req_of("{\"student\":\"alice\",\"ssh_keys\":\"ssh-ed25519 AAAA\"}");
	struct proto_error e = { 0 };
	struct student_rec rec = { 0 };
	const char *id, *keys;

	ck_assert_int_eq(labd_request_parse_set_keys(req, &id, &keys, &e), 0);
	ck_assert_str_eq(id, "alice");
	ck_assert_int_eq(labd_request_check_keys(id, "Alice", NULL, keys, &rec, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	ck_assert_str_ne(e.message, "invalid keys");
	ck_assert_ptr_null(rec.keys);
	ck_assert_int_eq(labd_request_check_keys(id, "Alice", NULL, KEY, &rec, &e), 0);
	ck_assert_uint_eq(rec.n_keys, 1);
	student_rec_clear(&rec);
	json_object_put(req);

	req = req_of("{\"student\":\"alice\"}");
	ck_assert_int_eq(labd_request_parse_set_keys(req, &id, &keys, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "field 'ssh_keys' is missing (expected a string)");
	json_object_put(req);
}
END_TEST

START_TEST(labd_not_enrolled_quotes_the_id)
{
	struct proto_error e = { 0 };

	labd_request_not_enrolled("bob", &e);
	assert_refusal(&e, PROTO_E_NOTFOUND, "'bob' is not enrolled");
}
END_TEST

static int targets(const char *text, struct labd_targets *t, struct proto_error *e)
{
	json_object *req = req_of(text);
	int r = labd_request_parse_targets(req, &test_conf, t, e);

	json_object_put(req);   /* T holds copies */
	return r;
}

START_TEST(labd_targets_need_exactly_one_of_all_and_students)
{
	static const char *const reqs[] = { "{}", "{\"all\":true,\"students\":[\"a\"]}",
					    "{\"all\":false}" };
	struct labd_targets t;
	struct proto_error e = { 0 };
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		ck_assert_int_eq(targets(reqs[i], &t, &e), -EINVAL);
		assert_refusal(&e, PROTO_E_INVALID, "say which students: \"students\": [ids] or "
			       "\"all\": true (not both)");
		labd_targets_clear(&t);
	}
	ck_assert_int_eq(targets("{\"all\":true,\"class\":\"sys201\"}", &t, &e), 0);
	ck_assert(t.all);
	ck_assert_ptr_eq(t.cls, &test_classes[1]);
	ck_assert_ptr_null(t.ids);
	labd_targets_clear(&t);
	ck_assert_int_eq(targets("{\"students\":[]}", &t, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "\"students\" is empty");
	labd_targets_clear(&t);
}
END_TEST

START_TEST(labd_targets_drop_duplicates_and_refuse_bad_ids)
{
	struct labd_targets t;
	struct proto_error e = { 0 };

	ck_assert_int_eq(targets("{\"students\":[\"a\",\"b\",\"a\"]}", &t, &e), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_str_eq(t.ids[0], "a");
	ck_assert_str_eq(t.ids[1], "b");
	labd_targets_clear(&t);
	ck_assert_int_eq(targets("{\"students\":[\"a\",\"B'x\"]}", &t, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID,
		       "students[1]: B\\x27x is not a student id ([a-z0-9][a-z0-9_-]{0,31})");
	labd_targets_clear(&t);
	ck_assert_int_eq(targets("{\"students\":[7]}", &t, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID,
		       "students[0]: (not a string) is not a student id ([a-z0-9][a-z0-9_-]{0,31})");
	labd_targets_clear(&t);
}
END_TEST

START_TEST(labd_filter_resolves_the_class_only_when_given)
{
	json_object *req = req_of("{\"students\":[\"a\"]}");
	struct labd_filter f;
	struct proto_error e = { 0 };

	test_conf.n_classes = 1;
	ck_assert_int_eq(labd_request_parse_filter(req, &test_conf, &f, &e), 0);
	ck_assert_ptr_null(f.cls);
	ck_assert_ptr_nonnull(f.students);
	json_object_put(req);
	req = req_of("{\"class\":\"nope\"}");
	ck_assert_int_eq(labd_request_parse_filter(req, &test_conf, &f, &e), -EINVAL);
	assert_refusal(&e, PROTO_E_INVALID, "unknown class 'nope' (classes: net101)");
	json_object_put(req);
}
END_TEST

Suite *make_request_suite(void);

Suite *make_request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_add_checked_fixture(tc, lab_setup, NULL);
	tcase_add_test(tc, netd_put_parses_a_mapping_that_fits_the_lab);
	tcase_add_test(tc, netd_put_refuses_a_missing_mapping);
	tcase_add_test(tc, netd_put_refuses_a_mapping_outside_the_lab);
	tcase_add_test(tc, netd_del_copies_a_valid_id);
	tcase_add_test(tc, netd_del_quotes_a_long_bad_id_on_a_utf8_boundary);
	tcase_add_test(tc, netd_del_not_found_names_the_student);
	tcase_add_test(tc, netd_sync_builds_the_store_of_the_list);
	tcase_add_test(tc, netd_sync_accepts_an_empty_list);
	tcase_add_test(tc, netd_sync_names_the_entry_that_is_wrong);
	tcase_add_test(tc, netd_sync_refuses_a_student_twice_and_keeps_the_entries);
	tcase_add_test(tc, labd_enrol_needs_a_class_when_the_lab_has_two);
	tcase_add_test(tc, labd_enrol_takes_the_only_class);
	tcase_add_test(tc, labd_enrol_refuses_an_unknown_class_naming_the_classes);
	tcase_add_test(tc, labd_enrol_refuses_no_rows_and_too_many_rows);
	tcase_add_test(tc, labd_enrol_reports_every_row_then_the_sorted_problems);
	tcase_add_test(tc, labd_set_keys_reads_both_fields_and_checks_the_keys);
	tcase_add_test(tc, labd_not_enrolled_quotes_the_id);
	tcase_add_test(tc, labd_targets_need_exactly_one_of_all_and_students);
	tcase_add_test(tc, labd_targets_drop_duplicates_and_refuse_bad_ids);
	tcase_add_test(tc, labd_filter_resolves_the_class_only_when_given);
	suite_add_tcase(s, tc);
	return s;
}
