/*
 * labd/ops.c through ops_handle, in a whole labd with a fake host and a fake netd link
 * (tests/unit/fakelab.h): what a client is told, and what is left in the database, the
 * pools, the host and netd afterwards, also when a step fails on purpose.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labd/alloc.h"
#include "labd/ops.h"
#include "tests/unit/fakelab.h"

static const char *const three[] = { "s01", "s02", "s03", NULL };

static struct fakelab *f;

static void setup(void)
{
	f = fakelab_new();
}

static void teardown(void)
{
	fakelab_free(f);
	f = NULL;
}

static long long count(const char *sql)
{
	return fakelab_sql_int(f, sql);
}

/* The state `list` shows for ID. */
static const char *list_state(const char *id)
{
	static char state[32];
	json_object *r = fakelab_call(f, "{\"v\":1,\"op\":\"list\"}"), *arr, *s, *v;
	size_t i;

	state[0] = '\0';
	ck_assert(json_object_object_get_ex(r, "students", &arr));
	for (i = 0; i < json_object_array_length(arr); i++) {
		s = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(s, "id", &v) && !strcmp(json_object_get_string(v), id) &&
		    json_object_object_get_ex(s, "state", &v))
			snprintf(state, sizeof(state), "%s", json_object_get_string(v));
	}
	json_object_put(r);
	return state;
}

START_TEST(enrol_all_ok_makes_every_piece)
{
	uint32_t free_ep = alloc_endpoint_free_count(f->l.pools.endpoint);
	json_object *r = fakelab_enrol(f, true, three);

	ck_assert_msg(reply_ok(r), "%s", fakelab_json(r));
	ck_assert_uint_eq(f->sink.events, 3);   /* one progress event per student */
	for (const char *const *id = three; *id; id++) {
		char dom[32];

		ck_assert(result_ok(r, *id));
		snprintf(dom, sizeof(dom), "vlab-%s", *id);
		ck_assert_ptr_nonnull(fakehost_dom(&f->host, dom));
		ck_assert_int_eq(fakehost_dom(&f->host, dom)->state, VIRT_RUNNING);
		ck_assert_uint_eq(fakehost_count(&f->host, *id), 3);
		ck_assert(fakenetd_has(&f->netd, *id));
		ck_assert_str_eq(list_state(*id), "running");
	}
	ck_assert_int_eq(count("SELECT count(*) FROM allocations WHERE state = 'ready'"), 3);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE action = 'enrol'"), 3);
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep - 3);
	/* One pool refresh for the whole request, before its reply. */
	ck_assert_uint_eq(f->host.pool_syncs, 1);
	json_object_put(r);
}
END_TEST

START_TEST(enrol_reports_progress_per_student)
{
	const char *line = "{\"v\":1,\"op\":\"enrol\",\"start\":false,\"students\":["
		"{\"id\":\"p1\",\"name\":\"P\",\"ssh_keys\":\"ssh-ed25519 "
		"AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3\"}]}";
	json_object *r = fakelab_call(f, line);

	ck_assert(reply_ok(r));
	ck_assert_uint_eq(f->sink.events, 1);
	ck_assert_str_eq(list_state("p1"), "shut off");
	json_object_put(r);
}
END_TEST

START_TEST(enrol_one_failing_midway_is_rolled_back)
{
	uint32_t free_ep = alloc_endpoint_free_count(f->l.pools.endpoint);
	uint32_t free_ix = alloc_index_free_count(f->l.pools.index);
	json_object *r;

	fakehost_fail(&f->host, "dom_start", "vlab-s02", -EIO, 0);
	r = fakelab_enrol(f, true, three);
	ck_assert(!reply_ok(r));
	ck_assert_str_eq(reply_message(r), "enrol: 1 of 3 students failed");
	ck_assert(result_ok(r, "s01"));
	ck_assert(!result_ok(r, "s02"));
	ck_assert_str_eq(result_message(r, "s02"),
			 "starting the VM failed (Input/output error); see labd's log");
	ck_assert(result_ok(r, "s03"));
	/* Nothing of s02 is left anywhere. */
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 0);
	ck_assert(!fakenetd_has(&f->netd, "s02"));
	ck_assert_int_eq(count("SELECT count(*) FROM students WHERE id = 's02'"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM allocations WHERE student = 's02'"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE action = 'enrol-failed'"), 1);
	ck_assert_ptr_null(vmview_find(&f->l.view, "s02"));
	/* Its index and endpoint are free again. */
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep - 2);
	ck_assert_uint_eq(alloc_index_free_count(f->l.pools.index), free_ix - 2);
	json_object_put(r);
	/* The same enrol again finishes it. */
	fakehost_clear_rules(&f->host);
	r = fakelab_enrol(f, true, three);
	ck_assert_msg(reply_ok(r), "%s", fakelab_json(r));
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 3);
	json_object_put(r);
}
END_TEST

