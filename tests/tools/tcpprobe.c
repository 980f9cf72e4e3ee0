/*
 * Test client for the DNAT path. Every wait is bounded.
 *   tcpprobe once HOST PORT [TIMEOUT_MS]
 *       connect, print the greeting line; exit 0, 1 (refused/reset), 3 (timeout)
 *   tcpprobe loop HOST PORT EXPECT DURATION_MS
 *       connect again and again for DURATION_MS; each must greet with EXPECT;
 *       prints "ok=N fail=M" and exits 0 only if M == 0 and N > 0
 *   tcpprobe hold HOST PORT DURATION_MS
 *       one connection kept for DURATION_MS, a ping echoed every 100 ms; exit 0 if every
 *       echo came back within 2 s
 *   tcpprobe banners TIMEOUT_MS PREFIX HOST:PORT...
 *       one process polls many endpoints (a new try every 250 ms each, 2 s per try)
 *       until each greets with a line starting with PREFIX; prints "HOST:PORT" on
 *       stdout as each does. Exit 0 when all did, 3 at TIMEOUT_MS (the rest on stderr).
 *       Twenty shell pollers spawning a probe four times a second each took CPU from
 *       the TCG guests they were waiting for.
 *   tcpprobe timed HOST PORT TIMEOUT_MS
 *       one connect() left to the kernel (its own SYN retransmissions, no retry by
 *       hand) for up to TIMEOUT_MS, then the greeting; prints "GREETING MS" (MS from
 *       connect() to established), or "error TEXT MS" (exit 1: an ICMP error, a reset)
 *       or "timeout MS" (exit 3); on stderr "connect at MS", the wall-clock time of the
 *       connect() call in milliseconds (to time what it caused elsewhere)
 *   tcpprobe session HOST PORT GO_FILE TIMEOUT_MS
 *       connects, reads the greeting, has "one" echoed, prints "open", then waits (up to
 *       TIMEOUT_MS) for GO_FILE to exist, sends "two" and waits up to TIMEOUT_MS for its
 *       echo; prints "echo MS" (MS from the send to the echo), or "error TEXT" (exit 1:
 *       the session was reset or got an ICMP error) / "timeout" (exit 3)
 *   tcpprobe rate HOST PORT COUNT
 *       COUNT sequential connect+greeting+close; prints "conns=N secs=S rate=R fail=F".
 *       Each is closed with a reset, so no TIME_WAIT is left on either side: tens of
 *       thousands of connections from one address would otherwise reuse a source port
 *       still in TIME_WAIT and wait a second for the SYN's retransmission.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects within TIMEOUT ms: fd, or -1 (refused/unreachable) / -3 (timeout). */
static int dial(const char *host, int port, int timeout)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd p;
	int fd, err = 0;
	socklen_t len = sizeof(err);

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, timeout) <= 0) {
		close(fd);
		return -3;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		close(fd);
		return err == ETIMEDOUT ? -3 : -1;
	}
	return fd;
}

/* Reads one line within TIMEOUT ms into BUF (without '\n'); 0, -1 (closed), -3. */
static int read_line(int fd, char *buf, size_t size, int timeout)
{
	size_t n = 0;
	long long end = now_ms() + timeout;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -3;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static int greet(const char *host, int port, int timeout, char *buf, size_t size, bool reset)
{
	static const struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };
	int fd = dial(host, port, timeout), r;

	if (fd < 0)
		return fd;
	r = read_line(fd, buf, size, timeout);
	if (reset)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
	close(fd);
	return r;
}

/* A socket's pending error as text, or NULL. */
static const char *sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return strerror(errno);
	return err ? strerror(err) : NULL;
}

