/*
 * labd: owns the class (roster, allocations, VMs). libvirt's default event loop is its
 * main loop: the control socket, signals (signalfd), finished tasks and timers are all
 * handles on it. Slow libvirt calls of bulk work run in a few worker threads (jobs.c).
 * This file makes struct labd, wires the modules together (labd/labd.h says how calls
 * go between them) and runs the loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/sock.h"
#include "labd/control.h"
#include "labd/labd.h"
#include "labd/reconcile.h"
#include "labd/virt.h"

#define VIRT_RETRY_MS 2000

/* The loop's handles, besides the modules' own. */
struct labd_loop {
	int sfd, swatch, jwatch;
};

/* Base images: every class's current one must be usable, and every base an overlay still
 * uses must exist (a replaced base stays in use until each student's next reset). */
static int check_bases(struct labd *l)
{
	struct db_alloc *as = NULL;
	size_t n = 0, i;
	int ret = 0;

	l->bases = calloc(l->conf.n_classes, sizeof(*l->bases));
	if (!l->bases)
		return -ENOMEM;
	for (i = 0; i < l->conf.n_classes; i++) {
		const struct conf_class *c = &l->conf.classes[i];
		int r = virt_base_probe(c->base_image, l->bases[i].format, &l->bases[i].size);

		if (r < 0) {
			log_errx("class %s: base image %s: %s (check classes[%zu].base_image in %s)",
				 c->name, c->base_image, strerror(-r), i, l->conf.path);
			ret = r;
		} else if (strncmp(c->base_image, l->conf.pool_dir, strlen(l->conf.pool_dir)) == 0 &&
			   c->base_image[strlen(l->conf.pool_dir)] == '/') {
			log_errx("class %s: base image %s is inside the pool directory %s, where labd "
				 "keeps students' disks; move it elsewhere", c->name, c->base_image,
				 l->conf.pool_dir);
			ret = -EINVAL;
		}
	}
	if (db_alloc_list(l->db, NULL, &as, &n) < 0)
		return -EIO;
	for (i = 0; i < n; i++) {
		char fmt[8];
		uint64_t size;

		if (as[i].state == DB_ALLOC_CREATING)
			continue;
		if (virt_base_probe(as[i].base_image, fmt, &size) < 0) {
			log_errx("student %s: the base image of its overlay, %s, is missing; put the "
				 "file back at that path (a replaced base stays in use until each of its "
				 "students is reset)", as[i].student, as[i].base_image);
			ret = -ENOENT;
		}
	}
	db_alloc_list_free(as, n);
	return ret;
}

/* The base must not be some VM's writable disk: that VM would change every overlay. */
static int check_bases_unused(struct labd *l)
{
	char **paths = NULL;
	size_t n = 0, i, j;
	int ret = 0;

	if (virt_foreign_disks(l->virt, &paths, &n) < 0)
		return 0;   /* best effort: logged by virt */
	for (i = 0; i < n; i++) {
		for (j = 0; j < l->conf.n_classes; j++) {
			if (strcmp(paths[i], l->conf.classes[j].base_image) != 0)
				continue;
			log_errx("class %s: base image %s is the disk of another libvirt domain; "
				 "give labd a copy that no VM writes to", l->conf.classes[j].name,
				 paths[i]);
			ret = -EBUSY;
		}
		free(paths[i]);
	}
	free(paths);
	return ret;
}

static void on_lifecycle(const char *domain, int event, int detail, void *arg)
{
	reconcile_event(arg, domain, event, detail);
}

static void walk_retry_cb(int timer, void *opaque)
{
	struct labd *l = opaque;

	virEventRemoveTimeout(timer);
	l->walk_timer = -1;
	reconcile_start(l, NULL);
}

/* A walk that failed (libvirt answered nothing usable) is tried again shortly: until
 * one comes back, the view reads "unknown". */
static void walk_done(struct labd *l, int result)
{
	if (result >= 0 || l->walk_timer >= 0 || !l->running)
		return;
	log_warnx("reconcile: incomplete; trying again in %d s", VIRT_RETRY_MS / 1000);
	l->walk_timer = virEventAddTimeout(VIRT_RETRY_MS, walk_retry_cb, l, NULL);
}

static void virt_retry_cb(int timer, void *opaque)
{
	struct labd *l = opaque;

	if (virt_reconnect(l->virt) < 0) {
		log_debug("libvirt: still not reachable");
		return;
	}
	virEventRemoveTimeout(timer);
	l->virt_timer = -1;
	log_info("libvirt: reconnected");
	virt_pool_ensure(l->virt);
	reconcile_start(l, walk_done);
}

static void on_virt_closed(void *arg)
{
	struct labd *l = arg;

	log_warnx("libvirt connection closed (libvirtd restarted?): reconnecting every %d s",
		  VIRT_RETRY_MS / 1000);
	l->view.synced = false;
	if (l->virt_timer < 0)
		l->virt_timer = virEventAddTimeout(VIRT_RETRY_MS, virt_retry_cb, l, NULL);
}

static void jobs_cb(int watch, int fd, int events, void *opaque)
{
	jobs_collect(((struct labd *)opaque)->jobs);
}

static void signal_cb(int watch, int fd, int events, void *opaque)
{
	struct labd *l = opaque;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: stopping (VMs keep running)", si.ssi_signo);
			l->running = false;
			break;
		case SIGHUP:
			log_info("SIGHUP: reconnecting to netd and resyncing");
			if (netd_link_connected(l->netd_link))
				netd_link_sync(l->netd_link);
			else
				netd_link_start(l->netd_link);
			break;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: labd [-d] [-v] [-c FILE] [--check-config]\n"
		"  -c, --config FILE  lab configuration (default " CONF_DEFAULT_PATH ")\n"
		"  -d, --foreground   log to stderr instead of syslog\n"
		"  -v, --verbose      debug logging\n"
		"      --check-config validate the configuration and exit\n");
}