START_TEST(enrol_on_a_full_disk_says_so_and_leaves_nothing)
{
	json_object *r;

	fakehost_fail(&f->host, "vol_create_raw", NULL, -ENOSPC, 0);
	r = fakelab_enrol(f, false, three);
	ck_assert(!reply_ok(r));
	ck_assert_str_eq(reply_message(r), "enrol: 3 of 3 students failed");
	ck_assert(strstr(result_message(r, "s01"), "no space left in the pool directory"));
	ck_assert(strstr(result_message(r, "s01"), "for the seed"));
	ck_assert_uint_eq(f->host.n_doms, 0);
	ck_assert_uint_eq(f->host.n_vols, 0);
	ck_assert_int_eq(count("SELECT count(*) FROM students"), 0);
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint),
			  alloc_endpoint_capacity(f->l.pools.endpoint));
	json_object_put(r);
}
END_TEST

START_TEST(enrol_overlay_disk_full_names_the_overlay)
{
	json_object *r;

	fakehost_fail(&f->host, "vol_create_overlay", "vlab-s01.qcow2", -ENOSPC, 0);
	r = fakelab_enrol(f, false, three);
	ck_assert(!result_ok(r, "s01"));
	ck_assert(strstr(result_message(r, "s01"), "for the overlay"));
	ck_assert(result_ok(r, "s02"));
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 0);
	json_object_put(r);
}
END_TEST

START_TEST(enrol_database_failure_rolls_back_everything)
{
	uint32_t free_ep = alloc_endpoint_free_count(f->l.pools.endpoint);
	uint32_t free_ix = alloc_index_free_count(f->l.pools.index);
	json_object *r;

	/* The third insert fails inside the transaction. */
	fakelab_sql(f, "CREATE TRIGGER no_s03 BEFORE INSERT ON allocations WHEN NEW.student = "
		    "'s03' BEGIN SELECT RAISE(ABORT, 'injected'); END;");
	r = fakelab_enrol(f, true, three);
	ck_assert(!reply_ok(r));
	ck_assert_msg(strstr(reply_message(r), "database error") &&
		      strstr(reply_message(r), "nothing was created"), "%s", reply_message(r));
	ck_assert_int_eq(count("SELECT count(*) FROM students"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM allocations"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM audit"), 0);
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep);
	ck_assert_uint_eq(alloc_index_free_count(f->l.pools.index), free_ix);
	ck_assert_uint_eq(f->host.n_doms + f->host.n_vols, 0);
	json_object_put(r);
}
END_TEST

START_TEST(enrol_rerun_is_done_and_a_changed_row_is_refused)
{
	const char *const one[] = { "s01", NULL };
	const char *line = "{\"v\":1,\"op\":\"enrol\",\"students\":[{\"id\":\"s01\",\"name\":"
		"\"Someone else\",\"ssh_keys\":\"ssh-ed25519 "
		"AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3\"}]}";
	json_object *r = fakelab_enrol(f, false, one), *errors;

	json_object_put(r);
	r = fakelab_enrol(f, false, one);
	ck_assert(reply_ok(r));
	ck_assert(result_ok(r, "s01"));
	json_object_put(r);
	r = fakelab_call(f, line);
	ck_assert(!reply_ok(r));
	ck_assert(json_object_object_get_ex(r, "errors", &errors));
	ck_assert(strstr(fakelab_json(errors), "already enrolled"));
	json_object_put(r);
}
END_TEST

