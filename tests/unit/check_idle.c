/* netd/idle.c: the bookkeeping of sleeping VMs, driven with made-up clocks. */
#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "netd/idle.h"

static struct idle *t;

static void setup(void)
{
	ck_assert_int_eq(idle_new(&t), 0);
}

static void teardown(void)
{
	idle_free(t);
	t = NULL;
}

static struct mapping student(const char *id, unsigned idle_sleep, bool asleep)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	snprintf(m.student, sizeof(m.student), "%s", id);
	m.ip.s_addr = htonl(0x0a4d0000u + (uint32_t)id[strlen(id) - 1]);
	m.idle_sleep = idle_sleep;
	m.asleep = asleep;
	return m;
}

/* What idle_check told, as "alice:45 bob:60 ". */
struct told {
	char text[256];
	unsigned n;
};

static void tell(const char *s, long long idle_ms, void *arg)
{
	struct told *t2 = arg;
	size_t len = strlen(t2->text);

	snprintf(t2->text + len, sizeof(t2->text) - len, "%s:%lld ", s, idle_ms / 1000);
	t2->n++;
}

static long long check_at(long long now, struct told *out)
{
	memset(out, 0, sizeof(*out));
	return idle_check(t, now, tell, out);
}

START_TEST(idle_tells_once_when_idle_sleep_has_passed_then_reminds)
{
	struct mapping a = student("alice", 45, false);
	struct told told;

	ck_assert_int_eq(idle_note_put(t, &a, 1000), 0);
	ck_assert_int_eq(idle_last_active(t, "alice"), 1000);
	/* not before: due at 46 000 */
	ck_assert_int_eq(check_at(45999, &told), 46000);
	ck_assert_uint_eq(told.n, 0);
	check_at(46000, &told);
	ck_assert_str_eq(told.text, "alice:45 ");
	/* once per crossing ... */
	ck_assert_int_eq(check_at(50000, &told), 46000 + IDLE_REMIND_MS);
	ck_assert_uint_eq(told.n, 0);
	/* ... and again if labd did nothing for IDLE_REMIND_MS */
	check_at(46000 + IDLE_REMIND_MS, &told);
	ck_assert_str_eq(told.text, "alice:105 ");
}
END_TEST

START_TEST(idle_activity_moves_the_due_time_and_ends_the_idle_period)
{
	struct mapping a = student("alice", 10, false);
	struct told told;

	idle_note_put(t, &a, 0);
	check_at(10000, &told);
	ck_assert_uint_eq(told.n, 1);
	/* the student came back at 12 s: a new idle period, told again at 22 s */
	idle_note_activity(t, "alice", 12000);
	ck_assert_int_eq(check_at(15000, &told), 22000);
	ck_assert_uint_eq(told.n, 0);
	check_at(22000, &told);
	ck_assert_str_eq(told.text, "alice:10 ");
}
END_TEST

START_TEST(idle_activity_within_jitter_or_older_is_ignored)
{
	struct mapping a = student("alice", 10, false);
	struct told told;

	idle_note_put(t, &a, 5000);
	/* the same element read again a few milliseconds apart */
	idle_note_activity(t, "alice", 5000 + IDLE_JITTER_MS);
	ck_assert_int_eq(idle_last_active(t, "alice"), 5000);
	check_at(15000, &told);
	ck_assert_uint_eq(told.n, 1);
	idle_note_activity(t, "alice", 5010);
	check_at(16000, &told);
	ck_assert_uint_eq(told.n, 0);     /* still the same idle period: not told again */
	/* an element older than a wake-up's fresh start must not undo it */
	idle_note_activity(t, "alice", 1000);
	ck_assert_int_eq(idle_last_active(t, "alice"), 5000);
}
END_TEST

START_TEST(idle_never_tells_sleeping_or_never_sleeping_vms)
{
	struct mapping a = student("alice", 0, false), b = student("bob", 10, true);
	struct told told;

	idle_note_put(t, &a, 0);
	idle_note_put(t, &b, 0);
	ck_assert_int_eq(check_at(1000000, &told), LLONG_MAX);
	ck_assert_uint_eq(told.n, 0);
	ck_assert_int_eq(idle_last_active(t, "bob"), IDLE_UNKNOWN);
}
END_TEST

START_TEST(idle_waking_up_starts_a_fresh_idle_time)
{
	struct mapping a = student("alice", 10, false);
	struct told told;

	idle_note_put(t, &a, 0);
	check_at(10000, &told);
	ck_assert_uint_eq(told.n, 1);
	a.asleep = true;                        /* labd put it to sleep */
	idle_note_put(t, &a, 11000);
	ck_assert_int_eq(idle_last_active(t, "alice"), 0);
	ck_assert_int_eq(check_at(500000, &told), LLONG_MAX);
	a.asleep = false;                       /* and woke it at 600 s */
	idle_note_put(t, &a, 600000);
	ck_assert_int_eq(idle_last_active(t, "alice"), 600000);
	ck_assert_int_eq(check_at(605000, &told), 610000);
	check_at(610000, &told);
	ck_assert_str_eq(told.text, "alice:10 ");
	/* a put that changes nothing of the sort keeps the idle time */
	a.idle_sleep = 20;
	idle_note_put(t, &a, 700000);
	ck_assert_int_eq(idle_last_active(t, "alice"), 600000);
}
END_TEST

