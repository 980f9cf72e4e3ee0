/*
 * labd/reconcile.c in the fake lab (tests/unit/fakelab.h): every half-made state a crash
 * can leave (tests/e2e/reliability and tests/soak/crash make them for real), what labd
 * must never touch, the VM view a walk rebuilds, and lifecycle events.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libvirt/libvirt.h>

#include "labd/alloc.h"
#include "labd/reconcile.h"
#include "tests/unit/fakelab.h"

static const char *const three[] = { "s01", "s02", "s03", NULL };

static struct fakelab *f;

static void setup(void)
{
	json_object *r;

	f = fakelab_new();
	r = fakelab_enrol(f, true, three);
	ck_assert(reply_ok(r));
	json_object_put(r);
}

static void teardown(void)
{
	fakelab_free(f);
	f = NULL;
}

/* labd's start after a crash: the view as it is then (empty), the walk, its tasks. */
static void restart(void)
{
	vmview_clear(&f->l.view);
	f->l.view.synced = false;
	ck_assert_int_eq(reconcile_run(&f->l), 0);
	fakelab_wait(f);
}

static const char *db_state(const char *id)
{
	static const char *const names[] = { "creating", "ready", "deleting" };
	char sql[128];
	long long n;

	snprintf(sql, sizeof(sql), "SELECT CASE state WHEN 'creating' THEN 0 WHEN 'ready' THEN 1 "
		 "WHEN 'deleting' THEN 2 END FROM allocations WHERE student = '%s'", id);
	n = fakelab_sql_int(f, sql);
	return n < 0 ? "none" : names[n];
}

START_TEST(creating_without_domain_or_volumes_is_finished_left_off)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's01'");
	fakehost_del_dom(&f->host, "vlab-s01");
	fakehost_del_vol(&f->host, "vlab-s01.qcow2");
	fakehost_del_vol(&f->host, "vlab-s01-seed.iso");
	restart();
	ck_assert_str_eq(db_state("s01"), "ready");
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 3);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_SHUTOFF);
	ck_assert(fakenetd_has(&f->netd, "s01"));
	ck_assert_int_eq(vmview_find(&f->l.view, "s01")->state, VM_SHUTOFF);
}
END_TEST

START_TEST(creating_with_a_domain_and_volumes_starts_from_a_clean_slate)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's02'");
	/* the volumes are there; the domain was defined and even started */
	restart();
	ck_assert_str_eq(db_state("s02"), "ready");
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 3);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s02")->state, VIRT_SHUTOFF);
}
END_TEST

START_TEST(creating_with_only_an_overlay_is_finished)
{
	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's03'");
	fakehost_del_dom(&f->host, "vlab-s03");
	fakehost_del_vol(&f->host, "vlab-s03-seed.iso");
	restart();
	ck_assert_str_eq(db_state("s03"), "ready");
	ck_assert_uint_eq(fakehost_count(&f->host, "s03"), 3);
}
END_TEST

START_TEST(creating_that_fails_again_is_rolled_back)
{
	uint32_t free_ep = alloc_endpoint_free_count(f->l.pools.endpoint);

	fakelab_sql(f, "UPDATE allocations SET state = 'creating' WHERE student = 's03'");
	fakehost_fail(&f->host, "dom_define", "vlab-s03", -EIO, 0);
	restart();
	ck_assert_str_eq(db_state("s03"), "none");
	ck_assert_uint_eq(fakehost_count(&f->host, "s03"), 0);
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep + 1);
}
END_TEST

START_TEST(deleting_is_removed_whatever_is_left)
{
	uint32_t free_ep = alloc_endpoint_free_count(f->l.pools.endpoint);

	fakelab_sql(f, "UPDATE allocations SET state = 'deleting' WHERE student = 's01'");
	fakelab_sql(f, "UPDATE allocations SET state = 'deleting' WHERE student = 's02'");
	fakehost_del_dom(&f->host, "vlab-s02");     /* half-removed already */
	fakehost_del_vol(&f->host, "vlab-s02.qcow2");
	restart();
	ck_assert_str_eq(db_state("s01"), "none");
	ck_assert_str_eq(db_state("s02"), "none");
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 0);
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 0);
	ck_assert(!fakenetd_has(&f->netd, "s01"));
	ck_assert_ptr_null(vmview_find(&f->l.view, "s01"));
	ck_assert_uint_eq(alloc_endpoint_free_count(f->l.pools.endpoint), free_ep + 2);
	ck_assert_str_eq(db_state("s03"), "ready");
}
END_TEST

