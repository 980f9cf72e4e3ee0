/*
 * Per-student tasks: the slow libvirt work for one student, run by a worker thread
 * (labd/jobs.h) on copies of everything it needs, then its bookkeeping back on the main
 * thread (the database, netd, the VM view, the pools). A failed create or reset removes
 * what it made, so nothing is left half-created.
 *
 * A task reports to whoever submitted it through a callback, after its bookkeeping:
 * task.c knows nothing of requests or clients (labd/ops.c passes one that counts a
 * request's students; reconcile passes none).
 */
#ifndef VLAB_LABD_TASK_H
#define VLAB_LABD_TASK_H

#include <stdbool.h>
#include <stddef.h>

#include "labd/labd.h"

/* A new kind is a value here and a line in task.c's table (its name, its worker
 * function, its bookkeeping function). */
enum task_kind {
	TASK_CREATE,        /* clean slate, overlay + seed, define, start (force: leave it off) */
	TASK_RESET,         /* the same over an existing student: a fresh disk */
	TASK_REMOVE,        /* domain and volumes gone, then the student's rows */
	TASK_START,
	TASK_STOP,          /* force: no graceful shutdown */
	TASK_REBOOT,        /* or start, when it is off */
	TASK_SEED,          /* rewrite the seed in place (set-keys) */
	TASK_REPAIR,        /* re-make a missing seed or overlay, define a missing domain */
	TASK_KINDS
};

const char *task_kind_name(enum task_kind k);

/* On the main thread when STUDENT's task is over: RESULT 0 or -errno, ERROR the message
 * for the client ("" on success). */
typedef void (*task_done_fn)(void *arg, const char *student, int result, const char *error);

/*
 * Queues a task for STUDENT; its allocation and record are read from the database now.
 * DONE (may be NULL: reconcile, crash restarts) is called with ARG when it is over.
 * Returns 0, or -ENOENT (not enrolled, class gone), -EBUSY (a task of STUDENT is in
 * flight), -ENOTCONN (libvirt), -ENOMEM, a database error... with ERR filled, and then
 * nothing was queued and DONE is never called.
 */
int task_submit(struct labd *l, enum task_kind kind, const char *student, bool force,
		task_done_fn done, void *arg, char *err, size_t errlen);

#endif
