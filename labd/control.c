/*
 * labd's control socket (labd/control.h). labd has one thread of control, libvirt's
 * default event loop; every function here runs on it.
 */
#include "labd/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/sock.h"
#include "labd/ops.h"

struct client {
	struct sock_client sc;        /* first: common/sock.h seats clients */
	struct control *ctl;
	int watch;                    /* virEventAddHandle id */
	int resume;                   /* a zero timeout that resumes reading, -1 if none */
	bool processing;              /* inside client_process: it reads on by itself */
	struct ops_request *busy;     /* a bulk request in flight: later lines wait */
};

struct control {
	struct labd *l;
	int lfd, lwatch;
	struct client clients[CONTROL_MAX_CLIENTS];
};

static void client_update_events(struct client *c)
{
	int ev = outbuf_pending(&c->sc.out) ? VIR_EVENT_HANDLE_WRITABLE : 0;

	/* While a bulk request runs, further lines wait in the kernel's buffer. */
	if (!c->busy && !outbuf_pending(&c->sc.out))
		ev |= VIR_EVENT_HANDLE_READABLE;
	virEventUpdateHandle(c->watch, ev);
}

static void client_close(struct client *c)
{
	ops_request_detach(c->busy);
	virEventRemoveHandle(c->watch);
	if (c->resume >= 0)
		virEventRemoveTimeout(c->resume);
	sock_client_close(&c->sc);
	c->watch = -1;
	c->resume = -1;
	c->busy = NULL;
	c->processing = false;
}

static void client_send(struct client *c, json_object *msg)
{
	/* A peer that went away is noticed (and closed) by the event callback. */
	if (outbuf_queue(&c->sc.out, c->sc.fd, msg) < 0)
		log_debug("control: reply to pid %d not sent", (int)c->sc.peer.pid);
	client_update_events(c);
}

static void client_process(struct client *c);

static void client_resume_cb(int timer, void *opaque)
{
	struct client *c = opaque;

	virEventRemoveTimeout(timer);
	c->resume = -1;
	client_process(c);
}

/* ops' sink: progress and the final reply of C's request. */
static void client_reply(void *ctx, json_object *msg, bool final)
{
	struct client *c = ctx;

	client_send(c, msg);
	if (!final)
		return;
	c->busy = NULL;
	/* Lines may wait in C's buffer with nothing left to read on the socket: read them
	 * from the loop, not from inside ops (which called us). */
	if (!c->processing && c->resume < 0)
		c->resume = virEventAddTimeout(0, client_resume_cb, c, NULL);
}

/* Handles buffered lines until one starts a bulk request or output backs up. */
static void client_process(struct client *c)
{
	struct ops_sink sink = { client_reply, c, c->sc.peer.uid };
	char *line;
	size_t len;
	int got;

	c->processing = true;
	while (!c->busy && !outbuf_pending(&c->sc.out) &&
	       (got = linebuf_next(&c->sc.in, &line, &len)) != 0) {
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
		c->busy = ops_handle(c->ctl->l, &sink, line, len);
	}
	c->processing = false;
	client_update_events(c);
}

static void client_cb(int watch, int fd, int events, void *opaque)
{
	struct client *c = opaque;
	ssize_t r;

	if (events & VIR_EVENT_HANDLE_WRITABLE) {
		if (outbuf_flush(&c->sc.out, c->sc.fd) < 0) {
			client_close(c);
			return;
		}
		if (!outbuf_pending(&c->sc.out))
			client_process(c);
		else
			client_update_events(c);
		return;
	}
	if (!(events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP |
			VIR_EVENT_HANDLE_ERROR)))
		return;
	r = linebuf_fill(&c->sc.in, c->sc.fd);
	if (r == -EAGAIN)
		return;
	if (r <= 0) {
		/* EOF: finish the lines already buffered, then close once idle. */
		client_process(c);
		if (!c->busy && !outbuf_pending(&c->sc.out))
			client_close(c);
		else
			shutdown(c->sc.fd, SHUT_RD);
		return;
	}
	client_process(c);
}

static void listen_cb(int watch, int fd, int events, void *opaque)
{
	struct control *ctl = opaque;
	struct sock_client *sc;
	struct client *c;

	sc = sock_client_accept(fd, ctl->l->gid, ctl->l->conf.socket_group, ctl->clients,
				CONTROL_MAX_CLIENTS, sizeof(ctl->clients[0]));
	if (!sc)
		return;
	c = (struct client *)sc;
	c->busy = NULL;
	c->resume = -1;
	c->watch = virEventAddHandle(sc->fd, VIR_EVENT_HANDLE_READABLE, client_cb, c, NULL);
	if (c->watch < 0)
		sock_client_close(sc);
}

int control_open(struct labd *l, struct control **out)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int i;

	*out = NULL;
	if (!ctl)
		return -ENOMEM;
	ctl->l = l;
	ctl->lwatch = -1;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		ctl->clients[i] = (struct client){ .ctl = ctl, .watch = -1, .resume = -1 };
		ctl->clients[i].sc.fd = -1;
	}
	ctl->lfd = sock_listen(l->conf.labd_socket, 0660, l->conf.socket_group);
	if (ctl->lfd < 0) {
		int ret = ctl->lfd;

		free(ctl);
		return ret;
	}
	ctl->lwatch = virEventAddHandle(ctl->lfd, VIR_EVENT_HANDLE_READABLE, listen_cb, ctl, NULL);
	*out = ctl;
	return ctl->lwatch < 0 ? -EIO : 0;
}

void control_close(struct control *ctl)
{
	int i;

	if (!ctl)
		return;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->clients[i].sc.fd >= 0)
			client_close(&ctl->clients[i]);
	if (ctl->lwatch >= 0)
		virEventRemoveHandle(ctl->lwatch);
	if (ctl->lfd >= 0) {
		close(ctl->lfd);
		unlink(ctl->l->conf.labd_socket);
	}
	free(ctl);
}
