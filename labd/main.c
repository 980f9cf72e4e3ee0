/*
 * labd: owns the class (roster, allocations, VMs). libvirt's default event loop is its
 * main loop: the control socket, signals (signalfd), finished tasks and timers are all
 * handles on it. Slow libvirt calls of bulk work run in a few worker threads (jobs.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "labd/labd.h"

#define VIRT_RETRY_MS 2000

long long labd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void labd_name_domain(const char *student, char *buf, size_t len)
{
	snprintf(buf, len, "vlab-%s", student);
}

void labd_name_overlay(const char *student, char *buf, size_t len)
{
	snprintf(buf, len, "vlab-%s.qcow2", student);
}

void labd_name_seed(const char *student, char *buf, size_t len)
{
	snprintf(buf, len, "vlab-%s-seed.iso", student);
}

struct vm *labd_vm(struct labd *l, const char *student, bool create)
{
	size_t i;

	for (i = 0; i < l->n_vms; i++)
		if (strcmp(l->vms[i].student, student) == 0)
			return &l->vms[i];
	if (!create)
		return NULL;
	if (l->n_vms == l->cap_vms) {
		size_t cap = l->cap_vms ? l->cap_vms * 2 : 64;
		struct vm *grown = realloc(l->vms, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		l->vms = grown;
		l->cap_vms = cap;
	}
	memset(&l->vms[l->n_vms], 0, sizeof(l->vms[0]));
	snprintf(l->vms[l->n_vms].student, sizeof(l->vms[0].student), "%s", student);
	return &l->vms[l->n_vms++];
}

void labd_vm_forget(struct labd *l, const char *student)
{
	size_t i;

	for (i = 0; i < l->n_vms; i++) {
		if (strcmp(l->vms[i].student, student) != 0)
			continue;
		l->vms[i] = l->vms[--l->n_vms];
		return;
	}
}

static int pools_index_cb(uint32_t idx, const char *student, int64_t seq, void *arg)
{
	struct alloc_index *p = arg;

	return student ? alloc_index_hold(p, idx) : alloc_index_release(p, idx, seq);
}

static int pools_endpoint_cb(const char *ip, uint16_t port, const char *student, int64_t seq,
			     void *arg)
{
	struct alloc_endpoint_pool *p = arg;
	struct alloc_endpoint ep = { .port = port };

	if (inet_pton(AF_INET, ip, &ep.addr) != 1)
		return 0;
	/* An endpoint outside today's configured ranges is simply not offered again. */
	if (student)
		alloc_endpoint_hold(p, ep);
	else
		alloc_endpoint_release(p, ep, seq);
	return 0;
}

int labd_pools_load(struct labd *l)
{
	struct alloc_index *ip = NULL;
	struct alloc_endpoint_pool *ep = NULL;
	int ret;

	if ((ret = alloc_index_new(&l->conf, 0, &ip)) < 0 ||
	    (ret = alloc_endpoint_new(&l->conf, &ep)) < 0)
		goto fail;
	if ((ret = db_history_indexes(l->db, pools_index_cb, ip)) < 0 ||
	    (ret = db_history_endpoints(l->db, pools_endpoint_cb, ep)) < 0)
		goto fail;
	alloc_index_free(l->ipool);
	alloc_endpoint_pool_free(l->epool);
	l->ipool = ip;
	l->epool = ep;
	return 0;
fail:
	log_warnx("allocation pools: cannot load them from the database (%s)", strerror(-ret));
	alloc_index_free(ip);
	alloc_endpoint_pool_free(ep);
	return ret;
}

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

static struct labd *g_labd;

static void on_lifecycle(const char *domain, int event, int detail, void *arg)
{
	reconcile_event(arg, domain, event, detail);
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
	reconcile_run(l);
}

