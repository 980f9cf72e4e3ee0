/*
 * netd: the host network side of the lab (bridge, nftables table, DHCP) and nothing else.
 * One thread, one poll() loop; signals arrive through a signalfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/outbuf.h"
#include "netd/bridge.h"
#include "netd/netd.h"

#define NETD_MAX_CLIENTS 64
#define NETD_FILES_DELAY_MS 50     /* coalesce hosts/state file writes after changes */
#define NETD_CHECK_EVERY_MS 2000   /* table presence check, in case events were lost */
#define NETD_TRIM_ABOVE (64 * 1024) /* request size after which freed memory is returned */
#define NETD_TRIM_IDLE_MS 250
#define NETD_WATCH_MAX_PENDING (1u << 20) /* unread event bytes before a watcher is dropped */
#define NETD_FIXED_FDS 4            /* signals, listener, nft monitor, NFLOG */

/* A control connection: sock_client_accept seats the first member. */
struct netd_client {
	struct sock_client s;
	bool watching;              /* sent "watch": gets every event */
};

/* The loop's own state: the sockets, the clients, when the next table check is due. */
struct netd_loop {
	struct netd *d;
	int sfd, lfd;
	gid_t gid;
	bool running;
	long long next_check;
	struct netd_client clients[NETD_MAX_CLIENTS];
};

long long netd_now_ms(void)
{
	return clock_now_ms();
}

/*
 * A big request (a sync) leaves megabytes of freed JSON nodes below the live heap.
 * They go back to the system once netd has been idle for a moment: trimming right after
 * each request would make the next one of a burst fault every page in again.
 */
void netd_trim_later(struct netd *d)
{
	d->trim_due_ms = netd_now_ms() + NETD_TRIM_IDLE_MS;
}

void netd_files_touch(struct netd *d)
{
	if (!d->files_dirty) {
		d->files_dirty = true;
		d->files_due_ms = netd_now_ms() + NETD_FILES_DELAY_MS;
	}
}

int netd_files_flush(struct netd *d)
{
	struct mapping *maps;
	size_t n;
	int ret, ret2;

	maps = store_snapshot(d->store, &n);
	if (!maps && store_count(d->store) > 0)
		return -ENOMEM;
	ret = dhcp_write_hosts(&d->dhcp, maps, n);
	if (ret == 0 && d->dhcp.pid > 0)
		dhcp_reload(&d->dhcp);
	ret2 = persist_save(d->state_path, maps, n);
	free(maps);
	d->files_dirty = false;
	if (n > 1000)
		netd_trim_later(d);   /* the state file's JSON tree was as big as a sync */
	return ret < 0 ? ret : ret2;
}

int netd_table_rebuild(struct netd *d)
{
	struct mapping *maps;
	size_t n;
	int ret;

	maps = store_snapshot(d->store, &n);
	if (!maps && store_count(d->store) > 0)
		return -ENOMEM;
	ret = nft_apply_full(d->nft, maps, n);
	if (ret < 0)
		log_warnx("table %s: rebuild failed: %s", d->conf.nft_table, nft_last_error(d->nft));
	free(maps);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netd [-d] [-v] [-c FILE] [--teardown | --check-config]\n"
		"  -c, --config FILE  lab configuration (default " CONF_DEFAULT_PATH ")\n"
		"  -d, --foreground   log to stderr instead of syslog\n"
		"  -v, --verbose      debug logging\n"
		"      --teardown     remove the table, the bridge (if netd created it) and the\n"
		"                     DHCP server, then exit\n"
		"      --check-config validate the configuration and exit\n");
}

static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		fatalx("out of memory");
	return p;
}

static void netd_params(struct netd *d)
{
	size_t i, n = 0;

	d->publics = calloc(d->conf.n_publics, sizeof(*d->publics));
	if (!d->publics)
		fatalx("out of memory");
	/* One address may carry several port ranges: the set holds each address once. */
	for (i = 0; i < d->conf.n_publics; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (d->publics[j].s_addr == d->conf.publics[i].addr.s_addr)
				break;
		if (j == n)
			d->publics[n++] = d->conf.publics[i].addr;
	}
	d->nft_params = (struct nft_params){
		.table = d->conf.nft_table,
		.bridge = d->conf.bridge,
		.subnet = d->conf.subnet,
		.prefix = d->conf.prefix,
		.publics = d->publics,
		.n_publics = n,
		.egress = d->conf.egress,
		.dns = d->conf.dns,
	};
}

