/*
 * The console relay (see console.h): one poll loop over the student's input and labd's
 * stream. The student's bytes wait in a small buffer until labd takes them, and the
 * input is not read while that buffer is full, so a slow VM slows the student down
 * instead of growing memory. Output to the student is written as it comes.
 */
#include "gate/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"

#define RELAY_BUF 4096
#define LEAVE_FLUSH_MS 1000       /* after Ctrl-]: how long the bytes before it may take */

/* Set by the handler, read by the loop (a handler can reach nothing else). */
static volatile sig_atomic_t relay_signalled;

static void relay_on_signal(int sig)
{
	(void)sig;
	relay_signalled = 1;
}

size_t console_find_escape(const char *buf, size_t len)
{
	const char *e = memchr(buf, CONSOLE_ESCAPE, len);

	return e ? (size_t)(e - buf) : len;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct relay {
	int in, out, lab;
	char to_lab[RELAY_BUF];   /* the student's bytes labd has not taken yet */
	size_t n_to_lab;
	bool in_open;             /* the student's input has not ended */
	bool leaving;             /* Ctrl-] seen: hand over what came before it, then end */
	bool shut;                /* labd was told (shutdown) that no more input comes */
	long long deadline;       /* ms (CLOCK_MONOTONIC) when waiting ends; 0: none */
};

/* Reads from labd into OUT. 0 while the stream is open, an end when it closed, -errno. */
static int relay_from_lab(struct relay *r)
{
	char buf[RELAY_BUF];
	ssize_t n = read(r->lab, buf, sizeof(buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		if (r->leaving)
			return CONSOLE_LEFT;
		return r->shut ? CONSOLE_INPUT_CLOSED : CONSOLE_CLOSED_BY_LAB;
	}
	return fs_write_all(r->out, buf, (size_t)n);
}

static int relay_to_lab(struct relay *r)
{
	ssize_t n = write(r->lab, r->to_lab, r->n_to_lab);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	memmove(r->to_lab, r->to_lab + n, r->n_to_lab - (size_t)n);
	r->n_to_lab -= (size_t)n;
	return 0;
}

static int relay_from_student(struct relay *r)
{
	char buf[RELAY_BUF];
	ssize_t n = read(r->in, buf, sizeof(r->to_lab) - r->n_to_lab);
	size_t keep;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* EIO: the pty's other side (sshd) is gone, which is an end of input too. */
	if (n < 0 && errno != EIO)
		return -errno;
	if (n <= 0) {
		r->in_open = false;
		return 0;
	}
	keep = console_find_escape(buf, (size_t)n);
	memcpy(r->to_lab + r->n_to_lab, buf, keep);
	r->n_to_lab += keep;
	if (keep < (size_t)n) {
		r->leaving = true;
		r->deadline = now_ms() + LEAVE_FLUSH_MS;
	}
	return 0;
}

/* One turn of the loop: 0 to go on, an end (> 0), or -errno. */
static int relay_step(struct relay *r, const sigset_t *wait_mask)
{
	struct pollfd pfd[2];
	struct timespec ts, *tsp = NULL;
	long long left;
	int ret;

	if (relay_signalled)
		return CONSOLE_SIGNALLED;
	if (r->leaving && r->n_to_lab == 0)
		return CONSOLE_LEFT;
	if (!r->in_open && !r->leaving && r->n_to_lab == 0 && !r->shut) {
		/* Tell labd no more input comes; it closes the stream in answer. */
		if (shutdown(r->lab, SHUT_WR) < 0 && errno != ENOTCONN)
			return -errno;
		r->shut = true;
		r->deadline = now_ms() + CONSOLE_DRAIN_MS;
	}
	if (r->deadline != 0) {
		left = r->deadline - now_ms();
		if (left <= 0)
			return r->leaving ? CONSOLE_LEFT : CONSOLE_INPUT_CLOSED;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		tsp = &ts;
	}
	pfd[0].fd = r->in_open && !r->leaving && r->n_to_lab < sizeof(r->to_lab) ? r->in : -1;
	pfd[0].events = POLLIN;
	pfd[1].fd = r->lab;
	pfd[1].events = POLLIN | (r->n_to_lab > 0 ? POLLOUT : 0);
	pfd[0].revents = pfd[1].revents = 0;
	if (ppoll(pfd, 2, tsp, wait_mask) < 0)
		return errno == EINTR ? 0 : -errno;

	if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) && (ret = relay_from_lab(r)) != 0)
		return ret;
	if ((pfd[1].revents & POLLOUT) && (ret = relay_to_lab(r)) < 0)
		return ret;
	if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && (ret = relay_from_student(r)) < 0)
		return ret;
	return 0;
}

int console_relay(int in, int out, const struct labc_stream *stream)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct sigaction sa, old_sa[3];
	sigset_t block, old_mask;
	struct termios saved, raw;
	struct relay r;
	bool tty = false;
	int ret, flags;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.in = in;
	r.out = out;
	r.lab = stream->fd;
	r.in_open = true;
	relay_signalled = 0;

	/* Signals only interrupt ppoll(): no end can slip between a check and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = relay_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < 3; i++) {
		sigaction(sigs[i], &sa, &old_sa[i]);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &old_mask);

	flags = fcntl(r.lab, F_GETFL);
	if (flags < 0 || fcntl(r.lab, F_SETFL, flags | O_NONBLOCK) < 0) {
		ret = -errno;
		goto out;
	}
	if (isatty(in) && tcgetattr(in, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(in, TCSANOW, &raw) == 0)
			tty = true;
	}
	ret = fs_write_all(out, stream->pending, stream->n_pending);
	if (ret < 0)
		goto out;
	do
		ret = relay_step(&r, &old_mask);
	while (ret == 0);
out:
	if (tty)
		tcsetattr(in, TCSADRAIN, &saved);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &old_sa[i], NULL);
	return ret;
}
