/*
 * The measuring client of bench/netd.sh. Every figure is a list of samples; each
 * subcommand prints one line per figure:
 *     NAME n=N median=M min=A max=B unit=ms
 * Mappings are generated from the lab config: mapping I (0-based) is student "bI" with
 * the index-(I+1) MAC and IP (as labd allocates them) and the public endpoint
 * publics[I % n] : port_lo + I / n; variant 1 rotates the public address by one, so
 * two syncs in a row change every element.
 *
 *   netd_bench mapping CONF I            print mapping I as "student mac ip vm_port public_ip public_port"
 *   netd_bench nftfile CONF COUNT KIND TABLE OUT
 *        KIND map:    "flush map" + "add element" of COUNT elements into TABLE's ssh_dnat
 *        KIND mapdef: the table TABLE with an empty map like netd's (no chains)
 *        KIND rules:  the table TABLE with a nat prerouting chain of COUNT rules
 *                     "ip daddr A tcp dport P dnat to IP:PORT", ports from 30000 up;
 *                     mapping 0's rule comes last (the one the rate test reaches)
 *   netd_bench sync CONF SOCK COUNT RUNS PAUSE_MS   sync round trips (alternating variants,
 *                                                   ends on variant 0)
 *   netd_bench putdel CONF SOCK COUNT RUNS          del + put round trips on one connection
 *   netd_bench breakdown CONF COUNT RUNS TABLE      netd's sync, phase by phase, in-process
 *                                                   (nft_sync on a copy table TABLE)
 *   netd_bench exec RUNS -- CMD... [-- CMD2...]     wall time of fork+exec+wait of CMD
 *                                                   (and CMD2, alternating)
 * NETD_BENCH_ASLEEP=K in the environment: every mapping has idle_sleep 2700 and every Kth
 * one (not mapping 0) is asleep, so netd's sleeping-VM sets are filled as in a class.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/addr.h"
#include "common/conf.h"
#include "common/mapping.h"
#include "common/proto.h"
#include "common/sock.h"
#include "netd/nft.h"
#include "netd/nft_build.h"
#include "netd/store.h"

#define BENCH_MAX_RUNS 100000
#define BENCH_RULE_PORT_BASE 30000
#define BENCH_ALARM_S 120

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

/* Sorts S in place and prints the figure line. */
static void stats_print(const char *name, double *s, size_t n)
{
	double median;

	if (n == 0) {
		printf("%s n=0\n", name);
		return;
	}
	qsort(s, n, sizeof(*s), cmp_double);
	median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	printf("%s n=%zu median=%.3f min=%.3f max=%.3f unit=ms\n", name, n, median, s[0],
	       s[n - 1]);
	fflush(stdout);
}

static long parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "netd_bench: %s: '%s' is not a number in %ld..%ld\n", what, s, min,
			max);
		exit(2);
	}
	return v;
}

static void conf_or_die(const char *path, struct lab_conf *conf)
{
	char err[1024];

	if (conf_load(path, conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "netd_bench: %s\n", err);
		exit(2);
	}
}

/* Mapping I of VARIANT; -ERANGE when the lab has no room for it. */
static int bench_mapping(const struct lab_conf *c, size_t i, unsigned variant, struct mapping *m)
{
	const struct conf_public *p = &c->publics[(i + variant) % c->n_publics];
	size_t port = p->port_lo + i / c->n_publics;

	memset(m, 0, sizeof(*m));
	snprintf(m->student, sizeof(m->student), "b%zu", i);
	if (port > p->port_hi || addr_ip_for_index(c->subnet, c->prefix, (uint32_t)i + 1, &m->ip) < 0 ||
	    addr_mac_for_index(c->mac_prefix, (uint32_t)i + 1, m->mac) < 0)
		return -ERANGE;
	m->vm_port = 22;
	m->public_ip = p->addr;
	m->public_port = (uint16_t)port;
	/* labd's tap for index I + 1: netd installs the port's anti-spoofing elements too */
	snprintf(m->port, sizeof(m->port), MAPPING_TAP_PREFIX "%u", (unsigned)(i + 1));
	/* NETD_BENCH_ASLEEP=K: a class that sleeps (idle_sleep 45 min), every Kth VM asleep;
	 * mapping 0, the one the rate test reaches, stays awake. */
	if (getenv("NETD_BENCH_ASLEEP")) {
		unsigned long k = strtoul(getenv("NETD_BENCH_ASLEEP"), NULL, 10);

		m->idle_sleep = 2700;
		m->asleep = k > 0 && i % k == k - 1 && i > 0;
	}
	return 0;
}