/* --teardown: everything netd made goes, nothing else. */
static int netd_teardown(struct netd *d)
{
	char *marker = path_join(d->conf.state_dir, "bridge-created");
	char *hosts_tmp = NULL;
	int fd, ret = 0;

	fd = sock_connect(d->conf.netd_socket);
	if (fd >= 0) {
		close(fd);
		log_warnx("netd is running (it answers on %s): stop it before --teardown",
			  d->conf.netd_socket);
		free(marker);
		return 1;
	}
	dhcp_stop_stale(&d->dhcp);
	if (nft_open(&d->nft, &d->nft_params) == 0) {
		if (nft_teardown(d->nft) < 0) {
			log_warnx("table %s: %s", d->conf.nft_table, nft_last_error(d->nft));
			ret = 1;
		}
	} else {
		ret = 1;
	}
	if (access(marker, F_OK) == 0) {
		if (bridge_remove(d->conf.bridge) < 0)
			ret = 1;
		else
			unlink(marker);
	} else if (bridge_ifindex(d->conf.bridge) >= 0) {
		log_info("bridge %s was not created by netd: left in place", d->conf.bridge);
	}
	unlink(d->state_path);
	unlink(d->dhcp.hosts_path);
	unlink(d->dhcp.lease_path);
	if (asprintf(&hosts_tmp, "%s.tmp", d->dhcp.hosts_path) >= 0) {
		unlink(hosts_tmp);
		free(hosts_tmp);
	}
	free(marker);
	if (ret == 0)
		log_info("teardown done");
	return ret;
}

void netd_event_send(struct netd *d, json_object *ev)
{
	struct netd_loop *lp = d->loop;
	int i;

	for (i = 0; lp && i < NETD_MAX_CLIENTS; i++) {
		struct sock_client *c = &lp->clients[i].s;

		if (c->fd < 0 || !lp->clients[i].watching)
			continue;
		if (c->out.len - c->out.off > NETD_WATCH_MAX_PENDING) {
			log_warnx("watcher pid %d reads no events (%zu bytes pending): dropped",
				  (int)c->peer.pid, c->out.len - c->out.off);
			sock_client_close(c);
		} else if (outbuf_queue(&c->out, c->fd, ev) < 0) {
			sock_client_close(c);
		}
	}
}

unsigned netd_watcher_count(const struct netd *d)
{
	const struct netd_loop *lp = d->loop;
	unsigned n = 0;
	int i;

	for (i = 0; lp && i < NETD_MAX_CLIENTS; i++)
		n += lp->clients[i].s.fd >= 0 && lp->clients[i].watching;
	return n;
}

static void client_read(struct netd *d, struct netd_client *nc)
{
	struct sock_client *c = &nc->s;
	ssize_t r = linebuf_fill(&c->in, c->fd);
	char *line;
	size_t len;
	int got;

	if (r == -EAGAIN)
		return;
	if (r <= 0) {
		sock_client_close(c);
		return;
	}
	/* Replies are queued in order; reading stops while output is pending. */
	while (!outbuf_pending(&c->out) && (got = linebuf_next(&c->in, &line, &len)) != 0) {
		json_object *reply = NULL, *req = NULL;
		bool watch = false;

		if (got == -EMSGSIZE) {
			struct proto_error e;

			proto_error_set(&e, PROTO_E_PARSE, "request line longer than %u bytes",
					PROTO_MAX_LINE);
			reply = proto_new_error(-1, &e);
		} else {
			control_handle(d, &c->peer, line, len, &reply, &req, &watch);
		}
		nc->watching |= watch;
		if (outbuf_queue(&c->out, c->fd, reply) < 0) {
			json_object_put(reply);
			json_object_put(req);
			sock_client_close(c);
			return;
		}
		json_object_put(reply);
		json_object_put(req);
		if (len > NETD_TRIM_ABOVE)
			netd_trim_later(d);
	}
}

static int netd_check_table(struct netd *d)
{
	int r = nft_table_exists(d->nft);

	if (r != 0)
		return r;
	log_warnx("table %s vanished (nft flush ruleset?): rebuilding it with %zu mappings",
		  d->conf.nft_table, store_count(d->store));
	d->rebuilds++;
	return netd_table_rebuild(d);
}

