/*
 * Sleeping VMs, netd's side (netd/sleep.h): the activity set read into netd/idle.c's
 * bookkeeping, NFLOG's packets turned into wake events.
 */
#include "netd/sleep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "netd/netd.h"

/* The activity the kernel's element shows: it expires TIMEOUT after the last packet,
 * EXPIRES from when the dump was asked for (AT): so the packet came at
 * AT - (TIMEOUT - EXPIRES), or a few milliseconds later (never earlier). */
struct activity_read {
	struct netd *d;
	long long at;
};

static void activity_elem(struct in_addr ip, uint64_t expires_ms, uint64_t timeout_ms, void *arg)
{
	struct activity_read *r = arg;
	const struct mapping *m = store_get_by_ip(r->d->store, ip);

	if (!m || expires_ms > timeout_ms)
		return;
	idle_note_activity(r->d->sleep.idle, m->student,
			   r->at - (long long)(timeout_ms - expires_ms));
}

/* Reads the activity set into the bookkeeping. -ENOENT: no table (yet). */
static int activity_read(struct netd *d)
{
	struct activity_read r = { d, netd_now_ms() };
	int ret = nft_active_dump(d->nft, activity_elem, &r);

	if (ret == 0)
		d->sleep.read_ms = r.at;
	return ret;
}

/* For nft_apply_full: the VM's element lives as long as its idle time leaves. */
static uint64_t active_left(const struct mapping *m, void *arg)
{
	struct netd *d = arg;
	long long last = idle_last_active(d->sleep.idle, m->student), idle;

	if (last == IDLE_UNKNOWN)
		return 0;
	idle = netd_now_ms() - last;
	if (idle < 0)
		idle = 0;
	if ((uint64_t)idle >= NFT_ACTIVE_TIMEOUT_MS)
		return 1;        /* expired: a millisecond left, not a fresh element */
	return NFT_ACTIVE_TIMEOUT_MS - (uint64_t)idle;
}

void sleep_attach(struct netd *d)
{
	nft_set_active_source(d->nft, active_left, d);
}

int sleep_init(struct netd *d)
{
	struct mapping *maps;
	size_t n;
	int ret;

	ret = idle_new(&d->sleep.idle);
	if (ret < 0)
		return ret;
	maps = store_list(d->store, &n);
	if (!maps && store_count(d->store) > 0)
		return -ENOMEM;
	ret = idle_note_sync(d->sleep.idle, maps, n, IDLE_UNKNOWN);
	free(maps);
	if (ret < 0)
		return ret;
	/* A netd before this one left its table: its activity set says who was active
	 * when. Without a table, awake VMs start their idle time now. */
	ret = activity_read(d);
	if (ret < 0 && ret != -ENOENT)
		log_warnx("reading the activity set of table %s: %s", d->conf.nft_table,
			  nft_last_error(d->nft));
	idle_note_start(d->sleep.idle, netd_now_ms());
	sleep_attach(d);
	d->sleep.next_read_ms = netd_now_ms() + SLEEP_READ_MIN_MS;
	return 0;
}

int sleep_open_log(struct netd *d)
{
	int ret = nflog_open(&d->sleep.log, d->nft_params.log_group);

	if (ret < 0)
		log_warnx("NFLOG group %u unavailable: packets for sleeping VMs are dropped but "
			  "wake nothing", d->nft_params.log_group);
	return ret;
}

void sleep_free(struct sleep *s)
{
	idle_free(s->idle);
	nflog_close(s->log);
	*s = (struct sleep){ 0 };
}

int sleep_fd(const struct netd *d)
{
	return nflog_fd(d->sleep.log);
}

static void tell_wake(struct netd *d, const struct mapping *m, const struct nflog_tcp4 *t)
{
	char ip[INET_ADDRSTRLEN], client[INET_ADDRSTRLEN + 8];
	json_object *ev = proto_new_event(-1, "wake");

	inet_ntop(AF_INET, &t->saddr, ip, sizeof(ip));
	snprintf(client, sizeof(client), "%s:%u", ip, t->sport);
	if (!ev || json_object_object_add(ev, "student", json_object_new_string(m->student)) < 0 ||
	    json_object_object_add(ev, "client", json_object_new_string(client)) < 0) {
		json_object_put(ev);
		log_warnx("wake of %s: out of memory", m->student);
		return;
	}
	d->sleep.wakes++;
	log_info("wake %s: a packet from %s", m->student, client);
	netd_event_send(d, ev);
	json_object_put(ev);
}

static void wake_packet(const struct nflog_packet *p, void *arg)
{
	struct netd *d = arg;
	const struct mapping *m;
	struct nflog_tcp4 t;

	if (!p->prefix || strcmp(p->prefix, NFT_WAKE_PREFIX) != 0)
		return;          /* someone else's rule logging to our group */
	d->sleep.wake_packets++;
	/* Logged after the DNAT: the destination is the VM, the source the client. */
	if (nflog_parse_tcp4(p->payload, p->payload_len, &t) < 0 ||
	    !(m = store_get_by_ip(d->store, t.daddr)) || !m->asleep) {
		/* Also a packet logged just before labd's put that woke the VM. */
		d->sleep.wake_strays++;
		return;
	}
	if (idle_wake_due(d->sleep.idle, m->student, netd_now_ms()))
		tell_wake(d, m, &t);
}

