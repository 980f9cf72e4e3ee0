/*
 * labd's SQLite state. Every statement with a user value is prepared once (cached in
 * struct db) and fed through sqlite3_bind_*; SQL text is only ever our constants.
 */
#include "labd/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* Long enough to ride out labctl's bulk transactions from another connection (a second
 * labd by mistake, an operator's sqlite3 shell), short enough to report a real hang. */
#define DB_BUSY_TIMEOUT_MS 5000

/*
 * Migrations, in order: db_migrations[i] takes the schema from version i to i + 1, all
 * steps a database lacks run in one transaction (db_migrate). A new schema version is
 * one appended step, e.g.
 *	{ "host keys", "ALTER TABLE students ADD COLUMN host_keys TEXT;" },
 * and DB_SCHEMA_VERSION bumped (the assert below holds the two together); a shipped step
 * is never edited.
 *
 * The history tables are kept by triggers rather than by the C code so that every way an
 * allocation disappears, including ON DELETE CASCADE from students, frees its index and
 * endpoint with the same counter.
 */
static const struct {
	const char *what;
	const char *sql;
} db_migrations[] = {
	{ "the first schema",
	"CREATE TABLE students ("
	"  id TEXT PRIMARY KEY,"
	"  class TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  email TEXT,"
	"  keys TEXT NOT NULL,"           /* canonical key lines joined by '\\n' */
	"  generation INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX students_class ON students(class);"
	"CREATE TABLE allocations ("
	"  student TEXT PRIMARY KEY REFERENCES students(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL UNIQUE,"
	"  mac TEXT NOT NULL UNIQUE,"
	"  ip TEXT NOT NULL UNIQUE,"
	"  public_ip TEXT NOT NULL,"
	"  public_port INTEGER NOT NULL,"
	"  domain TEXT NOT NULL UNIQUE,"
	"  overlay_vol TEXT NOT NULL,"
	"  seed_vol TEXT NOT NULL,"
	"  base_image TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK(state IN ('creating','ready','deleting')),"
	"  UNIQUE(public_ip, public_port));"
	"CREATE TABLE index_history ("
	"  idx INTEGER PRIMARY KEY,"
	"  student TEXT,"                 /* NULL when free */
	"  freed_seq INTEGER);"           /* NULL while held */
	"CREATE TABLE endpoint_history ("
	"  public_ip TEXT NOT NULL,"
	"  public_port INTEGER NOT NULL,"
	"  student TEXT,"
	"  freed_seq INTEGER,"
	"  PRIMARY KEY(public_ip, public_port));"
	/* No foreign key on audit.student: the log must outlive the student. */
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  actor_uid INTEGER,"
	"  action TEXT NOT NULL,"
	"  student TEXT NOT NULL,"
	"  public_ip TEXT,"
	"  public_port INTEGER,"
	"  detail TEXT);"
	"CREATE INDEX audit_student ON audit(student, seq);"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
	"INSERT INTO meta(key, value) VALUES ('freed_seq', '0');"
	"CREATE TRIGGER allocations_held AFTER INSERT ON allocations BEGIN"
	"  INSERT INTO index_history(idx, student, freed_seq)"
	"    VALUES (NEW.idx, NEW.student, NULL)"
	"    ON CONFLICT(idx) DO UPDATE SET student = excluded.student, freed_seq = NULL;"
	"  INSERT INTO endpoint_history(public_ip, public_port, student, freed_seq)"
	"    VALUES (NEW.public_ip, NEW.public_port, NEW.student, NULL)"
	"    ON CONFLICT(public_ip, public_port) DO UPDATE"
	"    SET student = excluded.student, freed_seq = NULL;"
	"END;"
	"CREATE TRIGGER allocations_freed AFTER DELETE ON allocations BEGIN"
	"  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'freed_seq';"
	"  INSERT INTO index_history(idx, student, freed_seq)"
	"    VALUES (OLD.idx, NULL,"
	"            (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'freed_seq'))"
	"    ON CONFLICT(idx) DO UPDATE SET student = NULL, freed_seq = excluded.freed_seq;"
	"  INSERT INTO endpoint_history(public_ip, public_port, student, freed_seq)"
	"    VALUES (OLD.public_ip, OLD.public_port, NULL,"
	"            (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'freed_seq'))"
	"    ON CONFLICT(public_ip, public_port) DO UPDATE"
	"    SET student = NULL, freed_seq = excluded.freed_seq;"
	"END;" },
};

_Static_assert(sizeof(db_migrations) / sizeof(db_migrations[0]) == DB_SCHEMA_VERSION,
	       "one migration per schema version");

