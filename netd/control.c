/*
 * netd's operations: sync, put, del, dump, status, watch. Every request is checked in full
 * before anything changes (the request itself in netd/request.c, which the fuzzer runs
 * too; then against the store); a kernel batch that fails changes nothing (batches are
 * all-or-nothing), and the store is updated only after the kernel accepted the batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "netd/netd.h"
#include "netd/request.h"

typedef int (*op_fn)(struct netd *d, json_object *req, json_object *reply, struct proto_error *e);

static int op_put(struct netd *d, json_object *req, json_object *reply, struct proto_error *e)
{
	const struct mapping *old;
	struct mapping m, old_copy;
	int ret;

	if (netd_request_parse_put(req, &d->conf, &m, e) < 0)
		return -EINVAL;
	if (store_check_put(d->store, &m, e) < 0)
		return -EEXIST;
	old = store_get(d->store, m.student);
	if (old && memcmp(old, &m, sizeof(m)) == 0) {
		json_object_object_add(reply, "changed", json_object_new_boolean(0));
		return 0;
	}
	if (old)
		old_copy = *old;
	ret = nft_put(d->nft, old ? &old_copy : NULL, &m);
	if (ret == -ENOENT) {
		/* The table, or the old element, vanished under us (nft flush ruleset):
		 * rebuild the whole table with the new content, still one batch. */
		bool had = old != NULL;

		ret = store_put(d->store, &m);
		if (ret == 0 && (ret = netd_table_rebuild(d)) < 0) {
			if (had)
				store_put(d->store, &old_copy);
			else
				store_del(d->store, m.student);
		}
		old = had ? &old_copy : NULL;
	} else if (ret == 0) {
		ret = store_put(d->store, &m);
	}
	if (ret < 0) {
		proto_error_set(e, PROTO_E_INTERNAL, "nftables refused the change: %s",
				nft_last_error(d->nft));
		return ret;
	}
	netd_files_touch(d);
	sleep_note_put(d, &m);
	log_info("put %s%s", m.student, m.asleep ? " (asleep)" : "");
	json_object_object_add(reply, "changed", json_object_new_boolean(1));
	json_object_object_add(reply, "replaced", json_object_new_boolean(old != NULL));
	return 0;
}

static int op_del(struct netd *d, json_object *req, json_object *reply, struct proto_error *e)
{
	char student[ID_MAX_LEN + 1];
	const struct mapping *old;
	struct mapping m;
	int ret;

	if (netd_request_parse_del(req, student, e) < 0)
		return -EINVAL;
	old = store_get(d->store, student);
	if (!old) {
		netd_request_not_found(student, e);
		return -ENOENT;
	}
	m = *old;
	ret = nft_del(d->nft, &m);
	if (ret == -ENOENT) {
		/* Vanished under us: rebuild without it. */
		store_del(d->store, m.student);
		ret = netd_table_rebuild(d);
		if (ret < 0)
			store_put(d->store, &m);
	} else if (ret == 0) {
		store_del(d->store, m.student);
	}
	if (ret < 0) {
		proto_error_set(e, PROTO_E_INTERNAL, "nftables refused the change: %s",
				nft_last_error(d->nft));
		return ret;
	}
	netd_files_touch(d);
	sleep_note_del(d, m.student);
	log_info("del %s", m.student);
	return 0;
}

static int op_sync(struct netd *d, json_object *req, json_object *reply, struct proto_error *e)
{
	struct netd_sync sync;
	struct mapping *old = NULL;
	size_t n_old = 0;
	int ret;

	ret = netd_request_parse_sync(req, &d->conf, &sync, e);
	if (ret < 0)
		goto out;
	/* What the kernel holds now: the bridge table gets only the difference. */
	old = store_list(d->store, &n_old);
	if (!old && store_count(d->store) > 0) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	ret = nft_sync(d->nft, sync.maps, sync.n, old, n_old);
	if (ret == -ENOENT) {
		/* A table vanished and the monitor has not caught it yet, or a port element
		 * the store names is gone: rebuild both with the new content, one batch. */
		ret = nft_apply_full(d->nft, sync.maps, sync.n);
	}
	if (ret < 0) {
		proto_error_set(e, PROTO_E_INTERNAL, "nftables refused the sync: %s",
				nft_last_error(d->nft));
		goto out;
	}
	store_swap(d->store, sync.fresh);
	netd_files_touch(d);
	sleep_note_sync(d, sync.maps, sync.n);
	log_info("sync: %zu mappings", sync.n);
	json_object_object_add(reply, "count", json_object_new_int64((int64_t)sync.n));
	ret = 0;
out:
	netd_sync_clear(&sync);  /* frees the old content after a swap */
	free(old);
	return ret;
}