/* `timed`: one connect() with the kernel's own retransmissions. */
static int probe_timed(const char *host, int port, int timeout)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd p;
	struct timespec wall;
	long long start;
	const char *err;
	char buf[256];
	int fd, r;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 2;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 2;
	clock_gettime(CLOCK_REALTIME, &wall);
	start = now_ms();
	fprintf(stderr, "connect at %lld\n", (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		printf("error %s %lld\n", strerror(errno), now_ms() - start);
		return 1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	r = poll(&p, 1, timeout);
	if (r <= 0) {
		printf("timeout %lld\n", now_ms() - start);
		return 3;
	}
	if ((err = sock_error(fd))) {
		printf("error %s %lld\n", err, now_ms() - start);
		return 1;
	}
	r = (int)(now_ms() - start);
	if (read_line(fd, buf, sizeof(buf), 2000) < 0) {
		printf("error no greeting %d\n", r);
		return 1;
	}
	printf("%s %d\n", buf, r);
	close(fd);
	return 0;
}

/* `session`: an open connection that goes quiet until GO_FILE exists, then talks. */
static int probe_session(const char *host, int port, const char *go, int timeout)
{
	long long end, start;
	char buf[256];
	int fd = dial(host, port, 2000), r;

	if (fd < 0 || read_line(fd, buf, sizeof(buf), 2000) < 0 || write(fd, "one\n", 4) != 4 ||
	    read_line(fd, buf, sizeof(buf), 2000) < 0 || strcmp(buf, "one") != 0) {
		printf("error cannot open the session\n");
		return 1;
	}
	printf("open\n");
	fflush(stdout);
	end = now_ms() + timeout;
	while (access(go, F_OK) < 0) {
		if (now_ms() >= end) {
			printf("timeout waiting for %s\n", go);
			return 3;
		}
		usleep(20 * 1000);
	}
	start = now_ms();
	if (write(fd, "two\n", 4) != 4) {
		printf("error %s\n", strerror(errno));
		return 1;
	}
	errno = 0;
	r = read_line(fd, buf, sizeof(buf), timeout);
	if (r == -3) {
		printf("timeout\n");
		return 3;
	}
	if (r < 0 || strcmp(buf, "two") != 0) {
		printf("error %s\n", r < 0 ? (errno ? strerror(errno) : "closed") : buf);
		return 1;
	}
	printf("echo %lld\n", now_ms() - start);
	close(fd);
	return 0;
}

/* One endpoint of `banners`. */
struct ep {
	const char *arg;                 /* "HOST:PORT" as given */
	struct sockaddr_in sa;
	int fd;                          /* -1 between tries */
	bool connected, done;
	long long next_try, deadline;    /* ms */
	char line[128];
	size_t n;
};

static void ep_close(struct ep *e, long long now)
{
	close(e->fd);
	e->fd = -1;
	e->connected = false;
	e->n = 0;
	e->next_try = now + 250;
}

static int ep_parse(struct ep *e, const char *arg)
{
	char host[64];
	const char *colon = strrchr(arg, ':');

	memset(e, 0, sizeof(*e));
	e->arg = arg;
	e->fd = -1;
	if (!colon || (size_t)(colon - arg) >= sizeof(host))
		return -1;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	e->sa.sin_family = AF_INET;
	e->sa.sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &e->sa.sin_addr) == 1 && e->sa.sin_port ? 0 : -1;
}

/* Reads what is there; true once a whole line is in. */
static bool ep_read(struct ep *e, long long now)
{
	ssize_t r = read(e->fd, e->line + e->n, sizeof(e->line) - 1 - e->n);
	char *nl;

	if (r <= 0) {
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		ep_close(e, now);
		return false;
	}
	e->n += (size_t)r;
	e->line[e->n] = '\0';
	nl = strchr(e->line, '\n');
	if (!nl && e->n + 1 < sizeof(e->line))
		return false;
	if (nl)
		*nl = '\0';
	return true;
}

