/*
 * netd's bookkeeping of sleeping VMs (netd/idle.h): one entry per student, in a hash
 * table by student ID.
 */
#include "netd/idle.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct idle_entry {
	struct mapping m;            /* what the table holds: student, ip, idle_sleep, asleep */
	long long last_active;       /* a client's last packet to the VM, or IDLE_UNKNOWN */
	long long told;              /* when the current idle period was last reported, or
	                                IDLE_UNKNOWN */
	long long woken;             /* when a wake was last reported, or IDLE_UNKNOWN */
	bool seen;                   /* idle_note_sync: in the new list */
	UT_hash_handle hh;
};

struct idle {
	struct idle_entry *by_student;
};

int idle_new(struct idle **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void entry_remove(struct idle *t, struct idle_entry *e)
{
	HASH_DEL(t->by_student, e);
	free(e);
}

void idle_free(struct idle *t)
{
	struct idle_entry *e, *tmp;

	if (!t)
		return;
	HASH_ITER(hh, t->by_student, e, tmp)
		entry_remove(t, e);
	free(t);
}

size_t idle_count(const struct idle *t)
{
	return HASH_COUNT(t->by_student);
}

static struct idle_entry *entry_find(const struct idle *t, const char *student)
{
	struct idle_entry *e = NULL;

	HASH_FIND_STR(t->by_student, student, e);
	return e;
}

int idle_note_put(struct idle *t, const struct mapping *m, long long now)
{
	struct idle_entry *e = entry_find(t, m->student);
	bool wakes;

	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->last_active = e->told = e->woken = IDLE_UNKNOWN;
		wakes = mapping_wakes_up(NULL, m);
		e->m = *m;
		/* uthash allocates its buckets here; on failure it exits (as in store.c) */
		HASH_ADD_STR(t->by_student, m.student, e);
	} else {
		wakes = mapping_wakes_up(&e->m, m);
		/* A new sleep: its first packet must wake the VM, however recent the last
		 * wake of the previous one was. */
		if (m->asleep && !e->m.asleep)
			e->woken = IDLE_UNKNOWN;
		e->m = *m;
	}
	if (wakes) {
		/* A VM that has just started: its idle time starts now. */
		e->last_active = now;
		e->told = IDLE_UNKNOWN;
	}
	if (m->asleep)
		e->told = IDLE_UNKNOWN;
	e->seen = true;
	return 0;
}

void idle_note_del(struct idle *t, const char *student)
{
	struct idle_entry *e = entry_find(t, student);

	if (e)
		entry_remove(t, e);
}

int idle_note_sync(struct idle *t, const struct mapping *maps, size_t n, long long now)
{
	struct idle_entry *e, *tmp;
	size_t i;
	int ret;

	HASH_ITER(hh, t->by_student, e, tmp)
		e->seen = false;
	for (i = 0; i < n; i++) {
		ret = idle_note_put(t, &maps[i], now);
		if (ret < 0)
			return ret;
	}
	HASH_ITER(hh, t->by_student, e, tmp)
		if (!e->seen)
			entry_remove(t, e);
	return 0;
}

void idle_note_activity(struct idle *t, const char *student, long long last)
{
	struct idle_entry *e = entry_find(t, student);

	if (!e)
		return;
	if (e->last_active == IDLE_UNKNOWN) {
		e->last_active = last;
		return;
	}
	if (last > e->last_active + IDLE_JITTER_MS) {
		e->last_active = last;
		e->told = IDLE_UNKNOWN;
	}
}

void idle_note_start(struct idle *t, long long now)
{
	struct idle_entry *e, *tmp;

	HASH_ITER(hh, t->by_student, e, tmp)
		if (e->last_active == IDLE_UNKNOWN && !e->m.asleep)
			e->last_active = now;
}

long long idle_last_active(const struct idle *t, const char *student)
{
	const struct idle_entry *e = entry_find(t, student);

	return e ? e->last_active : IDLE_UNKNOWN;
}

long long idle_check(struct idle *t, long long now,
		     void (*tell)(const char *student, long long idle_ms, void *arg), void *arg)
{
	struct idle_entry *e, *tmp;
	long long next = LLONG_MAX;

	HASH_ITER(hh, t->by_student, e, tmp) {
		long long due;

		if (e->m.asleep || e->m.idle_sleep == 0 || e->last_active == IDLE_UNKNOWN)
			continue;
		due = e->last_active + (long long)e->m.idle_sleep * 1000;
		if (now < due) {
			if (due < next)
				next = due;
			continue;
		}
		if (e->told != IDLE_UNKNOWN && now < e->told + IDLE_REMIND_MS) {
			if (e->told + IDLE_REMIND_MS < next)
				next = e->told + IDLE_REMIND_MS;
			continue;
		}
		tell(e->m.student, now - e->last_active, arg);
		e->told = now;
		if (now + IDLE_REMIND_MS < next)
			next = now + IDLE_REMIND_MS;
	}
	return next;
}

void idle_retell(struct idle *t)
{
	struct idle_entry *e, *tmp;

	HASH_ITER(hh, t->by_student, e, tmp)
		e->told = IDLE_UNKNOWN;
}

bool idle_wake_due(struct idle *t, const char *student, long long now)
{
	struct idle_entry *e = entry_find(t, student);

	if (!e)
		return false;
	if (e->woken != IDLE_UNKNOWN && now < e->woken + IDLE_WAKE_EVERY_MS)
		return false;
	e->woken = now;
	return true;
}
