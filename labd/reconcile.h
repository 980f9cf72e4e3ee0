/*
 * The database says who is enrolled; libvirt says what exists. Reconciling walks every
 * domain once (one listing, on a worker thread after a reconnect, directly at start) and
 * every volume of the pool, then on the main thread:
 *   - rebuilds the VM view (labd/vmview.h) from what the walk saw;
 *   - removes orphans labd owns: domains with its metadata and volumes named like its
 *     own (labd/names.h) that belong to no student. Nothing else is touched;
 *   - finishes students left 'creating' (defined, left off), removes those left
 *     'deleting', and checks every other one (TASK_REPAIR).
 * Between walks, libvirt's lifecycle events keep the view current (reconcile_event),
 * and crashed VMs are restarted (at most 3 times in 10 minutes).
 */
#ifndef VLAB_LABD_RECONCILE_H
#define VLAB_LABD_RECONCILE_H

#include "labd/labd.h"

/* The walk and what follows from it, now (start-up: before the socket is served).
 * 0, or -errno when the walk failed (logged; nothing was changed). */
int reconcile_run(struct labd *l);

/* The same after a reconnect: the walk on a worker thread, the rest on the main thread
 * when it comes back; then DONE (may be NULL) with the result. */
void reconcile_start(struct labd *l, void (*done)(struct labd *l, int result));

/* A lifecycle event from libvirt (main thread): EVENT/DETAIL as virt_lifecycle_fn. */
void reconcile_event(struct labd *l, const char *domain, int event, int detail);

#endif
