/*
 * labd/task.c through task_submit, in the fake lab (tests/unit/fakelab.h): the refusals
 * that queue nothing, each kind's work on the host and its bookkeeping, and the report
 * to the submitter's callback.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "labd/task.h"
#include "tests/unit/fakelab.h"

static struct fakelab *f;

/* What the callback was told. */
static struct {
	unsigned calls;
	char student[40];
	int result;
	char error[512];
} got;

static void done(void *arg, const char *student, int result, const char *error)
{
	ck_assert_ptr_eq(arg, &got);
	got.calls++;
	snprintf(got.student, sizeof(got.student), "%s", student);
	got.result = result;
	snprintf(got.error, sizeof(got.error), "%s", error);
}

static void setup(void)
{
	static const char *const two[] = { "s01", "s02", NULL };
	json_object *r;

	f = fakelab_new();
	r = fakelab_enrol(f, false, two);
	ck_assert(reply_ok(r));
	json_object_put(r);
	memset(&got, 0, sizeof(got));
}

static void teardown(void)
{
	fakelab_free(f);
	f = NULL;
}

/* Submits and waits; the result the callback got. */
static int run(enum task_kind kind, const char *student, bool force)
{
	char err[512];
	int ret = task_submit(&f->l, kind, student, force, done, &got, err, sizeof(err));

	ck_assert_msg(ret == 0, "%s: %s", student, err);
	fakelab_wait(f);
	ck_assert_uint_eq(got.calls, 1);
	ck_assert_str_eq(got.student, student);
	got.calls = 0;
	return got.result;
}

START_TEST(kind_names_are_what_the_audit_log_says)
{
	ck_assert_str_eq(task_kind_name(TASK_CREATE), "create");
	ck_assert_str_eq(task_kind_name(TASK_REMOVE), "unenrol");
	ck_assert_str_eq(task_kind_name(TASK_SEED), "set-keys");
	ck_assert_str_eq(task_kind_name(TASK_REPAIR), "repair");
	ck_assert_str_eq(task_kind_name(TASK_KINDS), "?");
}
END_TEST

START_TEST(refusals_queue_nothing_and_say_why)
{
	char err[512];

	ck_assert_int_eq(task_submit(&f->l, TASK_START, "nobody", false, done, &got, err,
				     sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "'nobody' is not enrolled");
	/* busy: the first is queued, the second refused */
	ck_assert_int_eq(task_submit(&f->l, TASK_START, "s01", false, done, &got, err,
				     sizeof(err)), 0);
	ck_assert_int_eq(task_submit(&f->l, TASK_STOP, "s01", false, done, &got, err,
				     sizeof(err)), -EBUSY);
	ck_assert(strstr(err, "another operation on 's01' is in progress"));
	fakelab_wait(f);
	ck_assert_uint_eq(got.calls, 1);
	f->host.connected = false;
	ck_assert_int_eq(task_submit(&f->l, TASK_START, "s01", false, done, &got, err,
				     sizeof(err)), -ENOTCONN);
	ck_assert(strstr(err, "libvirt is not connected"));
	f->host.connected = true;
	fakelab_sql(f, "UPDATE students SET class = 'gone' WHERE id = 's02'");
	ck_assert_int_eq(task_submit(&f->l, TASK_START, "s02", false, done, &got, err,
				     sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "'s02' belongs to class 'gone', which is not in the configuration");
	fakelab_sql(f, "DELETE FROM allocations WHERE student = 's02'");
	ck_assert_int_eq(task_submit(&f->l, TASK_START, "s02", false, done, &got, err,
				     sizeof(err)), -ENOENT);
	ck_assert(strstr(err, "has no allocation"));
}
END_TEST

START_TEST(create_over_a_foreign_domain_is_refused_and_leaves_it)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's01'");
	fakehost_del_dom(&f->host, "vlab-s01");
	fakehost_add_dom(&f->host, "vlab-s01", NULL, VIRT_RUNNING);
	ck_assert_int_eq(run(TASK_CREATE, "s01", true), -EPERM);
	ck_assert_str_eq(got.error, "a domain named vlab-s01 exists that labd did not create; "
			 "rename or remove it, then enrol again");
	ck_assert_ptr_nonnull(fakehost_dom(&f->host, "vlab-s01"));
	ck_assert_str_eq(fakehost_dom(&f->host, "vlab-s01")->student, "");
	/* the student is rolled back, its volumes gone */
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM students WHERE id = 's01'"), 0);
	ck_assert(!fakehost_vol(&f->host, "vlab-s01.qcow2"));
}
END_TEST

START_TEST(create_failing_at_define_removes_what_it_made)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's02'");
	fakehost_fail(&f->host, "dom_define", "vlab-s02", -EINVAL, 0);
	ck_assert_int_eq(run(TASK_CREATE, "s02", false), -EINVAL);
	ck_assert_str_eq(got.error, "defining the domain failed (Invalid argument); see labd's log");
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 0);
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM students WHERE id = 's02'"), 0);
}
END_TEST

