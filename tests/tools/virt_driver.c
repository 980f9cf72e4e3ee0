/*
 * Drives labd/virt.c against a real libvirtd for tests/libvirt/run. One command per
 * run; the connection comes from the environment:
 *   VIRT_URI (e.g. qemu:///system?socket=DIR/run/libvirt-sock), VIRT_POOL, VIRT_POOL_DIR
 *
 *   virt_driver CMD [ARGS]
 *     pool-ensure
 *     probe PATH                    prints "FORMAT SIZE"
 *     overlay NAME BASE             overlay on BASE (format and size probed), then
 *                                   virt_pool_sync as labd does at a request's end
 *     overlay-nosync NAME BASE      the same without the pool refresh
 *     raw NAME FILE                 raw volume NAME with FILE's bytes, then pool sync
 *     rewrite NAME FILE             FILE's bytes over volume NAME, in place
 *     vol-delete NAME | vol-exists NAME (prints 1/0) | vol-path NAME | vol-list
 *     vol-backing NAME              prints the backing path (or nothing)
 *     define NAME STUDENT INDEX OVERLAY BRIDGE CONSOLE
 *                                   xml_build_domain (qemu, qemu64, 64 MiB), autostart off
 *     start|destroy|remove|reboot NAME
 *     stop NAME TIMEOUT [force]
 *     state NAME                    prints virt_state_name()
 *     list-owned                    prints "DOMAIN STUDENT CLASS INDEX" lines
 *     foreign-disks                 prints one path per line
 *     watch SECONDS                 runs the event loop: prints "ready", then one line
 *                                   per lifecycle event ("event DOMAIN EVENT DETAIL"),
 *                                   "closed" when the connection drops, "reconnected"
 *                                   once virt_reconnect succeeds (retried every 200 ms),
 *                                   and exits 0 after a reconnect, ETIMEDOUT otherwise
 *
 * Exit status: 0, or the errno of the failure (EEXIST = 17, ENOENT = 2, ...), so the
 * test can check which refusal it got.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>

#include "common/conf.h"
#include "common/log.h"
#include "labd/virt.h"
#include "labd/xml.h"

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;
	int ret = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (n == cap) {
			uint8_t *b = realloc(buf, cap ? cap * 2 : 65536);

			if (!b) {
				ret = -ENOMEM;
				break;
			}
			buf = b;
			cap = cap ? cap * 2 : 65536;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				ret = -EIO;
			break;
		}
	}
	fclose(f);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*data = buf;
	*len = n;
	return 0;
}

static volatile bool watch_closed;

static void watch_event(const char *domain, int event, int detail, void *arg)
{
	printf("event %s %d %d\n", domain, event, detail);
	fflush(stdout);
}

static void watch_close(void *arg)
{
	watch_closed = true;
	printf("closed\n");
	fflush(stdout);
}

static void watch_tick(int timer, void *opaque)
{
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The event loop as labd runs it, with a timer so each iteration ends by 200 ms. */
static int cmd_watch(struct virt *v, unsigned secs)
{
	long end = now_ms() + (long)secs * 1000;
	int timer = virEventAddTimeout(200, watch_tick, NULL, NULL);

	if (timer < 0)
		return -EIO;
	printf("ready\n");
	fflush(stdout);
	while (now_ms() < end) {
		if (virt_event_run_once() < 0)
			return -EIO;
		if (watch_closed && virt_reconnect(v) == 0) {
			printf("reconnected %d\n", virt_connected(v));
			fflush(stdout);
			virEventRemoveTimeout(timer);
			return 0;
		}
	}
	virEventRemoveTimeout(timer);
	return -ETIMEDOUT;
}

static int cmd_define(struct virt *v, char **a)
{
	struct xml_domain_params p;
	char *xml = NULL;
	int ret;

	memset(&p, 0, sizeof(p));
	p.name = a[0];
	p.student_id = a[1];
	p.index = (unsigned)strtoul(a[2], NULL, 10);
	p.overlay_path = a[3];
	p.bridge = a[4];
	p.console_log = a[5];
	p.type = "qemu";
	p.cpu_model = "qemu64";
	p.vcpus = 1;
	p.memory_mib = 64;
	p.tb_cache_mib = 32;
	p.class_name = "net101";
	p.mac = "52:54:00:00:00:11";
	p.tap = "vltest0";
	ret = xml_build_domain(&p, &xml);
	if (ret == 0)
		ret = virt_dom_define(v, xml, false);
	free(xml);
	return ret;
}