void sleep_read_log(struct netd *d)
{
	int ret;

	if (!d->sleep.log)
		return;
	ret = nflog_read(d->sleep.log, wake_packet, d, &d->sleep.log_lost);
	if (ret < 0)
		log_warnx("NFLOG: reading: %s", strerror(-ret));
}

static void tell_idle(const char *student, long long idle_ms, void *arg)
{
	struct netd *d = arg;
	json_object *ev = proto_new_event(-1, "idle");

	if (!ev || json_object_object_add(ev, "student", json_object_new_string(student)) < 0 ||
	    json_object_object_add(ev, "idle_s", json_object_new_int64(idle_ms / 1000)) < 0) {
		json_object_put(ev);
		log_warnx("idle %s: out of memory", student);
		return;
	}
	d->sleep.idle_events++;
	log_info("idle %s: no client packet for %lld s", student, idle_ms / 1000);
	netd_event_send(d, ev);
	json_object_put(ev);
}

static void sleep_check(struct netd *d, long long now)
{
	long long next;
	/* a dump request has just read it */
	int ret = now - d->sleep.read_ms < SLEEP_READ_FRESH_MS ? 0 : activity_read(d);

	if (ret < 0 && ret != -ENOENT)
		log_debug("activity set: %s", nft_last_error(d->nft));
	/* Without a fresh read (the table is being rebuilt) nothing is told: an activity
	 * missed would put a busy VM to sleep. */
	next = ret == 0 ? idle_check(d->sleep.idle, now, tell_idle, d) : LLONG_MAX;
	if (next < now + SLEEP_READ_MIN_MS)
		next = now + SLEEP_READ_MIN_MS;
	if (next > now + SLEEP_READ_MAX_MS)
		next = now + SLEEP_READ_MAX_MS;
	d->sleep.next_read_ms = next;
}

void sleep_tick(struct netd *d, long long now)
{
	if (now >= d->sleep.next_read_ms)
		sleep_check(d, now);
}

void sleep_refresh(struct netd *d)
{
	int ret = activity_read(d);

	if (ret < 0 && ret != -ENOENT)
		log_debug("activity set: %s", nft_last_error(d->nft));
	/* Events go out from the loop (sleep_tick), never in the middle of a request: a
	 * watcher that must be dropped may be the very connection being served. */
	d->sleep.next_read_ms = netd_now_ms();
}

/* A change may make an idle event due sooner than planned (a new idle_sleep). */
static void sleep_soon(struct netd *d)
{
	long long soon = netd_now_ms() + SLEEP_READ_MIN_MS;

	if (d->sleep.next_read_ms > soon)
		d->sleep.next_read_ms = soon;
}

void sleep_note_put(struct netd *d, const struct mapping *m)
{
	if (idle_note_put(d->sleep.idle, m, netd_now_ms()) < 0)
		log_warnx("put %s: out of memory for its idle time", m->student);
	sleep_soon(d);
}

void sleep_note_del(struct netd *d, const char *student)
{
	idle_note_del(d->sleep.idle, student);
}

void sleep_note_sync(struct netd *d, const struct mapping *maps, size_t n)
{
	if (idle_note_sync(d->sleep.idle, maps, n, netd_now_ms()) < 0)
		log_warnx("sync: out of memory for idle times");
	sleep_soon(d);
}

void sleep_note_watcher(struct netd *d)
{
	idle_retell(d->sleep.idle);
	d->sleep.next_read_ms = netd_now_ms();
}

json_object *sleep_idle_json(const struct netd *d, const char *student)
{
	long long last = idle_last_active(d->sleep.idle, student), idle;

	if (last == IDLE_UNKNOWN)
		return NULL;      /* JSON null */
	idle = netd_now_ms() - last;
	return json_object_new_int64(idle > 0 ? idle / 1000 : 0);
}

void sleep_status(const struct netd *d, json_object *reply)
{
	const struct sleep *s = &d->sleep;

	json_object_object_add(reply, "asleep",
			       json_object_new_int64((int64_t)store_count_asleep(d->store)));
	json_object_object_add(reply, "wake_log", json_object_new_boolean(s->log != NULL));
	json_object_object_add(reply, "wakes", json_object_new_int64((int64_t)s->wakes));
	json_object_object_add(reply, "wake_packets",
			       json_object_new_int64((int64_t)s->wake_packets));
	json_object_object_add(reply, "wake_strays", json_object_new_int64((int64_t)s->wake_strays));
	json_object_object_add(reply, "nflog_drops", json_object_new_int64((int64_t)s->log_lost));
	json_object_object_add(reply, "idle_events", json_object_new_int64((int64_t)s->idle_events));
}