enum db_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_STUDENT_INSERT,
	ST_STUDENT_GET,
	ST_STUDENT_LIST,
	ST_STUDENT_SET_KEYS,
	ST_STUDENT_BUMP,
	ST_STUDENT_DELETE,
	ST_ALLOC_INSERT,
	ST_ALLOC_GET,
	ST_ALLOC_LIST,
	ST_ALLOC_SET_STATE,
	ST_ALLOC_SET_BASE,
	ST_ALLOC_DELETE,
	ST_ROSTER_LIST,
	ST_HIST_INDEXES,
	ST_HIST_ENDPOINTS,
	ST_AUDIT_ADD,
	ST_AUDIT_LIST,
	ST_COUNT
};

#define STUDENT_COLS "id, class, name, email, keys, generation, created_at, updated_at"
#define STUDENT_NCOLS 8
#define ALLOC_COLS   "a.student, a.idx, a.mac, a.ip, a.public_ip, a.public_port, a.domain, " \
		     "a.overlay_vol, a.seed_vol, a.base_image, a.state"
#define AUDIT_COLS   "seq, at, actor_uid, action, student, public_ip, public_port, detail"

/* SQL and the purpose logged when it fails. */
static const struct {
	const char *sql;
	const char *what;
} db_stmts[ST_COUNT] = {
	[ST_BEGIN] = { "BEGIN IMMEDIATE", "begin transaction" },
	[ST_COMMIT] = { "COMMIT", "commit transaction" },
	[ST_ROLLBACK] = { "ROLLBACK", "roll back transaction" },
	[ST_STUDENT_INSERT] = {
		"INSERT INTO students(id, class, name, email, keys, generation, created_at,"
		" updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
		"insert student" },
	[ST_STUDENT_GET] = {
		"SELECT " STUDENT_COLS " FROM students WHERE id = ?1", "get student" },
	[ST_STUDENT_LIST] = {
		"SELECT " STUDENT_COLS " FROM students WHERE ?1 IS NULL OR class = ?1"
		" ORDER BY id", "list students" },
	[ST_STUDENT_SET_KEYS] = {
		"UPDATE students SET keys = ?2, generation = generation + 1, updated_at = ?3"
		" WHERE id = ?1 RETURNING generation", "set student keys" },
	[ST_STUDENT_BUMP] = {
		"UPDATE students SET generation = generation + 1, updated_at = ?2"
		" WHERE id = ?1 RETURNING generation", "bump student generation" },
	[ST_STUDENT_DELETE] = {
		"DELETE FROM students WHERE id = ?1", "delete student" },
	[ST_ALLOC_INSERT] = {
		"INSERT INTO allocations(student, idx, mac, ip, public_ip, public_port, domain,"
		" overlay_vol, seed_vol, base_image, state)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		"insert allocation" },
	[ST_ALLOC_GET] = {
		"SELECT " ALLOC_COLS " FROM allocations a WHERE a.student = ?1",
		"get allocation" },
	[ST_ALLOC_LIST] = {
		"SELECT " ALLOC_COLS " FROM allocations a JOIN students s ON s.id = a.student"
		" WHERE ?1 IS NULL OR s.class = ?1 ORDER BY a.idx", "list allocations" },
	[ST_ALLOC_SET_STATE] = {
		"UPDATE allocations SET state = ?2 WHERE student = ?1",
		"set allocation state" },
	[ST_ALLOC_SET_BASE] = {
		"UPDATE allocations SET base_image = ?2 WHERE student = ?1",
		"set allocation base image" },
	[ST_ALLOC_DELETE] = {
		"DELETE FROM allocations WHERE student = ?1", "delete allocation" },
	[ST_ROSTER_LIST] = {
		"SELECT s.id, s.class, s.name, s.email, s.keys, s.generation, s.created_at,"
		" s.updated_at, " ALLOC_COLS " FROM students s LEFT JOIN allocations a"
		" ON a.student = s.id WHERE ?1 IS NULL OR s.class = ?1 ORDER BY s.id",
		"list students with their allocations" },
	[ST_HIST_INDEXES] = {
		"SELECT idx, student, freed_seq FROM index_history ORDER BY idx",
		"read index history" },
	[ST_HIST_ENDPOINTS] = {
		"SELECT public_ip, public_port, student, freed_seq FROM endpoint_history"
		" ORDER BY public_ip, public_port", "read endpoint history" },
	[ST_AUDIT_ADD] = {
		"INSERT INTO audit(at, actor_uid, action, student, public_ip, public_port,"
		" detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", "add audit entry" },
	[ST_AUDIT_LIST] = {
		"SELECT " AUDIT_COLS " FROM (SELECT " AUDIT_COLS " FROM audit"
		" WHERE ?1 IS NULL OR student = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
		"list audit entries" },
};

struct db {
	sqlite3 *sql;
	char *path;
	sqlite3_stmt *st[ST_COUNT];     /* prepared on first use, finalized in db_close */
};

static const char *const db_state_names[] = {
	[DB_ALLOC_CREATING] = "creating",
	[DB_ALLOC_READY] = "ready",
	[DB_ALLOC_DELETING] = "deleting",
};

const char *db_alloc_state_name(enum db_alloc_state st)
{
	if ((unsigned)st >= sizeof(db_state_names) / sizeof(db_state_names[0]))
		return "?";
	return db_state_names[st];
}

int db_alloc_state_parse(const char *s, enum db_alloc_state *st)
{
	size_t i;

	for (i = 0; s && i < sizeof(db_state_names) / sizeof(db_state_names[0]); i++) {
		if (strcmp(s, db_state_names[i]) == 0) {
			*st = (enum db_alloc_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The one place SQLite result codes become errnos (extended codes are on). */
static int db_error(struct db *db, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		log_debug("%s: %s", what, sqlite3_errmsg(db->sql));
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		log_debug("%s: %s", what, sqlite3_errmsg(db->sql));
		return -ENOENT;
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_CHECK:
		log_warnx("%s: %s", what, sqlite3_errmsg(db->sql));
		return -EINVAL;
	}
	log_warnx("%s: %s", what, sqlite3_errmsg(db->sql));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	}
	return -EIO;
}

/* Hands out cached statement ID, ready for binding. */
static int db_prep(struct db *db, enum db_stmt id, sqlite3_stmt **out)
{
	int rc;

	if (!db->st[id]) {
		rc = sqlite3_prepare_v2(db->sql, db_stmts[id].sql, -1, &db->st[id], NULL);
		if (rc != SQLITE_OK)
			return db_error(db, rc, db_stmts[id].what);
	}
	*out = db->st[id];
	return 0;
}

/* Returns a statement to the cache: no open read cursor, no borrowed pointers. */
static void db_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Binds parameters 1..n from FMT: 't' const char * (NULL binds NULL), 'i' int64_t,
 * 'u' int64_t bound as NULL when negative. Text is SQLITE_STATIC: the caller steps
 * before its strings go away.
 */
static int db_bind(struct db *db, sqlite3_stmt *st, enum db_stmt id, const char *fmt, ...)
{
	va_list ap;
	int i, rc = SQLITE_OK;

	va_start(ap, fmt);
	for (i = 1; *fmt && rc == SQLITE_OK; fmt++, i++) {
		const char *s;
		int64_t v;

		switch (*fmt) {
		case 't':
			s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'u':
			v = va_arg(ap, int64_t);
			rc = v >= 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	va_end(ap);
	return rc == SQLITE_OK ? 0 : db_error(db, rc, db_stmts[id].what);
}

/* Runs a statement that returns no rows; *CHANGES (may be NULL) gets the rows it hit. */
static int db_run(struct db *db, sqlite3_stmt *st, enum db_stmt id, int *changes)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return db_error(db, rc, db_stmts[id].what);
	if (changes)
		*changes = sqlite3_changes(db->sql);
	return 0;
}

/* Copies text column I; SQL NULL gives NULL. */
static int db_col_text(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	*out = NULL;
	if (!s)
		return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : -ENOMEM;
	*out = strdup((const char *)s);
	return *out ? 0 : -ENOMEM;
}

/* Grows *V (of element size SZ) so index N fits. */
static int db_grow(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = reallocarray(*v, ncap, sz);
	if (!nv)
		return -ENOMEM;
	memset((char *)nv + *cap * sz, 0, (ncap - *cap) * sz);
	*v = nv;
	*cap = ncap;
	return 0;
}

/* How one kind of row is read into an element and a list of them freed (db_list). */
struct db_rows {
	size_t size;                                          /* bytes of one element */
	int (*read)(struct db *db, sqlite3_stmt *st, void *elem);  /* frees a partial one */
	void (*free)(void *v, size_t n);
};

/* Steps statement ID (prepared and bound: ST) to its end, each row read by K into a
 * growing array: *OUT and *N, or -errno and nothing. */
static int db_list(struct db *db, enum db_stmt id, sqlite3_stmt *st, const struct db_rows *k,
		   void **out, size_t *n)
{
	void *v = NULL;
	size_t cap = 0, len = 0;
	int rc, ret;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = db_grow(&v, &cap, len, k->size)) < 0 ||
		    (ret = k->read(db, st, (char *)v + len * k->size)) < 0)
			goto fail;
		len++;
	}
	if (rc != SQLITE_DONE) {
		ret = db_error(db, rc, db_stmts[id].what);
		goto fail;
	}
	*out = v;
	*n = len;
	return 0;
fail:
	k->free(v, len);
	return ret;
}

/* A list statement ID with its one text parameter KEY (and an integer LIMIT when the
 * statement has a second parameter, else ignored). */
static int db_list_by(struct db *db, enum db_stmt id, const char *key, int64_t limit,
		      bool with_limit, const struct db_rows *k, void **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int ret;

	*out = NULL;
	*n = 0;
	if ((ret = db_prep(db, id, &st)) == 0 &&
	    (ret = with_limit ? db_bind(db, st, id, "ti", key, limit)
			      : db_bind(db, st, id, "t", key)) == 0)
		ret = db_list(db, id, st, k, out, n);
	db_done(st);
	return ret;
}

static int db_exec(struct db *db, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_warnx("%s: %s: %s", db->path, what, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_BUSY ? -EBUSY : -EIO;
	}
	return 0;
}

/* One-row, one-column integer pragma or query with constant SQL. */
static int db_query_int(struct db *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	rc = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = db_error(db, rc, sql);
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Never guess at a newer layout: a downgraded labd could silently drop columns' meaning. */
static int db_too_new(struct db *db, int64_t have)
{
	log_warnx("%s: database schema %lld is newer than this labd (knows %d); upgrade labd",
		  db->path, (long long)have, DB_SCHEMA_VERSION);
	return -ENOTSUP;
}

static int db_migrate(struct db *db)
{
	char sql[64];
	int64_t have;
	int ret, v;

	ret = db_query_int(db, "PRAGMA user_version", &have);
	if (ret < 0)
		return ret;
	if (have > DB_SCHEMA_VERSION)
		return db_too_new(db, have);
	if (have < 0) {
		log_warnx("%s: database schema version %lld is invalid", db->path,
			  (long long)have);
		return -EIO;
	}
	if (have == DB_SCHEMA_VERSION)
		return 0;

	/* All steps or none: a crash mid-migration leaves the old version intact. */
	if ((ret = db_exec(db, "BEGIN IMMEDIATE", "begin migration")) < 0)
		return ret;
	/* Re-read under the write lock: another labd may have migrated meanwhile. */
	if ((ret = db_query_int(db, "PRAGMA user_version", &have)) < 0)
		goto out;
	if (have > DB_SCHEMA_VERSION || have < 0) {
		ret = have < 0 ? -EIO : db_too_new(db, have);
		goto out;
	}
	for (v = (int)have; v < DB_SCHEMA_VERSION; v++) {
		char what[96];

		snprintf(what, sizeof(what), "migrate schema %d to %d (%s)", v, v + 1,
			 db_migrations[v].what);
		if ((ret = db_exec(db, db_migrations[v].sql, what)) < 0)
			goto out;
		/* PRAGMA takes no parameters; the value is our own constant. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((ret = db_exec(db, sql, what)) < 0)
			goto out;
	}
	if ((ret = db_exec(db, "COMMIT", "commit migration")) == 0)
		log_info("%s: schema migrated from version %lld to %d", db->path,
			 (long long)have, DB_SCHEMA_VERSION);
out:
	if (ret < 0)
		db_exec(db, "ROLLBACK", "roll back migration");
	return ret;
}

int db_open(const char *path, struct db **dbp)
{
	struct db *db = NULL;
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int64_t fk;
	int fd, rc, ret = -1;

	*dbp = NULL;
	/* SQLite would create the file 0644 less umask; emails are personal data. The -wal
	 * and -shm files inherit the database file's mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		log_warn("database %s", path);
		return ret;
	}
	close(fd);

	if (!(db = calloc(1, sizeof(*db))) || !(db->path = strdup(path))) {
		ret = -ENOMEM;
		goto out;
	}
	/* No SQLITE_OPEN_CREATE: use the file made above with its mode, or fail. */
	rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("database %s: %s", path,
			  db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
		ret = -EIO;
		goto out;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, DB_BUSY_TIMEOUT_MS);

	/* WAL: readers don't block the writer, and a commit is one append to the -wal file. */
	rc = sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = db_error(db, rc, "set journal_mode=WAL");
		goto out;
	}
	mode = sqlite3_column_text(st, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		log_warnx("database %s: journal_mode is %s, not wal", path,
			  mode ? (const char *)mode : "unknown");
		ret = -EIO;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	/*
	 * synchronous=NORMAL in WAL mode: a commit is written to the -wal file before COMMIT
	 * returns and is fsynced at checkpoints, not at every commit. That survives labd
	 * being killed (kill -9, a crash) at any point: the kernel holds the written pages
	 * and an uncommitted tail is ignored on the next open. Only an OS crash or power
	 * loss can lose the last few commits, and never corrupts the file. FULL (one fsync
	 * per commit) would not buy consistency there either: libvirt's volumes and domains
	 * are not fsynced together with us, so after a power loss labd must reconcile the
	 * two anyway, which it does at every start.
	 */
	ret = db_exec(db, "PRAGMA synchronous = NORMAL", "set synchronous=NORMAL");
	if (ret < 0)
		goto out;
	/* Per connection and off by default; ON DELETE CASCADE depends on it. */
	ret = db_exec(db, "PRAGMA foreign_keys = ON", "set foreign_keys=ON");
	if (ret < 0)
		goto out;
	ret = db_query_int(db, "PRAGMA foreign_keys", &fk);
	if (ret < 0)
		goto out;
	if (fk != 1) {
		log_warnx("database %s: SQLite built without foreign key support", path);
		ret = -ENOTSUP;
		goto out;
	}

	if ((ret = db_migrate(db)) < 0)
		goto out;

	*dbp = db;
	db = NULL;
	ret = 0;
out:
	sqlite3_finalize(st);
	db_close(db);
	return ret;
}

void db_close(struct db *db)
{
	size_t i;
	int rc;

	if (!db)
		return;
	if (db->sql && !sqlite3_get_autocommit(db->sql))
		db_exec(db, "ROLLBACK", "roll back on close");
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	if (db->sql) {
		/* The last connection to close checkpoints the WAL and removes it. */
		rc = sqlite3_close(db->sql);
		if (rc != SQLITE_OK)
			log_warnx("close database %s: %s", db->path, sqlite3_errstr(rc));
	}
	free(db->path);
	free(db);
}

/* Runs a cached statement that takes no parameters and returns no rows. */
static int db_simple(struct db *db, enum db_stmt id)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = db_prep(db, id, &st)) == 0)
		ret = db_run(db, st, id, NULL);
	db_done(st);
	return ret;
}

