/*
 * labd's link to netd: a full sync on start and on every reconnect, then one put or del
 * per change. netd answers in milliseconds, so requests are synchronous with a timeout.
 * If netd is down labd keeps working: the link is retried every few seconds (a timer on
 * labd's event loop) and the first successful connect resyncs everything from the
 * database. Main thread only.
 */
#ifndef VLAB_LABD_NETD_H
#define VLAB_LABD_NETD_H

#include <stdbool.h>

#include "common/conf.h"
#include "labd/db.h"

#define NETD_LINK_VM_PORT 22     /* the VM port each student's public endpoint maps to */

struct netd_link;

/* A link to CONF->netd_socket that syncs from DB; not connected yet. CONF and DB must
 * outlive it. 0 or -ENOMEM. */
int netd_link_new(const struct lab_conf *conf, struct db *db, struct netd_link **out);
/* Closes the link and stops its retries; NULL is fine. */
void netd_link_free(struct netd_link *n);
/* Connects and syncs, or retries later; nothing if connected. */
void netd_link_start(struct netd_link *n);
/* Every ready student's mapping, in one request. 0 or -errno (link trouble: dropped and
 * retried; -EINVAL: netd refused it). */
int netd_link_sync(struct netd_link *n);
/* One student's mapping added (or replaced) / removed. -ENOTCONN while not synced: the
 * resync on reconnect carries it. A del of a mapping netd does not have is 0. */
int netd_link_put(struct netd_link *n, const struct db_alloc *a);
int netd_link_del(struct netd_link *n, const char *student);
bool netd_link_connected(const struct netd_link *n);
/* Synced since the last connect: netd holds every ready student's mapping. */
bool netd_link_synced(const struct netd_link *n);

/* The link as tasks use it, a table so the unit tests can put a fake in. */
struct netd_api {
	int (*put)(void *ctx, const struct db_alloc *a);
	int (*del)(void *ctx, const char *student);
	bool (*synced)(void *ctx);
	void *ctx;
};
/* N behind that table. */
void netd_link_api(struct netd_link *n, struct netd_api *out);

#endif