static int run(struct virt *v, const char *cmd, int argc, char **a)
{
	int ret;

#define NEED(n)                                                         \
	do {                                                            \
		if (argc < (n)) {                                       \
			fprintf(stderr, "%s: needs %d arguments\n", cmd, n); \
			return -EINVAL;                                 \
		}                                                       \
	} while (0)

	if (!strcmp(cmd, "pool-ensure"))
		return virt_pool_ensure(v);
	if (!strcmp(cmd, "overlay") || !strcmp(cmd, "overlay-nosync")) {
		char fmt[8];
		uint64_t size;

		NEED(2);
		ret = virt_base_probe(a[1], fmt, &size);
		if (ret == 0)
			ret = virt_vol_create_overlay(v, a[0], a[1], fmt, size);
		if (ret == 0 && !strcmp(cmd, "overlay"))
			ret = virt_pool_sync(v);
		return ret;
	}
	if (!strcmp(cmd, "raw") || !strcmp(cmd, "rewrite")) {
		uint8_t *data = NULL;
		size_t len = 0;

		NEED(2);
		ret = read_file(a[1], &data, &len);
		if (ret < 0)
			return ret;
		if (!strcmp(cmd, "raw")) {
			ret = virt_vol_create_raw(v, a[0], data, len);
			if (ret == 0)
				ret = virt_pool_sync(v);
		} else {
			ret = virt_vol_rewrite(v, a[0], data, len);
		}
		free(data);
		return ret;
	}
	if (!strcmp(cmd, "vol-delete")) {
		NEED(1);
		return virt_vol_delete(v, a[0]);
	}
	if (!strcmp(cmd, "vol-exists")) {
		NEED(1);
		ret = virt_vol_exists(v, a[0]);
		if (ret >= 0)
			printf("%d\n", ret);
		return ret < 0 ? ret : 0;
	}
	if (!strcmp(cmd, "vol-path")) {
		char *p;

		NEED(1);
		p = virt_vol_path(v, a[0]);
		if (!p)
			return -ENOMEM;
		printf("%s\n", p);
		free(p);
		return 0;
	}
	if (!strcmp(cmd, "vol-list")) {
		char **names;
		size_t n, i;

		ret = virt_vol_list(v, &names, &n);
		if (ret < 0)
			return ret;
		for (i = 0; i < n; i++) {
			printf("%s\n", names[i]);
			free(names[i]);
		}
		free(names);
		return 0;
	}
	if (!strcmp(cmd, "vol-backing")) {
		char *b = NULL;

		NEED(1);
		ret = virt_vol_backing(v, a[0], &b);
		if (ret == 0 && b)
			printf("%s\n", b);
		free(b);
		return ret;
	}
	if (!strcmp(cmd, "define")) {
		NEED(6);
		return cmd_define(v, a);
	}
	if (!strcmp(cmd, "start")) {
		NEED(1);
		return virt_dom_start(v, a[0]);
	}
	if (!strcmp(cmd, "destroy")) {
		NEED(1);
		return virt_dom_destroy(v, a[0]);
	}
	if (!strcmp(cmd, "remove")) {
		NEED(1);
		return virt_dom_remove(v, a[0]);
	}
	if (!strcmp(cmd, "reboot")) {
		NEED(1);
		return virt_dom_reboot(v, a[0]);
	}
	if (!strcmp(cmd, "stop")) {
		NEED(2);
		return virt_dom_stop(v, a[0], (unsigned)strtoul(a[1], NULL, 10),
				     argc > 2 && !strcmp(a[2], "force"));
	}
	if (!strcmp(cmd, "state")) {
		enum virt_state s;

		NEED(1);
		ret = virt_dom_state(v, a[0], &s);
		if (ret == 0)
			printf("%s\n", virt_state_name(s));
		return ret;
	}
	if (!strcmp(cmd, "list-owned")) {
		struct virt_owned *o;
		size_t n, i;

		ret = virt_dom_list_owned(v, &o, &n);
		if (ret < 0)
			return ret;
		for (i = 0; i < n; i++)
			printf("%s %s %s %u\n", o[i].domain, o[i].student, o[i].class_name,
			       o[i].index);
		virt_owned_free(o, n);
		return 0;
	}
	if (!strcmp(cmd, "watch")) {
		NEED(1);
		return cmd_watch(v, (unsigned)strtoul(a[0], NULL, 10));
	}
	if (!strcmp(cmd, "foreign-disks")) {
		char **paths;
		size_t n, i;

		ret = virt_foreign_disks(v, &paths, &n);
		if (ret < 0)
			return ret;
		for (i = 0; i < n; i++) {
			printf("%s\n", paths[i]);
			free(paths[i]);
		}
		free(paths);
		return 0;
	}
	fprintf(stderr, "unknown command %s\n", cmd);
	return -EINVAL;
#undef NEED
}

int main(int argc, char **argv)
{
	struct lab_conf conf;
	struct virt *v = NULL;
	int ret;

	log_init("virt_driver", true, getenv("VIRT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (argc < 2) {
		fprintf(stderr, "usage: virt_driver CMD [ARGS] (see the source)\n");
		return 2;
	}
	if (!strcmp(argv[1], "probe")) {
		char fmt[8];
		uint64_t size;

		if (argc < 3)
			return EINVAL;
		ret = virt_base_probe(argv[2], fmt, &size);
		if (ret == 0)
			printf("%s %llu\n", fmt, (unsigned long long)size);
		return -ret;
	}
	memset(&conf, 0, sizeof(conf));
	conf.libvirt_uri = getenv("VIRT_URI");
	conf.pool_name = getenv("VIRT_POOL");
	conf.pool_dir = getenv("VIRT_POOL_DIR");
	if (!conf.libvirt_uri || !conf.pool_name || !conf.pool_dir) {
		fprintf(stderr, "set VIRT_URI, VIRT_POOL and VIRT_POOL_DIR\n");
		return 2;
	}
	ret = virt_open(&conf, watch_event, watch_close, NULL, &v);
	if (ret == 0)
		ret = run(v, argv[1], argc - 2, argv + 2);
	virt_close(v);
	if (ret < 0)
		fprintf(stderr, "virt_driver %s: %s\n", argv[1], strerror(-ret));
	return ret < 0 ? (-ret & 0xff ? -ret & 0xff : 1) : 0;
}