static int banners(int argc, char **argv)
{
	long long now = now_ms(), end = now + atoll(argv[2]);
	const char *prefix = argv[3];
	size_t n = (size_t)argc - 4, left = n, i;
	struct ep *eps = calloc(n, sizeof(*eps));
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	int ret = 3;

	if (!eps || !pfd)
		goto out;
	for (i = 0; i < n; i++) {
		if (ep_parse(&eps[i], argv[4 + i]) < 0) {
			fprintf(stderr, "tcpprobe: banners: bad endpoint %s\n", argv[4 + i]);
			ret = 2;
			goto out;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (left > 0 && (now = now_ms()) < end) {
		int wait = 250;

		for (i = 0; i < n; i++) {
			struct ep *e = &eps[i];

			pfd[i] = (struct pollfd){ .fd = -1 };
			if (e->done)
				continue;
			if (e->fd >= 0 && now >= e->deadline)
				ep_close(e, now);
			if (e->fd < 0 && now >= e->next_try) {
				e->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
				if (e->fd < 0)
					goto out;
				e->deadline = now + 2000;
				if (connect(e->fd, (struct sockaddr *)&e->sa, sizeof(e->sa)) < 0 &&
				    errno != EINPROGRESS) {
					ep_close(e, now);
					continue;
				}
			}
			if (e->fd >= 0)
				pfd[i] = (struct pollfd){ .fd = e->fd,
							  .events = e->connected ? POLLIN : POLLOUT };
			else if (e->next_try - now < wait)
				wait = (int)(e->next_try - now);
		}
		if (poll(pfd, n, wait < 1 ? 1 : wait) < 0 && errno != EINTR)
			goto out;
		now = now_ms();
		for (i = 0; i < n; i++) {
			struct ep *e = &eps[i];
			int err = 0;
			socklen_t len = sizeof(err);

			if (pfd[i].fd < 0 || !pfd[i].revents || e->fd < 0)
				continue;
			if (!e->connected) {
				if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
					ep_close(e, now);
				else
					e->connected = true;
				continue;
			}
			if (!ep_read(e, now))
				continue;
			if (strncmp(e->line, prefix, strlen(prefix)) == 0) {
				printf("%s\n", e->arg);
				e->done = true;
				left--;
				close(e->fd);
				e->fd = -1;
			} else {
				ep_close(e, now);
			}
		}
	}
	ret = left == 0 ? 0 : 3;
	for (i = 0; i < n; i++)
		if (!eps[i].done)
			fprintf(stderr, "tcpprobe: %s: no banner\n", eps[i].arg);
out:
	for (i = 0; eps && i < n; i++)
		if (eps[i].fd >= 0)
			close(eps[i].fd);
	free(eps);
	free(pfd);
	return ret;
}

int main(int argc, char **argv)
{
	char buf[256];

	if (argc >= 4 && strcmp(argv[1], "once") == 0) {
		int timeout = argc > 4 ? atoi(argv[4]) : 2000;
		int r = greet(argv[2], atoi(argv[3]), timeout, buf, sizeof(buf), false);

		if (r < 0) {
			fprintf(stderr, "tcpprobe: %s:%s: %s\n", argv[2], argv[3],
				r == -3 ? "timeout" : "refused or closed");
			return -r;
		}
		printf("%s\n", buf);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "timed") == 0)
		return probe_timed(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 6 && strcmp(argv[1], "session") == 0)
		return probe_session(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
	if (argc == 6 && strcmp(argv[1], "loop") == 0) {
		long long end = now_ms() + atoll(argv[5]);
		unsigned ok = 0, fail = 0;

		while (now_ms() < end) {
			if (greet(argv[2], atoi(argv[3]), 1000, buf, sizeof(buf), false) == 0 &&
			    strcmp(buf, argv[4]) == 0)
				ok++;
			else
				fail++;
		}
		printf("ok=%u fail=%u\n", ok, fail);
		return fail == 0 && ok > 0 ? 0 : 1;
	}
	if (argc == 5 && strcmp(argv[1], "hold") == 0) {
		long long end = now_ms() + atoll(argv[4]);
		unsigned pings = 0;
		int fd = dial(argv[2], atoi(argv[3]), 2000);

		if (fd < 0 || read_line(fd, buf, sizeof(buf), 2000) < 0) {
			fprintf(stderr, "tcpprobe: hold: cannot connect\n");
			return 1;
		}
		while (now_ms() < end) {
			if (write(fd, "ping\n", 5) != 5 || read_line(fd, buf, sizeof(buf), 2000) < 0 ||
			    strcmp(buf, "ping") != 0) {
				fprintf(stderr, "tcpprobe: hold: connection broke after %u pings\n", pings);
				close(fd);
				return 1;
			}
			pings++;
			usleep(100 * 1000);
		}
		close(fd);
		printf("pings=%u\n", pings);
		return 0;
	}
	if (argc >= 5 && strcmp(argv[1], "banners") == 0)
		return banners(argc, argv);
	if (argc == 5 && strcmp(argv[1], "rate") == 0) {
		long count = atol(argv[4]), i, fail = 0;
		long long start = now_ms();
		double secs;

		for (i = 0; i < count; i++)
			if (greet(argv[2], atoi(argv[3]), 1000, buf, sizeof(buf), true) < 0)
				fail++;
		secs = (double)(now_ms() - start) / 1000.0;
		printf("conns=%ld secs=%.3f rate=%.0f fail=%ld\n", count, secs,
		       secs > 0 ? (double)count / secs : 0.0, fail);
		return fail ? 1 : 0;
	}
	fprintf(stderr, "usage: tcpprobe once|loop|hold|timed|session|banners|rate ... "
		"(see the source)\n");
	return 2;
}