static struct mapping *bench_mappings(const struct lab_conf *c, size_t n, unsigned variant)
{
	struct mapping *maps = calloc(n ? n : 1, sizeof(*maps));
	size_t i;

	if (!maps) {
		fprintf(stderr, "netd_bench: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		if (bench_mapping(c, i, variant, &maps[i]) < 0) {
			fprintf(stderr, "netd_bench: the lab in %s has no room for %zu mappings "
				"(mapping %zu does not fit its subnet or port ranges)\n", c->path, n, i);
			exit(2);
		}
	}
	return maps;
}

/* --- mapping, nftfile ------------------------------------------------------ */

static int cmd_mapping(int argc, char **argv)
{
	struct lab_conf c;
	struct mapping m;
	char ip[INET_ADDRSTRLEN], pub[INET_ADDRSTRLEN], mac[ADDR_MAC_STRLEN];

	if (argc != 4)
		return 2;
	conf_or_die(argv[2], &c);
	if (bench_mapping(&c, (size_t)parse_long(argv[3], 0, 1 << 24, "I"), 0, &m) < 0) {
		fprintf(stderr, "netd_bench: mapping %s does not fit the lab\n", argv[3]);
		return 1;
	}
	inet_ntop(AF_INET, &m.ip, ip, sizeof(ip));
	inet_ntop(AF_INET, &m.public_ip, pub, sizeof(pub));
	addr_format_mac(m.mac, mac);
	printf("%s %s %s %u %s %u\n", m.student, mac, ip, m.vm_port, pub, m.public_port);
	conf_free(&c);
	return 0;
}

static void nft_rule_line(FILE *f, const char *table, const struct mapping *m, size_t port,
			  bool counter)
{
	char ip[INET_ADDRSTRLEN], pub[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &m->ip, ip, sizeof(ip));
	inet_ntop(AF_INET, &m->public_ip, pub, sizeof(pub));
	fprintf(f, "add rule ip %s pre ip daddr %s tcp dport %zu %sdnat to %s:%u\n", table, pub,
		port, counter ? "counter " : "", ip, m->vm_port);
}

static int cmd_nftfile(int argc, char **argv)
{
	struct lab_conf c;
	struct mapping *maps;
	const char *kind, *table;
	size_t n, i;
	FILE *f;

	if (argc != 7)
		return 2;
	conf_or_die(argv[2], &c);
	n = (size_t)parse_long(argv[3], 1, 1 << 20, "COUNT");
	kind = argv[4];
	table = argv[5];
	maps = bench_mappings(&c, n, 0);
	f = fopen(argv[6], "w");
	if (!f) {
		perror(argv[6]);
		return 1;
	}
	if (strcmp(kind, "mapdef") == 0) {
		/* The same map as netd's (see netd/nft.h), with netd's size hint. */
		fprintf(f, "add table ip %s\n"
			"add map ip %s ssh_dnat { type ipv4_addr . inet_service : "
			"ipv4_addr . inet_service; size %u; }\n",
			table, table, nft_build_set_size(n));
	} else if (strcmp(kind, "map") == 0) {
		fprintf(f, "flush map ip %s ssh_dnat\nadd element ip %s ssh_dnat {\n", table, table);
		for (i = 0; i < n; i++) {
			char ip[INET_ADDRSTRLEN], pub[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &maps[i].ip, ip, sizeof(ip));
			inet_ntop(AF_INET, &maps[i].public_ip, pub, sizeof(pub));
			fprintf(f, "  %s . %u : %s . %u%s\n", pub, maps[i].public_port, ip,
				maps[i].vm_port, i + 1 < n ? "," : "");
		}
		fprintf(f, "}\n");
	} else if (strcmp(kind, "rules") == 0) {
		/* The sysadmin's way: one rule per student, in a chain that runs BEFORE netd's
		 * dstnat chain, so every new connection walks it. Mapping 0's own endpoint is
		 * the last rule (with a counter to show the test reached it); the others use
		 * ports nobody connects to. Mapping 0's endpoint is also in netd's map, so
		 * netd's forward chain admits what this chain DNATs. */
		fprintf(f, "add table ip %s\n"
			"add chain ip %s pre { type nat hook prerouting priority dstnat - 10; }\n",
			table, table);
		for (i = 1; i < n; i++)
			nft_rule_line(f, table, &maps[i], BENCH_RULE_PORT_BASE + i, false);
		nft_rule_line(f, table, &maps[0], maps[0].public_port, true);
	} else {
		fprintf(stderr, "netd_bench: nftfile: unknown KIND '%s' (map, mapdef, rules)\n", kind);
		fclose(f);
		return 2;
	}
	free(maps);
	conf_free(&c);
	return fclose(f) == 0 ? 0 : 1;
}