START_TEST(enrol_more_than_the_pools_hold_creates_nothing)
{
	const char *ids[22];
	char names[21][16];
	json_object *r;
	int i;

	for (i = 0; i < 21; i++) {     /* 20 endpoints in the fake lab */
		snprintf(names[i], sizeof(names[i]), "t%02d", i);
		ids[i] = names[i];
	}
	ids[21] = NULL;
	r = fakelab_enrol(f, false, ids);
	ck_assert(!reply_ok(r));
	ck_assert(strstr(fakelab_json(r), "too many students"));
	ck_assert_int_eq(count("SELECT count(*) FROM students"), 0);
	json_object_put(r);
}
END_TEST

START_TEST(reset_gives_a_fresh_disk_and_a_new_generation)
{
	json_object *r = fakelab_enrol(f, true, three);

	json_object_put(r);
	fakehost_del_vol(&f->host, "vlab-s01.qcow2");   /* shows that reset makes it again */
	r = fakelab_call(f, "{\"v\":1,\"op\":\"reset\",\"students\":[\"s01\"]}");
	ck_assert_msg(reply_ok(r), "%s", fakelab_json(r));
	ck_assert(fakehost_vol(&f->host, "vlab-s01.qcow2"));
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_RUNNING);
	ck_assert_int_eq(count("SELECT generation FROM students WHERE id = 's01'"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE action = 'reset'"), 1);
	json_object_put(r);
}
END_TEST

START_TEST(reset_failing_to_start_reports_it)
{
	json_object *r = fakelab_enrol(f, false, three);

	json_object_put(r);
	fakehost_fail(&f->host, "dom_start", "vlab-s02", -EIO, 1);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"reset\",\"students\":[\"s02\"]}");
	ck_assert(!reply_ok(r));
	ck_assert(strstr(result_message(r, "s02"), "starting the VM failed"));
	ck_assert_str_eq(list_state("s02"), "shut off");
	json_object_put(r);
}
END_TEST

START_TEST(unenrol_removes_everything_and_frees_the_pools)
{
	uint32_t free_ep = alloc_endpoint_free_count(f->l.pools.endpoint);
	json_object *r = fakelab_enrol(f, true, three);

	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"unenrol\",\"students\":[\"s02\"]}");
	ck_assert(reply_ok(r));
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 0);
	ck_assert(!fakenetd_has(&f->netd, "s02"));
	ck_assert(fakenetd_has(&f->netd, "s01"));
	ck_assert_int_eq(count("SELECT count(*) FROM students WHERE id = 's02'"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE action = 'unenrol-done'"), 1);
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep - 2);
	ck_assert_ptr_null(vmview_find(&f->l.view, "s02"));
	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"unenrol\",\"all\":true}");
	ck_assert(reply_ok(r));
	ck_assert_uint_eq(f->host.n_doms + f->host.n_vols, 0);
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep);
	json_object_put(r);
}
END_TEST

START_TEST(unenrol_failing_keeps_the_student_deleting_for_the_next_start)
{
	json_object *r = fakelab_enrol(f, false, three);

	json_object_put(r);
	fakehost_fail(&f->host, "dom_remove", "vlab-s01", -EIO, 0);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"unenrol\",\"students\":[\"s01\"]}");
	ck_assert(!reply_ok(r));
	ck_assert(strstr(result_message(r, "s01"), "removing the domain failed"));
	ck_assert_int_eq(count("SELECT count(*) FROM allocations WHERE state = 'deleting'"), 1);
	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"list\"}");
	ck_assert(strstr(fakelab_json(r), "\"deleting\""));
	json_object_put(r);
}
END_TEST

START_TEST(unenrol_database_failure_is_a_clear_error_and_changes_nothing)
{
	json_object *r = fakelab_enrol(f, false, three);

	json_object_put(r);
	fakelab_sql(f, "CREATE TRIGGER no_audit BEFORE INSERT ON audit WHEN NEW.action = "
		    "'unenrol' BEGIN SELECT RAISE(ABORT, 'injected'); END;");
	r = fakelab_call(f, "{\"v\":1,\"op\":\"unenrol\",\"students\":[\"s03\"]}");
	ck_assert(!reply_ok(r));
	ck_assert_msg(strstr(result_message(r, "s03"), "database error") &&
		      strstr(result_message(r, "s03"), "nothing was changed"), "%s",
		      result_message(r, "s03"));
	/* Rolled back: still ready, the VM untouched. */
	ck_assert_int_eq(count("SELECT count(*) FROM allocations WHERE state = 'ready'"), 3);
	ck_assert_uint_eq(fakehost_count(&f->host, "s03"), 3);
	json_object_put(r);
}
END_TEST

