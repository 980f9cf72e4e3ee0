/*
 * Drives netd/nft.c against the kernel for tests/netns/nft_smoke.sh (run it inside a
 * throwaway network namespace). Built by the script itself together with
 * netd/nft.c, netd/nft_build.c, netd/nlsock.c and common/log.c.
 *
 *   nft_driver [--no-egress] [--no-dns] CMD [ARGS]
 *     apply N [RUNS]   nft_apply_full with mappings 0..N-1 (RUNS times; median)
 *     sync N RUNS [OLD]  nft_sync with mappings 0..N-1, RUNS times; prints the median.
 *                      The kernel is taken to hold mappings 0..OLD-1 (default N, as
 *                      after `apply N`); later runs hold 0..N-1
 *     putdel RUNS      nft_put of a new mapping then nft_del of it, RUNS times each
 *     put I J          nft_put: replace mapping I by mapping J
 *     del I            nft_del of mapping I
 *     count            nft_map_count
 *     exists           nft_table_exists
 *     teardown         nft_teardown
 *     monitor [CMD]    open the monitor, run CMD (default `nft flush ruleset`), report
 *                      what it saw
 *     dup              nft_sync with a duplicated key: must fail, prints the error
 *     sleep I          nft_put: mapping I, awake before, now asleep
 *     wake I           nft_put: mapping I, asleep before, now awake
 *     active           nft_active_dump: "IP EXPIRES_MS TIMEOUT_MS" per element
 *
 * NFT_MONITOR=1 in the environment: apply, sync and putdel run with the monitor open, as
 * netd runs them. NFT_ASLEEP=I (a mapping index) makes mapping I asleep in every list;
 * NFT_ACTIVE_LEFT=MS gives apply's activity elements MS to live (netd's idle times).
 *
 * Mapping i: VM 10.64.0.0/18 + 2 + i port 22, public 203.0.113.(10 + i % 2) port
 * 20000 + i / 2, bridge port "vl<i + 1>", MAC 52:54:00:00:(i + 1) as labd derives them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "netd/nft.h"

static struct mapping mapping_for(unsigned i)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	snprintf(m.student, sizeof(m.student), "s%05u", i);
	m.ip.s_addr = htonl((10u << 24) | (64u << 16)) | htonl(2 + i);
	m.vm_port = 22;
	m.public_ip.s_addr = htonl((203u << 24) | (0u << 16) | (113u << 8) | (10 + i % 2));
	m.public_port = (uint16_t)(20000 + i / 2);
	m.mac[0] = 0x52;
	m.mac[1] = 0x54;
	m.mac[4] = (uint8_t)((i + 1) >> 8);
	m.mac[5] = (uint8_t)(i + 1);
	snprintf(m.port, sizeof(m.port), MAPPING_TAP_PREFIX "%u", i + 1);
	m.asleep = getenv("NFT_ASLEEP") && (unsigned)atoi(getenv("NFT_ASLEEP")) == i;
	return m;
}

static uint64_t active_left(const struct mapping *m, void *arg)
{
	return strtoull(getenv("NFT_ACTIVE_LEFT"), NULL, 10);
}

static void active_print(struct in_addr ip, uint64_t expires_ms, uint64_t timeout_ms, void *arg)
{
	char a[INET_ADDRSTRLEN];

	printf("%s %llu %llu\n", inet_ntop(AF_INET, &ip, a, sizeof(a)),
	       (unsigned long long)expires_ms, (unsigned long long)timeout_ms);
}

static struct mapping *mappings(size_t n)
{
	struct mapping *m = calloc(n ? n : 1, sizeof(*m));
	size_t i;

	if (!m)
		fatal("calloc");
	for (i = 0; i < n; i++)
		m[i] = mapping_for((unsigned)i);
	return m;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int check(struct nft *n, int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "%s: %s (%s)\n", what, strerror(-ret), n ? nft_last_error(n) : "");
		exit(1);
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct in_addr publics[2];
	struct nft_params p = {
		.table = "vlab", .bridge = "labbr0", .prefix = 18,
		.publics = publics, .n_publics = 2, .egress = true, .dns = true,
		.log_group = CONF_LOG_GROUP_DEFAULT,
	};
	struct nft *n;
	const char *cmd;
	int ai = 1;

	log_init("nft_driver", true, getenv("NFT_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	for (; ai < argc && strncmp(argv[ai], "--", 2) == 0; ai++) {
		if (strcmp(argv[ai], "--no-egress") == 0)
			p.egress = false;
		else if (strcmp(argv[ai], "--no-dns") == 0)
			p.dns = false;
		else
			fatalx("unknown option %s", argv[ai]);
	}
	if (ai >= argc)
		fatalx("usage: nft_driver [--no-egress] [--no-dns] CMD [ARGS]");
	cmd = argv[ai++];
	inet_pton(AF_INET, "10.64.0.0", &p.subnet);
	inet_pton(AF_INET, "203.0.113.10", &publics[0]);
	inet_pton(AF_INET, "203.0.113.11", &publics[1]);
	check(NULL, nft_open(&n, &p), "nft_open");
	if (getenv("NFT_ACTIVE_LEFT"))
		nft_set_active_source(n, active_left, NULL);

	if (strcmp(cmd, "apply") == 0 && ai < argc) {
		size_t cnt = strtoul(argv[ai], NULL, 10);
		size_t runs = ai + 1 < argc ? strtoul(argv[ai + 1], NULL, 10) : 1, r;
		struct mapping *m = mappings(cnt);
		double *t = calloc(runs ? runs : 1, sizeof(*t)), med;

		if (getenv("NFT_MONITOR"))
			check(n, nft_monitor_open(n), "nft_monitor_open");
		for (r = 0; r < runs; r++) {
			double t0 = now_ms();

			check(n, nft_apply_full(n, m, cnt), "nft_apply_full");
			t[r] = now_ms() - t0;
			if (nft_monitor_fd(n) >= 0 && nft_monitor_read(n) != 0)
				printf("monitor: changed!\n");
		}
		med = median(t, runs);
		printf("apply_full %zu: median %.2f ms over %zu runs (min %.2f max %.2f)\n", cnt,
		       med, runs, t[0], t[runs - 1]);
		free(t);
		free(m);
	} else if (strcmp(cmd, "sync") == 0 && ai + 1 < argc) {
		size_t cnt = strtoul(argv[ai], NULL, 10);
		size_t runs = strtoul(argv[ai + 1], NULL, 10), r;
		size_t n_old = ai + 2 < argc ? strtoul(argv[ai + 2], NULL, 10) : cnt;
		struct mapping *m = mappings(cnt), *old = mappings(n_old);
		double *t = calloc(runs ? runs : 1, sizeof(*t));

		double med;
		int mon = 0;

		/* NFT_MONITOR=1: with the monitor subscribed, as netd runs */
		if (getenv("NFT_MONITOR"))
			check(n, nft_monitor_open(n), "nft_monitor_open");
		for (r = 0; r < runs; r++) {
			double t0 = now_ms();

			check(n, nft_sync(n, m, cnt, r ? m : old, r ? cnt : n_old), "nft_sync");
			t[r] = now_ms() - t0;
			if (nft_monitor_fd(n) >= 0)
				mon |= nft_monitor_read(n);
		}
		med = median(t, runs);
		printf("sync %zu: median %.2f ms over %zu runs (min %.2f max %.2f)%s\n", cnt, med,
		       runs, t[0], t[runs - 1], nft_monitor_fd(n) >= 0 ?
		       (mon ? " monitor: changed!" : " monitor: quiet") : "");
		free(t);
		free(m);
		free(old);
	} else if (strcmp(cmd, "putdel") == 0 && ai < argc) {
		size_t runs = strtoul(argv[ai], NULL, 10), r;
		double *tp = calloc(runs ? runs : 1, sizeof(*tp));
		double *td = calloc(runs ? runs : 1, sizeof(*td));
		struct mapping m = mapping_for(15000);

		if (getenv("NFT_MONITOR"))
			check(n, nft_monitor_open(n), "nft_monitor_open");
		for (r = 0; r < runs; r++) {
			double t0 = now_ms();

			check(n, nft_put(n, NULL, &m), "nft_put");
			tp[r] = now_ms() - t0;
			t0 = now_ms();
			check(n, nft_del(n, &m), "nft_del");
			td[r] = now_ms() - t0;
		}
		double mp = median(tp, runs), md = median(td, runs);

		printf("put: median %.3f ms, del: median %.3f ms over %zu runs (map of %d)\n",
		       mp, md, runs, nft_map_count(n));
		free(tp);
		free(td);
	} else if (strcmp(cmd, "put") == 0 && ai + 1 < argc) {
		struct mapping o = mapping_for((unsigned)atoi(argv[ai]));
		struct mapping nw = mapping_for((unsigned)atoi(argv[ai + 1]));

		check(n, nft_put(n, &o, &nw), "nft_put");
		printf("put ok\n");
	} else if (strcmp(cmd, "del") == 0 && ai < argc) {
		struct mapping m = mapping_for((unsigned)atoi(argv[ai]));

		check(n, nft_del(n, &m), "nft_del");
		printf("del ok\n");
	} else if (strcmp(cmd, "count") == 0) {
		printf("%d\n", check(n, nft_map_count(n), "nft_map_count"));
	} else if (strcmp(cmd, "exists") == 0) {
		printf("%d\n", check(n, nft_table_exists(n), "nft_table_exists"));
	} else if (strcmp(cmd, "teardown") == 0) {
		check(n, nft_teardown(n), "nft_teardown");
		printf("teardown ok\n");
	} else if (strcmp(cmd, "monitor") == 0) {
		const char *what = ai < argc ? argv[ai] : "nft flush ruleset";
		struct pollfd pfd;
		int own, seen = 0;

		check(n, nft_monitor_open(n), "nft_monitor_open");
		pfd.fd = nft_monitor_fd(n);
		pfd.events = POLLIN;
		/* our own rebuild must not count as "changed under us" */
		check(n, nft_apply_full(n, NULL, 0), "nft_apply_full");
		own = poll(&pfd, 1, 200) > 0 ? check(n, nft_monitor_read(n), "monitor") : 0;
		if (system(what) != 0)
			fatalx("%s failed", what);
		if (poll(&pfd, 1, 2000) > 0)
			seen = nft_monitor_read(n);
		printf("monitor: own=%d flush=%d exists=%d\n", own, seen,
		       check(n, nft_table_exists(n), "nft_table_exists"));
	} else if ((strcmp(cmd, "sleep") == 0 || strcmp(cmd, "wake") == 0) && ai < argc) {
		struct mapping o = mapping_for((unsigned)atoi(argv[ai])), nw = o;

		o.asleep = strcmp(cmd, "wake") == 0;
		nw.asleep = !o.asleep;
		check(n, nft_put(n, &o, &nw), "nft_put");
		printf("%s ok\n", cmd);
	} else if (strcmp(cmd, "active") == 0) {
		check(n, nft_active_dump(n, active_print, NULL), "nft_active_dump");
	} else if (strcmp(cmd, "dup") == 0) {
		struct mapping m[3] = { mapping_for(1), mapping_for(2), mapping_for(3) };
		int ret;

		/* same public endpoint, different VM: the kernel refuses the whole batch */
		m[2].public_ip = m[0].public_ip;
		m[2].public_port = m[0].public_port;
		ret = nft_sync(n, m, 3, m, 3);
		printf("dup: %d (%s) count=%d\n", ret, nft_last_error(n), nft_map_count(n));
	} else {
		fatalx("unknown command or missing arguments: %s", cmd);
	}
	nft_close(n);
	return 0;
}
