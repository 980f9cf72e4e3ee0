/* labd's link to netd (labd/netd.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/mapping.h"
#include "common/proto.h"
#include "common/sock.h"
#include "labd/netd.h"

#define NETD_RETRY_MS 2000
#define NETD_TIMEOUT_S 10

struct netd_link {
	const struct lab_conf *conf;
	struct db *db;
	int fd;                       /* -1 while not connected */
	struct linebuf in;
	/* Watches the idle link for netd going away (calls are synchronous, so between
	 * them nothing is due): a restarted netd is then resynced within NETD_RETRY_MS
	 * instead of at labd's next change. */
	int watch;
	int timer;                    /* the reconnect timer, -1 if none */
	bool synced;
	bool closing;                 /* no more retries */
};

static void netd_link_drop(struct netd_link *l, const char *why);

static void netd_watch_cb(int watch, int fd, int events, void *opaque)
{
	struct netd_link *l = opaque;
	char buf[512];
	ssize_t n;

	if (fd != l->fd)
		return;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0) {
		log_warnx("netd sent %zd bytes nobody asked for: ignored", n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
	    !(events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR)))
		return;
	netd_link_drop(l, n == 0 ? "netd closed the connection" : strerror(errno));
}

static void netd_retry_cb(int timer, void *opaque)
{
	struct netd_link *l = opaque;

	virEventRemoveTimeout(timer);
	l->timer = -1;
	netd_link_start(l);
}

static void netd_schedule_retry(struct netd_link *l)
{
	if (l->timer >= 0 || l->closing)
		return;
	l->timer = virEventAddTimeout(NETD_RETRY_MS, netd_retry_cb, l, NULL);
}

static void netd_link_drop(struct netd_link *l, const char *why)
{
	if (l->watch >= 0) {
		virEventRemoveHandle(l->watch);
		l->watch = -1;
	}
	if (l->fd >= 0) {
		if (!l->closing)
			log_warnx("netd link lost (%s): retrying every %d s; changes are resent "
				  "then", why, NETD_RETRY_MS / 1000);
		close(l->fd);
		l->fd = -1;
	}
	l->synced = false;
	linebuf_free(&l->in);
	netd_schedule_retry(l);
}

/* One request, one reply. 0, or -errno (link trouble: dropped) / -EINVAL (refused). */
static int netd_call(struct netd_link *l, json_object *req, json_object **reply_out)
{
	json_object *reply = NULL, *ok, *err, *msg;
	int ret;

	if (l->fd < 0)
		return -ENOTCONN;
	ret = proto_send(l->fd, req);
	if (ret == 0)
		ret = proto_wait_reply(l->fd, &l->in, &reply, NULL, NULL);
	if (ret < 0) {
		netd_link_drop(l, strerror(-ret));
		return ret;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
		const char *text = "no message";

		if (json_object_object_get_ex(reply, "error", &err) &&
		    json_object_object_get_ex(err, "message", &msg))
			text = json_object_get_string(msg);
		log_warnx("netd refused %s: %s",
			  json_object_get_string(json_object_object_get(req, "op")), text);
		json_object_put(reply);
		return -EINVAL;
	}
	if (reply_out)
		*reply_out = reply;
	else
		json_object_put(reply);
	return 0;
}

static int mapping_from_alloc(const struct db_alloc *a, struct mapping *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->student, sizeof(m->student), "%s", a->student);
	if (addr_parse_mac(a->mac, m->mac) < 0 || addr_parse_ipv4(a->ip, &m->ip) < 0 ||
	    addr_parse_ipv4(a->public_ip, &m->public_ip) < 0)
		return -EINVAL;
	m->vm_port = NETD_LINK_VM_PORT;
	m->public_port = a->public_port;
	/* The tap labd gives the domain (task.c): netd binds it to this MAC and IP. */
	snprintf(m->port, sizeof(m->port), MAPPING_TAP_PREFIX "%u", a->idx);
	return 0;
}