int db_begin(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sql)) {
		log_warnx("%s: begin: a transaction is already open", db->path);
		return -EINVAL;
	}
	return db_simple(db, ST_BEGIN);
}

int db_commit(struct db *db)
{
	return db_simple(db, ST_COMMIT);
}

int db_rollback(struct db *db)
{
	/* SQLite may already have rolled back (e.g. SQLITE_FULL); that is success here. */
	if (sqlite3_get_autocommit(db->sql))
		return 0;
	return db_simple(db, ST_ROLLBACK);
}

/* ---- students ---- */

void db_student_free(struct db_student *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->class);
	free(s->name);
	free(s->email);
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

void db_student_list_free(struct db_student *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		db_student_free(&v[i]);
	free(v);
}

static int db_row_student(sqlite3_stmt *st, struct db_student *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = db_col_text(st, 0, &s->id)) < 0 ||
	    (ret = db_col_text(st, 1, &s->class)) < 0 ||
	    (ret = db_col_text(st, 2, &s->name)) < 0 ||
	    (ret = db_col_text(st, 3, &s->email)) < 0 ||
	    (ret = db_col_text(st, 4, &s->keys)) < 0) {
		db_student_free(s);
		return ret;
	}
	s->generation = sqlite3_column_int64(st, 5);
	s->created_at = sqlite3_column_int64(st, 6);
	s->updated_at = sqlite3_column_int64(st, 7);
	return 0;
}