/* --- requests over netd's socket ------------------------------------------ */

static char *request_line(json_object *req, size_t *len)
{
	char *s = proto_serialize(req, len);

	json_object_put(req);
	if (!s) {
		fprintf(stderr, "netd_bench: out of memory\n");
		exit(1);
	}
	return s;
}

static char *sync_line(const struct lab_conf *c, size_t n, unsigned variant, size_t *len)
{
	struct mapping *maps = bench_mappings(c, n, variant);
	json_object *req = proto_new_request("sync", 1), *arr = json_object_new_array_ext((int)n);
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, mapping_to_json(&maps[i]));
	json_object_object_add(req, "mappings", arr);
	free(maps);
	return request_line(req, len);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One request, its reply; 0 if the reply is ok:true. Prints the reply otherwise. */
static int round_trip(int fd, struct linebuf *lb, const char *line, size_t len)
{
	json_object *reply = NULL, *ok;
	int ret;

	ret = write_all(fd, line, len);
	if (ret == 0)
		ret = proto_wait_reply(fd, lb, &reply, NULL, NULL);
	if (ret < 0) {
		fprintf(stderr, "netd_bench: request: %s\n", strerror(-ret));
		return ret;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "netd_bench: refused: %s\n", json_object_to_json_string(reply));
		ret = -EPROTO;
	}
	json_object_put(reply);
	return ret;
}

static int connect_or_die(const char *path)
{
	int fd = sock_connect(path);

	if (fd < 0) {
		fprintf(stderr, "netd_bench: %s: %s\n", path, strerror(-fd));
		exit(1);
	}
	return fd;
}

static int cmd_sync(int argc, char **argv)
{
	struct lab_conf c;
	struct linebuf lb;
	char *lines[2];
	size_t lens[2], n, runs, i;
	double *s;
	long pause_ms;
	int fd, ret = 0;

	if (argc != 7)
		return 2;
	conf_or_die(argv[2], &c);
	n = (size_t)parse_long(argv[4], 0, 1 << 20, "COUNT");
	runs = (size_t)parse_long(argv[5], 1, BENCH_MAX_RUNS, "RUNS");
	pause_ms = parse_long(argv[6], 0, 10000, "PAUSE_MS");
	lines[0] = sync_line(&c, n, 0, &lens[0]);
	lines[1] = sync_line(&c, n, 1, &lens[1]);
	s = calloc(runs, sizeof(*s));
	if (!s)
		return 1;
	fd = connect_or_die(argv[3]);
	linebuf_init(&lb, 0);
	/* Odd number of runs ending on variant 0: the last sync leaves variant 0 loaded. */
	for (i = 0; i < runs; i++) {
		unsigned v = (unsigned)((runs - 1 - i) % 2);
		double t0 = now_ms();

		ret = round_trip(fd, &lb, lines[v], lens[v]);
		if (ret < 0)
			break;
		s[i] = now_ms() - t0;
		if (pause_ms)
			usleep((useconds_t)pause_ms * 1000);
	}
	if (ret == 0) {
		char name[64];

		snprintf(name, sizeof(name), "sync_%zu", n);
		stats_print(name, s, runs);
		printf("sync_request_bytes %zu\n", lens[0]);
	}
	linebuf_free(&lb);
	close(fd);
	free(s);
	free(lines[0]);
	free(lines[1]);
	conf_free(&c);
	return ret < 0 ? 1 : 0;
}