START_TEST(orphans_of_ours_go_and_nothing_else_is_touched)
{
	fakehost_add_dom(&f->host, "vlab-gone", "gone", VIRT_RUNNING);      /* our metadata */
	fakehost_add_dom(&f->host, "vlab-foreign", NULL, VIRT_RUNNING);     /* not ours */
	fakehost_add_dom(&f->host, "vlab-s04", NULL, VIRT_SHUTOFF);         /* not ours */
	fakehost_add_vol(&f->host, "vlab-gone.qcow2");
	fakehost_add_vol(&f->host, "vlab-gone-seed.iso");
	fakehost_add_vol(&f->host, "foreign-disk.qcow2");
	fakehost_add_vol(&f->host, "vlab-.template.qcow2");
	fakehost_add_vol(&f->host, "vlab-Bad.qcow2");
	restart();
	ck_assert_ptr_null(fakehost_dom(&f->host, "vlab-gone"));
	ck_assert(!fakehost_vol(&f->host, "vlab-gone.qcow2"));
	ck_assert(!fakehost_vol(&f->host, "vlab-gone-seed.iso"));
	ck_assert_ptr_nonnull(fakehost_dom(&f->host, "vlab-foreign"));
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-foreign")->state, VIRT_RUNNING);
	ck_assert_ptr_nonnull(fakehost_dom(&f->host, "vlab-s04"));
	ck_assert(fakehost_vol(&f->host, "foreign-disk.qcow2"));
	ck_assert(fakehost_vol(&f->host, "vlab-.template.qcow2"));
	ck_assert(fakehost_vol(&f->host, "vlab-Bad.qcow2"));
	for (const char *const *id = three; *id; id++)
		ck_assert_uint_eq(fakehost_count(&f->host, *id), 3);
	ck_assert_ptr_null(vmview_find(&f->l.view, "gone"));
	ck_assert_ptr_null(vmview_find(&f->l.view, "foreign"));
}
END_TEST

START_TEST(ready_students_missing_pieces_are_repaired)
{
	fakehost_del_vol(&f->host, "vlab-s01-seed.iso");
	fakehost_del_vol(&f->host, "vlab-s02.qcow2");
	fakehost_del_dom(&f->host, "vlab-s03");
	restart();
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 3);
	ck_assert_uint_eq(fakehost_count(&f->host, "s02"), 3);
	ck_assert_uint_eq(fakehost_count(&f->host, "s03"), 3);
	/* redefined, not started: the teacher may have stopped it */
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s03")->state, VIRT_SHUTOFF);
	ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_RUNNING);
}
END_TEST

START_TEST(the_walk_rebuilds_the_view)
{
	fakehost_dom(&f->host, "vlab-s02")->state = VIRT_PAUSED;
	fakehost_fail(&f->host, "dom_state", NULL, -EIO, 0);   /* repair tasks fail: the walk's */
	restart();                                             /* states stay */
	ck_assert(f->l.view.synced);
	ck_assert_int_eq(vmview_find(&f->l.view, "s01")->state, VM_RUNNING);
	ck_assert_int_eq(vmview_find(&f->l.view, "s02")->state, VM_PAUSED);
	ck_assert_str_eq(vmview_state_text(&f->l.view, vmview_find(&f->l.view, "s02")), "paused");
}
END_TEST

START_TEST(a_failed_walk_changes_nothing)
{
	fakehost_fail(&f->host, "dom_list_owned", NULL, -ENOTCONN, 1);
	fakelab_sql(f, "UPDATE allocations SET state = 'deleting' WHERE student = 's01'");
	f->l.view.synced = false;
	ck_assert_int_eq(reconcile_run(&f->l), -ENOTCONN);
	fakelab_wait(f);
	ck_assert(!f->l.view.synced);
	ck_assert_str_eq(db_state("s01"), "deleting");
	ck_assert_uint_eq(fakehost_count(&f->host, "s01"), 3);
	fakehost_fail(&f->host, "vol_list", NULL, -EIO, 1);
	ck_assert_int_eq(reconcile_run(&f->l), -EIO);
}
END_TEST

static int walk_result = 1;

static void walk_done(struct labd *l, int result)
{
	walk_result = result;
}