int db_student_insert(struct db *db, const struct db_student *s)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = db_prep(db, ST_STUDENT_INSERT, &st)) < 0)
		goto out;
	ret = db_bind(db, st, ST_STUDENT_INSERT, "ttttti",
		      s->id, s->class, s->name, s->email, s->keys, (int64_t)time(NULL));
	if (ret < 0)
		goto out;
	ret = db_run(db, st, ST_STUDENT_INSERT, NULL);
out:
	db_done(st);
	return ret;
}

int db_student_get(struct db *db, const char *id, struct db_student *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	if ((ret = db_prep(db, ST_STUDENT_GET, &st)) < 0 ||
	    (ret = db_bind(db, st, ST_STUDENT_GET, "t", id)) < 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else if (rc != SQLITE_ROW)
		ret = db_error(db, rc, db_stmts[ST_STUDENT_GET].what);
	else
		ret = db_row_student(st, out);
out:
	db_done(st);
	return ret;
}

static int db_read_student(struct db *db, sqlite3_stmt *st, void *elem)
{
	return db_row_student(st, elem);
}

static void db_free_students(void *v, size_t n)
{
	db_student_list_free(v, n);
}

static const struct db_rows db_students = {
	sizeof(struct db_student), db_read_student, db_free_students,
};

int db_student_list(struct db *db, const char *class, struct db_student **out, size_t *n)
{
	void *v;
	int ret = db_list_by(db, ST_STUDENT_LIST, class, 0, false, &db_students, &v, n);

	*out = v;
	return ret;
}

/* Runs an UPDATE ... RETURNING generation on student ID. */
static int db_student_generation(struct db *db, sqlite3_stmt *st, enum db_stmt id,
				 int64_t *generation)
{
	int64_t gen = 0;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(db, rc, db_stmts[id].what);
	gen = sqlite3_column_int64(st, 0);
	/* The change is made at the first step; finish the statement to release it. */
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return db_error(db, rc, db_stmts[id].what);
	if (generation)
		*generation = gen;
	return 0;
}

int db_student_update_keys(struct db *db, const char *id, const char *keys,
			   int64_t *generation)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = db_prep(db, ST_STUDENT_SET_KEYS, &st)) < 0 ||
	    (ret = db_bind(db, st, ST_STUDENT_SET_KEYS, "tti", id, keys,
			   (int64_t)time(NULL))) < 0)
		goto out;
	ret = db_student_generation(db, st, ST_STUDENT_SET_KEYS, generation);