START_TEST(bulk_ops_refuse_unknown_and_busy_students)
{
	json_object *r = fakelab_enrol(f, false, three);

	json_object_put(r);
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's02'");
	r = fakelab_call(f, "{\"v\":1,\"op\":\"start\",\"students\":[\"s01\",\"s02\",\"zz\"]}");
	ck_assert(!reply_ok(r));
	ck_assert(result_ok(r, "s01"));
	ck_assert_str_eq(result_message(r, "s02"),
			 "'s02' is still being created; try again when that finished");
	ck_assert_str_eq(result_message(r, "zz"), "'zz' is not enrolled");
	ck_assert(strstr(fakelab_json(r), "\"code\":\"busy\""));
	ck_assert(strstr(fakelab_json(r), "\"code\":\"not_found\""));
	json_object_put(r);
}
END_TEST

START_TEST(start_stop_reboot_follow_the_vm)
{
	json_object *r = fakelab_enrol(f, false, three);

	json_object_put(r);
	ck_assert_str_eq(list_state("s01"), "shut off");
	r = fakelab_call(f, "{\"v\":1,\"op\":\"start\",\"students\":[\"s01\"]}");
	ck_assert(reply_ok(r));
	json_object_put(r);
	ck_assert_str_eq(list_state("s01"), "running");
	r = fakelab_call(f, "{\"v\":1,\"op\":\"stop\",\"students\":[\"s01\"],\"force\":true}");
	ck_assert(reply_ok(r));
	json_object_put(r);
	ck_assert_str_eq(list_state("s01"), "shut off");
	/* reboot of a VM that is off starts it */
	r = fakelab_call(f, "{\"v\":1,\"op\":\"reboot\",\"students\":[\"s01\"]}");
	ck_assert(reply_ok(r));
	json_object_put(r);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_RUNNING);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"reboot\",\"students\":[\"s01\"]}");
	ck_assert(reply_ok(r));
	json_object_put(r);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE action IN ('start','stop','reboot')"), 4);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"stop\",\"all\":true,\"class\":\"test\"}");
	ck_assert(reply_ok(r));
	json_object_put(r);
}
END_TEST

START_TEST(bulk_with_nobody_answers_at_once)
{
	json_object *r = fakelab_call(f, "{\"v\":1,\"op\":\"start\",\"all\":true}");

	ck_assert(reply_ok(r));
	ck_assert(strstr(fakelab_json(r), "\"results\":[]"));
	json_object_put(r);
}
END_TEST

START_TEST(libvirt_gone_refuses_each_student_clearly)
{
	json_object *r;

	f->host.connected = false;
	r = fakelab_enrol(f, false, three);
	ck_assert(!reply_ok(r));
	ck_assert(strstr(result_message(r, "s01"), "libvirt is not connected"));
	json_object_put(r);
}
END_TEST

START_TEST(unenrol_that_cannot_start_leaves_the_student_ready)
{
	json_object *r = fakelab_enrol(f, false, three);

	json_object_put(r);
	f->host.connected = false;
	r = fakelab_call(f, "{\"v\":1,\"op\":\"unenrol\",\"students\":[\"s01\"]}");
	ck_assert(!reply_ok(r));
	ck_assert(strstr(result_message(r, "s01"), "libvirt is not connected"));
	ck_assert_int_eq(count("SELECT count(*) FROM allocations WHERE state = 'ready'"), 3);
	json_object_put(r);
}
END_TEST