START_TEST(create_whose_rollback_fails_stays_creating)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's02'");
	fakelab_sql(f, "CREATE TRIGGER keep BEFORE DELETE ON students BEGIN "
		    "SELECT RAISE(ABORT, 'injected'); END;");
	fakehost_fail(&f->host, "dom_start", NULL, -EIO, 0);
	ck_assert_int_eq(run(TASK_CREATE, "s02", false), -EIO);
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM allocations WHERE state = "
					 "'creating'"), 1);
	/* rolled back as a whole: no audit entry either */
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM audit WHERE action = "
					 "'enrol-failed'"), 0);
}
END_TEST

START_TEST(create_that_cannot_be_marked_ready_says_so)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's02'");
	fakelab_sql(f, "CREATE TRIGGER stuck BEFORE UPDATE OF state ON allocations BEGIN "
		    "SELECT RAISE(ABORT, 'injected'); END;");
	ck_assert_int_lt(run(TASK_CREATE, "s02", true), 0);
	ck_assert_msg(strstr(got.error, "could not be marked ready"), "%s", got.error);
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM allocations WHERE state = "
					 "'creating'"), 1);
}
END_TEST

START_TEST(remove_whose_rows_cannot_go_reports_it)
{
	fakelab_sql(f, "CREATE TRIGGER keep BEFORE DELETE ON students BEGIN "
		    "SELECT RAISE(ABORT, 'injected'); END;");
	ck_assert_int_lt(run(TASK_REMOVE, "s01", false), 0);
	ck_assert_msg(strstr(got.error, "still listed"), "%s", got.error);
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM students WHERE id = 's01'"), 1);
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 0);
}
END_TEST

START_TEST(reset_whose_base_cannot_be_recorded_reports_it)
{
	fakelab_sql(f, "CREATE TRIGGER stuck BEFORE UPDATE OF base_image ON allocations BEGIN "
		    "SELECT RAISE(ABORT, 'injected'); END;");
	ck_assert_int_lt(run(TASK_RESET, "s01", false), 0);
	ck_assert_msg(strstr(got.error, "new base image was not recorded"), "%s", got.error);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_RUNNING);
}
END_TEST

START_TEST(reset_that_cannot_remove_the_old_domain_leaves_the_disks)
{
	fakehost_fail(&f->host, "dom_remove", "vlab-s01", -EIO, 1);
	ck_assert_int_eq(run(TASK_RESET, "s01", false), -EIO);
	ck_assert(strstr(got.error, "forcing the VM off failed"));
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 3);
}
END_TEST

START_TEST(stop_start_reboot_and_their_failures)
{
	ck_assert_int_eq(run(TASK_START, "s01", false), 0);
	ck_assert_int_eq(vmview_find(&f->l.view, "s01")->state, VM_RUNNING);
	ck_assert_int_eq(run(TASK_REBOOT, "s01", false), 0);
	ck_assert_int_eq(run(TASK_STOP, "s01", true), 0);
	ck_assert_int_eq(vmview_find(&f->l.view, "s01")->state, VM_SHUTOFF);
	fakehost_fail(&f->host, "dom_stop", NULL, -ETIMEDOUT, 1);
	ck_assert_int_eq(run(TASK_STOP, "s01", false), -ETIMEDOUT);
	ck_assert(strstr(got.error, "stopping the VM failed"));
	fakehost_fail(&f->host, "dom_state", NULL, -EIO, 1);
	ck_assert_int_eq(run(TASK_REBOOT, "s01", false), -EIO);
	ck_assert(strstr(got.error, "reading the VM's state failed"));
	fakehost_fail(&f->host, "dom_reboot", NULL, -EIO, 1);
	ck_assert_int_eq(run(TASK_START, "s01", false), 0);
	ck_assert_int_eq(run(TASK_REBOOT, "s01", false), -EIO);
	ck_assert(strstr(got.error, "rebooting the VM failed"));
	fakehost_fail(&f->host, "dom_start", NULL, -ENOENT, 1);
	ck_assert_int_eq(run(TASK_STOP, "s01", false), 0);
	ck_assert_int_eq(run(TASK_START, "s01", false), -ENOENT);
}
END_TEST

START_TEST(seed_rewrite_failures_are_reported)
{
	fakehost_fail(&f->host, "vol_rewrite", NULL, -EIO, 1);
	ck_assert_int_eq(run(TASK_SEED, "s01", false), -EIO);
	ck_assert(strstr(got.error, "writing the seed failed"));
	ck_assert_int_eq(run(TASK_SEED, "s01", false), 0);
	ck_assert_uint_eq(f->host.rewrites, 1);
}
END_TEST

