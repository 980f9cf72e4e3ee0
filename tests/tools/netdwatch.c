/*
 * Test client for netd's events: subscribes with {"v":1,"op":"watch"} and prints every
 * event line as it comes, prefixed with the wall-clock time in milliseconds (so a
 * shell can compare it with `date +%s%3N`). Every wait is bounded.
 *   netdwatch SOCKET TIMEOUT_MS [COUNT]
 *       prints "# watching" once netd has accepted the subscription, then
 *       "MS {event}" per event; exits 0 after COUNT events (3 if the time ran out
 *       first), or at TIMEOUT_MS with 0 when no COUNT was given; 1 if netd closed the
 *       connection or refused the subscription.
 *   netdwatch --stall SOCKET TIMEOUT_MS
 *       subscribes and then never reads (a watcher that hangs): netd must go on.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/sock.h"

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const char req[] = "{\"v\":1,\"op\":\"watch\",\"id\":1}\n";
	bool stall = argc > 1 && strcmp(argv[1], "--stall") == 0;
	int a = stall ? 2 : 1, fd, seen = 0, count;
	char buf[65536], line[65536];
	size_t n = 0;
	bool subscribed = false;
	long long end;

	if (argc - a < 2 || argc - a > 3) {
		fprintf(stderr, "usage: netdwatch [--stall] SOCKET TIMEOUT_MS [COUNT]\n");
		return 2;
	}
	end = mono_ms() + atoll(argv[a + 1]);
	count = argc - a == 3 ? atoi(argv[a + 2]) : -1;
	fd = sock_connect(argv[a]);
	if (fd < 0) {
		fprintf(stderr, "netdwatch: %s: %s\n", argv[a], strerror(-fd));
		return 1;
	}
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		perror("netdwatch: write");
		return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - mono_ms();
		ssize_t r;
		char *nl;

		if (left <= 0)
			break;
		if (stall && subscribed) {
			usleep((useconds_t)(left > 100 ? 100 : left) * 1000);
			continue;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0) {
			fprintf(stderr, "netdwatch: netd closed the connection\n");
			return 1;
		}
		if (n + (size_t)r >= sizeof(line)) {
			fprintf(stderr, "netdwatch: line too long\n");
			return 1;
		}
		memcpy(line + n, buf, (size_t)r);
		n += (size_t)r;
		line[n] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (!subscribed) {
				if (!strstr(line, "\"ok\":true")) {
					fprintf(stderr, "netdwatch: refused: %s\n", line);
					return 1;
				}
				subscribed = true;
				printf("# watching\n");
			} else if (strstr(line, "\"event\"")) {
				printf("%lld %s\n", wall_ms(), line);
				seen++;
			}
			fflush(stdout);
			n -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, n + 1);
			if (count >= 0 && seen >= count)
				return 0;
		}
	}
	return count >= 0 ? 3 : 0;
}