START_TEST(set_keys_rewrites_the_seed_and_bumps_the_generation)
{
	const char *const one[] = { "s01", NULL };
	json_object *r = fakelab_enrol(f, false, one), *gen;

	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"set-keys\",\"student\":\"s01\",\"ssh_keys\":"
			 "\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC31T08tNOozJUBVtiJruM/AYkucAgC7"
			 "msp2mdG0Tpj7 new\"}");
	ck_assert_msg(reply_ok(r), "%s", fakelab_json(r));
	ck_assert(json_object_object_get_ex(r, "generation", &gen));
	ck_assert_int_eq(json_object_get_int(gen), 2);
	ck_assert_uint_eq(f->host.rewrites, 1);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE action = 'set-keys'"), 1);
	json_object_put(r);
	/* A seed that went missing is made again. */
	fakehost_del_vol(&f->host, "vlab-s01-seed.iso");
	r = fakelab_call(f, "{\"v\":1,\"op\":\"set-keys\",\"student\":\"s01\",\"ssh_keys\":"
			 "\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27"
			 "hU+WX6Fa9Jl3\"}");
	ck_assert(reply_ok(r));
	ck_assert(fakehost_vol(&f->host, "vlab-s01-seed.iso"));
	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"set-keys\",\"student\":\"nobody\",\"ssh_keys\":\"x\"}");
	ck_assert(strstr(fakelab_json(r), "\"code\":\"not_found\""));
	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"set-keys\",\"student\":\"s01\",\"ssh_keys\":\"x\"}");
	ck_assert(strstr(fakelab_json(r), "\"code\":\"invalid\""));
	json_object_put(r);
}
END_TEST

