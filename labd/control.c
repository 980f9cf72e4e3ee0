/*
 * labd's control socket, served from libvirt's default event loop (labd has one thread
 * of control: this loop; workers only run libvirt calls). Peers are checked with
 * SO_PEERCRED: root or the configured group.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "common/log.h"
#include "labd/labd.h"

static void client_update_events(struct client *c)
{
	int ev = outbuf_pending(&c->out) ? VIR_EVENT_HANDLE_WRITABLE : 0;

	/* While a bulk request runs, further lines wait in the kernel's buffer. */
	if (!c->busy && !outbuf_pending(&c->out))
		ev |= VIR_EVENT_HANDLE_READABLE;
	virEventUpdateHandle(c->watch, ev);
}

static void client_close(struct labd *l, struct client *c)
{
	ops_client_gone(l, c);
	virEventRemoveHandle(c->watch);
	close(c->fd);
	linebuf_free(&c->in);
	outbuf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->watch = -1;
}

void client_send(struct client *c, json_object *msg)
{
	if (!c || c->fd < 0)
		return;
	/* A peer that went away is noticed (and closed) by the event callback. */
	if (outbuf_queue(&c->out, c->fd, msg) < 0)
		log_debug("control: reply to pid %d not sent", (int)c->peer.pid);
	client_update_events(c);
}

static struct labd *ctl_labd;   /* the event callbacks' context */

/* Handles buffered lines until one starts a bulk request or output backs up. */
static void client_process(struct labd *l, struct client *c)
{
	char *line;
	size_t len;
	int got;

	while (!c->busy && !outbuf_pending(&c->out) && (got = linebuf_next(&c->in, &line, &len)) != 0) {
		if (got == -EMSGSIZE) {
			struct proto_error e;
			json_object *r;

			proto_error_set(&e, PROTO_E_PARSE, "request line longer than %u bytes",
					PROTO_MAX_LINE);
			r = proto_new_error(-1, &e);
			client_send(c, r);
			json_object_put(r);
			continue;
		}
		ops_handle(l, c, line, len);
	}
	client_update_events(c);
}

static void client_cb(int watch, int fd, int events, void *opaque)
{
	struct labd *l = ctl_labd;
	struct client *c = opaque;
	ssize_t r;

	if (events & VIR_EVENT_HANDLE_WRITABLE) {
		if (outbuf_flush(&c->out, c->fd) < 0) {
			client_close(l, c);
			return;
		}
		if (!outbuf_pending(&c->out))
			client_process(l, c);
		else
			client_update_events(c);
		return;
	}
	if (!(events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP |
			VIR_EVENT_HANDLE_ERROR)))
		return;
	r = linebuf_fill(&c->in, c->fd);
	if (r == -EAGAIN)
		return;
	if (r <= 0) {
		/* EOF: finish the lines already buffered, then close once idle. */
		client_process(l, c);
		if (!c->busy && !outbuf_pending(&c->out))
			client_close(l, c);
		else
			shutdown(c->fd, SHUT_RD);
		return;
	}
	client_process(l, c);
}

static void listen_cb(int watch, int fd, int events, void *opaque)
{
	struct labd *l = opaque;
	struct sock_peer peer;
	int cfd, i;

	cfd = sock_accept(fd, &peer);
	if (cfd < 0)
		return;
	if (!sock_peer_allowed(cfd, &peer, l->gid)) {
		char *s;
		size_t len;

		log_warnx("control: refused uid %u (pid %d): neither root nor in group %s",
			  (unsigned)peer.uid, (int)peer.pid,
			  l->conf.socket_group ? l->conf.socket_group : "(none configured)");
		s = sock_peer_refusal(&peer, &len);
		if (s && send(cfd, s, len, MSG_NOSIGNAL) < 0)
			log_debug("control: reply to refused peer failed");
		free(s);
		close(cfd);
		return;
	}
	for (i = 0; i < LABD_MAX_CLIENTS; i++) {
		struct client *c = &l->clients[i];

		if (c->fd >= 0)
			continue;
		c->fd = cfd;
		c->peer = peer;
		c->busy = NULL;
		linebuf_init(&c->in, PROTO_MAX_LINE);
		c->watch = virEventAddHandle(cfd, VIR_EVENT_HANDLE_READABLE, client_cb, c, NULL);
		if (c->watch < 0) {
			close(cfd);
			linebuf_free(&c->in);
			c->fd = -1;
		}
		return;
	}
	log_warnx("control: %d clients already connected; refusing pid %d", LABD_MAX_CLIENTS,
		  (int)peer.pid);
	close(cfd);
}

