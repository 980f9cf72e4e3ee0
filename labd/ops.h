/*
 * labd's operations (docs/protocol.md): one request line in, validated in full before
 * anything is created (the request alone in labd/request.c, then against the database),
 * decided and recorded in the database; the slow part of bulk operations goes to one
 * task per student (labd/task.h) and the final reply comes when all came back.
 *
 * ops talks back through a sink its caller (control.c) sets: ops never knows clients or
 * sockets, and nothing below ops calls into it except through the callback it hands to
 * each task.
 */
#ifndef VLAB_LABD_OPS_H
#define VLAB_LABD_OPS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "labd/labd.h"

/* Where ops sends what it has to say about one request. */
struct ops_sink {
	/* MSG is a progress event (FINAL false) or the final reply (FINAL true, once per
	 * request, last); the callee takes no ownership. Called from inside ops_handle for
	 * a request that finishes at once, later from the main loop for a bulk one. */
	void (*reply)(void *ctx, json_object *msg, bool final);
	void *ctx;
	uid_t uid;                   /* the peer, for the audit log */
};

/* A bulk request in flight. */
struct ops_request;

/*
 * Handles one request line (LEN bytes, NUL-terminated). Returns NULL when the final
 * reply went to SINK already, or the request still in flight: its progress and final
 * reply go to SINK later (SINK is copied).
 */
struct ops_request *ops_handle(struct labd *l, const struct ops_sink *sink, const char *line,
			       size_t len);
/* The client of R went away: R carries on to the end, its replies go nowhere. */
void ops_request_detach(struct ops_request *r);

#endif
