/* netd's state, shared by its main loop (main.c) and its request handlers (control.c). */
#ifndef VLAB_NETD_H
#define VLAB_NETD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>

#include "common/conf.h"
#include "common/proto.h"
#include "common/sock.h"
#include "netd/dhcp.h"
#include "netd/nft.h"
#include "netd/sleep.h"
#include "netd/store.h"

#define NETD_VERSION "0.1"

struct netd {
	struct lab_conf conf;
	struct store *store;
	struct nft *nft;
	struct nft_params nft_params;
	struct in_addr *publics;     /* backing array of nft_params.publics */
	struct dhcp dhcp;
	bool bridge_created;
	char *state_path;            /* STATE_DIR/netd-mappings.json */
	bool files_dirty;            /* hosts file and state file lag the store */
	long long files_due_ms;      /* when to write them (coalesces bursts of puts) */
	unsigned rebuilds;           /* times the table was rebuilt after vanishing */
	long long trim_due_ms;       /* when to hand freed heap back (0: nothing pending) */
	time_t started;
	struct sleep sleep;          /* idle and wake-up of sleeping VMs (netd/sleep.h) */
	struct netd_loop *loop;      /* main.c's poll loop while it serves: the watchers */
};

/* Monotonic milliseconds. */
long long netd_now_ms(void);

/* Returns freed memory to the system once netd is idle (malloc_trim). */
void netd_trim_later(struct netd *d);

/* Marks the files for writing shortly (a burst of changes is written once). */
void netd_files_touch(struct netd *d);
/* Writes the hosts file (+SIGHUP to dnsmasq) and the state file now. */
int netd_files_flush(struct netd *d);

/* Rebuilds the whole table from the store in one batch. */
int netd_table_rebuild(struct netd *d);

/* Queues event EV (not consumed) to every connection that sent "watch". A watcher whose
 * unread output passes NETD_WATCH_MAX_PENDING is dropped: netd never waits for one. */
void netd_event_send(struct netd *d, json_object *ev);
/* Connections that sent "watch". */
unsigned netd_watcher_count(const struct netd *d);

/* Handles one request line from PEER; *REPLY gets the final reply (never NULL) and
 * *REQUEST the parsed request (or NULL), for the caller to put once the reply is queued:
 * freeing a 10k-mapping tree takes milliseconds the client need not wait for. *WATCH
 * is set when the request subscribed the connection to events ("watch"). */
void control_handle(struct netd *d, const struct sock_peer *peer, const char *line, size_t len,
		    json_object **reply, json_object **request, bool *watch);

/* The state file: the mappings as a JSON array, written atomically. */
int persist_save(const char *path, const struct mapping *maps, size_t n);
/* Loads and re-checks against CONF; entries that no longer fit are dropped with a
 * warning. A missing file is an empty list. */
int persist_load(const char *path, const struct lab_conf *conf, struct mapping **maps, size_t *n);

#endif