START_TEST(list_sheet_status_ask_the_host_nothing)
{
	json_object *r = fakelab_enrol(f, true, three), *v;
	unsigned calls;

	json_object_put(r);
	calls = f->host.calls;
	r = fakelab_call(f, "{\"v\":1,\"op\":\"list\",\"students\":[\"s02\"]}");
	ck_assert(json_object_object_get_ex(r, "students", &v));
	ck_assert_uint_eq(json_object_array_length(v), 1);
	ck_assert(strstr(fakelab_json(r), "\"base_current\":true"));
	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"sheet\",\"class\":\"test\"}");
	ck_assert(json_object_object_get_ex(r, "entries", &v));
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert(strstr(fakelab_json(r), "ssh -p 2000"));
	json_object_put(r);
	r = fakelab_call(f, "{\"v\":1,\"op\":\"status\"}");
	ck_assert(json_object_object_get_ex(r, "running", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	ck_assert(json_object_object_get_ex(r, "students", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	json_object_put(r);
	ck_assert_uint_eq(f->host.calls, calls);
	/* Not synced with libvirt: every state is unknown, nobody counts as running. */
	f->l.view.synced = false;
	ck_assert_str_eq(list_state("s01"), "unknown");
	r = fakelab_call(f, "{\"v\":1,\"op\":\"status\"}");
	ck_assert(strstr(fakelab_json(r), "\"running\":0"));
	ck_assert(strstr(fakelab_json(r), "\"libvirt\":false"));
	json_object_put(r);
}
END_TEST

/* The line labd writes for LINE, as a string (malloc'd). */
static void raw_reply(void *ctx, json_object *msg, bool final)
{
	char **out = ctx;

	if (final)
		*out = strdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static char *raw_call(const char *line)
{
	char *out = NULL;
	struct ops_sink sink = { raw_reply, &out, 0 };

	ck_assert_ptr_null(ops_handle(&f->l, &sink, line, strlen(line)));
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(list_and_sheet_text_is_what_json_c_writes)
{
	const char *line = "{\"v\":1,\"op\":\"enrol\",\"start\":false,\"students\":[{\"id\":"
		"\"q1\",\"name\":\"Zo\u00eb \\\"Q\\\" back\\\\slash a/b\",\"email\":\"q@x.example\","
		"\"ssh_keys\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27"
		"hU+WX6Fa9Jl3\"}]}";
	static const char *const reads[] = {
		"{\"v\":1,\"op\":\"list\"}", "{\"v\":1,\"op\":\"sheet\"}",
		"{\"v\":1,\"op\":\"list\",\"students\":[\"nobody\"]}",
		"{\"v\":1,\"id\":9,\"op\":\"sheet\",\"class\":\"test\"}",
	};
	json_object *r = fakelab_call(f, line);

	ck_assert_msg(reply_ok(r), "%s", fakelab_json(r));
	json_object_put(r);
	r = fakelab_enrol(f, false, three);
	json_object_put(r);
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		char *text = raw_call(reads[i]);
		json_object *o = json_tokener_parse(text);

		ck_assert_ptr_nonnull(o);
		/* Parsed and written again by json-c: the same bytes. */
		ck_assert_str_eq(text, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
		ck_assert(i == 2 || strstr(text, "Zo\xc3\xab \\\"Q\\\" back\\\\slash a/b"));
		json_object_put(o);
		free(text);
	}
}
END_TEST

START_TEST(refusals_have_a_code_and_a_message)
{
	static const struct {
		const char *line, *code;
	} rows[] = {
		{ "{\"v\":1,\"op\":\"format-disk\"}", "unknown_op" },
		{ "{\"op\":\"list\"}", "version" },
		{ "not json", "parse" },
		{ "{\"v\":1,\"op\":\"reset\"}", "invalid" },
		{ "{\"v\":1,\"op\":\"list\",\"class\":\"nope\"}", "invalid" },
		{ "{\"v\":1,\"op\":\"stop\",\"all\":true,\"force\":3}", "invalid" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_object *r = fakelab_call(f, rows[i].line), *err, *code;

		ck_assert(!reply_ok(r));
		ck_assert(json_object_object_get_ex(r, "error", &err));
		ck_assert(json_object_object_get_ex(err, "code", &code));
		ck_assert_msg(strcmp(json_object_get_string(code), rows[i].code) == 0, "%s: %s",
			      rows[i].line, json_object_get_string(code));
		ck_assert(reply_message(r)[0]);
		json_object_put(r);
	}
}
END_TEST

START_TEST(unknown_op_names_every_op_of_the_table)
{
	json_object *r = fakelab_call(f, "{\"v\":1,\"op\":\"nope\"}");

	ck_assert_str_eq(reply_message(r), "unknown op 'nope' (labd knows enrol, unenrol, list, "
			 "start, stop, reboot, reset, set-keys, sheet, status)");
	json_object_put(r);
}
END_TEST

static void never_called(void *ctx, json_object *msg, bool final)
{
	ck_abort_msg("a detached request replied");
}

START_TEST(a_detached_request_finishes_without_its_client)
{
	const char *line = "{\"v\":1,\"op\":\"stop\",\"all\":true}";
	json_object *r = fakelab_enrol(f, false, three);
	struct ops_sink sink = { never_called, NULL, 0 };
	struct ops_request *req;

	json_object_put(r);
	req = ops_handle(&f->l, &sink, line, strlen(line));
	ck_assert_ptr_nonnull(req);
	ops_request_detach(req);
	fakelab_wait(f);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_SHUTOFF);
}
END_TEST

Suite *make_ops_suite(void);
Suite *make_ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, enrol_all_ok_makes_every_piece);
	tcase_add_test(tc, enrol_reports_progress_per_student);
	tcase_add_test(tc, enrol_one_failing_midway_is_rolled_back);
	tcase_add_test(tc, enrol_on_a_full_disk_says_so_and_leaves_nothing);
	tcase_add_test(tc, enrol_overlay_disk_full_names_the_overlay);
	tcase_add_test(tc, enrol_database_failure_rolls_back_everything);
	tcase_add_test(tc, enrol_rerun_is_done_and_a_changed_row_is_refused);
	tcase_add_test(tc, enrol_more_than_the_pools_hold_creates_nothing);
	tcase_add_test(tc, reset_gives_a_fresh_disk_and_a_new_generation);
	tcase_add_test(tc, reset_failing_to_start_reports_it);
	tcase_add_test(tc, unenrol_removes_everything_and_frees_the_pools);
	tcase_add_test(tc, unenrol_failing_keeps_the_student_deleting_for_the_next_start);
	tcase_add_test(tc, unenrol_database_failure_is_a_clear_error_and_changes_nothing);
	tcase_add_test(tc, bulk_ops_refuse_unknown_and_busy_students);
	tcase_add_test(tc, start_stop_reboot_follow_the_vm);
	tcase_add_test(tc, bulk_with_nobody_answers_at_once);
	tcase_add_test(tc, libvirt_gone_refuses_each_student_clearly);
	tcase_add_test(tc, unenrol_that_cannot_start_leaves_the_student_ready);
	tcase_add_test(tc, set_keys_rewrites_the_seed_and_bumps_the_generation);
	tcase_add_test(tc, list_sheet_status_ask_the_host_nothing);
	tcase_add_test(tc, list_and_sheet_text_is_what_json_c_writes);
	tcase_add_test(tc, refusals_have_a_code_and_a_message);
	tcase_add_test(tc, unknown_op_names_every_op_of_the_table);
	tcase_add_test(tc, a_detached_request_finishes_without_its_client);
	suite_add_tcase(s, tc);
	return s;
}