int control_listen(struct labd *l)
{
	int i;

	ctl_labd = l;
	for (i = 0; i < LABD_MAX_CLIENTS; i++) {
		l->clients[i].fd = -1;
		l->clients[i].watch = -1;
	}
	l->lfd = sock_listen(l->conf.labd_socket, 0660, l->conf.socket_group);
	if (l->lfd < 0)
		return l->lfd;
	l->lwatch = virEventAddHandle(l->lfd, VIR_EVENT_HANDLE_READABLE, listen_cb, l, NULL);
	return l->lwatch < 0 ? -EIO : 0;
}

void control_close_all(struct labd *l)
{
	int i;

	for (i = 0; i < LABD_MAX_CLIENTS; i++)
		if (l->clients[i].fd >= 0)
			client_close(l, &l->clients[i]);
	if (l->lwatch >= 0)
		virEventRemoveHandle(l->lwatch);
	if (l->lfd >= 0) {
		close(l->lfd);
		unlink(l->conf.labd_socket);
	}
}

void request_progress(struct labd *l, struct request *r, const char *student, int result,
		      const char *code, const char *message)
{
	json_object *res = json_object_new_object(), *ev;

	r->done++;
	json_object_object_add(res, "student", json_object_new_string(student));
	json_object_object_add(res, "ok", json_object_new_boolean(result == 0));
	if (result < 0) {
		json_object *err = json_object_new_object();

		r->failed++;
		json_object_object_add(err, "code", json_object_new_string(code));
		json_object_object_add(err, "message", json_object_new_string(message));
		json_object_object_add(res, "error", err);
	}
	json_object_array_add(r->results, json_object_get(res));

	if (r->client) {
		ev = proto_new_event(r->id, "progress");
		json_object_object_add(ev, "done", json_object_new_int((int)r->done));
		json_object_object_add(ev, "total", json_object_new_int((int)r->total));
		json_object_object_add(ev, "student", json_object_new_string(student));
		json_object_object_add(ev, "ok", json_object_new_boolean(result == 0));
		client_send(r->client, ev);
		json_object_put(ev);
	}
	json_object_put(res);

	if (r->done < r->total)
		return;
	/* Volume files labd wrote for this request become visible in libvirt (virsh
	 * vol-list) before the reply says the request is done. */
	if (virt_pool_sync(l->virt) < 0)
		log_warnx("%s: the storage pool was not refreshed; libvirt lists the new volumes "
			  "at its next refresh", r->op);
	if (r->client) {
		struct client *c = r->client;
		json_object *reply;

		if (r->failed) {
			struct proto_error e;

			proto_error_set(&e, PROTO_E_PARTIAL, "%s: %u of %u students failed", r->op, r->failed,
					r->total);
			reply = proto_new_error(r->id, &e);
		} else {
			reply = proto_new_ok(r->id);
		}
		json_object_object_add(reply, "results", json_object_get(r->results));
		if (r->extra) {
			json_object_object_foreach(r->extra, key, val)
				json_object_object_add(reply, key, json_object_get(val));
		}
		c->busy = NULL;
		client_send(c, reply);
		json_object_put(reply);
		client_process(l, c);
	}
	json_object_put(r->results);
	json_object_put(r->extra);
	free(r);
}