static int cmd_putdel(int argc, char **argv)
{
	struct lab_conf c;
	struct linebuf lb;
	size_t n, runs, i;
	double *sput, *sdel;
	int fd, ret = 0;

	if (argc != 6)
		return 2;
	conf_or_die(argv[2], &c);
	n = (size_t)parse_long(argv[4], 2, 1 << 20, "COUNT");
	runs = (size_t)parse_long(argv[5], 1, BENCH_MAX_RUNS, "RUNS");
	sput = calloc(runs, sizeof(*sput));
	sdel = calloc(runs, sizeof(*sdel));
	if (!sput || !sdel)
		return 1;
	fd = connect_or_die(argv[3]);
	linebuf_init(&lb, 0);
	for (i = 0; i < runs && ret == 0; i++) {
		/* Spread over the map; mapping 0 (the rate test's) is never touched. */
		size_t k = 1 + (i * 7919) % (n - 1);
		struct mapping m;
		json_object *req;
		char *line;
		size_t len;
		double t0;

		if (bench_mapping(&c, k, 0, &m) < 0) {
			ret = -ERANGE;
			break;
		}
		req = proto_new_request("del", (int64_t)(2 * i + 2));
		json_object_object_add(req, "student", json_object_new_string(m.student));
		line = request_line(req, &len);
		t0 = now_ms();
		ret = round_trip(fd, &lb, line, len);
		sdel[i] = now_ms() - t0;
		free(line);
		if (ret < 0)
			break;

		req = proto_new_request("put", (int64_t)(2 * i + 3));
		json_object_object_add(req, "mapping", mapping_to_json(&m));
		line = request_line(req, &len);
		t0 = now_ms();
		ret = round_trip(fd, &lb, line, len);
		sput[i] = now_ms() - t0;
		free(line);
	}
	if (ret == 0) {
		stats_print("put", sput, runs);
		stats_print("del", sdel, runs);
	}
	linebuf_free(&lb);
	close(fd);
	free(sput);
	free(sdel);
	conf_free(&c);
	return ret < 0 ? 1 : 0;
}

/* --- breakdown: netd's op_sync, phase by phase ----------------------------- */

static int cmd_breakdown(int argc, char **argv)
{
	enum { P_PARSE, P_CHECK, P_LIST, P_NFT, P_STORE, P_REPLY, P_N };
	static const char *const names[P_N] = {
		"phase_json_parse", "phase_validate", "phase_conflicts", "phase_nft_sync",
		"phase_store_replace", "phase_reply",
	};
	struct lab_conf c;
	struct nft_params p;
	struct nft *nft = NULL;
	struct in_addr *pubs;
	struct mapping *maps, *prev;
	char *lines[2];
	size_t lens[2], n, runs, i, k, n_prev = 0;
	double *s[P_N];
	int ret = 0;

	if (argc != 6)
		return 2;
	conf_or_die(argv[2], &c);
	n = (size_t)parse_long(argv[3], 1, 1 << 20, "COUNT");
	runs = (size_t)parse_long(argv[4], 1, BENCH_MAX_RUNS, "RUNS");
	lines[0] = sync_line(&c, n, 0, &lens[0]);
	lines[1] = sync_line(&c, n, 1, &lens[1]);
	maps = calloc(n, sizeof(*maps));
	prev = calloc(n, sizeof(*prev));   /* what the kernel holds: netd's store */
	pubs = calloc(c.n_publics, sizeof(*pubs));
	for (k = 0; k < P_N; k++)
		s[k] = calloc(runs, sizeof(double));
	if (!maps || !prev || !pubs || !s[P_N - 1])
		return 1;
	for (i = 0; i < c.n_publics; i++)
		pubs[i] = c.publics[i].addr;   /* the bench lab has each address once */
	p = (struct nft_params){
		.table = argv[5], .bridge = c.bridge, .subnet = c.subnet, .prefix = c.prefix,
		.publics = pubs, .n_publics = c.n_publics, .egress = c.egress, .dns = c.dns,
	};
	if (nft_open(&nft, &p) < 0 || nft_apply_full(nft, NULL, 0) < 0) {
		fprintf(stderr, "netd_bench: copy table %s: %s\n", argv[5],
			nft ? nft_last_error(nft) : "no netlink socket");
		ret = 1;
		goto out;
	}
	for (i = 0; i < runs && ret == 0; i++) {
		unsigned v = (unsigned)(i % 2);
		struct proto_error e = { 0 };
		struct store *st = NULL;
		json_object *req = NULL, *arr, *reply;
		const char *op;
		int64_t id;
		char *out;
		size_t len;
		double t;

		t = now_ms();
		if (proto_parse_request(lines[v], lens[v] - 1, &req, &op, &id, &e) < 0 ||
		    proto_get_array(req, "mappings", true, &arr, &e) < 0) {
			fprintf(stderr, "netd_bench: parse: %s\n", e.message);
			ret = 1;
			break;
		}
		s[P_PARSE][i] = now_ms() - t;

		t = now_ms();
		for (k = 0; k < n; k++) {
			if (mapping_from_json(json_object_array_get_idx(arr, k), &maps[k], &e) < 0 ||
			    mapping_check(&maps[k], &c, &e) < 0) {
				fprintf(stderr, "netd_bench: mapping %zu: %s\n", k, e.message);
				ret = 1;
				break;
			}
		}
		s[P_CHECK][i] = now_ms() - t;

		t = now_ms();
		if (ret == 0 && store_check_list(maps, n, &e) < 0) {
			fprintf(stderr, "netd_bench: %s\n", e.message);
			ret = 1;
		}
		s[P_LIST][i] = now_ms() - t;

		t = now_ms();
		if (ret == 0 && nft_sync(nft, maps, n, prev, n_prev) < 0) {
			fprintf(stderr, "netd_bench: nft_sync: %s\n", nft_last_error(nft));
			ret = 1;
		}
		s[P_NFT][i] = now_ms() - t;
		memcpy(prev, maps, n * sizeof(*maps));
		n_prev = n;

		t = now_ms();
		if (ret == 0 && (store_new(&st) < 0 || store_replace(st, maps, n) < 0))
			ret = 1;
		store_free(st);
		s[P_STORE][i] = now_ms() - t;

		t = now_ms();
		json_object_put(req);   /* netd frees the request after replying */
		reply = proto_new_ok(id);
		json_object_object_add(reply, "count", json_object_new_int64((int64_t)n));
		out = proto_serialize(reply, &len);
		free(out);
		json_object_put(reply);
		s[P_REPLY][i] = now_ms() - t;
	}
	if (ret == 0) {
		double *total = calloc(runs, sizeof(double));

		if (!total)
			return 1;
		for (i = 0; i < runs; i++)
			for (k = 0; k < P_N; k++)
				total[i] += s[k][i];
		for (k = 0; k < P_N; k++)
			stats_print(names[k], s[k], runs);
		stats_print("phase_total", total, runs);
		free(total);
	}
	if (nft_teardown(nft) < 0)
		fprintf(stderr, "netd_bench: copy table %s: %s\n", argv[5], nft_last_error(nft));
out:
	nft_close(nft);
	for (k = 0; k < P_N; k++)
		free(s[k]);
	free(maps);
	free(prev);
	free(pubs);
	free(lines[0]);
	free(lines[1]);
	conf_free(&c);
	return ret;
}

