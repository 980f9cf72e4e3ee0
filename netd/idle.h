/*
 * netd's bookkeeping of sleeping VMs, per student: when a client last sent its VM a
 * packet (read from the kernel's activity set), whether labd has been told that the VM is
 * idle, and when its last wake-up was reported. Pure: no kernel, no socket, no clock of
 * its own (every call takes NOW, monotonic milliseconds), so the unit tests drive it.
 */
#ifndef VLAB_NETD_IDLE_H
#define VLAB_NETD_IDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/mapping.h"

/* An idle VM is reported again after this long if labd did not put it to sleep. */
#define IDLE_REMIND_MS 60000
/* At most one wake event per student this often (a client's SYN comes again after 1 s). */
#define IDLE_WAKE_EVERY_MS 2000
/* Activity read from the kernel moves a VM's last activity only when it is this much
 * later than what netd knew: the milliseconds a dump takes and the kernel's jiffies
 * make two reads of an element that did not change differ by a little. */
#define IDLE_JITTER_MS 250
/* No time known. */
#define IDLE_UNKNOWN (-1LL)

struct idle;

int idle_new(struct idle **out);
void idle_free(struct idle *t);
size_t idle_count(const struct idle *t);

/*
 * M was put (a new mapping or a change). A mapping that wakes up (mapping_wakes_up
 * against what the table held for it) starts a fresh idle time at NOW; one that was
 * already awake keeps its own. NOW may be IDLE_UNKNOWN: at start, before the kernel's
 * activity set is read (then idle_note_start). Returns 0 or -ENOMEM.
 */
int idle_note_put(struct idle *t, const struct mapping *m, long long now);
/* STUDENT's mapping is gone. */
void idle_note_del(struct idle *t, const char *student);
/* The table holds MAPS and no one else: idle_note_put for each, the others removed.
 * 0 or -ENOMEM (then the table is unchanged for the ones not reached). */
int idle_note_sync(struct idle *t, const struct mapping *maps, size_t n, long long now);

/*
 * The kernel says STUDENT's VM last had a client packet at LAST. A first value is taken
 * as it is; later ones only when they move forward by more than IDLE_JITTER_MS (a
 * VM that woke up has its own fresh start, which an older element must not undo). New
 * activity ends an idle period: the next one is reported again.
 */
void idle_note_activity(struct idle *t, const char *student, long long last);
/* Awake mappings whose activity is still unknown start their idle time at NOW (netd
 * started, and the kernel had nothing for them: their VMs get a full grace period). */
void idle_note_start(struct idle *t, long long now);

/* When STUDENT's VM last had a client packet, or IDLE_UNKNOWN. */
long long idle_last_active(const struct idle *t, const char *student);

/*
 * Calls TELL(student, idle_ms) for each awake mapping with an idle_sleep whose VM has had
 * no client packet for that long and that was not reported within IDLE_REMIND_MS (so once
 * per crossing, then every IDLE_REMIND_MS while it stays idle). Returns when the next
 * call could tell something (LLONG_MAX: never, until something changes).
 */
long long idle_check(struct idle *t, long long now,
		     void (*tell)(const char *student, long long idle_ms, void *arg), void *arg);
/* Forget what was reported: the next idle_check tells every idle VM again (a new
 * listener has arrived). */
void idle_retell(struct idle *t);

/* A packet for STUDENT's sleeping VM was seen at NOW: true if a wake event is due (none
 * was reported for it within IDLE_WAKE_EVERY_MS), and that one is recorded. */
bool idle_wake_due(struct idle *t, const char *student, long long now);

#endif
