/*
 * libFuzzer target: netd's request path without the kernel. Each input is fed through
 * a linebuf (as from the socket) and every line goes the way netd/control.c takes it:
 * proto_parse_request, then netd's own request checks (netd/request.c, the code netd
 * runs: netd_request_parse_put / _del / _sync), then the store as control.c uses it:
 * put: store_check_put (+ store_put); sync: store_swap of the store the parse built;
 * del: store_get + store_del; dump: store_snapshot + mapping_to_json; watch. nft_* calls
 * are left out. The bookkeeping of sleeping VMs (netd/idle.c) follows every change as
 * netd/sleep.c makes it follow, on a clock that moves a minute per line.
 *
 * Checked beyond "no crash": every refusal carries a code and a message, an accepted
 * mapping survives mapping_to_json -> mapping_from_json unchanged, no accepted string
 * hides a NUL (\u0000), an idle event names only an awake mapping with an idle_sleep that
 * has been idle that long, and every reply
 * (ok or error) reaches a client intact: it is written to a pipe and read back with
 * proto_wait_reply, exactly as labd and labctl read netd's replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/id.h"
#include "common/mapping.h"
#include "common/proto.h"
#include "fuzz/reply_check.h"
#include "netd/idle.h"
#include "netd/request.h"
#include "netd/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINE_MAX (1u << 20)   /* the fuzzer's inputs are at most 1 MiB */

/* The lab of configs/test.conf: 10.77.0.0/20, two publics with ports 20000-20999. */
static struct conf_public publics[2];
static struct lab_conf conf;
static int pipefd[2] = { -1, -1 };
static struct idle *idle;            /* the input's bookkeeping of sleeping VMs */
static long long clock_ms;           /* moves IDLE_REMIND_MS per line */

static void lab_init(void)
{
	inet_pton(AF_INET, "10.77.0.0", &conf.subnet);
	conf.prefix = 20;
	inet_pton(AF_INET, "10.77.0.1", &conf.gateway);
	inet_pton(AF_INET, "203.0.113.10", &publics[0].addr);
	inet_pton(AF_INET, "203.0.113.11", &publics[1].addr);
	publics[0].port_lo = publics[1].port_lo = 20000;
	publics[0].port_hi = publics[1].port_hi = 20999;
	conf.publics = publics;
	conf.n_publics = 2;
	conf.nft_table = (char *)"vlab";
	conf.bridge = (char *)"labbr0";
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		abort();
}

/* Two students already there, so put and del meet conflicts and replacements. */
static struct store *store_seeded(void)
{
	static const char *const rows[][4] = {
		{ "s1", "52:54:00:00:00:01", "10.77.0.2", "20001" },
		{ "s2", "52:54:00:00:00:02", "10.77.0.3", "20002" },
	};
	struct store *s;
	size_t i;

	if (store_new(&s) < 0)
		abort();
	for (i = 0; i < 2; i++) {
		struct mapping m = { 0 };

		snprintf(m.student, sizeof(m.student), "%s", rows[i][0]);
		m.mac[0] = 0x52; m.mac[1] = 0x54; m.mac[5] = (uint8_t)(i + 1);
		inet_pton(AF_INET, rows[i][2], &m.ip);
		m.vm_port = 22;
		inet_pton(AF_INET, "203.0.113.10", &m.public_ip);
		m.public_port = (uint16_t)atoi(rows[i][3]);
		if (store_put(s, &m) < 0)
			abort();
	}
	return s;
}

/* An accepted mapping must come back unchanged from its JSON form (dump -> sync). */
static void check_mapping_roundtrip(const struct mapping *m)
{
	struct proto_error e = { 0 };
	struct mapping back;
	json_object *o = mapping_to_json(m);

	if (!o || mapping_from_json(o, &back, &e) < 0 || memcmp(&back, m, sizeof(*m)) != 0) {
		fprintf(stderr, "mapping %s does not survive to_json/from_json: %s\n",
			m->student, e.message);
		abort();
	}
	json_object_put(o);
}

/*
 * An accepted value must be what the sender wrote: a JSON string with \u0000 inside is
 * read by C as the part before it ("al\u0000ice" -> "al"). Reported (mapping.c,
 * proto.c op); VLAB_FUZZ_KNOWN=1 lets long runs look past it.
 */
