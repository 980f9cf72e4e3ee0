/* labd's state, shared by its files. Everything here is touched by the main thread only;
 * worker threads get copies inside their task (labd/task.h). */
#ifndef VLAB_LABD_H
#define VLAB_LABD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/conf.h"
#include "common/outbuf.h"
#include "common/proto.h"
#include "common/sock.h"
#include "labd/alloc.h"
#include "labd/db.h"
#include "labd/jobs.h"
#include "labd/virt.h"

#define LABD_VERSION "0.1"
#define LABD_SSH_PORT 22          /* the VM port each student's public endpoint maps to */
#define LABD_SEED_BYTES (1u << 20) /* seed volumes are 1 MiB: rewritten in place by set-keys */
#define LABD_MAX_CLIENTS 64

struct request;

struct client {
	int fd;
	int watch;                    /* virEventAddHandle id */
	struct sock_peer peer;
	struct linebuf in;
	struct outbuf out;
	struct request *busy;         /* a bulk request in flight: later lines wait */
};

/* A bulk request: one final reply after every student's task came back. */
struct request {
	struct client *client;        /* NULL once the client went away */
	int64_t id;
	char op[16];
	unsigned total, done, failed;
	json_object *results;         /* array of {student, ok, error?} */
	json_object *extra;           /* more fields for the final reply, or NULL */
};

/* Per-student runtime view, indexed by student id. */
struct vm {
	char student[33];
	bool busy;                    /* a task is in flight */
	bool crashed;
	unsigned restarts;            /* crash restarts in the current window */
	long long window_start_ms;
};

struct base {
	char format[8];               /* qcow2 | raw */
	uint64_t size;
};

struct labd {
	struct lab_conf conf;
	struct db *db;
	struct virt *virt;
	struct jobs *jobs;
	struct alloc_index *ipool;
	struct alloc_endpoint_pool *epool;
	struct base *bases;           /* one per conf.classes */
	struct vm *vms;               /* array, n_vms, capacity cap_vms (small: linear is fine
	                                 for lookups by the main thread up to a few thousand) */
	size_t n_vms, cap_vms;
	int lfd, lwatch;
	gid_t gid;
	struct client clients[LABD_MAX_CLIENTS];
	/* netd link */
	int netd_fd;
	struct linebuf netd_in;
	int netd_timer;               /* virEventAddTimeout id for reconnects, -1 if none */
	bool netd_synced;
	bool virt_lost;
	int virt_timer;
	bool running;
	time_t started;
};

/* main.c */
long long labd_now_ms(void);

/* vm table */
struct vm *labd_vm(struct labd *l, const char *student, bool create);
void labd_vm_forget(struct labd *l, const char *student);

/* names derived from a student id */
void labd_name_domain(const char *student, char *buf, size_t len);
void labd_name_overlay(const char *student, char *buf, size_t len);
void labd_name_seed(const char *student, char *buf, size_t len);

/* pools: rebuilt from the database's history */
int labd_pools_load(struct labd *l);

/* netd.c */
void netd_link_start(struct labd *l);                     /* connect + sync, or retry later */
int netd_link_put(struct labd *l, const struct db_alloc *a);
int netd_link_del(struct labd *l, const char *student);
int netd_link_sync(struct labd *l);

/* control.c */
int control_listen(struct labd *l);
void control_close_all(struct labd *l);
void client_send(struct client *c, json_object *msg);    /* takes no ownership */
void request_progress(struct labd *l, struct request *r, const char *student, int result,
		      const char *code, const char *message);

/* ops.c: one request line from C. Returns true if it finished (reply sent), false when a
 * bulk request is in flight (C->busy set, the reply comes later). */
bool ops_handle(struct labd *l, struct client *c, const char *line, size_t len);
void ops_client_gone(struct labd *l, struct client *c);

/* task.c: per-student tasks run by workers */
enum task_kind { TASK_CREATE, TASK_RESET, TASK_REMOVE, TASK_START, TASK_STOP, TASK_REBOOT,
		 TASK_SEED, TASK_REPAIR };
const char *task_kind_name(enum task_kind k);
/* Queues a task for STUDENT (its allocation and record are read from the database now).
 * FORCE: for stop, no graceful shutdown; for create, define only (leave the VM off).
 * R may be NULL (internal: reconcile, crash restart). Returns 0, or -EBUSY/-ENOENT... with
 * ERR filled, in which case nothing was queued. */
int task_submit(struct labd *l, enum task_kind kind, const char *student, bool force,
		struct request *r, char *err, size_t errlen);

/* reconcile.c */
int reconcile_run(struct labd *l);
/* Lifecycle event from libvirt (main thread). */
void reconcile_event(struct labd *l, const char *domain, int event, int detail);

#endif
