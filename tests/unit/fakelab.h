/*
 * A whole labd for the unit tests of ops, task and reconcile, without libvirt or netd:
 * the real database (in a temporary directory), pools, view and worker threads, with a
 * fake host behind labd/host.h and a fake netd link behind labd/netd.h. Both fakes keep
 * what they hold where a test can look, and fail any call on purpose (fakehost_fail).
 *
 *	struct fakelab *f = fakelab_new();
 *	fakehost_fail(&f->host, "dom_start", "vlab-s02", -EIO, 0);
 *	json_object *r = fakelab_call(f, "{\"v\":1,\"op\":\"enrol\",...}");
 *	ck_assert(fakehost_dom(&f->host, "vlab-s01") ...);
 *	json_object_put(r);
 *	fakelab_free(f);
 */
#ifndef VLAB_TEST_FAKELAB_H
#define VLAB_TEST_FAKELAB_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "labd/labd.h"

#define FAKE_MAX 64

struct fake_dom {
	char name[64];
	char student[33];        /* "" for a domain without labd's metadata */
	enum virt_state state;
};

struct fake_rule {
	char op[32];             /* a host_ops member's name: "dom_start", "vol_create_raw" */
	char name[64];           /* the domain or volume it applies to, "" for any */
	int err;                 /* what the call returns */
	unsigned times;          /* how many more calls fail; 0: every one */
};

struct fakehost {
	pthread_mutex_t lock;    /* workers call in concurrently */
	bool connected;
	char pool_dir[256];
	struct fake_dom doms[FAKE_MAX];
	size_t n_doms;
	char vols[FAKE_MAX][64];
	size_t n_vols;
	struct fake_rule rules[8];
	size_t n_rules;
	unsigned calls;          /* every call, for "this read asked the host nothing" */
	unsigned pool_syncs;
	unsigned rewrites;
};

struct fakenetd {
	char mapped[FAKE_MAX][33];   /* students netd holds a mapping for */
	size_t n;
	unsigned puts, dels;
	bool synced;
};

/* What ops said to the one client. */
struct fakesink {
	json_object *final;      /* the final reply as a client parses it, NULL before */
	unsigned events;         /* progress events */
};

struct fakelab {
	char dir[64];            /* the temporary directory, removed by fakelab_free */
	struct labd l;
	struct fakehost host;
	struct fakenetd netd;
	struct fakesink sink;
};

/* A lab of one class ("test", user "student") in a fresh temporary directory, two
 * worker threads, libvirt "connected" and the view synced, nobody enrolled. */
struct fakelab *fakelab_new(void);
void fakelab_free(struct fakelab *f);

/* One request line through ops_handle as a client with uid 0 sends it; waits until
 * every task came back. Returns the final reply (the caller puts it). */
json_object *fakelab_call(struct fakelab *f, const char *line);
/* Runs finished tasks' bookkeeping until none is pending (bounded: fails the test after
 * 20 s). */
void fakelab_wait(struct fakelab *f);
/* An enrol of the students IDS (NULL-terminated), each with its own test key; START as
 * the enrol's "start". The final reply (the caller puts it). */
json_object *fakelab_enrol(struct fakelab *f, bool start, const char *const *ids);

/* The reply's "ok"; the "results" entry of STUDENT's "ok", its "error.message" ("" when
 * none). */
bool reply_ok(json_object *reply);
bool result_ok(json_object *reply, const char *student);
const char *result_message(json_object *reply, const char *student);
const char *reply_message(json_object *reply);
/* O as one line without spaces ("code":"busy"), valid until O changes. */
const char *fakelab_json(json_object *o);

/* Fails the next TIMES (0: all) calls of host op OP on NAME ("" or NULL: any) with ERR. */
void fakehost_fail(struct fakehost *h, const char *op, const char *name, int err,
		   unsigned times);
void fakehost_clear_rules(struct fakehost *h);
/* The domain / volume NAME, or NULL / false. */
struct fake_dom *fakehost_dom(struct fakehost *h, const char *name);
bool fakehost_vol(struct fakehost *h, const char *name);
/* Plants a domain (STUDENT NULL: not labd's) or a volume, as a crash or somebody left it. */
void fakehost_add_dom(struct fakehost *h, const char *name, const char *student,
		      enum virt_state state);
void fakehost_add_vol(struct fakehost *h, const char *name);
void fakehost_del_dom(struct fakehost *h, const char *name);
void fakehost_del_vol(struct fakehost *h, const char *name);
/* The domains and volumes whose name contains STUDENT's "vlab-ID". */
size_t fakehost_count(struct fakehost *h, const char *student);

bool fakenetd_has(const struct fakenetd *n, const char *student);

/* Runs SQL on the lab's database through a connection of its own (for triggers that
 * make a statement fail, and for looking). */
void fakelab_sql(struct fakelab *f, const char *sql);
/* The integer SQL returns (first column of the first row). */
long long fakelab_sql_int(struct fakelab *f, const char *sql);

#endif