START_TEST(the_reconnect_walk_runs_on_a_worker_and_keeps_newer_events)
{
	f->l.view.synced = false;
	fakehost_dom(&f->host, "vlab-s01")->state = VIRT_SHUTOFF;
	/* s02's repair task reads nothing: what the view says of it is the walk's or the
	 * event's */
	fakehost_fail(&f->host, "dom_state", "vlab-s02", -EIO, 0);
	walk_result = 1;
	reconcile_start(&f->l, walk_done);
	/* An event that comes in while the walk is out: newer than what the walk saw. */
	reconcile_event(&f->l, "vlab-s02", VIR_DOMAIN_EVENT_SUSPENDED, 0);
	fakelab_wait(f);
	ck_assert_int_eq(walk_result, 0);
	ck_assert(f->l.view.synced);
	ck_assert_int_eq(vmview_find(&f->l.view, "s02")->state, VM_PAUSED);
	/* s01's state comes from the walk, then its repair task (which saw it too) */
	ck_assert_int_eq(vmview_find(&f->l.view, "s01")->state, VM_SHUTOFF);
	fakehost_fail(&f->host, "vol_list", NULL, -EIO, 1);
	reconcile_start(&f->l, walk_done);
	fakelab_wait(f);
	ck_assert_int_eq(walk_result, -EIO);
}
END_TEST

START_TEST(events_move_the_view_and_crashes_are_restarted_three_times)
{
	struct vm *vm = vmview_find(&f->l.view, "s01");
	int i;

	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_STOPPED,
			VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
	ck_assert_int_eq(vm->state, VM_SHUTOFF);
	ck_assert(!vm->crashed);
	ck_assert_str_eq(vmview_state_text(&f->l.view, vm), "shut off");
	for (i = 0; i < 3; i++) {
		fakehost_dom(&f->host, "vlab-s01")->state = VIRT_SHUTOFF;
		reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_STOPPED,
				VIR_DOMAIN_EVENT_STOPPED_CRASHED);
		ck_assert(vm->busy);          /* a restart is on its way */
		ck_assert_str_eq(vmview_state_text(&f->l.view, vm), "crashed");
		fakelab_wait(f);
		ck_assert_int_eq(fakehost_dom(&f->host, "vlab-s01")->state, VIRT_RUNNING);
		ck_assert_str_eq(vmview_state_text(&f->l.view, vm), "running");
	}
	/* the fourth crash in the window is left alone */
	fakehost_dom(&f->host, "vlab-s01")->state = VIRT_SHUTOFF;
	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_CRASHED, 0);
	ck_assert(!vm->busy);
	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_STOPPED,
			VIR_DOMAIN_EVENT_STOPPED_FAILED);
	ck_assert_str_eq(vmview_state_text(&f->l.view, vm), "crashed");
	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_STARTED, 0);
	ck_assert(!vm->crashed);
	ck_assert_str_eq(vmview_state_text(&f->l.view, vm), "running");
	/* events that say nothing, and domains that are no student's */
	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_DEFINED, 0);
	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_SHUTDOWN, 0);
	ck_assert_int_eq(vm->state, VM_RUNNING);
	reconcile_event(&f->l, "vlab-nobody", VIR_DOMAIN_EVENT_STOPPED, 0);
	reconcile_event(&f->l, "other", VIR_DOMAIN_EVENT_STOPPED, 0);
	ck_assert_ptr_null(vmview_find(&f->l.view, "nobody"));
	reconcile_event(&f->l, "vlab-s02", VIR_DOMAIN_EVENT_UNDEFINED, 0);
	ck_assert_str_eq(vmview_state_text(&f->l.view, vmview_find(&f->l.view, "s02")),
			 "missing");
}
END_TEST

START_TEST(no_restart_when_the_config_says_so)
{
	struct vm *vm = vmview_find(&f->l.view, "s01");

	f->l.conf.restart_crashed = false;
	reconcile_event(&f->l, "vlab-s01", VIR_DOMAIN_EVENT_STOPPED,
			VIR_DOMAIN_EVENT_STOPPED_CRASHED);
	ck_assert(!vm->busy);
	ck_assert(vm->crashed);
}
END_TEST

Suite *make_reconcile_suite(void);
Suite *make_reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("reconcile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, creating_without_domain_or_volumes_is_finished_left_off);
	tcase_add_test(tc, creating_with_a_domain_and_volumes_starts_from_a_clean_slate);
	tcase_add_test(tc, creating_with_only_an_overlay_is_finished);
	tcase_add_test(tc, creating_that_fails_again_is_rolled_back);
	tcase_add_test(tc, deleting_is_removed_whatever_is_left);
	tcase_add_test(tc, orphans_of_ours_go_and_nothing_else_is_touched);
	tcase_add_test(tc, ready_students_missing_pieces_are_repaired);
	tcase_add_test(tc, the_walk_rebuilds_the_view);
	tcase_add_test(tc, a_failed_walk_changes_nothing);
	tcase_add_test(tc, the_reconnect_walk_runs_on_a_worker_and_keeps_newer_events);
	tcase_add_test(tc, events_move_the_view_and_crashes_are_restarted_three_times);
	tcase_add_test(tc, no_restart_when_the_config_says_so);
	suite_add_tcase(s, tc);
	return s;
}
