/* labctl without labd: output helpers and command-line validation. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/output.h"

/* What table_print writes, as a string (caller frees). */
static char *capture_table(const struct table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(table_print(t, f), 0);
	fclose(f);
	return buf;
}

static char *capture_csv_row(const char *const *fields, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(output_csv_row(f, fields, n), 0);
	fclose(f);
	return buf;
}

START_TEST(width_counts_columns_not_bytes)
{
	ck_assert_uint_eq(output_display_width("abc"), 3);
	ck_assert_uint_eq(output_display_width("M\xc3\xa4rtin"), 6);          /* Märtin */
	ck_assert_uint_eq(output_display_width("\xe9\x88\xb4\xe6\x9c\xa8"), 4); /* 鈴木 */
	ck_assert_uint_eq(output_display_width("e\xcc\x81"), 1);              /* e + acute */
	ck_assert_uint_eq(output_display_width("\xff\xfe"), 2);               /* not UTF-8 */
	ck_assert_uint_eq(output_display_width(""), 0);
}
END_TEST

START_TEST(table_pads_utf8_names_by_display_width)
{
	static const char *const head[] = { "ID", "NAME", "STATE" };
	static const char *const r1[] = { "alice", "Alice M\xc3\xa4rtin", "running" };
	static const char *const r2[] = { "bob", "\xe9\x88\xb4\xe6\x9c\xa8", "shut off" };
	struct table t;
	char *out;

	ck_assert_int_eq(table_init(&t, 3, head), 0);
	ck_assert_int_eq(table_add_row(&t, r1), 0);
	ck_assert_int_eq(table_add_row(&t, r2), 0);
	out = capture_table(&t);
	ck_assert_str_eq(out,
		"ID     NAME          STATE\n"
		"alice  Alice M\xc3\xa4rtin  running\n"
		"bob    \xe9\x88\xb4\xe6\x9c\xa8          shut off\n");
	free(out);
	table_free(&t);
}
END_TEST

START_TEST(table_leaves_no_trailing_blanks_and_shows_missing_as_dash)
{
	static const char *const head[] = { "ID", "PORT", "BASE" };
	const char *r1[] = { "alice", NULL, "" };
	const char *r2[] = { "bob", "20001", "old" };
	struct table t;
	char *out;

	ck_assert_int_eq(table_init(&t, 3, head), 0);
	ck_assert_int_eq(table_add_row(&t, r1), 0);
	ck_assert_int_eq(table_add_row(&t, r2), 0);
	out = capture_table(&t);
	ck_assert_str_eq(out,
		"ID     PORT   BASE\n"
		"alice  -\n"
		"bob    20001  old\n");
	free(out);
	table_free(&t);
}
END_TEST

START_TEST(table_neutralises_control_characters)
{
	static const char *const head[] = { "NAME" };
	const char *r1[] = { "evil\033[2Jname\n" };
	struct table t;
	char *out;

	ck_assert_int_eq(table_init(&t, 1, head), 0);
	ck_assert_int_eq(table_add_row(&t, r1), 0);
	out = capture_table(&t);
	ck_assert_str_eq(out, "NAME\nevil?[2Jname?\n");
	free(out);
	table_free(&t);
}
END_TEST

START_TEST(csv_quotes_commas_and_doubles_quotes)
{
	const char *f1[] = { "a,\"b\"" };
	const char *f3[] = { "alice", "Liddell, Alice", "ssh -p 20001 student@203.0.113.10" };
	const char *f2[] = { "plain", "", "two\nlines", " lead" };
	char *out;

	out = capture_csv_row(f1, 1);
	ck_assert_str_eq(out, "\"a,\"\"b\"\"\"\n");
	free(out);
	out = capture_csv_row(f3, 3);
	ck_assert_str_eq(out, "alice,\"Liddell, Alice\",ssh -p 20001 student@203.0.113.10\n");
	free(out);
	out = capture_csv_row(f2, 4);
	ck_assert_str_eq(out, "plain,,\"two\nlines\",\" lead\"\n");
	free(out);
}
END_TEST