static int signalfd_setup(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		fatal("sigprocmask");
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

/*
 * SIGHUP: reload the configuration. Public addresses and port ranges, egress, DNS and
 * the lease time take effect (table rebuilt in one batch, dnsmasq restarted); mappings
 * that no longer fit are dropped with a warning. The bridge, subnet, table, socket and
 * directories need a restart. An invalid file changes nothing.
 */
static void netd_reload(struct netd *d)
{
	struct lab_conf fresh, old;
	struct nft *nft = NULL;
	struct nft_params saved_params = d->nft_params;
	struct in_addr *saved_publics = d->publics;
	struct mapping *maps;
	size_t n, i, kept = 0;
	char err[1024];

	if (conf_load(d->conf.path, &fresh, err, sizeof(err)) < 0) {
		log_warnx("reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(fresh.bridge, d->conf.bridge) || strcmp(fresh.nft_table, d->conf.nft_table) ||
	    fresh.subnet.s_addr != d->conf.subnet.s_addr || fresh.prefix != d->conf.prefix ||
	    strcmp(fresh.netd_socket, d->conf.netd_socket) ||
	    strcmp(fresh.state_dir, d->conf.state_dir) || strcmp(fresh.run_dir, d->conf.run_dir) ||
	    fresh.log_group != d->conf.log_group) {
		log_warnx("reload refused: bridge, subnet, table, socket, directories or log group "
			  "changed; restart netd for that");
		conf_free(&fresh);
		return;
	}
	old = d->conf;
	d->conf = fresh;            /* d->dhcp.conf points at d->conf: still valid */
	netd_params(d);
	if (nft_open(&nft, &d->nft_params) < 0) {
		log_warnx("reload: cannot open nftables; keeping the running configuration");
		free(d->publics);
		d->conf = old;
		d->publics = saved_publics;
		d->nft_params = saved_params;
		conf_free(&fresh);
		return;
	}
	nft_close(d->nft);
	d->nft = nft;
	sleep_attach(d);
	free(saved_publics);
	if (nft_monitor_open(d->nft) < 0)
		log_warnx("nftables monitor unavailable after reload");
	maps = store_snapshot(d->store, &n);
	for (i = 0; i < n; i++) {
		struct proto_error e = { 0 };

		if (mapping_check(&maps[i], &d->conf, &e) < 0) {
			log_warnx("reload: mapping of %s dropped: %s", maps[i].student, e.message);
			continue;
		}
		maps[kept++] = maps[i];
	}
	if (maps) {
		store_replace(d->store, maps, kept);
		sleep_note_sync(d, maps, kept);
	}
	free(maps);
	netd_table_rebuild(d);
	dhcp_stop(&d->dhcp);
	if (dhcp_start(&d->dhcp) < 0)
		d->dhcp.next_start_ms = netd_now_ms() + dhcp_restart_delay_ms(&d->dhcp);
	netd_files_touch(d);
	conf_free(&old);
	log_info("configuration reloaded: %zu public addresses, egress %s, %zu mappings",
		 d->nft_params.n_publics, d->conf.egress ? "on" : "off", store_count(d->store));
}

struct netd_opts {
	const char *path;
	bool fg, teardown, check_only;
	int level;
};

/* 0 to go on, else the exit status. */
static int netd_options(int argc, char **argv, struct netd_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "teardown", no_argument, NULL, 'T' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*o = (struct netd_opts){ .path = CONF_DEFAULT_PATH, .level = LOG_LVL_INFO };
	while ((opt = getopt_long(argc, argv, "c:dvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->path = optarg; break;
		case 'd': o->fg = true; break;
		case 'v': o->level = LOG_LVL_DEBUG; break;
		case 'T': o->teardown = true; break;
		case 'C': o->check_only = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The bridge (dnsmasq binds to it, the table's rules name it) and the marker that says
 * netd made it, so that --teardown removes only a bridge of its own. */
static void netd_bridge_up(struct netd *d)
{
	char *marker;

	if (bridge_ensure(d->conf.bridge, d->conf.gateway, d->conf.prefix, &d->bridge_created) < 0)
		fatalx("bridge %s: cannot set it up (see above)", d->conf.bridge);
	marker = path_join(d->conf.state_dir, "bridge-created");
	if (d->bridge_created) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			log_warn("%s", marker);
		else
			close(fd);
	} else {
		d->bridge_created = access(marker, F_OK) == 0;
	}
	free(marker);
}

/* Everything before the loop: directories, saved mappings, bridge, table, files, dnsmasq. */
static void netd_start(struct netd *d)
{
	struct mapping *maps = NULL;
	size_t n_maps = 0;
	int ret;

	if ((ret = fs_mkdir_p(d->conf.state_dir, 0755)) < 0 ||
	    (ret = fs_mkdir_p(d->conf.run_dir, 0755)) < 0) {
		errno = -ret;
		fatal("creating %s and %s", d->conf.state_dir, d->conf.run_dir);
	}
	d->started = time(NULL);
	if (store_new(&d->store) < 0)
		fatalx("out of memory");
	netd_bridge_up(d);
	if (persist_load(d->state_path, &d->conf, &maps, &n_maps) < 0)
		fatalx("state file %s: cannot read it", d->state_path);
	if (store_replace(d->store, maps, n_maps) < 0)
		fatalx("out of memory");
	free(maps);

	if (nft_open(&d->nft, &d->nft_params) < 0)
		fatalx("nftables: cannot open a netlink socket (CAP_NET_ADMIN needed)");
	if (sleep_init(d) < 0)
		fatalx("out of memory");
	if (netd_table_rebuild(d) < 0)
		fatalx("table %s: cannot create it", d->conf.nft_table);
	log_info("table %s ready with %zu mappings", d->conf.nft_table, store_count(d->store));
	if (nft_monitor_open(d->nft) < 0)
		log_warnx("nftables monitor unavailable: falling back to checks every %d ms",
			  NETD_CHECK_EVERY_MS);
	sleep_open_log(d);
	if (netd_files_flush(d) < 0)
		fatalx("cannot write the DHCP hosts file or the state file");
	if (dhcp_start(&d->dhcp) < 0)
		fatalx("dnsmasq: cannot start it");
}

static void loop_signals(struct netd_loop *lp)
{
	struct netd *d = lp->d;
	struct signalfd_siginfo si;

	while (read(lp->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: stopping; the table and the bridge stay in place",
				 si.ssi_signo);
			lp->running = false;
			break;
		case SIGHUP:
			netd_reload(d);
			break;
		case SIGCHLD:
			if (dhcp_reap(&d->dhcp))
				d->dhcp.next_start_ms = netd_now_ms() + dhcp_restart_delay_ms(&d->dhcp);
			break;
		}
	}
}

/* How long poll may sleep: until the first of the timers is due. */
static int loop_timeout(const struct netd_loop *lp)
{
	const struct netd *d = lp->d;
	long long now = netd_now_ms(), due = lp->next_check;

	if (d->files_dirty && d->files_due_ms < due)
		due = d->files_due_ms;
	if (d->dhcp.pid == 0 && d->dhcp.next_start_ms < due)
		due = d->dhcp.next_start_ms;
	if (d->trim_due_ms && d->trim_due_ms < due)
		due = d->trim_due_ms;
	if (d->sleep.next_read_ms < due)
		due = d->sleep.next_read_ms;
	return due > now ? (int)(due - now) : 0;
}

/* The timers that are due: files, dnsmasq restart, heap trim, table check. */
static void loop_timers(struct netd_loop *lp)
{
	struct netd *d = lp->d;
	long long now = netd_now_ms();

	if (d->files_dirty && now >= d->files_due_ms)
		netd_files_flush(d);
	if (d->dhcp.pid == 0 && lp->running && now >= d->dhcp.next_start_ms) {
		if (dhcp_start(&d->dhcp) < 0)
			d->dhcp.next_start_ms = now + dhcp_restart_delay_ms(&d->dhcp);
	}
	if (d->trim_due_ms && now >= d->trim_due_ms && !d->files_dirty) {
		malloc_trim(0);
		d->trim_due_ms = 0;
	}
	if (now >= lp->next_check) {
		netd_check_table(d);
		lp->next_check = now + NETD_CHECK_EVERY_MS;
	}
	sleep_tick(d, now);
}

static void loop_client(struct netd_loop *lp, struct netd_client *nc, short rev)
{
	struct sock_client *c = &nc->s;

	if (c->fd < 0 || !rev)
		return;
	if (rev & POLLOUT) {
		if (outbuf_flush(&c->out, c->fd) < 0) {
			sock_client_close(c);
			return;
		}
		if (!outbuf_pending(&c->out))
			client_read(lp->d, nc);   /* lines already buffered */
	} else if (rev & (POLLIN | POLLHUP | POLLERR)) {
		client_read(lp->d, nc);
	}
}

static void loop_accept(struct netd_loop *lp)
{
	struct sock_client *c = sock_client_accept(lp->lfd, lp->gid, lp->d->conf.socket_group,
						   lp->clients, NETD_MAX_CLIENTS,
						   sizeof(lp->clients[0]));

	/* The slot may have held a watcher before: a new connection starts unsubscribed. */
	if (c)
		((struct netd_client *)c)->watching = false;
}

/* The one poll loop: signals, the control socket, nftables events, clients, timers. */
static void netd_loop_run(struct netd_loop *lp)
{
	lp->next_check = netd_now_ms() + NETD_CHECK_EVERY_MS;
	while (lp->running) {
		struct pollfd pfd[NETD_FIXED_FDS + NETD_MAX_CLIENTS];
		int map[NETD_MAX_CLIENTS];
		int np = 0, nc = 0, i, mfd = nft_monitor_fd(lp->d->nft);

		pfd[np++] = (struct pollfd){ .fd = lp->sfd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = lp->lfd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = mfd, .events = POLLIN };
		pfd[np++] = (struct pollfd){ .fd = sleep_fd(lp->d), .events = POLLIN };
		for (i = 0; i < NETD_MAX_CLIENTS; i++) {
			const struct sock_client *c = &lp->clients[i].s;

			if (c->fd < 0)
				continue;
			map[nc++] = i;
			pfd[np++] = (struct pollfd){
				.fd = c->fd,
				.events = outbuf_pending(&c->out) ? POLLOUT : POLLIN,
			};
		}
		if (poll(pfd, (nfds_t)np, loop_timeout(lp)) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd[0].revents & POLLIN)
			loop_signals(lp);
		if (pfd[1].revents & POLLIN)
			loop_accept(lp);
		if (mfd >= 0 && (pfd[2].revents & POLLIN) && nft_monitor_read(lp->d->nft) != 0)
			netd_check_table(lp->d);
		if (pfd[3].revents & POLLIN)
			sleep_read_log(lp->d);
		for (i = 0; i < nc; i++)
			loop_client(lp, &lp->clients[map[i]], pfd[NETD_FIXED_FDS + i].revents);
		loop_timers(lp);
	}
}

/* Serves until SIGTERM/SIGINT, then leaves the table, the bridge and the files in place. */
static void netd_serve(struct netd *d, gid_t gid)
{
	struct netd_loop lp = { .d = d, .gid = gid, .running = true };
	int i;

	lp.sfd = signalfd_setup();
	lp.lfd = sock_listen(d->conf.netd_socket, 0660, d->conf.socket_group);
	if (lp.lfd < 0) {
		errno = -lp.lfd;
		fatal("control socket %s", d->conf.netd_socket);
	}
	for (i = 0; i < NETD_MAX_CLIENTS; i++)
		lp.clients[i].s.fd = -1;
	d->loop = &lp;
	log_info("netd %s ready on %s (bridge %s, %zu public addresses)", NETD_VERSION,
		 d->conf.netd_socket, d->conf.bridge, d->nft_params.n_publics);
	netd_loop_run(&lp);
	if (d->files_dirty)
		netd_files_flush(d);
	for (i = 0; i < NETD_MAX_CLIENTS; i++)
		if (lp.clients[i].s.fd >= 0)
			sock_client_close(&lp.clients[i].s);
	d->loop = NULL;
	close(lp.lfd);
	unlink(d->conf.netd_socket);
	close(lp.sfd);
	dhcp_stop(&d->dhcp);
}

int main(int argc, char **argv)
{
	struct netd_opts o;
	struct netd d = { 0 };
	char err[1024];
	gid_t gid = (gid_t)-1;
	int ret;

	ret = netd_options(argc, argv, &o);
	if (ret != 0)
		return ret < 0 ? 0 : ret;
	if (conf_load(o.path, &d.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "netd: %s\n", err);
		return 2;
	}
	if (o.check_only) {
		printf("%s: OK\n", o.path);
		conf_free(&d.conf);
		return 0;
	}
	log_init("netd", o.fg || o.teardown, o.level);
	if (d.conf.socket_group && sock_group_gid(d.conf.socket_group, &gid) < 0) {
		fprintf(stderr, "netd: %s: socket_group '%s' does not exist (create it with "
			"groupadd, or remove the setting)\n", o.path, d.conf.socket_group);
		conf_free(&d.conf);
		return 2;
	}
	netd_params(&d);
	d.state_path = path_join(d.conf.state_dir, "netd-mappings.json");
	if (dhcp_init(&d.dhcp, &d.conf) < 0)
		fatalx("out of memory");
	if (o.teardown) {
		ret = netd_teardown(&d);
	} else {
		netd_start(&d);
		netd_serve(&d, gid);
		ret = 0;
	}
	sleep_free(&d.sleep);
	nft_close(d.nft);
	store_free(d.store);
	dhcp_free(&d.dhcp);
	free(d.state_path);
	free(d.publics);
	conf_free(&d.conf);
	return ret;
}