START_TEST(repair_remakes_what_carries_no_data_and_defines_a_missing_domain)
{
	fakehost_del_vol(&f->host, "vlab-s01-seed.iso");
	fakehost_del_vol(&f->host, "vlab-s01.qcow2");
	fakehost_del_dom(&f->host, "vlab-s01");
	ck_assert_int_eq(run(TASK_REPAIR, "s01", false), 0);
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 3);
	/* defined again, left off */
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_SHUTOFF);
	/* a running domain is left alone */
	fakehost_dom(&f->host, "vlab-s02")->state = VIRT_RUNNING;
	ck_assert_int_eq(run(TASK_REPAIR, "s02", false), 0);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s02")->state, VIRT_RUNNING);
	ck_assert_int_eq(vmview_find(&f->l.view, "s02")->state, VM_RUNNING);
}
END_TEST

START_TEST(repair_failures_are_reported)
{
	fakehost_del_vol(&f->host, "vlab-s01.qcow2");
	fakehost_fail(&f->host, "vol_create_overlay", NULL, -ENOSPC, 1);
	ck_assert_int_eq(run(TASK_REPAIR, "s01", false), -ENOSPC);
	ck_assert(strstr(got.error, "repairing the overlay failed"));
	fakehost_del_vol(&f->host, "vlab-s01-seed.iso");
	fakehost_fail(&f->host, "vol_create_raw", NULL, -EIO, 1);
	ck_assert_int_eq(run(TASK_REPAIR, "s01", false), -EIO);
	fakehost_fail(&f->host, "dom_state", NULL, -EIO, 1);
	ck_assert_int_eq(run(TASK_REPAIR, "s01", false), -EIO);
	ck_assert(strstr(got.error, "reading the VM's state failed"));
	/* the overlay's recorded base is gone: nothing is queued */
	fakelab_sql(f, "UPDATE allocations SET base_image = '/nowhere/old.qcow2' WHERE "
		    "student = 's01'");
	fakehost_fail(&f->host, "base_probe", "/nowhere/old.qcow2", -ENOENT, 0);
	{
		char err[512];

		ck_assert_int_eq(task_submit(&f->l, TASK_REPAIR, "s01", false, done, &got, err,
					     sizeof(err)), -ENOENT);
		ck_assert(strstr(err, "base image /nowhere/old.qcow2 of its overlay is missing"));
	}
}
END_TEST

START_TEST(remove_failing_to_delete_volumes_keeps_the_student)
{
	fakehost_fail(&f->host, "vol_delete", "vlab-s02.qcow2", -EIO, 0);
	ck_assert_int_eq(run(TASK_REMOVE, "s02", false), -EIO);
	ck_assert(strstr(got.error, "deleting the volumes failed"));
	ck_assert_int_eq(fakelab_sql_int(f, "SELECT count(*) FROM students WHERE id = 's02'"), 1);
	ck_assert_ptr_null(fakehost_dom(&f->host, "vlab-s02"));
}
END_TEST

START_TEST(tasks_without_a_callback_just_record)
{
	char err[512];

	ck_assert_int_eq(task_submit(&f->l, TASK_START, "s01", false, NULL, NULL, err,
				     sizeof(err)), 0);
	fakelab_wait(f);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_RUNNING);
	ck_assert(!vmview_find(&f->l.view, "s01")->busy);
}
END_TEST

Suite *make_task_suite(void);
Suite *make_task_suite(void)
{
	Suite *s = suite_create("task");
	TCase *tc = tcase_create("task");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, kind_names_are_what_the_audit_log_says);
	tcase_add_test(tc, refusals_queue_nothing_and_say_why);
	tcase_add_test(tc, create_over_a_foreign_domain_is_refused_and_leaves_it);
	tcase_add_test(tc, create_failing_at_define_removes_what_it_made);
	tcase_add_test(tc, create_whose_rollback_fails_stays_creating);
	tcase_add_test(tc, create_that_cannot_be_marked_ready_says_so);
	tcase_add_test(tc, remove_whose_rows_cannot_go_reports_it);
	tcase_add_test(tc, reset_whose_base_cannot_be_recorded_reports_it);
	tcase_add_test(tc, reset_that_cannot_remove_the_old_domain_leaves_the_disks);
	tcase_add_test(tc, stop_start_reboot_and_their_failures);
	tcase_add_test(tc, seed_rewrite_failures_are_reported);
	tcase_add_test(tc, repair_remakes_what_carries_no_data_and_defines_a_missing_domain);
	tcase_add_test(tc, repair_failures_are_reported);
	tcase_add_test(tc, remove_failing_to_delete_volumes_keeps_the_student);
	tcase_add_test(tc, tasks_without_a_callback_just_record);
	suite_add_tcase(s, tc);
	return s;
}