out:
	db_done(st);
	return ret;
}

int db_student_bump_generation(struct db *db, const char *id, int64_t *generation)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = db_prep(db, ST_STUDENT_BUMP, &st)) < 0 ||
	    (ret = db_bind(db, st, ST_STUDENT_BUMP, "ti", id, (int64_t)time(NULL))) < 0)
		goto out;
	ret = db_student_generation(db, st, ST_STUDENT_BUMP, generation);
out:
	db_done(st);
	return ret;
}

/* DELETE/UPDATE keyed by one text value plus optional text; -ENOENT when no row hit. */
static int db_by_key(struct db *db, enum db_stmt id, const char *key, const char *val)
{
	sqlite3_stmt *st = NULL;
	int changes = 0, ret;

	if ((ret = db_prep(db, id, &st)) < 0)
		goto out;
	ret = val ? db_bind(db, st, id, "tt", key, val) : db_bind(db, st, id, "t", key);
	if (ret < 0 || (ret = db_run(db, st, id, &changes)) < 0)
		goto out;
	ret = changes ? 0 : -ENOENT;
out:
	db_done(st);
	return ret;
}

int db_student_delete(struct db *db, const char *id)
{
	return db_by_key(db, ST_STUDENT_DELETE, id, NULL);
}

/* ---- allocations ---- */