/* --- exec: the CLI's cost as its user sees it ------------------------------ */

static int run_timed(char **cmd, double *ms)
{
	double t0 = now_ms();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	*ms = now_ms() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "netd_bench: '%s' failed (status %d)\n", cmd[0], status);
		return -ECHILD;
	}
	return 0;
}

static int cmd_exec(int argc, char **argv)
{
	char **cmds[2] = { NULL, NULL };
	double *s[2];
	size_t runs, i;
	int k, nc = 0, ret = 0;

	if (argc < 5 || strcmp(argv[3], "--") != 0)
		return 2;
	runs = (size_t)parse_long(argv[2], 1, BENCH_MAX_RUNS, "RUNS");
	for (k = 3; k < argc && nc < 2; k++) {
		if (strcmp(argv[k], "--") == 0 && k + 1 < argc) {
			cmds[nc++] = &argv[k + 1];
			argv[k] = NULL;   /* terminates the previous command */
		}
	}
	s[0] = calloc(runs, sizeof(double));
	s[1] = calloc(runs, sizeof(double));
	if (!s[0] || !s[1])
		return 1;
	for (i = 0; i < runs && ret == 0; i++)
		for (k = 0; k < nc && ret == 0; k++)
			ret = run_timed(cmds[k], &s[k][i]);
	if (ret == 0) {
		stats_print("cmd1", s[0], runs);
		if (nc > 1)
			stats_print("cmd2", s[1], runs);
	}
	free(s[0]);
	free(s[1]);
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "mapping", cmd_mapping },
		{ "nftfile", cmd_nftfile },
		{ "sync", cmd_sync },
		{ "putdel", cmd_putdel },
		{ "breakdown", cmd_breakdown },
		{ "exec", cmd_exec },
	};
	size_t i;

	/* Every run is bounded, a netd that stops answering included. */
	alarm(BENCH_ALARM_S);
	if (argc >= 2) {
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			if (strcmp(argv[1], cmds[i].name) == 0) {
				int r = cmds[i].fn(argc, argv);

				if (r != 2)
					return r;
				break;
			}
		}
	}
	fprintf(stderr, "usage: netd_bench mapping|nftfile|sync|putdel|breakdown|exec ... "
		"(see bench/netd_bench.c)\n");
	return 2;
}