/* The command line and the config into L. 0 to go on, else the exit status (-1: 0). */
static int labd_options(int argc, char **argv, struct labd *l)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONF_DEFAULT_PATH;
	bool fg = false, check_only = false;
	int level = LOG_LVL_INFO, opt;
	char err[1024];

	while ((opt = getopt_long(argc, argv, "c:dvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'd': fg = true; break;
		case 'v': level = LOG_LVL_DEBUG; break;
		case 'C': check_only = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load(path, &l->conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "labd: %s\n", err);
		return 2;
	}
	if (check_only) {
		printf("%s: OK\n", path);
		conf_free(&l->conf);
		return -1;
	}
	log_init("labd", fg, level);
	if (l->conf.socket_group && sock_group_gid(l->conf.socket_group, &l->gid) < 0) {
		fprintf(stderr, "labd: %s: socket_group '%s' does not exist (create it with groupadd, "
			"or remove the setting)\n", path, l->conf.socket_group);
		conf_free(&l->conf);
		return 2;
	}
	return 0;
}

/* The signals labd takes through a signalfd; blocked before any thread exists, so that
 * workers inherit the mask. */
static int labd_signals(void)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");
	return sfd;
}

/* Everything before the loop; any failure ends labd with a message that says what to fix. */
static void labd_start(struct labd *l, struct labd_loop *lp)
{
	int ret;

	if ((ret = fs_mkdir_p(l->conf.state_dir, 0755)) < 0 ||
	    (ret = fs_mkdir_p(l->conf.console_dir, 0755)) < 0 ||
	    (ret = fs_mkdir_p(l->conf.run_dir, 0755)) < 0) {
		errno = -ret;
		fatal("creating %s, %s and %s", l->conf.state_dir, l->conf.console_dir,
		      l->conf.run_dir);
	}
	l->started = time(NULL);
	l->running = true;
	lp->sfd = labd_signals();
	if ((ret = db_open(l->conf.database, &l->db)) < 0)
		fatalx("database %s: cannot open it (%s)", l->conf.database, strerror(-ret));
	if (check_bases(l) < 0)
		fatalx("refusing to start: fix the base images above");
	if (pools_load(&l->pools, &l->conf, l->db) < 0)
		fatalx("allocation state in %s is unusable", l->conf.database);
	if (virt_open(&l->conf, on_lifecycle, on_virt_closed, l, &l->virt) < 0)
		fatalx("libvirt at %s: cannot connect (is libvirtd running?)", l->conf.libvirt_uri);
	virt_host(l->virt, &l->host);
	if (check_bases_unused(l) < 0)
		fatalx("refusing to start: fix the base images above");
	if (virt_pool_ensure(l->virt) < 0)
		fatalx("storage pool %s at %s: cannot set it up", l->conf.pool_name, l->conf.pool_dir);
	if (jobs_start(l->conf.parallel, &l->jobs) < 0)
		fatalx("cannot start worker threads");
	if (netd_link_new(&l->conf, l->db, &l->netd_link) < 0)
		fatalx("out of memory");
	netd_link_api(l->netd_link, &l->netd);
	lp->jwatch = virEventAddHandle(jobs_fd(l->jobs), VIR_EVENT_HANDLE_READABLE, jobs_cb, l,
				       NULL);
	lp->swatch = virEventAddHandle(lp->sfd, VIR_EVENT_HANDLE_READABLE, signal_cb, l, NULL);
	if (reconcile_run(l) < 0)
		walk_done(l, -EIO);
	if ((ret = control_open(l, &l->control)) < 0) {
		errno = -ret;
		fatal("control socket %s", l->conf.labd_socket);
	}
	netd_link_start(l->netd_link);
	log_info("labd %s ready on %s (%zu classes, libvirt %s)", LABD_VERSION,
		 l->conf.labd_socket, l->conf.n_classes, l->conf.libvirt_uri);
}

static void labd_stop(struct labd *l, struct labd_loop *lp)
{
	control_close(l->control);
	jobs_stop(l->jobs);     /* tasks being run finish; their results are recorded */
	if (lp->jwatch >= 0)
		virEventRemoveHandle(lp->jwatch);
	if (lp->swatch >= 0)
		virEventRemoveHandle(lp->swatch);
	if (lp->sfd >= 0)
		close(lp->sfd);
	if (l->walk_timer >= 0)
		virEventRemoveTimeout(l->walk_timer);
	if (l->virt_timer >= 0)
		virEventRemoveTimeout(l->virt_timer);
	netd_link_free(l->netd_link);
	virt_close(l->virt);
	pools_free(&l->pools);
	vmview_clear(&l->view);
	db_close(l->db);
	free(l->bases);
	conf_free(&l->conf);
}

int main(int argc, char **argv)
{
	struct labd l = { .gid = (gid_t)-1, .virt_timer = -1, .walk_timer = -1 };
	struct labd_loop lp = { .sfd = -1, .swatch = -1, .jwatch = -1 };
	int ret = labd_options(argc, argv, &l);

	if (ret != 0)
		return ret < 0 ? 0 : ret;
	labd_start(&l, &lp);
	while (l.running) {
		if (virEventRunDefaultImpl() < 0) {
			log_warnx("event loop: %s", virGetLastErrorMessage());
			break;
		}
	}
	labd_stop(&l, &lp);
	return 0;
}