static int op_dump(struct netd *d, json_object *req, json_object *reply, struct proto_error *e)
{
	struct mapping *maps;
	json_object *arr;
	size_t n, i;

	/* idle_s as the kernel has it now, not as of the last periodic read */
	sleep_refresh(d);
	maps = store_snapshot(d->store, &n);
	if (!maps && n == 0 && store_count(d->store) > 0) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	arr = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++) {
		json_object *o = mapping_to_json(&maps[i]);

		/* Not a mapping field: seconds since a client's last packet to the VM. */
		if (o)
			json_object_object_add(o, "idle_s", sleep_idle_json(d, maps[i].student));
		json_object_array_add(arr, o);
	}
	json_object_object_add(reply, "mappings", arr);
	free(maps);
	return 0;
}

static int op_status(struct netd *d, json_object *req, json_object *reply, struct proto_error *e)
{
	int present = nft_table_exists(d->nft);
	int kernel = present > 0 ? nft_map_count(d->nft) : 0;

	json_object_object_add(reply, "version", json_object_new_string(NETD_VERSION));
	json_object_object_add(reply, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(reply, "uptime_s",
			       json_object_new_int64((int64_t)(time(NULL) - d->started)));
	json_object_object_add(reply, "table", json_object_new_string(d->conf.nft_table));
	json_object_object_add(reply, "table_present", json_object_new_boolean(present > 0));
	json_object_object_add(reply, "mappings",
			       json_object_new_int64((int64_t)store_count(d->store)));
	json_object_object_add(reply, "kernel_elements", json_object_new_int(kernel));
	json_object_object_add(reply, "rebuilds", json_object_new_int((int)d->rebuilds));
	json_object_object_add(reply, "bridge", json_object_new_string(d->conf.bridge));
	json_object_object_add(reply, "bridge_created", json_object_new_boolean(d->bridge_created));
	json_object_object_add(reply, "dnsmasq_pid", json_object_new_int((int)d->dhcp.pid));
	sleep_status(d, reply);
	json_object_object_add(reply, "watchers", json_object_new_int((int)netd_watcher_count(d)));
	return 0;
}

/* The connection gets every event from now on (netd/sleep.h); replies to its later
 * requests come in between, in order. */
static int op_watch(struct netd *d, json_object *req, json_object *reply, struct proto_error *e)
{
	json_object *events = json_object_new_array_ext(2);

	json_object_array_add(events, json_object_new_string("idle"));
	json_object_array_add(events, json_object_new_string("wake"));
	json_object_object_add(reply, "events", events);
	sleep_note_watcher(d);
	return 0;
}

static const struct {
	const char *name;
	op_fn fn;
	bool subscribes;             /* the connection watches events after it */
} ops[] = {
	{ "sync", op_sync, false },
	{ "put", op_put, false },
	{ "del", op_del, false },
	{ "dump", op_dump, false },
	{ "status", op_status, false },
	{ "watch", op_watch, true },
};

void control_handle(struct netd *d, const struct sock_peer *peer, const char *line, size_t len,
		    json_object **reply, json_object **request, bool *watch)
{
	struct proto_error e = { 0 };
	json_object *req = NULL, *ok = NULL;
	const char *op = NULL;
	int64_t id = -1;
	size_t i;

	if (proto_parse_request(line, len, &req, &op, &id, &e) < 0)
		goto fail;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].name) != 0)
			continue;
		ok = proto_new_ok(id);
		if (ops[i].fn(d, req, ok, &e) < 0) {
			json_object_put(ok);
			ok = NULL;
			log_warnx("%s from uid %u refused: %s", op, (unsigned)peer->uid, e.message);
			goto fail;
		}
		*reply = ok;
		*request = req;   /* freed by the caller after the reply is on its way */
		*watch = ops[i].subscribes;
		return;
	}
	proto_error_set(&e, PROTO_E_UNKNOWN, "unknown op '%.32s' (netd knows sync, put, del, dump, "
			"status, watch)", op);
fail:
	json_object_put(req);
	*request = NULL;
	*watch = false;
	*reply = proto_new_error(id, &e);
}
