/*
 * labd's state: the roster, who holds which index and public endpoint, the history of
 * indexes and endpoints (so the allocator can prefer never-used ones), and an audit log.
 * One SQLite file in WAL mode; every user value goes through a bound parameter.
 *
 * Every function returns 0 or a negative errno:
 *   -EEXIST  a PRIMARY KEY / UNIQUE constraint refused the row (duplicate id, idx, MAC,
 *            IP, domain or (public_ip, public_port))
 *   -ENOENT  no such row; for db_alloc_insert, no such student (foreign key)
 *   -EINVAL  NOT NULL / CHECK refused a value, or a misuse (db_begin inside a transaction)
 *   -EBUSY   another connection held the lock past the busy timeout
 *   -ENOMEM  out of memory
 *   -EIO     any other SQLite error (logged with sqlite3_errmsg and what was being done)
 * A failed statement inside db_begin() leaves the transaction open: the caller decides
 * between db_rollback() and carrying on.
 */
#ifndef VLAB_DB_H
#define VLAB_DB_H

#include <stddef.h>
#include <stdint.h>

/* The schema version this code creates and understands. */
#define DB_SCHEMA_VERSION 1

struct db;

struct db_student {
	char *id;
	char *class;
	char *name;
	char *email;            /* NULL when none */
	char *keys;             /* canonical key lines joined by '\n' */
	int64_t generation;     /* 1 at insert; bumped by reset and set-keys */
	int64_t created_at;     /* unix seconds, set by the db layer */
	int64_t updated_at;
};

enum db_alloc_state { DB_ALLOC_CREATING, DB_ALLOC_READY, DB_ALLOC_DELETING };

struct db_alloc {
	char *student;
	uint32_t idx;
	char *mac;              /* text form as labd writes it, e.g. "52:54:00:00:00:11" */
	char *ip;
	char *public_ip;
	uint16_t public_port;
	char *domain;
	char *overlay_vol;
	char *seed_vol;
	char *base_image;       /* the base this overlay was made from */
	enum db_alloc_state state;
};

struct db_audit {
	int64_t seq;            /* increasing, never reused */
	int64_t at;             /* unix seconds */
	int64_t actor_uid;      /* -1 when unknown */
	char *action;           /* enrol, unenrol, reset, set-keys, start, stop, reboot */
	char *student;
	char *public_ip;        /* NULL when none */
	uint16_t public_port;   /* 0 when none */
	char *detail;           /* NULL when none */
};

/* Frees the strings a struct owns (not the struct) and zeroes it; NULL is fine. */
void db_student_free(struct db_student *s);
void db_alloc_free(struct db_alloc *a);
void db_audit_free(struct db_audit *e);
/* Frees an array from a *_list() call and every element in it. */
void db_student_list_free(struct db_student *v, size_t n);
void db_alloc_list_free(struct db_alloc *v, size_t n);
void db_audit_list_free(struct db_audit *v, size_t n);

/* "creating", "ready", "deleting"; parse returns -EINVAL on anything else. */
const char *db_alloc_state_name(enum db_alloc_state st);
int db_alloc_state_parse(const char *s, enum db_alloc_state *st);

/*
 * Opens (creating with mode 0600 if missing) the database at PATH, sets WAL and the
 * connection pragmas and migrates the schema to DB_SCHEMA_VERSION in one transaction.
 * -ENOTSUP for a database whose schema is newer than this code. *DB is NULL on error.
 */
int db_open(const char *path, struct db **db);
/* Finalizes cached statements and closes; NULL is fine. Rolls back an open transaction. */
void db_close(struct db *db);

/* BEGIN IMMEDIATE: takes the write lock now, so a transaction never fails half-way on
 * a lock upgrade. No nesting (-EINVAL). db_rollback() outside a transaction is a no-op. */
int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);

/* Students. Insert reads id, class, name, email (may be NULL) and keys; it sets
 * generation to 1 and both timestamps to now. Lists are ordered by id. */
int db_student_insert(struct db *db, const struct db_student *s);
int db_student_get(struct db *db, const char *id, struct db_student *out);
int db_student_list(struct db *db, const char *class, struct db_student **out, size_t *n);
/* Both bump generation and updated_at; *GENERATION (may be NULL) gets the new value. */
int db_student_update_keys(struct db *db, const char *id, const char *keys,
			   int64_t *generation);
int db_student_bump_generation(struct db *db, const char *id, int64_t *generation);
/* Deletes the student; the allocation goes with it (ON DELETE CASCADE) and its index and
 * endpoint are marked freed exactly as db_alloc_delete() does. Audit rows stay. */
int db_student_delete(struct db *db, const char *id);

/* Allocations. Insert marks the index and the endpoint held by the student in the
 * history (a trigger, so it can't be forgotten). Lists are ordered by idx; CLASS NULL
 * lists every class. */
int db_alloc_insert(struct db *db, const struct db_alloc *a);
int db_alloc_get(struct db *db, const char *student, struct db_alloc *out);
int db_alloc_list(struct db *db, const char *class, struct db_alloc **out, size_t *n);
int db_alloc_set_state(struct db *db, const char *student, enum db_alloc_state st);
int db_alloc_set_base(struct db *db, const char *student, const char *base_image);
/* Deletes the allocation and marks its index and endpoint freed with the next value of
 * one increasing counter (both get the same freed_seq). */
int db_alloc_delete(struct db *db, const char *student);

/* A student with their allocation: one row of the roster as list and sheet show it. */
struct db_roster_row {
	struct db_student s;
	struct db_alloc a;      /* all zero (a.student NULL) when the student has none */
};
/* Calls FN for every student of CLASS (NULL: every class), ordered by id, each with
 * their allocation: one statement, whatever the class size. ROW's strings are SQLite's
 * own, valid during the call only (nothing is copied: list and sheet write them out as
 * they go). A non-zero return of FN stops the walk and is returned; else 0 or -errno. */
typedef int (*db_roster_fn)(const struct db_roster_row *row, void *arg);
int db_roster_each(struct db *db, const char *class, db_roster_fn fn, void *arg);

/*
 * History for the allocator: every index / endpoint ever allocated, ordered by idx /
 * (public_ip, public_port). STUDENT is the holder, or NULL when free; FREED_SEQ is 0
 * while held, else the counter value at which it was freed (larger = freed later), so
 * "never used" = absent, "least recently used" = smallest freed_seq. A callback's
 * non-zero return stops the walk and is returned. Callbacks may call other db_*
 * functions but not the same db_history_* function again.
 */
typedef int (*db_index_fn)(uint32_t idx, const char *student, int64_t freed_seq,
			   void *arg);
typedef int (*db_endpoint_fn)(const char *public_ip, uint16_t public_port,
			      const char *student, int64_t freed_seq, void *arg);
int db_history_indexes(struct db *db, db_index_fn fn, void *arg);
int db_history_endpoints(struct db *db, db_endpoint_fn fn, void *arg);

/* Audit log. ACTOR_UID < 0 stores NULL; PUBLIC_IP/DETAIL may be NULL; PUBLIC_PORT 0
 * stores NULL. List returns the newest LIMIT entries (0: all) for STUDENT (NULL: all),
 * oldest first. */
int db_audit_add(struct db *db, int64_t actor_uid, const char *action,
		 const char *student, const char *public_ip, uint16_t public_port,
		 const char *detail);
int db_audit_list(struct db *db, const char *student, size_t limit,
		  struct db_audit **out, size_t *n);

#endif
