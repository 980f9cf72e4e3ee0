/*
 * labd/virt.c against libvirt's in-process test driver (test:///default: no daemon,
 * no root; a fresh fake host with one running domain "test" and one pool
 * "default-pool" each time the last connection closes), and virt_base_probe on files
 * written here. The real volume path (qemu-img, uploads) is tests/libvirt/run.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "common/conf.h"
#include "common/log.h"
#include "labd/virt.h"
#include "labd/xml.h"

static char tmpdir[] = "/tmp/check-virt-XXXXXX";
static char pooldir[256];
static char base[256];
static struct lab_conf conf;
static struct virt *v;
static int saved_level;

/* Lifecycle events seen by on_event. */
static char ev_domain[64];
static int ev_event = -1;
static int ev_count;

static void on_event(const char *domain, int event, int detail, void *arg)
{
	(void)detail;
	(void)arg;
	snprintf(ev_domain, sizeof(ev_domain), "%s", domain);
	ev_event = event;
	ev_count++;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void put_be(unsigned char *p, uint64_t x, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (unsigned char)(x & 0xff);
		x >>= 8;
	}
}

/* A qcow2 header by hand: magic, VERSION, no backing file, 64 KiB clusters, SIZE. */
static void write_qcow2(const char *path, uint32_t version, uint64_t size, size_t len)
{
	unsigned char h[104];
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	memset(h, 0, sizeof(h));
	memcpy(h, "QFI\xfb", 4);
	put_be(h + 4, version, 4);
	put_be(h + 20, 16, 4);
	put_be(h + 24, size, 8);
	ck_assert_uint_eq(fwrite(h, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void write_bytes(const char *path, size_t n, int c)
{
	FILE *f = fopen(path, "wb");
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < n; i++)
		fputc(c, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
	saved_level = log_getlevel();
	log_setlevel(getenv("VIRT_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR);   /* the refusals below are logged by design */
	strcpy(tmpdir, "/tmp/check-virt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(pooldir, sizeof(pooldir), "%s/pool", tmpdir);
	snprintf(base, sizeof(base), "%s/base.qcow2", tmpdir);
	write_qcow2(base, 3, 1ULL << 30, 104);
	memset(&conf, 0, sizeof(conf));
	conf.libvirt_uri = "test:///default";
	conf.pool_name = "vlabtest";
	conf.pool_dir = pooldir;
	ev_domain[0] = '\0';
	ev_event = -1;
	ev_count = 0;
	v = NULL;
}

static void teardown(void)
{
	virt_close(v);
	v = NULL;
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	log_setlevel(saved_level);
}

static void open_test_driver(void)
{
	ck_assert_int_eq(virt_open(&conf, on_event, NULL, NULL, &v), 0);
	ck_assert_ptr_nonnull(v);
}

static char *domain_xml(const char *name, const char *student, unsigned index)
{
	struct xml_domain_params p;
	char overlay[300], console[300];
	char *xml = NULL;

	snprintf(overlay, sizeof(overlay), "%s/%s.qcow2", pooldir, name);
	snprintf(console, sizeof(console), "%s/%s.log", tmpdir, name);
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.type = "qemu";
	p.cpu_model = "qemu64";
	p.vcpus = 1;
	p.memory_mib = 64;
	p.overlay_path = overlay;
	p.bridge = "labbr0";
	p.mac = "52:54:00:00:00:11";
	p.tap = "vl1";
	p.console_log = console;
	p.student_id = student;
	p.class_name = "net101";
	p.index = index;
	ck_assert_int_eq(xml_build_domain(&p, &xml), 0);
	return xml;
}

static void define_ours(const char *name, const char *student, unsigned index)
{
	char *xml = domain_xml(name, student, index);

	ck_assert_int_eq(virt_dom_define(v, xml, true), 0);
	free(xml);
}

/* A domain defined by somebody else: no vlab metadata, a disk of its own. */
static const char foreign_xml[] =
	"<domain type='qemu'><name>someone-elses</name><memory unit='MiB'>64</memory>"
	"<os><type arch='x86_64'>hvm</type></os><devices>"
	"<disk type='file' device='disk'><source file='/srv/theirs.qcow2'/>"
	"<target dev='vda' bus='virtio'/></disk></devices></domain>";

static enum virt_state state_of(const char *name)
{
	enum virt_state s = VIRT_OTHER;

	ck_assert_int_eq(virt_dom_state(v, name, &s), 0);
	return s;
}

/* ------------------------------------------------------------ domains */

START_TEST(virt_reports_builtin_test_domain_running)
{
	open_test_driver();
	ck_assert(virt_connected(v));
	ck_assert_int_eq(state_of("test"), VIRT_RUNNING);
}
END_TEST

START_TEST(virt_state_of_unknown_domain_is_missing)
{
	open_test_driver();
	ck_assert_int_eq(state_of("no-such-domain"), VIRT_MISSING);
}
END_TEST

START_TEST(virt_open_refuses_unknown_uri)
{
	conf.libvirt_uri = "nosuchdriver:///nowhere";
	ck_assert_int_lt(virt_open(&conf, NULL, NULL, NULL, &v), 0);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(virt_define_start_destroy_remove_cycle)
{
	open_test_driver();
	define_ours("vlab-net101-alice", "alice", 1);
	ck_assert_int_eq(state_of("vlab-net101-alice"), VIRT_SHUTOFF);
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-alice"), 0);
	ck_assert_int_eq(state_of("vlab-net101-alice"), VIRT_RUNNING);
	/* starting a running domain is not an error */
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-alice"), 0);
	ck_assert_int_eq(virt_dom_destroy(v, "vlab-net101-alice"), 0);
	ck_assert_int_eq(state_of("vlab-net101-alice"), VIRT_SHUTOFF);
	/* destroying a stopped domain is not an error either */
	ck_assert_int_eq(virt_dom_destroy(v, "vlab-net101-alice"), 0);
	ck_assert_int_eq(virt_dom_remove(v, "vlab-net101-alice"), 0);
	ck_assert_int_eq(state_of("vlab-net101-alice"), VIRT_MISSING);
	ck_assert_int_eq(virt_dom_remove(v, "vlab-net101-alice"), 0);
}
END_TEST

START_TEST(virt_remove_forces_off_running_domain)
{
	open_test_driver();
	define_ours("vlab-net101-bob", "bob", 2);
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-bob"), 0);
	ck_assert_int_eq(virt_dom_remove(v, "vlab-net101-bob"), 0);
	ck_assert_int_eq(state_of("vlab-net101-bob"), VIRT_MISSING);
}
END_TEST

START_TEST(virt_stop_shuts_down_gracefully_and_forced)
{
	open_test_driver();
	define_ours("vlab-net101-carol", "carol", 3);
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-carol"), 0);
	/* the test driver powers off at once on a shutdown request */
	ck_assert_int_eq(virt_dom_stop(v, "vlab-net101-carol", 5, false), 0);
	ck_assert_int_eq(state_of("vlab-net101-carol"), VIRT_SHUTOFF);
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-carol"), 0);
	ck_assert_int_eq(virt_dom_stop(v, "vlab-net101-carol", 0, true), 0);
	ck_assert_int_eq(state_of("vlab-net101-carol"), VIRT_SHUTOFF);
	/* stopping a stopped domain is fine */
	ck_assert_int_eq(virt_dom_stop(v, "vlab-net101-carol", 1, false), 0);
}
END_TEST

START_TEST(virt_calls_on_missing_domain_say_enoent)
{
	open_test_driver();
	ck_assert_int_eq(virt_dom_start(v, "nope"), -ENOENT);
	ck_assert_int_eq(virt_dom_stop(v, "nope", 1, false), -ENOENT);
	ck_assert_int_eq(virt_dom_destroy(v, "nope"), -ENOENT);
	ck_assert_int_eq(virt_dom_reboot(v, "nope"), -ENOENT);
}
END_TEST

START_TEST(virt_define_refuses_broken_xml)
{
	open_test_driver();
	ck_assert_int_lt(virt_dom_define(v, "<domain type='qemu'><name>x</name>", false), 0);
	ck_assert_int_lt(virt_dom_define(v, "<domain type='qemu'><bogus/></domain>", false), 0);
}
END_TEST

START_TEST(virt_list_owned_skips_foreign_domains)
{
	struct virt_owned *o = NULL;
	virConnectPtr c;
	virDomainPtr d;
	size_t n = 0, i;
	bool alice = false, bob = false;

	open_test_driver();
	define_ours("vlab-net101-alice", "alice", 1);
	define_ours("vlab-net101-bob", "bob", 2);
	/* a second connection to the same fake host plays "somebody else" */
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	d = virDomainDefineXML(c, foreign_xml);
	ck_assert_ptr_nonnull(d);
	virDomainFree(d);

	ck_assert_int_eq(virt_dom_list_owned(v, &o, &n), 0);
	ck_assert_uint_eq(n, 2);   /* not "test", not "someone-elses" */
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(o[i].class_name, "net101");
		if (!strcmp(o[i].domain, "vlab-net101-alice")) {
			ck_assert_str_eq(o[i].student, "alice");
			ck_assert_uint_eq(o[i].index, 1);
			alice = true;
		} else if (!strcmp(o[i].domain, "vlab-net101-bob")) {
			ck_assert_str_eq(o[i].student, "bob");
			ck_assert_uint_eq(o[i].index, 2);
			bob = true;
		}
	}
	ck_assert(alice && bob);
	virt_owned_free(o, n);

	ck_assert_int_eq(virt_dom_remove(v, "vlab-net101-alice"), 0);
	ck_assert_int_eq(virt_dom_list_owned(v, &o, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(o[0].domain, "vlab-net101-bob");
	virt_owned_free(o, n);
	ck_assert_int_eq(state_of("someone-elses"), VIRT_SHUTOFF);
	virConnectClose(c);
}
END_TEST

START_TEST(virt_foreign_disks_lists_only_other_domains_disks)
{
	virConnectPtr c;
	virDomainPtr d;
	char **paths = NULL;
	size_t n = 0, i;
	bool theirs = false;

	open_test_driver();
	define_ours("vlab-net101-alice", "alice", 1);
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	d = virDomainDefineXML(c, foreign_xml);
	ck_assert_ptr_nonnull(d);
	virDomainFree(d);
	ck_assert_int_eq(virt_foreign_disks(v, &paths, &n), 0);
	for (i = 0; i < n; i++) {
		if (!strcmp(paths[i], "/srv/theirs.qcow2"))
			theirs = true;
		ck_assert_ptr_null(strstr(paths[i], "vlab-net101-alice"));
		free(paths[i]);
	}
	free(paths);
	ck_assert(theirs);
	virConnectClose(c);
}
END_TEST

/* Runs the event loop until an event arrived or ~2 s passed; a timer makes sure one
 * iteration never blocks for good. */
static void tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static void run_events_until_seen(int want)
{
	int t = virEventAddTimeout(50, tick, NULL, NULL), i;

	ck_assert_int_ge(t, 0);
	for (i = 0; i < 40 && ev_count < want; i++)
		ck_assert_int_eq(virt_event_run_once(), 0);
	virEventRemoveTimeout(t);
}

START_TEST(virt_delivers_lifecycle_events)
{
	open_test_driver();
	define_ours("vlab-net101-dave", "dave", 4);
	run_events_until_seen(1);
	ck_assert_int_ge(ev_count, 1);
	ck_assert_str_eq(ev_domain, "vlab-net101-dave");
	ck_assert_int_eq(ev_event, VIR_DOMAIN_EVENT_DEFINED);
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-dave"), 0);
	run_events_until_seen(2);
	ck_assert_int_eq(ev_event, VIR_DOMAIN_EVENT_STARTED);
}
END_TEST

START_TEST(virt_reconnect_keeps_working)
{
	open_test_driver();
	ck_assert_int_eq(virt_reconnect(v), 0);
	ck_assert(virt_connected(v));
	ck_assert_int_eq(state_of("test"), VIRT_RUNNING);
	define_ours("vlab-net101-erin", "erin", 5);
	run_events_until_seen(1);
	ck_assert_str_eq(ev_domain, "vlab-net101-erin");
}
END_TEST

/* Workers call in while the event loop runs in its own thread and the connection is
 * swapped under them: nothing may crash or fail except with -ENOTCONN in the window
 * where no connection is up (ASan watches the references). */
struct worker {
	pthread_t t;
	int id;
	int errors;      /* failures other than -ENOTCONN */
};

static volatile bool loop_stop;

static void *loop_thread(void *arg)
{
	int t = virEventAddTimeout(20, tick, NULL, NULL);

	(void)arg;
	while (!loop_stop)
		virt_event_run_once();
	virEventRemoveTimeout(t);
	return NULL;
}

/* After a call missed the connection, the domain may not be there for the next ones
 * of the same round: -ENOENT is then expected too. */
static void count(struct worker *w, bool *missed, int r)
{
	if (r == -ENOTCONN)
		*missed = true;
	else if (r < 0 && !(r == -ENOENT && *missed))
		w->errors++;
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	char name[32], student[16];
	enum virt_state st;
	char *xml;
	int i;

	snprintf(name, sizeof(name), "vlab-net101-w%d", w->id);
	snprintf(student, sizeof(student), "w%d", w->id);
	xml = domain_xml(name, student, (unsigned)w->id + 1);
	for (i = 0; i < 15; i++) {
		bool missed = false;

		count(w, &missed, virt_dom_define(v, xml, false));
		count(w, &missed, virt_dom_start(v, name));
		count(w, &missed, virt_dom_state(v, name, &st));
		count(w, &missed, virt_dom_destroy(v, name));
		count(w, &missed, virt_dom_remove(v, name));
	}
	free(xml);
	return NULL;
}

START_TEST(virt_survives_concurrent_calls_and_reconnects)
{
	struct worker w[4];
	pthread_t loop;
	virConnectPtr keep;
	struct virt_owned *o;
	size_t n, i;

	open_test_driver();
	/* keeps the fake host alive while virt_reconnect has no connection of its own */
	keep = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(keep);
	/* The in-process driver validates with libxml2's RelaxNG, whose one-time type
	 * library set-up is not thread-safe: do it once before the threads (a remote
	 * libvirtd validates in its own process). */
	define_ours("vlab-net101-wake", "wake", 9);
	loop_stop = false;
	ck_assert_int_eq(pthread_create(&loop, NULL, loop_thread, NULL), 0);
	for (i = 0; i < 4; i++) {
		w[i].id = (int)i;
		w[i].errors = 0;
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, worker_thread, &w[i]), 0);
	}
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(virt_reconnect(v), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(w[i].t, NULL);
		ck_assert_int_eq(w[i].errors, 0);
	}
	loop_stop = true;
	/* wake the loop: one more event */
	ck_assert_int_eq(virt_dom_start(v, "vlab-net101-wake"), 0);
	pthread_join(loop, NULL);
	ck_assert(virt_connected(v));
	for (i = 0; i < 4; i++) {
		char name[32];

		snprintf(name, sizeof(name), "vlab-net101-w%zu", i);
		ck_assert_int_eq(virt_dom_remove(v, name), 0);
	}
	ck_assert_int_eq(virt_dom_list_owned(v, &o, &n), 0);
	ck_assert_uint_eq(n, 1);
	virt_owned_free(o, n);
	virConnectClose(keep);
}
END_TEST

START_TEST(virt_state_names_are_human)
{
	ck_assert_str_eq(virt_state_name(VIRT_RUNNING), "running");
	ck_assert_str_eq(virt_state_name(VIRT_SHUTOFF), "shut off");
	ck_assert_str_eq(virt_state_name(VIRT_MISSING), "missing");
	ck_assert_str_eq(virt_state_name((enum virt_state)99), "other");
}
END_TEST

/* ---------------------------------------------------- pool and volumes */

START_TEST(virt_pool_ensure_defines_once_and_is_idempotent)
{
	virConnectPtr c;
	virStoragePoolPtr p;
	int autostart = 0;

	open_test_driver();
	ck_assert_int_eq(virt_pool_ensure(v), 0);
	ck_assert_int_eq(virt_pool_ensure(v), 0);
	c = virConnectOpen("test:///default");
	ck_assert_ptr_nonnull(c);
	p = virStoragePoolLookupByName(c, "vlabtest");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(virStoragePoolIsActive(p), 1);
	ck_assert_int_eq(virStoragePoolIsPersistent(p), 1);
	ck_assert_int_eq(virStoragePoolGetAutostart(p, &autostart), 0);
	ck_assert_int_eq(autostart, 1);
	/* stopped behind our back: ensure starts it again */
	ck_assert_int_eq(virStoragePoolDestroy(p), 0);
	ck_assert_int_eq(virt_pool_ensure(v), 0);
	ck_assert_int_eq(virStoragePoolIsActive(p), 1);
	virStoragePoolFree(p);
	virConnectClose(c);
}
END_TEST

START_TEST(virt_pool_ensure_refuses_pool_elsewhere)
{
	conf.pool_name = "default-pool";   /* the test driver's, at /default-pool */
	open_test_driver();
	ck_assert_int_eq(virt_pool_ensure(v), -EINVAL);
}
END_TEST

START_TEST(virt_overlay_refuses_missing_base)
{
	char missing[300];

	snprintf(missing, sizeof(missing), "%s/nope.qcow2", tmpdir);
	open_test_driver();
	ck_assert_int_eq(virt_pool_ensure(v), 0);
	ck_assert_int_eq(virt_vol_create_overlay(v, "x.qcow2", missing, "qcow2", 0), -ENOENT);
	ck_assert_int_eq(virt_vol_exists(v, "x.qcow2"), 0);
}
END_TEST

START_TEST(virt_vol_path_joins_pool_dir_and_name)
{
	char *p;

	conf.pool_dir = "/var/lib/vlab/pool/";
	open_test_driver();
	p = virt_vol_path(v, "alice.qcow2");
	ck_assert_str_eq(p, "/var/lib/vlab/pool/alice.qcow2");
	free(p);
}
END_TEST

START_TEST(virt_calls_without_pool_say_enoent)
{
	open_test_driver();
	ck_assert_int_eq(virt_vol_exists(v, "a"), -ENOENT);
	ck_assert_int_eq(virt_vol_create_overlay(v, "a", base, "qcow2", 0), -ENOENT);
}
END_TEST

/* ------------------------------------------------------------- probe */

START_TEST(virt_base_probe_reads_qcow2_header)
{
	char fmt[8];
	uint64_t size = 0;

	write_qcow2(base, 3, 5ULL << 30, 104);
	ck_assert_int_eq(virt_base_probe(base, fmt, &size), 0);
	ck_assert_str_eq(fmt, "qcow2");
	ck_assert_uint_eq(size, 5ULL << 30);
	write_qcow2(base, 2, 123456789, 72);
	ck_assert_int_eq(virt_base_probe(base, fmt, &size), 0);
	ck_assert_uint_eq(size, 123456789);
}
END_TEST

START_TEST(virt_base_probe_sizes_raw_by_file)
{
	char fmt[8], path[300];
	uint64_t size = 0;

	snprintf(path, sizeof(path), "%s/base.img", tmpdir);
	write_bytes(path, 12345, 'x');
	ck_assert_int_eq(virt_base_probe(path, fmt, &size), 0);
	ck_assert_str_eq(fmt, "raw");
	ck_assert_uint_eq(size, 12345);
}
END_TEST

START_TEST(virt_base_probe_refuses_directory_missing_empty_and_bad_qcow2)
{
	char fmt[8], path[300];
	uint64_t size = 77;

	ck_assert_int_eq(virt_base_probe(tmpdir, fmt, &size), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing.qcow2", tmpdir);
	ck_assert_int_eq(virt_base_probe(path, fmt, &size), -ENOENT);
	snprintf(path, sizeof(path), "%s/empty.img", tmpdir);
	write_bytes(path, 0, 0);
	ck_assert_int_eq(virt_base_probe(path, fmt, &size), -EINVAL);
	write_qcow2(base, 4, 1ULL << 30, 104);   /* unknown version */
	ck_assert_int_eq(virt_base_probe(base, fmt, &size), -EINVAL);
	write_qcow2(base, 3, 1ULL << 30, 20);    /* header cut before the size */
	ck_assert_int_eq(virt_base_probe(base, fmt, &size), -EINVAL);
	write_qcow2(base, 3, 0, 104);            /* zero-sized disk */
	ck_assert_int_eq(virt_base_probe(base, fmt, &size), -EINVAL);
	ck_assert_uint_eq(size, 77);              /* untouched on failure */
}
END_TEST

Suite *make_virt_suite(void);
Suite *make_virt_suite(void)
{
	Suite *s = suite_create("virt");
	TCase *dom = tcase_create("domains");
	TCase *vol = tcase_create("volumes");
	TCase *probe = tcase_create("probe");

	tcase_add_checked_fixture(dom, setup, teardown);
	tcase_set_timeout(dom, 30);   /* the threaded test takes seconds on a busy host */
	tcase_add_test(dom, virt_reports_builtin_test_domain_running);
	tcase_add_test(dom, virt_state_of_unknown_domain_is_missing);
	tcase_add_test(dom, virt_open_refuses_unknown_uri);
	tcase_add_test(dom, virt_define_start_destroy_remove_cycle);
	tcase_add_test(dom, virt_remove_forces_off_running_domain);
	tcase_add_test(dom, virt_stop_shuts_down_gracefully_and_forced);
	tcase_add_test(dom, virt_calls_on_missing_domain_say_enoent);
	tcase_add_test(dom, virt_define_refuses_broken_xml);
	tcase_add_test(dom, virt_list_owned_skips_foreign_domains);
	tcase_add_test(dom, virt_foreign_disks_lists_only_other_domains_disks);
	tcase_add_test(dom, virt_delivers_lifecycle_events);
	tcase_add_test(dom, virt_reconnect_keeps_working);
	tcase_add_test(dom, virt_survives_concurrent_calls_and_reconnects);
	tcase_add_test(dom, virt_state_names_are_human);
	suite_add_tcase(s, dom);

	tcase_add_checked_fixture(vol, setup, teardown);
	tcase_add_test(vol, virt_pool_ensure_defines_once_and_is_idempotent);
	tcase_add_test(vol, virt_pool_ensure_refuses_pool_elsewhere);
	tcase_add_test(vol, virt_overlay_refuses_missing_base);
	tcase_add_test(vol, virt_vol_path_joins_pool_dir_and_name);
	tcase_add_test(vol, virt_calls_without_pool_say_enoent);
	suite_add_tcase(s, vol);

	tcase_add_checked_fixture(probe, setup, teardown);
	tcase_add_test(probe, virt_base_probe_reads_qcow2_header);
	tcase_add_test(probe, virt_base_probe_sizes_raw_by_file);
	tcase_add_test(probe, virt_base_probe_refuses_directory_missing_empty_and_bad_qcow2);
	suite_add_tcase(s, probe);
	return s;
}
