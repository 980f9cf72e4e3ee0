/*
 * The gate's side of labd's gate socket (docs/protocol.md, "the gate's ops"): one
 * request per connection, the final reply, and for self-console the connection itself,
 * which then carries the console's bytes both ways.
 */
#ifndef VLAB_GATE_LABC_H
#define VLAB_GATE_LABC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define LABC_MAX_LINE (64 * 1024)   /* a reply to the gate is a few hundred bytes */

/* Who a self-* request is for, as sshd established it. */
struct gate_who {
	const char *student;     /* from the session's command line */
	const char *key;         /* "TYPE BASE64" from SSH_USER_AUTH */
	const char *client;      /* "ADDR PORT" from SSH_CONNECTION */
};

/* After an ok self-console reply: the connection, and the console bytes labd sent
 * right behind the reply (they arrived in the same read). */
struct labc_stream {
	int fd;
	char *pending;           /* malloc'd, N_PENDING bytes (may be NULL) */
	size_t n_pending;
};

/* {"v":1,"op":OP,"id":1} plus WHO's fields that are not NULL (gate-key: only key).
 * NULL: no memory. */
json_object *labc_request(const char *op, const struct gate_who *who);

/*
 * Connects to SOCKET, sends REQ and waits for the final reply (events are skipped).
 * 0 with *REPLY (the caller puts it); -errno when labd cannot be reached (-ENOENT,
 * -ECONNREFUSED, -EACCES), -EPROTO when it answers something that is not the protocol,
 * -ECONNRESET when it hangs up first. With STREAM and an ok reply the connection is
 * handed over in *STREAM (the caller closes stream->fd and frees stream->pending).
 */
int labc_call(const char *socket, json_object *req, json_object **reply,
	      struct labc_stream *stream);

/* True when REPLY says "ok": true. */
bool labc_ok(json_object *reply);
/* REPLY's error message (never NULL) and, in *CODE, its code ("" when absent). */
const char *labc_error(json_object *reply, const char **code);

/*
 * Ends the process after SECONDS with exit status GATE_EXIT_NOCONN, writing "vlab-gate:
 * WHAT" to stderr: a labd that never answers must not keep a student (or sshd) waiting
 * forever. 0 cancels. WHAT must outlive the deadline (a string literal).
 */
void labc_deadline(unsigned seconds, const char *what);

#endif
