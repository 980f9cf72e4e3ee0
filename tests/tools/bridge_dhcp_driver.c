/*
 * Drives netd/bridge.c and netd/dhcp.c for tests/netns/bridge_dhcp_smoke.sh. Run it inside
 * the test's network namespace; it links netd/bridge.c netd/dhcp.c common/addr.c
 * common/log.c and libnl-route-3 (see the script for the command line).
 *
 *   ensure BRIDGE        bridge_ensure(10.77.0.1/24); prints "created=0|1"
 *   remove BRIDGE        bridge_remove
 *   ifindex BRIDGE       prints bridge_ifindex
 *   serve BRIDGE DIR     ensure, hosts = {52:54:00:00:00:01 -> 10.77.0.2 "vm-one"}, start
 *                        dnsmasq with state/run dirs under DIR, then wait: SIGUSR1 adds
 *                        52:54:00:00:00:02 -> 10.77.0.3 "stu_two" and reloads; a dead
 *                        dnsmasq is restarted after dhcp_restart_delay_ms; SIGTERM stops it
 *   stop-stale BRIDGE DIR
 *                        dhcp_stop_stale with the same paths as serve
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "netd/bridge.h"
#include "netd/dhcp.h"

static char state_dir[512], run_dir[512];

static void conf_fill(struct lab_conf *c, char *bridge, const char *dir)
{
	memset(c, 0, sizeof(*c));
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	c->state_dir = state_dir;
	c->run_dir = run_dir;
	c->bridge = bridge;
	inet_pton(AF_INET, "10.77.0.0", &c->subnet);
	c->prefix = 24;
	inet_pton(AF_INET, "10.77.0.1", &c->gateway);
	c->dns = true;
	c->dhcp_lease_secs = 3600;
	c->dnsmasq_path = "/usr/sbin/dnsmasq";
}

static void mapping_fill(struct mapping *m, const char *student, uint8_t last, const char *ip)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x00 };

	memset(m, 0, sizeof(*m));
	snprintf(m->student, sizeof(m->student), "%s", student);
	memcpy(m->mac, mac, sizeof(mac));
	m->mac[5] = last;
	inet_pton(AF_INET, ip, &m->ip);
}

static int cmd_ensure(char *bridge)
{
	struct lab_conf c;
	bool created;
	int r;

	conf_fill(&c, bridge, "/nonexistent");
	r = bridge_ensure(bridge, c.gateway, c.prefix, &created);
	if (r < 0) {
		fprintf(stderr, "bridge_ensure: %s\n", strerror(-r));
		return 1;
	}
	printf("created=%d\n", created);
	return 0;
}

static int cmd_serve(char *bridge, const char *dir)
{
	struct lab_conf c;
	struct dhcp d;
	struct mapping maps[2];
	size_t n = 1;
	sigset_t set;
	bool created, pending = false;
	int r, ret = 1;

	conf_fill(&c, bridge, dir);
	/* Blocked, then taken with sigtimedwait: netd's signalfd does the same, so this also
	 * checks that dhcp_start does not hand a blocked mask to dnsmasq. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	r = bridge_ensure(bridge, c.gateway, c.prefix, &created);
	if (r < 0)
		return 1;
	if (dhcp_init(&d, &c) < 0)
		return 1;
	mapping_fill(&maps[0], "vm-one", 0x01, "10.77.0.2");
	mapping_fill(&maps[1], "stu_two", 0x02, "10.77.0.3");
	if (dhcp_write_hosts(&d, maps, n) < 0 || dhcp_start(&d) < 0)
		goto out;
	printf("ready created=%d pid=%ld\n", created, (long)d.pid);
	fflush(stdout);

	for (;;) {
		long long delay = pending ? dhcp_restart_delay_ms(&d) : 60000;
		struct timespec ts = { .tv_sec = delay / 1000, .tv_nsec = (delay % 1000) * 1000000 };
		int sig = sigtimedwait(&set, NULL, &ts);

		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			goto out;
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGUSR1) {
			n = 2;
			if (dhcp_write_hosts(&d, maps, n) < 0 || dhcp_reload(&d) < 0)
				goto out;
			printf("reloaded\n");
			fflush(stdout);
		}
		if (sig == SIGCHLD && dhcp_reap(&d))
			pending = true;
		if (pending && dhcp_restart_delay_ms(&d) == 0) {
			pending = false;
			if (dhcp_start(&d) < 0)
				goto out;
			printf("restarted pid=%ld restarts=%u\n", (long)d.pid, d.restarts);
			fflush(stdout);
		}
	}
	ret = 0;
out:
	dhcp_stop(&d);
	dhcp_free(&d);
	return ret;
}

static int cmd_stop_stale(char *bridge, const char *dir)
{
	struct lab_conf c;
	struct dhcp d;

	conf_fill(&c, bridge, dir);
	if (dhcp_init(&d, &c) < 0)
		return 1;
	dhcp_stop_stale(&d);
	dhcp_free(&d);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("driver", true, LOG_LVL_DEBUG);
	if (argc == 3 && strcmp(argv[1], "ensure") == 0)
		return cmd_ensure(argv[2]);
	if (argc == 3 && strcmp(argv[1], "remove") == 0) {
		int r = bridge_remove(argv[2]);

		if (r < 0)
			fprintf(stderr, "bridge_remove: %s\n", strerror(-r));
		return r < 0;
	}
	if (argc == 3 && strcmp(argv[1], "ifindex") == 0) {
		int r = bridge_ifindex(argv[2]);

		printf("%d\n", r);
		return r < 0;
	}
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "stop-stale") == 0)
		return cmd_stop_stale(argv[2], argv[3]);
	fprintf(stderr, "usage: bridge_dhcp_driver ensure|remove|ifindex BRIDGE | "
			"serve|stop-stale BRIDGE DIR\n");
	return 2;
}
