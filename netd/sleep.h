/*
 * Sleeping VMs, netd's side: the kernel sees, netd tells, labd acts. The forward
 * chain keeps each VM's last client packet in the activity set and logs the packets of
 * sleeping VMs to NFLOG (netd/nft.h); this module reads both and turns them into the
 * events labd watches for:
 *   {"v":1,"event":"idle","student":"alice","idle_s":1234}
 *       alice's VM is awake, has an idle_sleep, and no client packet came for that long
 *       (once per idle period, again every IDLE_REMIND_MS while it lasts);
 *   {"v":1,"event":"wake","student":"alice","client":"203.0.113.100:51234"}
 *       a client sent alice's sleeping VM a packet (at most every IDLE_WAKE_EVERY_MS).
 * It never changes the table: labd answers with a put (asleep true or false).
 */
#ifndef VLAB_NETD_SLEEP_H
#define VLAB_NETD_SLEEP_H

#include <json-c/json.h>
#include <stdint.h>

#include "common/mapping.h"
#include "netd/idle.h"
#include "netd/nflog.h"

/* How often netd reads the activity set: at most once a second (idle events are that
 * precise), at least every 30 s (what it remembers rebuilds a flushed table). */
#define SLEEP_READ_MIN_MS 1000
#define SLEEP_READ_MAX_MS 30000
/* A read this recent is as good as a new one. */
#define SLEEP_READ_FRESH_MS 100

struct netd;

struct sleep {
	struct idle *idle;
	struct nflog *log;           /* NULL: NFLOG unavailable (logged at start) */
	long long next_read_ms;      /* when to read the activity set and check */
	long long read_ms;           /* when it was last read (0: never) */
	uint64_t wakes;              /* wake events told */
	uint64_t wake_packets;       /* logged packets read */
	uint64_t wake_strays;        /* logged packets of no sleeping mapping */
	uint64_t idle_events;        /* idle events told */
	unsigned log_lost;           /* times the kernel dropped NFLOG messages */
};

/* The bookkeeping for the store's mappings, with what the kernel's activity set holds
 * (left by an earlier netd): call after the store is loaded and before the first table
 * rebuild, which otherwise starts every awake VM's idle time afresh. Makes the rebuild
 * take each VM's activity from it (nft_set_active_source). 0 or -ENOMEM. */
int sleep_init(struct netd *d);
/* Binds the NFLOG group of netd.log_group. Without it (logged) sleeping VMs stay
 * unreachable until labd wakes them itself. */
int sleep_open_log(struct netd *d);
void sleep_free(struct sleep *s);
/* After nft_open made a new nftables handle (reload): hands it the activity source. */
void sleep_attach(struct netd *d);

/* For poll(): the NFLOG socket (-1 if none), and reading it. */
int sleep_fd(const struct netd *d);
void sleep_read_log(struct netd *d);
/* Reads the activity set and tells idle VMs, if due (next_read_ms). */
void sleep_tick(struct netd *d, long long now);
/* Reads the activity set now (a dump wants fresh idle times); what that makes due is
 * told at the next sleep_tick, outside the request. */
void sleep_refresh(struct netd *d);

/* The store changed: keep the bookkeeping in step (after the kernel took the change). */
void sleep_note_put(struct netd *d, const struct mapping *m);
void sleep_note_del(struct netd *d, const char *student);
void sleep_note_sync(struct netd *d, const struct mapping *maps, size_t n);

/* A watcher subscribed: idle VMs are told again at once. */
void sleep_note_watcher(struct netd *d);

/* STUDENT's idle time in seconds (since a client's last packet to its VM), or JSON
 * null when unknown. */
json_object *sleep_idle_json(const struct netd *d, const char *student);
/* The counters for status. */
void sleep_status(const struct netd *d, json_object *reply);

#endif