void db_alloc_free(struct db_alloc *a)
{
	if (!a)
		return;
	free(a->student);
	free(a->mac);
	free(a->ip);
	free(a->public_ip);
	free(a->domain);
	free(a->overlay_vol);
	free(a->seed_vol);
	free(a->base_image);
	memset(a, 0, sizeof(*a));
}

void db_alloc_list_free(struct db_alloc *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		db_alloc_free(&v[i]);
	free(v);
}

/* The ALLOC_COLS starting at column B. */
static int db_row_alloc_at(struct db *db, sqlite3_stmt *st, int b, struct db_alloc *a)
{
	const char *state;
	int ret;

	memset(a, 0, sizeof(*a));
	if ((ret = db_col_text(st, b + 0, &a->student)) < 0 ||
	    (ret = db_col_text(st, b + 2, &a->mac)) < 0 ||
	    (ret = db_col_text(st, b + 3, &a->ip)) < 0 ||
	    (ret = db_col_text(st, b + 4, &a->public_ip)) < 0 ||
	    (ret = db_col_text(st, b + 6, &a->domain)) < 0 ||
	    (ret = db_col_text(st, b + 7, &a->overlay_vol)) < 0 ||
	    (ret = db_col_text(st, b + 8, &a->seed_vol)) < 0 ||
	    (ret = db_col_text(st, b + 9, &a->base_image)) < 0)
		goto out;
	a->idx = (uint32_t)sqlite3_column_int64(st, b + 1);
	a->public_port = (uint16_t)sqlite3_column_int64(st, b + 5);
	state = (const char *)sqlite3_column_text(st, b + 10);
	if ((ret = db_alloc_state_parse(state, &a->state)) < 0) {
		/* The CHECK constraint makes this a damaged file, not bad input. */
		log_warnx("%s: allocation of %s has unknown state '%s'", db->path,
			  a->student, state ? state : "NULL");
		ret = -EIO;
	}
out:
	if (ret < 0)
		db_alloc_free(a);
	return ret;
}