START_TEST(sheet_command_is_exactly_ssh_p_port_user_at_ip)
{
	char buf[64];

	ck_assert_int_eq(output_ssh_command(buf, sizeof(buf), "student", "203.0.113.10", 20017), 0);
	ck_assert_str_eq(buf, "ssh -p 20017 student@203.0.113.10");
	ck_assert_int_eq(output_ssh_command(buf, sizeof(buf), "student", "203.0.113.10", 0),
			 -EINVAL);
	ck_assert_int_eq(output_ssh_command(buf, sizeof(buf), NULL, "203.0.113.10", 22), -EINVAL);
	ck_assert_int_eq(output_ssh_command(buf, 10, "student", "203.0.113.10", 22), -ENOSPC);
}
END_TEST

START_TEST(progress_bar_shows_front_count_and_student)
{
	char buf[128];

	output_progress_format(buf, sizeof(buf), 7, 12, "alice", 11);
	ck_assert_str_eq(buf, "[=====>     ] 7/12 alice");
	output_progress_format(buf, sizeof(buf), 12, 12, "bob", 11);
	ck_assert_str_eq(buf, "[===========] 12/12 bob");
	output_progress_format(buf, sizeof(buf), 0, 3, NULL, 5);
	ck_assert_str_eq(buf, "[     ] 0/3");
	output_progress_format(buf, sizeof(buf), 1, 2, "x\033y", 4);
	ck_assert_str_eq(buf, "[=>  ] 1/2 x?y");
}
END_TEST

/* ---- argument validation ---- */

