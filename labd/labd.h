/*
 * labd's state: one struct labd, made by main.c and passed to every module (nothing
 * mutable lives in a file static). Everything here is touched by the main thread only;
 * worker threads get copies inside their task (labd/task.c).
 *
 * The modules, and the one direction their calls go (docs/architecture.md):
 *   control (control.h)  the socket, framing, peer checks
 *     -> ops (ops.h)     validate, decide, record in the database
 *       -> task (task.h) the slow libvirt work on worker threads (jobs.h), then its
 *                        bookkeeping on the main thread; reports to a callback ops set,
 *                        ops to a callback control set
 *   reconcile (reconcile.h) the start-up and reconnect walk, lifecycle events
 *   below them: db.h, pools.h, vmview.h, names.h, host.h (virt.h), netd.h (the netd
 *   link), request.h, seed.h, xml.h
 */
#ifndef VLAB_LABD_H
#define VLAB_LABD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/conf.h"
#include "labd/db.h"
#include "labd/host.h"
#include "labd/jobs.h"
#include "labd/netd.h"
#include "labd/pools.h"
#include "labd/vmview.h"

#define LABD_VERSION "0.1"
#define LABD_SEED_BYTES (1u << 20) /* seed volumes are 1 MiB: rewritten in place by set-keys */

struct control;
struct virt;

/* A class's base image, as probed at start. */
struct base {
	char format[8];               /* qcow2 | raw */
	uint64_t size;
};

struct labd {
	struct lab_conf conf;
	struct db *db;
	struct pools pools;           /* indexes and endpoints, in step with the database */
	struct base *bases;           /* one per conf.classes */
	struct host host;             /* where VMs are made: libvirt (virt_host) or a fake */
	struct jobs *jobs;            /* the worker threads */
	struct netd_api netd;         /* the netd link as tasks use it: real or a fake */
	struct vmview view;           /* every student's VM as last seen */
	time_t started;
	/* main.c's: the real connections and the loop */
	struct virt *virt;
	struct netd_link *netd_link;
	struct control *control;
	gid_t gid;                    /* socket_group's gid, (gid_t)-1 for root only */
	int virt_timer;               /* reconnect to libvirt, -1 if none */
	int walk_timer;               /* retry a failed walk of the domains, -1 if none */
	bool running;
};

#endif