static void check_no_hidden_nul(json_object *o, const char *what)
{
	if (getenv("VLAB_FUZZ_KNOWN"))
		return;
	if (json_object_is_type(o, json_type_string) &&
	    (size_t)json_object_get_string_len(o) != strlen(json_object_get_string(o))) {
		fprintf(stderr, "accepted %s with a NUL inside: '%s'\n", what,
			json_object_get_string(o));
		abort();
	}
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val) {
			(void)key;
			check_no_hidden_nul(val, what);
		}
	}
}

static void check_error(const struct proto_error *e)
{
	if (!e->code || !e->message[0]) {
		fprintf(stderr, "refusal without code or message: code %s, '%s'\n",
			e->code ? e->code : "(null)", e->message);
		abort();
	}
}

static int op_put(struct store *s, json_object *req, json_object *reply, struct proto_error *e)
{
	const struct mapping *old;
	struct mapping m;

	if (netd_request_parse_put(req, &conf, &m, e) < 0)
		return -EINVAL;
	check_mapping_roundtrip(&m);
	check_no_hidden_nul(json_object_object_get(req, "mapping"), "a mapping");
	if (store_check_put(s, &m, e) < 0)
		return -EEXIST;
	old = store_get(s, m.student);
	if (old && memcmp(old, &m, sizeof(m)) == 0) {
		json_object_object_add(reply, "changed", json_object_new_boolean(0));
		return 0;
	}
	json_object_object_add(reply, "replaced", json_object_new_boolean(old != NULL));
	if (store_put(s, &m) < 0)
		abort();
	if (!store_get(s, m.student) || memcmp(store_get(s, m.student), &m, sizeof(m)) != 0)
		abort();
	json_object_object_add(reply, "changed", json_object_new_boolean(1));
	if (idle_note_put(idle, &m, clock_ms) < 0)
		abort();
	return 0;
}

static int op_del(struct store *s, json_object *req, json_object *reply, struct proto_error *e)
{
	char student[ID_MAX_LEN + 1];

	if (netd_request_parse_del(req, student, e) < 0)
		return -EINVAL;
	if (!id_valid(student))
		abort();
	if (!store_get(s, student)) {
		netd_request_not_found(student, e);
		return -ENOENT;
	}
	if (store_del(s, student) < 0 || store_get(s, student))
		abort();
	idle_note_del(idle, student);
	return 0;
}

static int op_sync(struct store *s, json_object *req, json_object *reply, struct proto_error *e)
{
	struct netd_sync sync;
	struct proto_error e2 = { 0 };
	json_object *arr = json_object_object_get(req, "mappings");
	size_t i;
	int ret;

	ret = netd_request_parse_sync(req, &conf, &sync, e);
	if (ret < 0) {
		/* Every entry passed, so the list check refused: store_check_list must too. */
		if (json_object_is_type(arr, json_type_array) &&
		    sync.n == json_object_array_length(arr) &&
		    store_check_list(sync.maps, sync.n, &e2) == 0)
			abort();
		if (sync.fresh)
			abort();
		goto out;
	}
	/* The parse ran store_build; store_check_list must agree. */
	if (!sync.fresh || store_check_list(sync.maps, sync.n, &e2) != 0 ||
	    store_count(sync.fresh) != sync.n || sync.n != json_object_array_length(arr))
		abort();
	for (i = 0; i < sync.n; i++) {
		check_mapping_roundtrip(&sync.maps[i]);
		check_no_hidden_nul(json_object_array_get_idx(arr, i), "a mapping");
	}
	store_swap(s, sync.fresh);
	if (idle_note_sync(idle, sync.maps, sync.n, clock_ms) < 0 || idle_count(idle) != sync.n)
		abort();
	json_object_object_add(reply, "count", json_object_new_int64((int64_t)sync.n));
out:
	netd_sync_clear(&sync);
	return ret;
}

static int op_dump(struct store *s, json_object *req, json_object *reply, struct proto_error *e)
{
	struct mapping *maps;
	json_object *arr;
	size_t n, i;

	maps = store_snapshot(s, &n);
	if (n != store_count(s))
		abort();
	arr = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(maps[i - 1].student, maps[i].student) >= 0)
			abort();   /* sorted by student, no duplicates */
		json_object_array_add(arr, mapping_to_json(&maps[i]));
	}
	json_object_object_add(reply, "mappings", arr);
	free(maps);
	return 0;
}