static void on_virt_closed(void *arg)
{
	struct labd *l = arg;

	log_warnx("libvirt connection closed (libvirtd restarted?): reconnecting every %d s",
		  VIRT_RETRY_MS / 1000);
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
			if (l->netd_fd >= 0)
				netd_link_sync(l);
			else
				netd_link_start(l);
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

int main(int argc, char **argv)
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
	int level = LOG_LVL_INFO, opt, ret, sfd = -1, swatch = -1, jwatch = -1;
	struct labd l = { .lfd = -1, .lwatch = -1, .netd_fd = -1, .netd_timer = -1,
			  .virt_timer = -1, .gid = (gid_t)-1 };
	char err[1024];
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "c:dvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'd': fg = true; break;
		case 'v': level = LOG_LVL_DEBUG; break;
		case 'C': check_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load(path, &l.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "labd: %s\n", err);
		return 2;
	}
	if (check_only) {
		printf("%s: OK\n", path);
		conf_free(&l.conf);
		return 0;
	}
	log_init("labd", fg, level);
	g_labd = &l;
	if (l.conf.socket_group && sock_group_gid(l.conf.socket_group, &l.gid) < 0) {
		fprintf(stderr, "labd: %s: socket_group '%s' does not exist (create it with groupadd, "
			"or remove the setting)\n", path, l.conf.socket_group);
		conf_free(&l.conf);
		return 2;
	}
	if ((ret = fs_mkdir_p(l.conf.state_dir, 0755)) < 0 ||
	    (ret = fs_mkdir_p(l.conf.console_dir, 0755)) < 0 || (ret = fs_mkdir_p(l.conf.run_dir, 0755)) < 0) {
		errno = -ret;
		fatal("creating %s, %s and %s", l.conf.state_dir, l.conf.console_dir, l.conf.run_dir);
	}
	l.started = time(NULL);
	l.running = true;

	/* Block the signals before any thread exists, so workers inherit the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((ret = db_open(l.conf.database, &l.db)) < 0)
		fatalx("database %s: cannot open it (%s)", l.conf.database, strerror(-ret));
	if (check_bases(&l) < 0)
		fatalx("refusing to start: fix the base images above");
	if (labd_pools_load(&l) < 0)
		fatalx("allocation state in %s is unusable", l.conf.database);
	if ((ret = virt_open(&l.conf, on_lifecycle, on_virt_closed, &l, &l.virt)) < 0)
		fatalx("libvirt at %s: cannot connect (is libvirtd running?)", l.conf.libvirt_uri);
	if (check_bases_unused(&l) < 0)
		fatalx("refusing to start: fix the base images above");
	if ((ret = virt_pool_ensure(l.virt)) < 0)
		fatalx("storage pool %s at %s: cannot set it up", l.conf.pool_name, l.conf.pool_dir);
	if ((ret = jobs_start(l.conf.parallel, &l.jobs)) < 0)
		fatalx("cannot start worker threads");
	jwatch = virEventAddHandle(jobs_fd(l.jobs), VIR_EVENT_HANDLE_READABLE, jobs_cb, &l, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");
	swatch = virEventAddHandle(sfd, VIR_EVENT_HANDLE_READABLE, signal_cb, &l, NULL);

	if (reconcile_run(&l) < 0)
		log_warnx("reconcile: incomplete; it runs again at the next start");
	if ((ret = control_listen(&l)) < 0) {
		errno = -ret;
		fatal("control socket %s", l.conf.labd_socket);
	}
	netd_link_start(&l);
	log_info("labd %s ready on %s (%zu classes, libvirt %s)", LABD_VERSION, l.conf.labd_socket,
		 l.conf.n_classes, l.conf.libvirt_uri);

	while (l.running) {
		if (virEventRunDefaultImpl() < 0) {
			log_warnx("event loop: %s", virGetLastErrorMessage());
			break;
		}
	}

	control_close_all(&l);
	jobs_stop(l.jobs);     /* tasks being run finish; their results are recorded */
	if (jwatch >= 0)
		virEventRemoveHandle(jwatch);
	if (swatch >= 0)
		virEventRemoveHandle(swatch);
	if (sfd >= 0)
		close(sfd);
	if (l.netd_fd >= 0)
		close(l.netd_fd);
	linebuf_free(&l.netd_in);
	virt_close(l.virt);
	alloc_index_free(l.ipool);
	alloc_endpoint_pool_free(l.epool);
	db_close(l.db);
	free(l.bases);
	free(l.vms);
	conf_free(&l.conf);
	return 0;
}