static bool has_key(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

START_TEST(targets_without_ids_or_all_are_refused)
{
	json_object *req = proto_new_request("reset", -1);

	ck_assert_int_eq(cli_add_targets(req, "reset", NULL, 0, false, NULL), CLI_EXIT_USAGE);
	ck_assert_int_eq(cli_add_targets(req, "reset", NULL, 0, false, "c1"), CLI_EXIT_USAGE);
	ck_assert(!has_key(req, "all"));
	ck_assert(!has_key(req, "students"));
	json_object_put(req);
}
END_TEST

START_TEST(targets_with_ids_and_all_are_refused)
{
	char *ids[] = { (char *)"alice" };
	json_object *req = proto_new_request("reset", -1);

	ck_assert_int_eq(cli_add_targets(req, "reset", ids, 1, true, NULL), CLI_EXIT_USAGE);
	ck_assert(!has_key(req, "all"));
	json_object_put(req);
}
END_TEST

START_TEST(targets_with_an_invalid_id_are_refused)
{
	char *ids[] = { (char *)"alice", (char *)"Bob" };
	json_object *req = proto_new_request("stop", -1);

	ck_assert_int_eq(cli_add_targets(req, "stop", ids, 2, false, NULL), CLI_EXIT_USAGE);
	ck_assert(!has_key(req, "students"));
	json_object_put(req);
}
END_TEST

START_TEST(targets_become_students_or_all)
{
	char *ids[] = { (char *)"alice", (char *)"bob" };
	json_object *req = proto_new_request("start", -1), *v;

	ck_assert_int_eq(cli_add_targets(req, "start", ids, 2, false, "c1"), CLI_EXIT_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			 "{\"v\":1,\"op\":\"start\",\"class\":\"c1\",\"students\":[\"alice\",\"bob\"]}");
	json_object_put(req);

	req = proto_new_request("start", -1);
	ck_assert_int_eq(cli_add_targets(req, "start", NULL, 0, true, NULL), CLI_EXIT_OK);
	ck_assert(json_object_object_get_ex(req, "all", &v));
	ck_assert(json_object_get_boolean(v));
	ck_assert(!has_key(req, "class"));
	json_object_put(req);
}
END_TEST

/* The commands refuse before connecting: an attempt would be exit 3 here. */
START_TEST(reset_without_ids_is_a_usage_error_not_a_request)
{
	char *argv[] = { (char *)"reset", NULL };

	cli_opts.socket = "/nonexistent/labd.sock";
	ck_assert_int_eq(reset_main(1, argv), CLI_EXIT_USAGE);
}
END_TEST

START_TEST(reset_all_on_a_non_terminal_needs_yes)
{
	char *argv[] = { (char *)"reset", (char *)"--all", NULL };
	char *argv_yes[] = { (char *)"reset", (char *)"--all", (char *)"--yes", NULL };

	ck_assert_ptr_nonnull(freopen("/dev/null", "r", stdin));
	cli_opts.socket = "/nonexistent/labd.sock";
	ck_assert_int_eq(reset_main(2, argv), CLI_EXIT_USAGE);
	/* With --yes it goes on, and finds no labd. */
	ck_assert_int_eq(reset_main(3, argv_yes), CLI_EXIT_NOCONN);
}
END_TEST

START_TEST(unenrol_all_on_a_non_terminal_needs_yes)
{
	char *argv[] = { (char *)"unenrol", (char *)"--class", (char *)"c1", (char *)"--all",
			 NULL };

	ck_assert_ptr_nonnull(freopen("/dev/null", "r", stdin));
	cli_opts.socket = "/nonexistent/labd.sock";
	ck_assert_int_eq(unenrol_main(4, argv), CLI_EXIT_USAGE);
}
END_TEST

START_TEST(stop_all_needs_no_confirmation)
{
	char *argv[] = { (char *)"stop", (char *)"--all", NULL };

	ck_assert_ptr_nonnull(freopen("/dev/null", "r", stdin));
	cli_opts.socket = "/nonexistent/labd.sock";
	ck_assert_int_eq(stop_main(2, argv), CLI_EXIT_NOCONN);
}
END_TEST

/* ---- the connection ---- */

static int n_events;

static void count_event(json_object *ev, void *arg)
{
	n_events++;
}

/* client_call over a socketpair whose far end already holds LINES. */
static int call_with(const char *lines, json_object **reply)
{
	struct client c;
	json_object *req = proto_new_request("reset", -1);
	int sv[2], r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], lines, strlen(lines)), (ssize_t)strlen(lines));
	shutdown(sv[1], SHUT_WR);   /* EOF after LINES; the request can still be sent */
	memset(&c, 0, sizeof(c));
	linebuf_init(&c.lb, 0);
	c.fd = sv[0];
	c.path = "test";
	c.next_id = 1;
	n_events = 0;
	r = client_call(&c, req, reply, count_event, NULL);
	client_close(&c);
	close(sv[1]);
	json_object_put(req);
	return r;
}

START_TEST(call_takes_progress_events_that_carry_ok_as_events)
{
	json_object *reply = NULL;

	/* Each event holds the student's own "ok": it is not the final reply. */
	ck_assert_int_eq(call_with(
		"{\"v\":1,\"id\":1,\"event\":\"progress\",\"done\":1,\"total\":2,\"ok\":true}\n"
		"{\"v\":1,\"id\":1,\"event\":\"progress\",\"done\":2,\"total\":2,\"ok\":false}\n"
		"{\"v\":1,\"id\":1,\"ok\":true,\"results\":[]}\n", &reply), 0);
	ck_assert_int_eq(n_events, 2);
	ck_assert_ptr_nonnull(reply);
	ck_assert(json_object_object_get_ex(reply, "results", NULL));
	json_object_put(reply);
}
END_TEST

START_TEST(call_refuses_a_reply_to_another_request)
{
	json_object *reply = NULL;

	ck_assert_int_eq(call_with("{\"v\":1,\"id\":9,\"ok\":true}\n", &reply), -EPROTO);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(call_with("{\"v\":1,\"ok\":\"yes\"}\n", &reply), -EPROTO);
	ck_assert_int_eq(call_with("not json\n", &reply), -EPROTO);
}
END_TEST

START_TEST(call_reports_a_hangup_before_the_reply)
{
	json_object *reply = NULL;

	ck_assert_int_eq(call_with("{\"v\":1,\"id\":1,\"event\":\"progress\"}\n", &reply),
			 -ECONNRESET);
	ck_assert_ptr_null(reply);
}
END_TEST

