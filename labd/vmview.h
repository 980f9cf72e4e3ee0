/*
 * labd's own view of every student's VM, kept on the main thread: the state libvirt
 * last reported (a walk of every domain when the connection is made, then lifecycle
 * events and what finished tasks saw), and labd's bookkeeping for that VM (a task in
 * flight, crash restarts). `list`, `sheet` and `status` read it instead of asking
 * libvirt: a lookup here is a hash probe. Nothing in this file calls libvirt.
 *
 * The view only says what it was told: for a student in the middle of a task, the
 * database's state (creating, deleting) is what a reader shows.
 */
#ifndef VLAB_LABD_VMVIEW_H
#define VLAB_LABD_VMVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "common/id.h"
#include "labd/virt.h"

/*
 * A VM's state as labd reports it. To come, each one a value here and a name in
 * vm_state_name(): VM_SLEEPING (saved by labd, waking on the next connection),
 * VM_STOPPED (off by the teacher's decision, kept off), VM_UNREACHABLE (its host is
 * gone). libvirt's states map onto the first ones (vm_state_from_virt).
 */
enum vm_state {
	VM_UNKNOWN = 0,     /* not seen since libvirt (re)connected */
	VM_MISSING,         /* no domain */
	VM_RUNNING,
	VM_SHUTOFF,
	VM_PAUSED,
	VM_CRASHED,         /* libvirt's "crashed" (kept for inspection) */
	VM_OTHER,
};

struct vm {
	char student[ID_MAX_LEN + 1];     /* the key */
	enum vm_state state;
	bool crashed;             /* crashed or failed since it last started */
	bool busy;                /* a task is in flight (labd/task.c) */
	unsigned restarts;        /* crash restarts in the current window */
	long long window_start_ms;
	uint64_t event_seq;       /* the view's event count when an event last set STATE */
	/* With several hosts: the host this VM lives on. */
	UT_hash_handle hh;
};

struct vmview {
	struct vm *vms;           /* uthash table keyed by student */
	bool synced;              /* a walk came back since libvirt last (re)connected: the
	                             states are libvirt's. False: every state reads
	                             "unknown" */
	uint64_t events;          /* lifecycle events applied so far */
};

/* "running", "shut off", "paused", "crashed", "missing", "other", "unknown". */
const char *vm_state_name(enum vm_state s);
enum vm_state vm_state_from_virt(enum virt_state s);

/* STUDENT's entry, or NULL. */
struct vm *vmview_find(struct vmview *v, const char *student);
/* STUDENT's entry, made (state unknown, not busy) if it has none; NULL when out of
 * memory or STUDENT is not a valid id. */
struct vm *vmview_get(struct vmview *v, const char *student);
/* Drops STUDENT's entry (unenrolled, or its creation rolled back). */
void vmview_forget(struct vmview *v, const char *student);
/* Drops every entry. */
void vmview_clear(struct vmview *v);

/* What `list` shows for a ready student whose entry is VM (may be NULL: no domain seen):
 * "unknown" while not synced, "crashed" for a VM that crashed and is not running again,
 * else vm_state_name. */
const char *vmview_state_text(const struct vmview *v, const struct vm *vm);

/* A lifecycle event's news (virt_event_state) applied to VM: its state, its crash flag
 * (set by a crash, cleared when it runs again). Counts the event. */
void vmview_event(struct vmview *v, struct vm *vm, enum virt_state state, bool crashed);

#endif
