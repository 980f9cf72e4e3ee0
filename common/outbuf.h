/*
 * A client's pending output on a non-blocking socket: replies are queued whole and sent
 * as the socket accepts them, so a slow reader never blocks a daemon's loop.
 */
#ifndef VLAB_OUTBUF_H
#define VLAB_OUTBUF_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct outbuf {
	char *buf;
	size_t len, off;
};

/* Appends MSG as one JSON line and tries to send at once. 0, or -errno (-ENOMEM, or
 * the peer is gone). MSG is not consumed. */
int outbuf_queue(struct outbuf *o, int fd, json_object *msg);
/* Sends what it can. 0 (possibly with bytes still pending), or -errno: peer gone. */
int outbuf_flush(struct outbuf *o, int fd);
static inline bool outbuf_pending(const struct outbuf *o) { return o->buf != NULL; }
void outbuf_free(struct outbuf *o);

#endif