int netd_link_sync(struct netd_link *l)
{
	struct db_alloc *allocs = NULL;
	json_object *req, *arr;
	size_t n = 0, i, sent = 0;
	int ret;

	ret = db_alloc_list(l->db, NULL, &allocs, &n);
	if (ret < 0)
		return ret;
	req = proto_new_request("sync", -1);
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct proto_error e = { 0 };
		struct mapping m;

		/* Students still being created get their mapping when they are ready. */
		if (allocs[i].state != DB_ALLOC_READY)
			continue;
		if (mapping_from_alloc(&allocs[i], &m) < 0) {
			log_warnx("%s: allocation has unusable addresses; not sent to netd",
				  allocs[i].student);
			continue;
		}
		/* One endpoint outside today's ranges must not block everyone's sync. */
		if (mapping_check(&m, l->conf, &e) < 0) {
			log_warnx("%s: not sent to netd: %s (the configuration changed under an "
				  "enrolled student: restore the range, or unenrol and enrol them)",
				  allocs[i].student, e.message);
			continue;
		}
		json_object_array_add(arr, mapping_to_json(&m));
		sent++;
	}
	json_object_object_add(req, "mappings", arr);
	ret = netd_call(l, req, NULL);
	json_object_put(req);
	db_alloc_list_free(allocs, n);
	if (ret == 0) {
		l->synced = true;
		log_info("netd synced: %zu mappings", sent);
	}
	return ret;
}

void netd_link_start(struct netd_link *l)
{
	struct timeval tv = { .tv_sec = NETD_TIMEOUT_S };
	int fd;

	if (l->fd >= 0 || l->closing)
		return;
	fd = sock_connect(l->conf->netd_socket);
	if (fd < 0) {
		log_debug("netd at %s: %s", l->conf->netd_socket, strerror(-fd));
		netd_schedule_retry(l);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	l->fd = fd;
	linebuf_init(&l->in, 0);
	log_info("connected to netd at %s", l->conf->netd_socket);
	if (netd_link_sync(l) < 0 && l->fd >= 0) {
		netd_link_drop(l, "sync refused");
		return;
	}
	if (l->fd >= 0 && l->watch < 0)
		l->watch = virEventAddHandle(l->fd, VIR_EVENT_HANDLE_READABLE, netd_watch_cb, l,
					     NULL);
}

int netd_link_put(struct netd_link *l, const struct db_alloc *a)
{
	struct mapping m;
	json_object *req;
	int ret;

	if (!l->synced)
		return -ENOTCONN;   /* the resync on reconnect carries it */
	if (mapping_from_alloc(a, &m) < 0)
		return -EINVAL;
	req = proto_new_request("put", -1);
	json_object_object_add(req, "mapping", mapping_to_json(&m));
	ret = netd_call(l, req, NULL);
	json_object_put(req);
	return ret;
}

int netd_link_del(struct netd_link *l, const char *student)
{
	json_object *req;
	int ret;

	if (!l->synced)
		return -ENOTCONN;
	req = proto_new_request("del", -1);
	json_object_object_add(req, "student", json_object_new_string(student));
	ret = netd_call(l, req, NULL);
	json_object_put(req);
	/* Already gone is what we wanted. */
	return ret == -EINVAL ? 0 : ret;
}

int netd_link_new(const struct lab_conf *conf, struct db *db, struct netd_link **out)
{
	struct netd_link *l = calloc(1, sizeof(*l));

	*out = l;
	if (!l)
		return -ENOMEM;
	l->conf = conf;
	l->db = db;
	l->fd = -1;
	l->watch = -1;
	l->timer = -1;
	return 0;
}

void netd_link_free(struct netd_link *l)
{
	if (!l)
		return;
	l->closing = true;
	netd_link_drop(l, "labd is stopping");
	if (l->timer >= 0)
		virEventRemoveTimeout(l->timer);
	free(l);
}

bool netd_link_connected(const struct netd_link *l)
{
	return l->fd >= 0;
}

bool netd_link_synced(const struct netd_link *l)
{
	return l->synced;
}

static int netd_api_put(void *ctx, const struct db_alloc *a)
{
	return netd_link_put(ctx, a);
}

static int netd_api_del(void *ctx, const char *student)
{
	return netd_link_del(ctx, student);
}

static bool netd_api_synced(void *ctx)
{
	return netd_link_synced(ctx);
}

void netd_link_api(struct netd_link *l, struct netd_api *out)
{
	*out = (struct netd_api){ .put = netd_api_put, .del = netd_api_del,
				  .synced = netd_api_synced, .ctx = l };
}
