/* labd/db.c against a real SQLite file in a fresh temporary directory per test. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "labd/db.h"

static char tmpdir[64];
static char dbpath[128];

static void setup(void)
{
	log_setlevel(LOG_LVL_ERR);     /* migrations and refusals below log on purpose */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_db.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/labd.db", tmpdir);
}

static void teardown(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

static struct db *open_db(void)
{
	struct db *db = NULL;

	ck_assert_int_eq(db_open(dbpath, &db), 0);
	ck_assert_ptr_nonnull(db);
	return db;
}

/* A second, independent connection: what is on disk, not what db.c believes. */
static sqlite3 *raw_open(void)
{
	sqlite3 *s = NULL;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return s;
}

static long long raw_int(const char *sql)
{
	sqlite3 *s = raw_open();
	sqlite3_stmt *st = NULL;
	long long v;

	ck_assert_int_eq(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return v;
}

static void raw_text(const char *sql, char *buf, size_t len)
{
	sqlite3 *s = raw_open();
	sqlite3_stmt *st = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(s);
}

static void raw_exec(const char *sql)
{
	sqlite3 *s = raw_open();

	ck_assert_int_eq(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
}

static void add_student(struct db *db, const char *id, const char *class)
{
	struct db_student s = {
		.id = (char *)id, .class = (char *)class, .name = (char *)"A Student",
		.email = NULL, .keys = (char *)"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA a@b",
	};

	ck_assert_int_eq(db_student_insert(db, &s), 0);
}

/* Allocation N for STUDENT: every unique column derived from N. */
static void fill_alloc(struct db_alloc *a, char buf[][32], const char *student, unsigned n)
{
	memset(a, 0, sizeof(*a));
	a->student = (char *)student;
	a->idx = n;
	snprintf(buf[0], 32, "52:54:00:00:00:%02x", n);
	snprintf(buf[1], 32, "10.20.0.%u", n + 10);
	snprintf(buf[2], 32, "vlab-%s", student);
	a->mac = buf[0];
	a->ip = buf[1];
	a->domain = buf[2];
	a->public_ip = (char *)(n % 2 ? "203.0.113.11" : "203.0.113.10");
	a->public_port = (uint16_t)(20000 + n);
	a->overlay_vol = (char *)"overlay.qcow2";
	a->seed_vol = (char *)"seed.iso";
	a->base_image = (char *)"base-v1.qcow2";
	a->state = DB_ALLOC_CREATING;
}

static void add_alloc(struct db *db, const char *student, unsigned n)
{
	struct db_alloc a;
	char buf[3][32];

	fill_alloc(&a, buf, student, n);
	ck_assert_int_eq(db_alloc_insert(db, &a), 0);
}

START_TEST(db_open_creates_schema_v1_mode_0600)
{
	struct db *db = open_db();
	struct stat sb;

	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	db_close(db);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(DB_SCHEMA_VERSION, 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
				 " name IN ('students', 'allocations', 'index_history',"
				 " 'endpoint_history', 'audit', 'meta')"), 6);
	ck_assert_int_eq(raw_int("SELECT value FROM meta WHERE key = 'freed_seq'"), 0);
}
END_TEST

START_TEST(db_open_sets_wal_journal_mode)
{
	char mode[16];

	db_close(open_db());
	/* WAL is a property of the file: a fresh connection must see it. */
	raw_text("PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
}
END_TEST

START_TEST(db_reopen_keeps_data_and_schema)
{
	struct db *db = open_db();
	struct db_student s;

	add_student(db, "alice", "net101");
	add_alloc(db, "alice", 3);
	db_close(db);

	db = open_db();
	ck_assert_int_eq(db_student_get(db, "alice", &s), 0);
	ck_assert_str_eq(s.class, "net101");
	db_student_free(&s);
	db_close(db);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 1);
}
END_TEST

START_TEST(db_open_refuses_newer_schema)
{
	struct db *db = (struct db *)1;

	db_close(open_db());
	raw_exec("PRAGMA user_version = 99");
	ck_assert_int_eq(db_open(dbpath, &db), -ENOTSUP);
	ck_assert_ptr_null(db);
	/* And left it alone. */
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 99);
}
END_TEST

START_TEST(db_open_migrates_an_empty_file)
{
	FILE *f = fopen(dbpath, "w");
	struct db *db;

	ck_assert_ptr_nonnull(f);
	fclose(f);
	db = open_db();
	add_student(db, "bob", "c");
	db_close(db);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 1);
}
END_TEST