static int op_watch(struct store *s, json_object *req, json_object *reply, struct proto_error *e)
{
	idle_retell(idle);
	return 0;
}

struct tell_check {
	struct store *s;
};

/* An idle event must name a mapping that is awake, has an idle_sleep, and has been idle
 * that long. */
static void tell_checked(const char *student, long long idle_ms, void *arg)
{
	struct tell_check *tc = arg;
	const struct mapping *m = store_get(tc->s, student);

	if (!m || m->asleep || m->idle_sleep == 0 || idle_ms < (long long)m->idle_sleep * 1000) {
		fprintf(stderr, "idle event for %s (%lld ms) that is not due\n", student, idle_ms);
		abort();
	}
}

static int op_status(struct store *s, json_object *req, json_object *reply, struct proto_error *e)
{
	json_object_object_add(reply, "table", json_object_new_string(conf.nft_table));
	json_object_object_add(reply, "mappings", json_object_new_int64((int64_t)store_count(s)));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct store *, json_object *, json_object *, struct proto_error *);
} ops[] = {
	{ "sync", op_sync }, { "put", op_put }, { "del", op_del },
	{ "dump", op_dump }, { "status", op_status }, { "watch", op_watch },
};

static void handle_line(struct store *s, const char *line, size_t len)
{
	struct proto_error e = { 0 };
	json_object *req = NULL, *reply = NULL;
	const char *op = NULL;
	int64_t id = -1;
	size_t i;

	if (proto_parse_request(line, len, &req, &op, &id, &e) < 0)
		goto fail;
	if (!op || !req)
		abort();
	check_no_hidden_nul(json_object_object_get(req, "op"), "an op");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].name) != 0)
			continue;
		reply = proto_new_ok(id);
		if (ops[i].fn(s, req, reply, &e) < 0) {
			json_object_put(reply);
			reply = NULL;
			goto fail;
		}
		goto send;
	}
	proto_error_set(&e, PROTO_E_UNKNOWN, "unknown op '%.32s' (netd knows sync, put, del, "
			"dump, status, watch)", op);
fail:
	if (req && !op)
		abort();
	check_error(&e);
	reply = proto_new_error(id, &e);
send:
	if (!reply)
		abort();
	fuzz_check_reply(pipefd, reply, "the client", "netd");
	json_object_put(reply);
	json_object_put(req);
	clock_ms += IDLE_REMIND_MS;
	{
		struct tell_check tc = { s };

		idle_check(idle, clock_ms, tell_checked, &tc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char nl = '\n';
	struct store *s;
	struct linebuf lb;
	char *line;
	size_t len, off = 0;
	ssize_t got;
	int r, fds[2];
	bool closed = false;

	if (pipefd[0] < 0)
		lab_init();
	s = store_seeded();
	{
		struct mapping *maps;
		size_t n;

		/* the seeded students, as netd/sleep.c starts: known to the bookkeeping */
		maps = store_list(s, &n);
		clock_ms = 1;
		if (idle_new(&idle) < 0 || idle_note_sync(idle, maps, n, clock_ms) < 0)
			abort();
		free(maps);
	}

	/* Lines as netd's socket delivers them: the input (plus a final newline) through a
	 * pipe into a linebuf. A leading tab selects a small line cap, so that the
	 * overflow path (discard until the next newline) is fuzzed too. */
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		abort();
	linebuf_init(&lb, size > 0 && data[0] == '\t' ? 16 + size % 4096 : 0);
	for (;;) {
		if (off < size) {
			ssize_t w = write(fds[1], data + off, size - off);

			if (w < 0 && errno != EAGAIN)
				abort();
			if (w > 0)
				off += (size_t)w;
		}
		if (off == size && !closed) {
			if (write(fds[1], &nl, 1) == 1) {
				close(fds[1]);
				closed = true;
			}
		}
		got = linebuf_fill(&lb, fds[0]);
		if (got == -EAGAIN)
			continue;
		if (got < 0)
			abort();
		while ((r = linebuf_next(&lb, &line, &len)) != 0) {
			if (r == -EMSGSIZE)
				continue;
			if (len > lb.max || line[len] != '\0')
				abort();
			handle_line(s, line, len);
		}
		if (got == 0)
			break;
	}
	close(fds[0]);
	linebuf_free(&lb);
	store_free(s);
	idle_free(idle);
	idle = NULL;
	return 0;
}
