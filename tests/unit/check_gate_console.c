/*
 * The console relay (gate/console.c) between pipes that stand in for the student and a
 * socketpair that stands in for labd: bytes pass both ways unchanged, Ctrl-] ends it
 * and is never sent, every way of ending is told apart.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gate/console.h"

struct rig {
	int in[2];               /* the student's keyboard: we write [1], the relay reads [0] */
	int out[2];              /* the student's screen: the relay writes [1], we read [0] */
	int lab[2];              /* the relay has [0], "labd" [1] */
};

static void rig_open(struct rig *r)
{
	ck_assert_int_eq(pipe2(r->in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(r->out, O_CLOEXEC), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->lab), 0);
}

static void rig_close(struct rig *r)
{
	int *fds[] = { r->in, r->out, r->lab };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (fds[i][0] >= 0)
			close(fds[i][0]);
		if (fds[i][1] >= 0)
			close(fds[i][1]);
	}
}

static void put(int fd, const char *buf, size_t len)
{
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* Everything readable on FD now (non-blocking), in BUF; its length. */
static size_t drain(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	return len;
}

START_TEST(console_finds_the_escape)
{
	ck_assert_uint_eq(console_find_escape("abc", 3), 3);
	ck_assert_uint_eq(console_find_escape("ab\x1d" "c", 4), 2);
	ck_assert_uint_eq(console_find_escape("\x1d", 1), 0);
	ck_assert_uint_eq(console_find_escape("a\0\x1d", 3), 2);
	ck_assert_uint_eq(console_find_escape("", 0), 0);
}
END_TEST

START_TEST(console_ctrl_bracket_leaves_and_is_not_sent)
{
	struct labc_stream st = { .pending = (char *)"[boot]\r\n", .n_pending = 8 };
	char buf[64];
	struct rig r;
	size_t n;

	rig_open(&r);
	st.fd = r.lab[0];
	put(r.in[1], "ls\r\x1dreboot\r", 11);
	ck_assert_int_eq(console_relay(r.in[0], r.out[1], &st), CONSOLE_LEFT);
	n = drain(r.lab[1], buf, sizeof(buf));
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(memcmp(buf, "ls\r", 3), 0);
	n = drain(r.out[0], buf, sizeof(buf));
	ck_assert_uint_eq(n, 8);
	ck_assert_int_eq(memcmp(buf, "[boot]\r\n", 8), 0);
	rig_close(&r);
}
END_TEST

START_TEST(console_escape_first_sends_nothing)
{
	struct labc_stream st = { 0 };
	char buf[16];
	struct rig r;

	rig_open(&r);
	st.fd = r.lab[0];
	put(r.in[1], "\x1d", 1);
	ck_assert_int_eq(console_relay(r.in[0], r.out[1], &st), CONSOLE_LEFT);
	ck_assert_uint_eq(drain(r.lab[1], buf, sizeof(buf)), 0);
	rig_close(&r);
}
END_TEST

START_TEST(console_lab_hanging_up_is_told_apart)
{
	struct labc_stream st = { 0 };
	struct rig r;

	rig_open(&r);
	st.fd = r.lab[0];
	put(r.lab[1], "bye\r\n", 5);
	close(r.lab[1]);
	r.lab[1] = -1;
	/* The student's side stays open: only labd ended. */
	ck_assert_int_eq(console_relay(r.in[0], r.out[1], &st), CONSOLE_CLOSED_BY_LAB);
	rig_close(&r);
}
END_TEST

/* "labd": echoes what it reads, a-z as A-Z, until EOF, then closes (as the protocol asks). */
static void *fake_lab(void *arg)
{
	int fd = *(int *)arg;
	char buf[512];
	ssize_t n, i;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] >= 'a' && buf[i] <= 'z')
				buf[i] = (char)(buf[i] - 'a' + 'A');
		if (write(fd, buf, (size_t)n) != n)
			break;
	}
	close(fd);
	return NULL;
}

START_TEST(console_passes_every_byte_but_the_escape_both_ways)
{
	struct labc_stream st = { 0 };
	char in[256], buf[1024];
	pthread_t th;
	struct rig r;
	size_t n, i, k = 0;
	struct timespec t0, t1;

	for (i = 0; i < 256; i++)
		if (i != 0x1d)
			in[k++] = (char)i;           /* NUL, ^C, ^D, 0xff: all of them */
	rig_open(&r);
	st.fd = r.lab[0];
	ck_assert_int_eq(pthread_create(&th, NULL, fake_lab, &r.lab[1]), 0);
	put(r.in[1], in, k);
	close(r.in[1]);                          /* then the student's input ends */
	r.in[1] = -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(console_relay(r.in[0], r.out[1], &st), CONSOLE_INPUT_CLOSED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	r.lab[1] = -1;                           /* the thread closed it */
	/* labd closed in answer to the end of input: no waiting for the drain timeout. */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, CONSOLE_DRAIN_MS / 1000 - 1);
	n = drain(r.out[0], buf, sizeof(buf));
	ck_assert_uint_eq(n, k);
	for (i = 0; i < k; i++) {
		char want = in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 'a' + 'A') : in[i];

		ck_assert_msg(buf[i] == want, "byte %zu: 0x%02x, expected 0x%02x", i,
			      (unsigned char)buf[i], (unsigned char)want);
	}
	rig_close(&r);
}
END_TEST

START_TEST(console_input_end_waits_only_so_long_for_labd)
{
	struct labc_stream st = { 0 };
	struct timespec t0, t1;
	struct rig r;
	long ms;

	rig_open(&r);
	st.fd = r.lab[0];
	close(r.in[1]);
	r.in[1] = -1;
	/* "labd" never closes: the relay gives up after CONSOLE_DRAIN_MS. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(console_relay(r.in[0], r.out[1], &st), CONSOLE_INPUT_CLOSED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, CONSOLE_DRAIN_MS - 50);
	ck_assert_int_lt(ms, CONSOLE_DRAIN_MS + 2000);
	rig_close(&r);
}
END_TEST

START_TEST(console_a_closed_screen_is_an_error_not_a_hang)
{
	struct labc_stream st = { .pending = (char *)"x", .n_pending = 1 };
	struct rig r;

	signal(SIGPIPE, SIG_IGN);                /* as vlab-gate's main() does */
	rig_open(&r);
	st.fd = r.lab[0];
	close(r.out[0]);                         /* the student's side is gone */
	r.out[0] = -1;
	ck_assert_int_eq(console_relay(r.in[0], r.out[1], &st), -EPIPE);
	rig_close(&r);
}
END_TEST

Suite *make_gate_console_suite(void);  /* called by check_all.c */

Suite *make_gate_console_suite(void)
{
	Suite *s = suite_create("gate_console");
	TCase *t = tcase_create("relay");

	tcase_set_timeout(t, 20);
	tcase_add_test(t, console_finds_the_escape);
	tcase_add_test(t, console_ctrl_bracket_leaves_and_is_not_sent);
	tcase_add_test(t, console_escape_first_sends_nothing);
	tcase_add_test(t, console_lab_hanging_up_is_told_apart);
	tcase_add_test(t, console_passes_every_byte_but_the_escape_both_ways);
	tcase_add_test(t, console_input_end_waits_only_so_long_for_labd);
	tcase_add_test(t, console_a_closed_screen_is_an_error_not_a_hang);
	suite_add_tcase(s, t);
	return s;
}