static int db_row_alloc(struct db *db, sqlite3_stmt *st, struct db_alloc *a)
{
	return db_row_alloc_at(db, st, 0, a);
}

int db_alloc_insert(struct db *db, const struct db_alloc *a)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = db_prep(db, ST_ALLOC_INSERT, &st)) < 0)
		goto out;
	ret = db_bind(db, st, ST_ALLOC_INSERT, "titttittttt", a->student, (int64_t)a->idx,
		      a->mac, a->ip, a->public_ip, (int64_t)a->public_port, a->domain,
		      a->overlay_vol, a->seed_vol, a->base_image,
		      db_alloc_state_name(a->state));
	if (ret < 0)
		goto out;
	ret = db_run(db, st, ST_ALLOC_INSERT, NULL);
out:
	db_done(st);
	return ret;
}

int db_alloc_get(struct db *db, const char *student, struct db_alloc *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	if ((ret = db_prep(db, ST_ALLOC_GET, &st)) < 0 ||
	    (ret = db_bind(db, st, ST_ALLOC_GET, "t", student)) < 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else if (rc != SQLITE_ROW)
		ret = db_error(db, rc, db_stmts[ST_ALLOC_GET].what);
	else
		ret = db_row_alloc(db, st, out);
out:
	db_done(st);
	return ret;
}

static int db_read_alloc(struct db *db, sqlite3_stmt *st, void *elem)
{
	return db_row_alloc(db, st, elem);
}

static void db_free_allocs(void *v, size_t n)
{
	db_alloc_list_free(v, n);
}

static const struct db_rows db_allocs = {
	sizeof(struct db_alloc), db_read_alloc, db_free_allocs,
};

int db_alloc_list(struct db *db, const char *class, struct db_alloc **out, size_t *n)
{
	void *v;
	int ret = db_list_by(db, ST_ALLOC_LIST, class, 0, false, &db_allocs, &v, n);

	*out = v;
	return ret;
}

int db_alloc_set_state(struct db *db, const char *student, enum db_alloc_state state)
{
	if ((unsigned)state >= sizeof(db_state_names) / sizeof(db_state_names[0]))
		return -EINVAL;
	return db_by_key(db, ST_ALLOC_SET_STATE, student, db_alloc_state_name(state));
}

int db_alloc_set_base(struct db *db, const char *student, const char *base_image)
{
	if (!base_image)
		return -EINVAL;
	return db_by_key(db, ST_ALLOC_SET_BASE, student, base_image);
}

int db_alloc_delete(struct db *db, const char *student)
{
	/* The allocations_freed trigger marks the index and endpoint freed. */
	return db_by_key(db, ST_ALLOC_DELETE, student, NULL);
}

/* ---- the roster: students with their allocations ---- */

/* Column I's text as SQLite holds it (no copy), or NULL. */
static char *db_col_borrow(sqlite3_stmt *st, int i)
{
	return (char *)sqlite3_column_text(st, i);
}

/* ROW from the current result row of ST_ROSTER_LIST, every string borrowed. */
static int db_row_roster(struct db *db, sqlite3_stmt *st, struct db_roster_row *r)
{
	const int b = STUDENT_NCOLS;
	const char *state;

	memset(r, 0, sizeof(*r));
	r->s = (struct db_student){
		.id = db_col_borrow(st, 0), .class = db_col_borrow(st, 1),
		.name = db_col_borrow(st, 2), .email = db_col_borrow(st, 3),
		.keys = db_col_borrow(st, 4), .generation = sqlite3_column_int64(st, 5),
		.created_at = sqlite3_column_int64(st, 6), .updated_at = sqlite3_column_int64(st, 7),
	};
	if (!r->s.id || !r->s.class || !r->s.name || !r->s.keys)
		return -ENOMEM;
	/* LEFT JOIN: a student without an allocation has NULLs there. */
	if (sqlite3_column_type(st, b) == SQLITE_NULL)
		return 0;
	r->a = (struct db_alloc){
		.student = db_col_borrow(st, b), .idx = (uint32_t)sqlite3_column_int64(st, b + 1),
		.mac = db_col_borrow(st, b + 2), .ip = db_col_borrow(st, b + 3),
		.public_ip = db_col_borrow(st, b + 4),
		.public_port = (uint16_t)sqlite3_column_int64(st, b + 5),
		.domain = db_col_borrow(st, b + 6), .overlay_vol = db_col_borrow(st, b + 7),
		.seed_vol = db_col_borrow(st, b + 8), .base_image = db_col_borrow(st, b + 9),
	};
	state = (const char *)sqlite3_column_text(st, b + 10);
	if (!r->a.student || !r->a.mac || !r->a.ip || !r->a.public_ip || !r->a.domain ||
	    !r->a.overlay_vol || !r->a.seed_vol || !r->a.base_image)
		return -ENOMEM;
	if (db_alloc_state_parse(state, &r->a.state) < 0) {
		log_warnx("%s: allocation of %s has unknown state '%s'", db->path, r->a.student,
			  state ? state : "NULL");
		return -EIO;
	}
	return 0;
}

int db_roster_each(struct db *db, const char *class, db_roster_fn fn, void *arg)
{
	struct db_roster_row row;
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = db_prep(db, ST_ROSTER_LIST, &st)) < 0 ||
	    (ret = db_bind(db, st, ST_ROSTER_LIST, "t", class)) < 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = db_row_roster(db, st, &row)) < 0 || (ret = fn(&row, arg)) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : db_error(db, rc, db_stmts[ST_ROSTER_LIST].what);