START_TEST(idle_classmates_have_their_own_clocks)
{
	struct mapping a = student("alice", 10, false), b = student("bob", 10, false);
	struct told told;

	idle_note_put(t, &a, 0);
	idle_note_put(t, &b, 0);
	idle_note_activity(t, "bob", 9000);
	check_at(10000, &told);
	ck_assert_str_eq(told.text, "alice:10 ");
	ck_assert_int_eq(idle_last_active(t, "alice"), 0);
	check_at(19000, &told);
	ck_assert_str_eq(told.text, "bob:10 ");
	idle_note_activity(t, "carol", 5000);  /* no such student: nothing happens */
	ck_assert_uint_eq(idle_count(t), 2);
}
END_TEST

START_TEST(idle_sync_keeps_known_times_and_drops_the_gone)
{
	struct mapping a = student("alice", 10, false), b = student("bob", 10, false);
	struct mapping list[2] = { student("alice", 10, false), student("carol", 10, false) };

	idle_note_put(t, &a, 100);
	idle_note_put(t, &b, 100);
	ck_assert_int_eq(idle_note_sync(t, list, 2, 5000), 0);
	ck_assert_uint_eq(idle_count(t), 2);
	ck_assert_int_eq(idle_last_active(t, "alice"), 100);   /* not a wake-up */
	ck_assert_int_eq(idle_last_active(t, "carol"), 5000);  /* new: fresh */
	ck_assert_int_eq(idle_last_active(t, "bob"), IDLE_UNKNOWN);
	idle_note_del(t, "alice");
	ck_assert_uint_eq(idle_count(t), 1);
}
END_TEST

START_TEST(idle_at_start_takes_the_kernels_times_then_grants_the_rest_a_grace)
{
	struct mapping list[3] = { student("alice", 10, false), student("bob", 10, false),
				   student("carol", 10, true) };

	ck_assert_int_eq(idle_note_sync(t, list, 3, IDLE_UNKNOWN), 0);
	ck_assert_int_eq(idle_last_active(t, "alice"), IDLE_UNKNOWN);
	/* the activity set an earlier netd left: alice was last active at 1 s */
	idle_note_activity(t, "alice", 1000);
	idle_note_start(t, 50000);
	ck_assert_int_eq(idle_last_active(t, "alice"), 1000);
	ck_assert_int_eq(idle_last_active(t, "bob"), 50000);
	ck_assert_int_eq(idle_last_active(t, "carol"), IDLE_UNKNOWN);
}
END_TEST

START_TEST(idle_retell_tells_every_idle_vm_again)
{
	struct mapping a = student("alice", 10, false);
	struct told told;

	idle_note_put(t, &a, 0);
	check_at(10000, &told);
	check_at(11000, &told);
	ck_assert_uint_eq(told.n, 0);
	idle_retell(t);
	check_at(11000, &told);
	ck_assert_str_eq(told.text, "alice:11 ");
}
END_TEST

START_TEST(idle_wake_is_due_once_per_interval_per_student)
{
	struct mapping a = student("alice", 0, true), b = student("bob", 0, true);

	idle_note_put(t, &a, 0);
	idle_note_put(t, &b, 0);
	ck_assert(idle_wake_due(t, "alice", 1000));
	ck_assert(!idle_wake_due(t, "alice", 1000 + IDLE_WAKE_EVERY_MS - 1));
	ck_assert(idle_wake_due(t, "bob", 1500));    /* a classmate is not held back */
	ck_assert(idle_wake_due(t, "alice", 1000 + IDLE_WAKE_EVERY_MS));
	ck_assert(!idle_wake_due(t, "nobody", 5000));
}
END_TEST

START_TEST(idle_wake_of_a_new_sleep_is_due_at_once)
{
	struct mapping asleep = student("alice", 0, true), awake = student("alice", 0, false);

	idle_note_put(t, &asleep, 0);
	ck_assert(idle_wake_due(t, "alice", 1000));
	/* Woken, then asleep again a moment later: its next packet wakes it again. */
	idle_note_put(t, &awake, 1200);
	idle_note_put(t, &asleep, 1400);
	ck_assert(idle_wake_due(t, "alice", 1500));
	/* The same sleep put again is no new sleep. */
	idle_note_put(t, &asleep, 1600);
	ck_assert(!idle_wake_due(t, "alice", 1700));
}
END_TEST

Suite *make_idle_suite(void); /* called by check_all.c */

Suite *make_idle_suite(void)
{
	Suite *s = suite_create("idle");
	TCase *tc = tcase_create("idle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, idle_tells_once_when_idle_sleep_has_passed_then_reminds);
	tcase_add_test(tc, idle_wake_of_a_new_sleep_is_due_at_once);
	tcase_add_test(tc, idle_activity_moves_the_due_time_and_ends_the_idle_period);
	tcase_add_test(tc, idle_activity_within_jitter_or_older_is_ignored);
	tcase_add_test(tc, idle_never_tells_sleeping_or_never_sleeping_vms);
	tcase_add_test(tc, idle_waking_up_starts_a_fresh_idle_time);
	tcase_add_test(tc, idle_classmates_have_their_own_clocks);
	tcase_add_test(tc, idle_sync_keeps_known_times_and_drops_the_gone);
	tcase_add_test(tc, idle_at_start_takes_the_kernels_times_then_grants_the_rest_a_grace);
	tcase_add_test(tc, idle_retell_tells_every_idle_vm_again);
	tcase_add_test(tc, idle_wake_is_due_once_per_interval_per_student);
	suite_add_tcase(s, tc);
	return s;
}