START_TEST(db_student_round_trips_and_lists_by_class)
{
	struct db *db = open_db();
	struct db_student in = {
		.id = (char *)"carol", .class = (char *)"net101", .name = (char *)"Carol C",
		.email = (char *)"carol@example.org",
		.keys = (char *)"ssh-ed25519 AAAA k1\nssh-rsa AAAA k2",
	};
	struct db_student out, *v;
	size_t n;

	ck_assert_int_eq(db_student_insert(db, &in), 0);
	add_student(db, "alice", "net101");
	add_student(db, "zed", "sec202");

	ck_assert_int_eq(db_student_get(db, "carol", &out), 0);
	ck_assert_str_eq(out.id, "carol");
	ck_assert_str_eq(out.class, "net101");
	ck_assert_str_eq(out.name, "Carol C");
	ck_assert_str_eq(out.email, "carol@example.org");
	ck_assert_str_eq(out.keys, "ssh-ed25519 AAAA k1\nssh-rsa AAAA k2");
	ck_assert_int_eq(out.generation, 1);
	ck_assert_int_gt(out.created_at, 1600000000);
	ck_assert_int_eq(out.created_at, out.updated_at);
	db_student_free(&out);

	ck_assert_int_eq(db_student_get(db, "alice", &out), 0);
	ck_assert_ptr_null(out.email);
	db_student_free(&out);

	ck_assert_int_eq(db_student_list(db, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].id, "alice");
	ck_assert_str_eq(v[1].id, "carol");
	ck_assert_str_eq(v[2].id, "zed");
	db_student_list_free(v, n);

	ck_assert_int_eq(db_student_list(db, "sec202", &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].id, "zed");
	db_student_list_free(v, n);

	ck_assert_int_eq(db_student_list(db, "nope", &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	db_close(db);
}
END_TEST

START_TEST(db_student_get_missing_is_enoent)
{
	struct db *db = open_db();
	struct db_student s;

	ck_assert_int_eq(db_student_get(db, "ghost", &s), -ENOENT);
	ck_assert_int_eq(db_student_update_keys(db, "ghost", "k", NULL), -ENOENT);
	ck_assert_int_eq(db_student_bump_generation(db, "ghost", NULL), -ENOENT);
	ck_assert_int_eq(db_student_delete(db, "ghost"), -ENOENT);
	db_close(db);
}
END_TEST

START_TEST(db_student_duplicate_id_is_eexist)
{
	struct db *db = open_db();
	struct db_student s;

	add_student(db, "alice", "net101");
	s = (struct db_student){ .id = (char *)"alice", .class = (char *)"other",
				 .name = (char *)"Other", .keys = (char *)"k" };
	ck_assert_int_eq(db_student_insert(db, &s), -EEXIST);
	ck_assert_int_eq(db_student_get(db, "alice", &s), 0);
	ck_assert_str_eq(s.class, "net101");
	db_student_free(&s);
	db_close(db);
}
END_TEST

START_TEST(db_student_set_keys_and_reset_bump_generation)
{
	struct db *db = open_db();
	struct db_student s;
	int64_t gen = 0;

	add_student(db, "alice", "net101");
	ck_assert_int_eq(db_student_update_keys(db, "alice", "ssh-ed25519 NEW x", &gen), 0);
	ck_assert_int_eq(gen, 2);
	ck_assert_int_eq(db_student_bump_generation(db, "alice", &gen), 0);
	ck_assert_int_eq(gen, 3);
	ck_assert_int_eq(db_student_get(db, "alice", &s), 0);
	ck_assert_int_eq(s.generation, 3);
	ck_assert_str_eq(s.keys, "ssh-ed25519 NEW x");
	db_student_free(&s);
	db_close(db);
}
END_TEST

START_TEST(db_student_name_with_sql_is_stored_verbatim)
{
	static const char evil[] = "Robert'); DROP TABLE students;--";
	struct db *db = open_db();
	struct db_student in = {
		.id = (char *)"bobby", .class = (char *)"x'; DELETE FROM audit; --",
		.name = (char *)evil, .email = (char *)"\"o'hara\"@example.org",
		.keys = (char *)"k",
	};
	struct db_student out;

	ck_assert_int_eq(db_student_insert(db, &in), 0);
	ck_assert_int_eq(db_student_get(db, "bobby", &out), 0);
	ck_assert_str_eq(out.name, evil);
	ck_assert_str_eq(out.class, "x'; DELETE FROM audit; --");
	ck_assert_str_eq(out.email, "\"o'hara\"@example.org");
	db_student_free(&out);
	/* A lookup by an injected id matches nothing rather than everything. */
	ck_assert_int_eq(db_student_get(db, "x' OR '1'='1", &out), -ENOENT);
	db_close(db);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM students"), 1);
}
END_TEST

START_TEST(db_alloc_round_trips_and_updates)
{
	struct db *db = open_db();
	struct db_alloc a, *v;
	size_t n;

	add_student(db, "alice", "net101");
	add_student(db, "bob", "sec202");
	add_alloc(db, "bob", 7);
	add_alloc(db, "alice", 9);

	ck_assert_int_eq(db_alloc_get(db, "alice", &a), 0);
	ck_assert_str_eq(a.student, "alice");
	ck_assert_uint_eq(a.idx, 9);
	ck_assert_str_eq(a.mac, "52:54:00:00:00:09");
	ck_assert_str_eq(a.ip, "10.20.0.19");
	ck_assert_str_eq(a.public_ip, "203.0.113.11");
	ck_assert_uint_eq(a.public_port, 20009);
	ck_assert_str_eq(a.domain, "vlab-alice");
	ck_assert_str_eq(a.overlay_vol, "overlay.qcow2");
	ck_assert_str_eq(a.seed_vol, "seed.iso");
	ck_assert_str_eq(a.base_image, "base-v1.qcow2");
	ck_assert_int_eq(a.state, DB_ALLOC_CREATING);
	db_alloc_free(&a);

	ck_assert_int_eq(db_alloc_set_state(db, "alice", DB_ALLOC_READY), 0);
	ck_assert_int_eq(db_alloc_set_base(db, "alice", "base-v2.qcow2"), 0);
	ck_assert_int_eq(db_alloc_get(db, "alice", &a), 0);
	ck_assert_int_eq(a.state, DB_ALLOC_READY);
	ck_assert_str_eq(a.base_image, "base-v2.qcow2");
	db_alloc_free(&a);

	ck_assert_int_eq(db_alloc_list(db, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].student, "bob");          /* ordered by idx */
	ck_assert_str_eq(v[1].student, "alice");
	db_alloc_list_free(v, n);
	ck_assert_int_eq(db_alloc_list(db, "net101", &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].student, "alice");
	db_alloc_list_free(v, n);

	ck_assert_int_eq(db_alloc_get(db, "ghost", &a), -ENOENT);
	ck_assert_int_eq(db_alloc_set_state(db, "ghost", DB_ALLOC_READY), -ENOENT);
	ck_assert_int_eq(db_alloc_set_base(db, "ghost", "b"), -ENOENT);
	ck_assert_int_eq(db_alloc_delete(db, "ghost"), -ENOENT);
	ck_assert_int_eq(db_alloc_set_state(db, "alice", (enum db_alloc_state)42), -EINVAL);
	db_close(db);
}
END_TEST

START_TEST(db_alloc_for_unknown_student_is_enoent)
{
	struct db *db = open_db();
	struct db_alloc a;
	char buf[3][32];

	fill_alloc(&a, buf, "ghost", 1);
	ck_assert_int_eq(db_alloc_insert(db, &a), -ENOENT);
	db_close(db);
}
END_TEST

/* Variant _i: the new allocation collides with alice's on one unique column. */
START_TEST(db_alloc_duplicate_is_eexist_and_rollback_leaves_nothing)
{
	struct db *db = open_db();
	struct db_student s;
	struct db_alloc a;
	char buf[3][32];

	add_student(db, "alice", "net101");
	add_alloc(db, "alice", 1);

	ck_assert_int_eq(db_begin(db), 0);
	add_student(db, "bob", "net101");
	fill_alloc(&a, buf, "bob", 2);
	switch (_i) {
	case 0: a.idx = 1; break;
	case 1: snprintf(buf[0], 32, "52:54:00:00:00:01"); break;
	case 2: snprintf(buf[1], 32, "10.20.0.11"); break;
	case 3: a.public_ip = (char *)"203.0.113.11"; a.public_port = 20001; break;
	case 4: snprintf(buf[2], 32, "vlab-alice"); break;
	}
	ck_assert_int_eq(db_alloc_insert(db, &a), -EEXIST);
	ck_assert_int_eq(db_rollback(db), 0);

	ck_assert_int_eq(db_student_get(db, "bob", &s), -ENOENT);
	ck_assert_int_eq(db_alloc_get(db, "bob", &a), -ENOENT);
	db_close(db);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM students"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM index_history"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM endpoint_history"), 1);
}
END_TEST

START_TEST(db_same_port_on_other_public_ip_is_allowed)
{
	struct db *db = open_db();
	struct db_alloc a;
	char buf[3][32];

	add_student(db, "alice", "c");
	add_student(db, "bob", "c");
	add_alloc(db, "alice", 1);              /* 203.0.113.11:20001 */
	fill_alloc(&a, buf, "bob", 2);
	a.public_ip = (char *)"203.0.113.10";
	a.public_port = 20001;
	ck_assert_int_eq(db_alloc_insert(db, &a), 0);
	db_close(db);
}
END_TEST

START_TEST(db_begin_twice_is_einval_and_rollback_outside_is_noop)
{
	struct db *db = open_db();

	ck_assert_int_eq(db_rollback(db), 0);
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert_int_eq(db_begin(db), -EINVAL);
	add_student(db, "alice", "c");
	ck_assert_int_eq(db_commit(db), 0);
	db_close(db);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM students"), 1);
}
END_TEST

struct hist {
	unsigned n;
	uint32_t idx[8];
	char student[8][16];
	int64_t seq[8];
	char ep[8][32];
};

static int hist_index(uint32_t idx, const char *student, int64_t seq, void *arg)
{
	struct hist *h = arg;

	ck_assert_uint_lt(h->n, 8);
	h->idx[h->n] = idx;
	snprintf(h->student[h->n], 16, "%s", student ? student : "-");
	h->seq[h->n] = seq;
	h->n++;
	return 0;
}

static int hist_endpoint(const char *ip, uint16_t port, const char *student, int64_t seq,
			 void *arg)
{
	struct hist *h = arg;

	ck_assert_uint_lt(h->n, 8);
	snprintf(h->ep[h->n], 32, "%s:%u", ip, port);
	snprintf(h->student[h->n], 16, "%s", student ? student : "-");
	h->seq[h->n] = seq;
	h->n++;
	return 0;
}

static int hist_stop(uint32_t idx, const char *student, int64_t seq, void *arg)
{
	(*(int *)arg)++;
	return -ECANCELED;
}

START_TEST(db_alloc_delete_frees_index_and_endpoint_in_order)
{
	struct db *db = open_db();
	struct hist h = { 0 };
	int calls = 0;

	add_student(db, "alice", "c");
	add_student(db, "bob", "c");
	add_student(db, "carol", "c");
	add_alloc(db, "alice", 1);
	add_alloc(db, "bob", 2);
	add_alloc(db, "carol", 3);

	ck_assert_int_eq(db_alloc_delete(db, "bob"), 0);
	ck_assert_int_eq(db_alloc_delete(db, "alice"), 0);

	ck_assert_int_eq(db_history_indexes(db, hist_index, &h), 0);
	ck_assert_uint_eq(h.n, 3);
	ck_assert_uint_eq(h.idx[0], 1);
	ck_assert_str_eq(h.student[0], "-");
	ck_assert_uint_eq(h.idx[1], 2);
	ck_assert_str_eq(h.student[1], "-");
	ck_assert_uint_eq(h.idx[2], 3);
	ck_assert_str_eq(h.student[2], "carol");
	ck_assert_int_eq(h.seq[2], 0);                  /* held */
	ck_assert_int_gt(h.seq[1], 0);                  /* bob freed first */
	ck_assert_int_gt(h.seq[0], h.seq[1]);           /* alice later */

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(db_history_endpoints(db, hist_endpoint, &h), 0);
	ck_assert_uint_eq(h.n, 3);
	ck_assert_str_eq(h.ep[0], "203.0.113.10:20002");       /* bob */
	ck_assert_str_eq(h.student[0], "-");
	ck_assert_str_eq(h.ep[1], "203.0.113.11:20001");       /* alice */
	ck_assert_str_eq(h.student[1], "-");
	ck_assert_str_eq(h.ep[2], "203.0.113.11:20003");       /* carol */
	ck_assert_str_eq(h.student[2], "carol");
	ck_assert_int_eq(h.seq[2], 0);
	ck_assert_int_gt(h.seq[1], h.seq[0]);

	/* Re-using a freed index marks it held again. */
	add_student(db, "dave", "c");
	add_alloc(db, "dave", 2);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(db_history_indexes(db, hist_index, &h), 0);
	ck_assert_str_eq(h.student[1], "dave");
	ck_assert_int_eq(h.seq[1], 0);

	/* The counter keeps increasing across reopen. */
	db_close(db);
	db = open_db();
	ck_assert_int_eq(db_alloc_delete(db, "dave"), 0);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(db_history_indexes(db, hist_index, &h), 0);
	ck_assert_int_gt(h.seq[1], h.seq[0]);

	ck_assert_int_eq(db_history_indexes(db, hist_stop, &calls), -ECANCELED);
	ck_assert_int_eq(calls, 1);
	db_close(db);
}
END_TEST

START_TEST(db_student_delete_cascades_and_frees_history)
{
	struct db *db = open_db();
	struct db_alloc a;
	struct hist h = { 0 };

	add_student(db, "alice", "c");
	add_alloc(db, "alice", 4);
	ck_assert_int_eq(db_student_delete(db, "alice"), 0);
	ck_assert_int_eq(db_alloc_get(db, "alice", &a), -ENOENT);

	ck_assert_int_eq(db_history_indexes(db, hist_index, &h), 0);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.idx[0], 4);
	ck_assert_str_eq(h.student[0], "-");
	ck_assert_int_gt(h.seq[0], 0);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(db_history_endpoints(db, hist_endpoint, &h), 0);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_str_eq(h.student[0], "-");
	ck_assert_int_gt(h.seq[0], 0);
	db_close(db);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM allocations"), 0);
}
END_TEST

START_TEST(db_audit_survives_unenrol_and_lists_newest)
{
	struct db *db = open_db();
	struct db_audit *v;
	size_t n;

	add_student(db, "alice", "c");
	add_alloc(db, "alice", 1);
	ck_assert_int_eq(db_audit_add(db, 1000, "enrol", "alice", "203.0.113.11", 20001,
				      "base-v1.qcow2"), 0);
	ck_assert_int_eq(db_audit_add(db, -1, "start", "bob", NULL, 0, NULL), 0);
	ck_assert_int_eq(db_audit_add(db, 0, "reset", "alice", NULL, 0, NULL), 0);
	ck_assert_int_eq(db_student_delete(db, "alice"), 0);
	ck_assert_int_eq(db_audit_add(db, 1000, "unenrol", "alice", "203.0.113.11", 20001,
				      NULL), 0);

	ck_assert_int_eq(db_audit_list(db, "alice", 0, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].action, "enrol");
	ck_assert_int_eq(v[0].actor_uid, 1000);
	ck_assert_str_eq(v[0].public_ip, "203.0.113.11");
	ck_assert_uint_eq(v[0].public_port, 20001);
	ck_assert_str_eq(v[0].detail, "base-v1.qcow2");
	ck_assert_int_gt(v[0].at, 1600000000);
	ck_assert_str_eq(v[1].action, "reset");
	ck_assert_int_eq(v[1].actor_uid, 0);            /* root is a uid, not "none" */
	ck_assert_ptr_null(v[1].public_ip);
	ck_assert_uint_eq(v[1].public_port, 0);
	ck_assert_ptr_null(v[1].detail);
	ck_assert_str_eq(v[2].action, "unenrol");
	ck_assert_int_lt(v[0].seq, v[1].seq);
	ck_assert_int_lt(v[1].seq, v[2].seq);
	db_audit_list_free(v, n);

	/* Newest two of everything, oldest first. */
	ck_assert_int_eq(db_audit_list(db, NULL, 2, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].action, "reset");
	ck_assert_str_eq(v[1].action, "unenrol");
	db_audit_list_free(v, n);

	ck_assert_int_eq(db_audit_list(db, "bob", 10, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].actor_uid, -1);
	db_audit_list_free(v, n);
	db_close(db);
}
END_TEST

/*
 * The child opens the database, inserts 100 students in one transaction (commits them if
 * COMMIT), tells the parent over a pipe and waits to be SIGKILLed. Keys are 32 KiB each
 * so the transaction outgrows SQLite's page cache and spills uncommitted pages into the
 * -wal file before the kill: recovery must ignore them, not merely never see them.
 */
#define CRASH_KEYS_LEN (32 * 1024)

static void crash_child(int fd, bool commit)
{
	static char keys[CRASH_KEYS_LEN + 1];
	struct db *db = NULL;
	char id[16];
	int i;

	memset(keys, 'k', CRASH_KEYS_LEN);
	if (db_open(dbpath, &db) < 0 || db_begin(db) < 0)
		_exit(2);
	for (i = 0; i < 100; i++) {
		struct db_student s = { .id = id, .class = (char *)"crash",
					.name = (char *)"N", .keys = keys };

		snprintf(id, sizeof(id), "s%03d", i);
		if (db_student_insert(db, &s) < 0)
			_exit(3);
	}
	if (commit && db_commit(db) < 0)
		_exit(4);
	if (write(fd, "x", 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

static void crash_run(bool commit, size_t want)
{
	struct db_student *v;
	struct db *db;
	struct stat sb;
	char walpath[160], ok[32], c = 0;
	int p[2], status;
	size_t n;
	pid_t pid;

	/* Schema and one committed student exist before the crash. */
	db = open_db();
	add_student(db, "before", "c");
	db_close(db);

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(p[1], commit);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	close(p[0]);

	snprintf(walpath, sizeof(walpath), "%s-wal", dbpath);
	ck_assert_int_eq(stat(walpath, &sb), 0);
	ck_assert_int_gt(sb.st_size, 1024 * 1024);     /* the pages did reach the file */

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	db = open_db();
	ck_assert_int_eq(db_student_list(db, "crash", &v, &n), 0);
	ck_assert_uint_eq(n, want);
	if (want)
		ck_assert_uint_eq(strlen(v[99].keys), CRASH_KEYS_LEN);
	db_student_list_free(v, n);
	ck_assert_int_eq(db_student_list(db, "c", &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	db_student_list_free(v, n);
	db_close(db);

	raw_text("PRAGMA integrity_check", ok, sizeof(ok));
	ck_assert_str_eq(ok, "ok");
}

START_TEST(db_kill9_before_commit_leaves_nothing)
{
	crash_run(false, 0);
}
END_TEST

START_TEST(db_kill9_after_commit_keeps_everything)
{
	crash_run(true, 100);
}
END_TEST

Suite *make_db_suite(void);
Suite *make_db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, db_open_creates_schema_v1_mode_0600);
	tcase_add_test(tc, db_open_sets_wal_journal_mode);
	tcase_add_test(tc, db_reopen_keeps_data_and_schema);
	tcase_add_test(tc, db_open_refuses_newer_schema);
	tcase_add_test(tc, db_open_migrates_an_empty_file);
	tcase_add_test(tc, db_student_round_trips_and_lists_by_class);
	tcase_add_test(tc, db_student_get_missing_is_enoent);
	tcase_add_test(tc, db_student_duplicate_id_is_eexist);
	tcase_add_test(tc, db_student_set_keys_and_reset_bump_generation);
	tcase_add_test(tc, db_student_name_with_sql_is_stored_verbatim);
	tcase_add_test(tc, db_alloc_round_trips_and_updates);
	tcase_add_test(tc, db_alloc_for_unknown_student_is_enoent);
	tcase_add_loop_test(tc, db_alloc_duplicate_is_eexist_and_rollback_leaves_nothing,
			    0, 5);
	tcase_add_test(tc, db_same_port_on_other_public_ip_is_allowed);
	tcase_add_test(tc, db_begin_twice_is_einval_and_rollback_outside_is_noop);
	tcase_add_test(tc, db_alloc_delete_frees_index_and_endpoint_in_order);
	tcase_add_test(tc, db_student_delete_cascades_and_frees_history);
	tcase_add_test(tc, db_audit_survives_unenrol_and_lists_newest);
	tcase_add_test(tc, db_kill9_before_commit_leaves_nothing);
	tcase_add_test(tc, db_kill9_after_commit_keeps_everything);
	suite_add_tcase(s, tc);
	return s;
}