/* ---- replies ---- */

static int report(const char *reply)
{
	json_object *o = json_tokener_parse(reply);
	int r;

	ck_assert_ptr_nonnull(o);
	r = cli_report_bulk("reset", o);
	json_object_put(o);
	return r;
}

START_TEST(bulk_exit_is_zero_only_when_every_student_succeeded)
{
	ck_assert_int_eq(report("{\"ok\":true,\"results\":[{\"student\":\"a\",\"ok\":true}]}"),
			 CLI_EXIT_OK);
	ck_assert_int_eq(report("{\"ok\":false,\"error\":{\"code\":\"partial\",\"message\":\"x\"},"
				"\"results\":[{\"student\":\"a\",\"ok\":true},{\"student\":\"b\","
				"\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"m\"}}]}"),
			 CLI_EXIT_FAIL);
	/* A reply that claims ok over a failed student is not believed. */
	ck_assert_int_eq(report("{\"ok\":true,\"results\":[{\"student\":\"b\",\"ok\":false}]}"),
			 CLI_EXIT_FAIL);
	ck_assert_int_eq(report("{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"x\"}}"),
			 CLI_EXIT_FAIL);
}
END_TEST

START_TEST(field_text_writes_out_numbers_and_booleans)
{
	json_object *o = json_tokener_parse("{\"s\":\"x\",\"n\":20001,\"b\":false,\"z\":null}");
	char buf[32];

	ck_assert_str_eq(cli_field_text(o, "s", buf, sizeof(buf)), "x");
	ck_assert_str_eq(cli_field_text(o, "n", buf, sizeof(buf)), "20001");
	ck_assert_str_eq(cli_field_text(o, "b", buf, sizeof(buf)), "false");
	ck_assert_ptr_null(cli_field_text(o, "z", buf, sizeof(buf)));
	ck_assert_ptr_null(cli_field_text(o, "missing", buf, sizeof(buf)));
	json_object_put(o);
}
END_TEST

Suite *make_cli_suite(void);  /* called by check_all.c */
Suite *make_cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *out = tcase_create("output");
	TCase *args = tcase_create("arguments");
	TCase *rep = tcase_create("replies");

	tcase_add_test(out, width_counts_columns_not_bytes);
	tcase_add_test(out, table_pads_utf8_names_by_display_width);
	tcase_add_test(out, table_leaves_no_trailing_blanks_and_shows_missing_as_dash);
	tcase_add_test(out, table_neutralises_control_characters);
	tcase_add_test(out, csv_quotes_commas_and_doubles_quotes);
	tcase_add_test(out, sheet_command_is_exactly_ssh_p_port_user_at_ip);
	tcase_add_test(out, progress_bar_shows_front_count_and_student);
	suite_add_tcase(s, out);

	tcase_add_test(args, targets_without_ids_or_all_are_refused);
	tcase_add_test(args, targets_with_ids_and_all_are_refused);
	tcase_add_test(args, targets_with_an_invalid_id_are_refused);
	tcase_add_test(args, targets_become_students_or_all);
	tcase_add_test(args, reset_without_ids_is_a_usage_error_not_a_request);
	tcase_add_test(args, reset_all_on_a_non_terminal_needs_yes);
	tcase_add_test(args, unenrol_all_on_a_non_terminal_needs_yes);
	tcase_add_test(args, stop_all_needs_no_confirmation);
	suite_add_tcase(s, args);

	tcase_add_test(rep, call_takes_progress_events_that_carry_ok_as_events);
	tcase_add_test(rep, call_refuses_a_reply_to_another_request);
	tcase_add_test(rep, call_reports_a_hangup_before_the_reply);
	tcase_add_test(rep, bulk_exit_is_zero_only_when_every_student_succeeded);
	tcase_add_test(rep, field_text_writes_out_numbers_and_booleans);
	suite_add_tcase(s, rep);
	return s;
}
