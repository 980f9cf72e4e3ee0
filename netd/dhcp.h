/*
 * The dnsmasq child that hands each known MAC its fixed IP on the bridge: no dynamic
 * pool (dhcp-range ...,static), bound to the bridge only, hosts file rewritten atomically
 * (write temp + rename) and the child sent SIGHUP on change, restarted if it dies.
 */
#ifndef VLAB_DHCP_H
#define VLAB_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/conf.h"
#include "common/mapping.h"

struct dhcp {
	const struct lab_conf *conf;
	char *hosts_path;        /* STATE_DIR/dhcp-hosts */
	char *lease_path;        /* STATE_DIR/dnsmasq.leases */
	char *pid_path;          /* RUN_DIR/dnsmasq.pid: so a netd after kill -9 can stop it */
	pid_t pid;               /* 0 when not running */
	unsigned restarts;       /* restarts within the current backoff window */
	long long next_start_ms; /* CLOCK_MONOTONIC ms before which we do not restart */
	long long started_ms;    /* CLOCK_MONOTONIC ms of the last start: quick deaths back off */
};

/* Fills D (no I/O). */
int dhcp_init(struct dhcp *d, const struct lab_conf *conf);
void dhcp_free(struct dhcp *d);

/* Writes the hosts file for MAPS atomically ("mac,ip,student" per line). 0 or -errno. */
int dhcp_write_hosts(struct dhcp *d, const struct mapping *maps, size_t n);

/* Starts dnsmasq (stopping a stale one found through the pid file first). 0 or -errno.
 * PR_SET_PDEATHSIG is set but the kernel clears it when dnsmasq drops to 'nobody', so
 * after a kill -9 of netd the old dnsmasq keeps serving the last hosts file until the
 * next netd start (or --teardown) finds it through the pid file and stops it. */
int dhcp_start(struct dhcp *d);
/* SIGHUP so it rereads the hosts file. */
int dhcp_reload(struct dhcp *d);
/* SIGTERM, wait (bounded), SIGKILL if needed; removes the pid file. */
void dhcp_stop(struct dhcp *d);
/* Called on SIGCHLD: reaps; returns true if our child died (the caller restarts it with
 * dhcp_start after dhcp_restart_delay_ms). */
bool dhcp_reap(struct dhcp *d);
/* Backoff before the next restart (0 = now). */
long long dhcp_restart_delay_ms(const struct dhcp *d);
/* Stops a dnsmasq left by an earlier netd (from the pid file, checked against
 * /proc/PID/cmdline) without starting one: used by --teardown. */
void dhcp_stop_stale(struct dhcp *d);

/* Pure builders, unit-tested without a kernel. */

/* dnsmasq's argv for D: NULL-terminated, every string malloc'd; NULL when out of memory.
 * Free with dhcp_argv_free(). */
char **dhcp_argv_build(const struct dhcp *d);
void dhcp_argv_free(char **argv);
/* "infinite" for 0, else "<N>m" when N is whole minutes, else "<N>s". */
void dhcp_format_lease(unsigned secs, char *buf, size_t len);
/* M's hosts-file line without newline: "mac,ip,student", or "mac,ip" when the ID is not
 * a hostname dnsmasq would take as one ('_', a trailing '-', all digits, a keyword).
 * 0, or -ENOSPC when LEN is too small. */
int dhcp_format_host(const struct mapping *m, char *buf, size_t len);

#endif