out:
	db_done(st);
	return ret;
}

/* ---- history ---- */

int db_history_indexes(struct db *db, db_index_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = db_prep(db, ST_HIST_INDEXES, &st)) < 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = fn((uint32_t)sqlite3_column_int64(st, 0),
			 (const char *)sqlite3_column_text(st, 1),
			 sqlite3_column_int64(st, 2), arg);
		if (ret)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : db_error(db, rc, db_stmts[ST_HIST_INDEXES].what);
out:
	db_done(st);
	return ret;
}

int db_history_endpoints(struct db *db, db_endpoint_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = db_prep(db, ST_HIST_ENDPOINTS, &st)) < 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = fn((const char *)sqlite3_column_text(st, 0),
			 (uint16_t)sqlite3_column_int64(st, 1),
			 (const char *)sqlite3_column_text(st, 2),
			 sqlite3_column_int64(st, 3), arg);
		if (ret)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : db_error(db, rc, db_stmts[ST_HIST_ENDPOINTS].what);
out:
	db_done(st);
	return ret;
}

/* ---- audit ---- */

void db_audit_free(struct db_audit *e)
{
	if (!e)
		return;
	free(e->action);
	free(e->student);
	free(e->public_ip);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

void db_audit_list_free(struct db_audit *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		db_audit_free(&v[i]);
	free(v);
}

int db_audit_add(struct db *db, int64_t actor_uid, const char *action,
		 const char *student, const char *public_ip, uint16_t public_port,
		 const char *detail)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if ((ret = db_prep(db, ST_AUDIT_ADD, &st)) < 0)
		goto out;
	ret = db_bind(db, st, ST_AUDIT_ADD, "iutttut", (int64_t)time(NULL), actor_uid,
		      action, student, public_ip,
		      public_port ? (int64_t)public_port : (int64_t)-1, detail);
	if (ret < 0)
		goto out;
	ret = db_run(db, st, ST_AUDIT_ADD, NULL);
out:
	db_done(st);
	return ret;
}

static int db_row_audit(sqlite3_stmt *st, struct db_audit *e)
{
	int ret;

	memset(e, 0, sizeof(*e));
	if ((ret = db_col_text(st, 3, &e->action)) < 0 ||
	    (ret = db_col_text(st, 4, &e->student)) < 0 ||
	    (ret = db_col_text(st, 5, &e->public_ip)) < 0 ||
	    (ret = db_col_text(st, 7, &e->detail)) < 0) {
		db_audit_free(e);
		return ret;
	}
	e->seq = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 1);
	e->actor_uid = sqlite3_column_type(st, 2) == SQLITE_NULL
		? -1 : sqlite3_column_int64(st, 2);
	e->public_port = (uint16_t)sqlite3_column_int64(st, 6);
	return 0;
}

static int db_read_audit(struct db *db, sqlite3_stmt *st, void *elem)
{
	return db_row_audit(st, elem);
}

static void db_free_audits(void *v, size_t n)
{
	db_audit_list_free(v, n);
}

static const struct db_rows db_audits = {
	sizeof(struct db_audit), db_read_audit, db_free_audits,
};

int db_audit_list(struct db *db, const char *student, size_t limit,
		  struct db_audit **out, size_t *n)
{
	void *v;
	/* LIMIT -1 is SQLite's "no limit". */
	int ret = db_list_by(db, ST_AUDIT_LIST, student,
			     limit && limit <= (uint64_t)INT64_MAX ? (int64_t)limit : (int64_t)-1,
			     true, &db_audits, &v, n);

	*out = v;
	return ret;
}
