/* The fake lab of the labd unit tests (tests/unit/fakelab.h). */
#include "tests/unit/fakelab.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "labd/ops.h"
#include "labd/xml.h"

/* ------------------------------------------------------------------ the host */

/* The error a rule sets for OP on NAME, or 0; counts the call. Called locked. */
static int fake_rule(struct fakehost *h, const char *op, const char *name)
{
	size_t i;

	h->calls++;
	for (i = 0; i < h->n_rules; i++) {
		struct fake_rule *r = &h->rules[i];

		if (strcmp(r->op, op) != 0 || (r->name[0] && (!name || strcmp(r->name, name))))
			continue;
		if (r->times == 1)
			r->op[0] = '\0';   /* used up */
		else if (r->times > 1)
			r->times--;
		return r->err;
	}
	return 0;
}

static struct fake_dom *dom_find(struct fakehost *h, const char *name)
{
	for (size_t i = 0; i < h->n_doms; i++)
		if (strcmp(h->doms[i].name, name) == 0)
			return &h->doms[i];
	return NULL;
}

static ssize_t vol_find(struct fakehost *h, const char *name)
{
	for (size_t i = 0; i < h->n_vols; i++)
		if (strcmp(h->vols[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

#define LOCKED(h, op, name)                                  \
	int ret_;                                            \
	pthread_mutex_lock(&(h)->lock);                      \
	ret_ = fake_rule((h), (op), (name));                 \
	if (ret_ < 0) {                                      \
		pthread_mutex_unlock(&(h)->lock);            \
		return ret_;                                 \
	}

#define UNLOCK_RETURN(h, v)                                  \
	do {                                                 \
		pthread_mutex_unlock(&(h)->lock);            \
		return (v);                                  \
	} while (0)

static bool f_connected(void *ctx)
{
	struct fakehost *h = ctx;
	bool c;

	pthread_mutex_lock(&h->lock);
	c = h->connected;
	pthread_mutex_unlock(&h->lock);
	return c;
}

static int f_base_probe(void *ctx, const char *path, char format[8], uint64_t *size)
{
	struct fakehost *h = ctx;

	LOCKED(h, "base_probe", path);
	snprintf(format, 8, "qcow2");
	*size = 1ull << 30;
	UNLOCK_RETURN(h, 0);
}

static char *f_vol_path(void *ctx, const char *name)
{
	struct fakehost *h = ctx;
	char *p;

	if (asprintf(&p, "%s/%s", h->pool_dir, name) < 0)
		return NULL;
	return p;
}

static int f_vol_exists(void *ctx, const char *name)
{
	struct fakehost *h = ctx;

	LOCKED(h, "vol_exists", name);
	UNLOCK_RETURN(h, vol_find(h, name) >= 0);
}

static int vol_add(struct fakehost *h, const char *name)
{
	if (vol_find(h, name) >= 0)
		return -EEXIST;
	if (h->n_vols == FAKE_MAX)
		return -ENOSPC;
	snprintf(h->vols[h->n_vols++], sizeof(h->vols[0]), "%s", name);
	return 0;
}

static int f_vol_create_overlay(void *ctx, const char *name, const char *base_path,
				const char *base_format, uint64_t capacity)
{
	struct fakehost *h = ctx;

	LOCKED(h, "vol_create_overlay", name);
	UNLOCK_RETURN(h, vol_add(h, name));
}

static int f_vol_create_raw(void *ctx, const char *name, const uint8_t *data, size_t len)
{
	struct fakehost *h = ctx;

	LOCKED(h, "vol_create_raw", name);
	UNLOCK_RETURN(h, vol_add(h, name));
}

static int f_vol_rewrite(void *ctx, const char *name, const uint8_t *data, size_t len)
{
	struct fakehost *h = ctx;

	LOCKED(h, "vol_rewrite", name);
	if (vol_find(h, name) < 0)
		UNLOCK_RETURN(h, -ENOENT);
	h->rewrites++;
	UNLOCK_RETURN(h, 0);
}

static void vol_remove(struct fakehost *h, const char *name)
{
	ssize_t i = vol_find(h, name);

	if (i < 0)
		return;
	memmove(h->vols[i], h->vols[i + 1], (h->n_vols - (size_t)i - 1) * sizeof(h->vols[0]));
	h->n_vols--;
}

static int f_vol_delete(void *ctx, const char *name)
{
	struct fakehost *h = ctx;

	LOCKED(h, "vol_delete", name);
	vol_remove(h, name);
	UNLOCK_RETURN(h, 0);
}

static int f_vol_list(void *ctx, char ***names, size_t *n)
{
	struct fakehost *h = ctx;
	size_t i;

	LOCKED(h, "vol_list", NULL);
	*names = calloc(h->n_vols + 1, sizeof(**names));
	for (i = 0; i < h->n_vols; i++)
		(*names)[i] = strdup(h->vols[i]);
	*n = h->n_vols;
	UNLOCK_RETURN(h, 0);
}

static int f_pool_sync(void *ctx)
{
	struct fakehost *h = ctx;

	LOCKED(h, "pool_sync", NULL);
	h->pool_syncs++;
	UNLOCK_RETURN(h, 0);
}

/* The text between <TAG> and </TAG> in XML. */
static void xml_text(const char *xml, const char *tag, char *out, size_t len)
{
	char open[32], close[32];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	out[0] = '\0';
	if (!(a = strstr(xml, open)) || !(b = strstr(a, close)))
		return;
	a += strlen(open);
	snprintf(out, len, "%.*s", (int)(b - a), a);
}

static int f_dom_define(void *ctx, const char *xml, bool autostart)
{
	struct fakehost *h = ctx;
	char name[64], student[33] = "";
	struct fake_dom *d;

	xml_text(xml, "name", name, sizeof(name));
	LOCKED(h, "dom_define", name);
	if (xml_domain_read_owner(xml, student, sizeof(student), NULL, 0, NULL) < 0)
		student[0] = '\0';
	if (!(d = dom_find(h, name))) {
		if (h->n_doms == FAKE_MAX)
			UNLOCK_RETURN(h, -ENOSPC);
		d = &h->doms[h->n_doms++];
		snprintf(d->name, sizeof(d->name), "%s", name);
		d->state = VIRT_SHUTOFF;
	}
	snprintf(d->student, sizeof(d->student), "%s", student);
	UNLOCK_RETURN(h, 0);
}

/* NAME set to STATE; -ENOENT when it does not exist (like the virt_dom_* calls). */
static int dom_set(struct fakehost *h, const char *op, const char *name, enum virt_state st)
{
	struct fake_dom *d;

	LOCKED(h, op, name);
	if (!(d = dom_find(h, name)))
		UNLOCK_RETURN(h, -ENOENT);
	d->state = st;
	UNLOCK_RETURN(h, 0);
}

static int f_dom_start(void *ctx, const char *name)
{
	return dom_set(ctx, "dom_start", name, VIRT_RUNNING);
}

static int f_dom_stop(void *ctx, const char *name, unsigned timeout_s, bool force)
{
	return dom_set(ctx, "dom_stop", name, VIRT_SHUTOFF);
}

static int f_dom_reboot(void *ctx, const char *name)
{
	return dom_set(ctx, "dom_reboot", name, VIRT_RUNNING);
}

static int f_dom_remove(void *ctx, const char *name)
{
	struct fakehost *h = ctx;
	struct fake_dom *d;

	LOCKED(h, "dom_remove", name);
	if (!(d = dom_find(h, name)))
		UNLOCK_RETURN(h, 0);
	if (!d->student[0])
		UNLOCK_RETURN(h, -EPERM);   /* not labd's: virt_dom_remove leaves it */
	*d = h->doms[--h->n_doms];
	UNLOCK_RETURN(h, 0);
}

static int f_dom_state(void *ctx, const char *name, enum virt_state *state)
{
	struct fakehost *h = ctx;
	struct fake_dom *d;

	LOCKED(h, "dom_state", name);
	d = dom_find(h, name);
	*state = d ? d->state : VIRT_MISSING;
	UNLOCK_RETURN(h, 0);
}

static int f_dom_list_owned(void *ctx, struct virt_owned **out, size_t *n)
{
	struct fakehost *h = ctx;
	size_t i;

	LOCKED(h, "dom_list_owned", NULL);
	*out = calloc(h->n_doms + 1, sizeof(**out));
	*n = 0;
	for (i = 0; i < h->n_doms; i++) {
		struct virt_owned *o = &(*out)[*n];

		if (!h->doms[i].student[0])
			continue;
		o->domain = strdup(h->doms[i].name);
		o->student = strdup(h->doms[i].student);
		o->class_name = strdup("test");
		o->state = h->doms[i].state;
		(*n)++;
	}
	UNLOCK_RETURN(h, 0);
}

static const struct host_ops fake_host_ops = {
	.connected = f_connected,
	.base_probe = f_base_probe,
	.vol_path = f_vol_path,
	.vol_exists = f_vol_exists,
	.vol_create_overlay = f_vol_create_overlay,
	.vol_create_raw = f_vol_create_raw,
	.vol_rewrite = f_vol_rewrite,
	.vol_delete = f_vol_delete,
	.vol_list = f_vol_list,
	.pool_sync = f_pool_sync,
	.dom_define = f_dom_define,
	.dom_start = f_dom_start,
	.dom_stop = f_dom_stop,
	.dom_reboot = f_dom_reboot,
	.dom_remove = f_dom_remove,
	.dom_state = f_dom_state,
	.dom_list_owned = f_dom_list_owned,
};

void fakehost_fail(struct fakehost *h, const char *op, const char *name, int err,
		   unsigned times)
{
	struct fake_rule *r;

	pthread_mutex_lock(&h->lock);
	ck_assert_uint_lt(h->n_rules, sizeof(h->rules) / sizeof(h->rules[0]));
	r = &h->rules[h->n_rules++];
	snprintf(r->op, sizeof(r->op), "%s", op);
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	r->err = err;
	r->times = times;
	pthread_mutex_unlock(&h->lock);
}

void fakehost_clear_rules(struct fakehost *h)
{
	pthread_mutex_lock(&h->lock);
	h->n_rules = 0;
	pthread_mutex_unlock(&h->lock);
}

struct fake_dom *fakehost_dom(struct fakehost *h, const char *name)
{
	return dom_find(h, name);
}

bool fakehost_vol(struct fakehost *h, const char *name)
{
	return vol_find(h, name) >= 0;
}

void fakehost_add_dom(struct fakehost *h, const char *name, const char *student,
		      enum virt_state state)
{
	struct fake_dom *d = dom_find(h, name);

	if (!d) {
		ck_assert_uint_lt(h->n_doms, FAKE_MAX);
		d = &h->doms[h->n_doms++];
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->student, sizeof(d->student), "%s", student ? student : "");
	d->state = state;
}

void fakehost_add_vol(struct fakehost *h, const char *name)
{
	vol_add(h, name);
}

void fakehost_del_dom(struct fakehost *h, const char *name)
{
	struct fake_dom *d = dom_find(h, name);

	if (d)
		*d = h->doms[--h->n_doms];
}

void fakehost_del_vol(struct fakehost *h, const char *name)
{
	vol_remove(h, name);
}

size_t fakehost_count(struct fakehost *h, const char *student)
{
	char dom[64], pre[64];
	size_t i, n = 0;

	snprintf(dom, sizeof(dom), "vlab-%s", student);
	snprintf(pre, sizeof(pre), "vlab-%s.", student);
	n += dom_find(h, dom) != NULL;
	for (i = 0; i < h->n_vols; i++) {
		size_t k = strlen(dom);

		if (strncmp(h->vols[i], pre, strlen(pre)) == 0 ||
		    (strncmp(h->vols[i], dom, k) == 0 && strcmp(h->vols[i] + k, "-seed.iso") == 0))
			n++;
	}
	return n;
}

/* -------------------------------------------------------------------- netd */

static ssize_t netd_find(const struct fakenetd *n, const char *student)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->mapped[i], student) == 0)
			return (ssize_t)i;
	return -1;
}

static int fn_put(void *ctx, const struct db_alloc *a)
{
	struct fakenetd *n = ctx;

	n->puts++;
	if (netd_find(n, a->student) < 0 && n->n < FAKE_MAX)
		snprintf(n->mapped[n->n++], sizeof(n->mapped[0]), "%s", a->student);
	return 0;
}

static int fn_del(void *ctx, const char *student)
{
	struct fakenetd *n = ctx;
	ssize_t i = netd_find(n, student);

	n->dels++;
	if (i >= 0)
		memcpy(n->mapped[i], n->mapped[--n->n], sizeof(n->mapped[0]));
	return 0;
}

static bool fn_synced(void *ctx)
{
	return ((struct fakenetd *)ctx)->synced;
}

bool fakenetd_has(const struct fakenetd *n, const char *student)
{
	return netd_find(n, student) >= 0;
}

/* ------------------------------------------------------------------- the lab */

static const char conf_text[] =
	"state_dir = \"%1$s/state\";\n"
	"run_dir = \"%1$s/run\";\n"
	"network = { subnet = \"10.77.0.0/20\"; public = (\n"
	"  { address = \"203.0.113.10\"; ports = \"20000-20009\"; },\n"
	"  { address = \"203.0.113.11\"; ports = \"20000-20009\"; }); };\n"
	"labd = { database = \"%1$s/state/lab.db\"; pool_dir = \"%1$s/pool\";\n"
	"  domain_type = \"qemu\"; parallel = 2; stop_timeout = 1; restart_crashed = true; };\n"
	"classes = ( { name = \"test\"; base_image = \"%1$s/base.qcow2\"; user = \"student\"; } );\n";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

struct fakelab *fakelab_new(void)
{
	struct fakelab *f = calloc(1, sizeof(*f));
	char path[128], err[512];
	FILE *c;

	ck_assert_ptr_nonnull(f);
	log_setlevel(LOG_LVL_ERR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/check-labd-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/lab.conf", f->dir);
	c = fopen(path, "w");
	ck_assert_ptr_nonnull(c);
	fprintf(c, conf_text, f->dir);
	ck_assert_int_eq(fclose(c), 0);
	ck_assert_msg(conf_load(path, &f->l.conf, err, sizeof(err)) == 0, "%s", err);
	snprintf(path, sizeof(path), "%s/state", f->dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);

	pthread_mutex_init(&f->host.lock, NULL);
	f->host.connected = true;
	snprintf(f->host.pool_dir, sizeof(f->host.pool_dir), "%s/pool", f->dir);
	f->netd.synced = true;
	f->l.host = (struct host){ &fake_host_ops, &f->host };
	f->l.netd = (struct netd_api){ fn_put, fn_del, fn_synced, &f->netd };
	f->l.gid = (gid_t)-1;
	f->l.virt_timer = f->l.walk_timer = -1;
	f->l.running = true;
	f->l.started = time(NULL);
	ck_assert_int_eq(db_open(f->l.conf.database, &f->l.db), 0);
	ck_assert_int_eq(pools_load(&f->l.pools, &f->l.conf, f->l.db), 0);
	f->l.bases = calloc(f->l.conf.n_classes, sizeof(*f->l.bases));
	ck_assert_ptr_nonnull(f->l.bases);
	snprintf(f->l.bases[0].format, sizeof(f->l.bases[0].format), "qcow2");
	f->l.bases[0].size = 1ull << 30;
	ck_assert_int_eq(jobs_start(f->l.conf.parallel, &f->l.jobs), 0);
	f->l.view.synced = true;
	return f;
}

void fakelab_free(struct fakelab *f)
{
	if (!f)
		return;
	jobs_stop(f->l.jobs);
	json_object_put(f->sink.final);
	vmview_clear(&f->l.view);
	pools_free(&f->l.pools);
	db_close(f->l.db);
	free(f->l.bases);
	conf_free(&f->l.conf);
	pthread_mutex_destroy(&f->host.lock);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
}

void fakelab_wait(struct fakelab *f)
{
	long long end = clock_now_ms() + 20000;

	while (jobs_pending(f->l.jobs) > 0) {
		struct pollfd p = { .fd = jobs_fd(f->l.jobs), .events = POLLIN };

		ck_assert_msg(clock_now_ms() < end, "tasks still pending after 20 s");
		poll(&p, 1, 100);
		jobs_collect(f->l.jobs);
	}
}

static void sink_reply(void *ctx, json_object *msg, bool final)
{
	struct fakesink *s = ctx;

	if (!final) {
		s->events++;
		return;
	}
	ck_assert_ptr_null(s->final);
	/* What a client reads: the reply's line parsed again (list's students are text). */
	s->final = json_tokener_parse(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
	ck_assert_ptr_nonnull(s->final);
}

json_object *fakelab_call(struct fakelab *f, const char *line)
{
	struct ops_sink sink = { sink_reply, &f->sink, 0 };
	json_object *r;

	f->sink = (struct fakesink){ 0 };
	ops_handle(&f->l, &sink, line, strlen(line));
	fakelab_wait(f);
	ck_assert_msg(f->sink.final != NULL, "no final reply to %s", line);
	r = f->sink.final;
	f->sink.final = NULL;
	return r;
}

json_object *fakelab_enrol(struct fakelab *f, bool start, const char *const *ids)
{
	static const char *const keys[] = {
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC31T08tNOozJUBVtiJruM/AYkucAgC7msp2mdG0Tpj7",
	};
	json_object *req = json_object_new_object(), *rows = json_object_new_array(), *r;
	size_t i;

	json_object_object_add(req, "v", json_object_new_int(1));
	json_object_object_add(req, "op", json_object_new_string("enrol"));
	json_object_object_add(req, "start", json_object_new_boolean(start));
	for (i = 0; ids[i]; i++) {
		json_object *row = json_object_new_object();
		char name[64];

		snprintf(name, sizeof(name), "Student %s", ids[i]);
		json_object_object_add(row, "id", json_object_new_string(ids[i]));
		json_object_object_add(row, "name", json_object_new_string(name));
		json_object_object_add(row, "ssh_keys", json_object_new_string(keys[i % 2]));
		json_object_array_add(rows, row);
	}
	json_object_object_add(req, "students", rows);
	r = fakelab_call(f, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	return r;
}

bool reply_ok(json_object *reply)
{
	json_object *ok;

	return json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok);
}

const char *fakelab_json(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

const char *reply_message(json_object *reply)
{
	json_object *err, *msg;

	if (!json_object_object_get_ex(reply, "error", &err) ||
	    !json_object_object_get_ex(err, "message", &msg))
		return "";
	return json_object_get_string(msg);
}

static json_object *result_of(json_object *reply, const char *student)
{
	json_object *results, *r, *id;
	size_t i;

	if (!json_object_object_get_ex(reply, "results", &results))
		return NULL;
	for (i = 0; i < json_object_array_length(results); i++) {
		r = json_object_array_get_idx(results, i);
		if (json_object_object_get_ex(r, "student", &id) &&
		    strcmp(json_object_get_string(id), student) == 0)
			return r;
	}
	return NULL;
}

bool result_ok(json_object *reply, const char *student)
{
	json_object *r = result_of(reply, student), *ok;

	ck_assert_msg(r != NULL, "no result for %s", student);
	return json_object_object_get_ex(r, "ok", &ok) && json_object_get_boolean(ok);
}

const char *result_message(json_object *reply, const char *student)
{
	json_object *r = result_of(reply, student);

	ck_assert_msg(r != NULL, "no result for %s", student);
	return reply_message(r);
}

void fakelab_sql(struct fakelab *f, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open(f->l.conf.database, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_close(db);
}

long long fakelab_sql_int(struct fakelab *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(f->l.conf.database, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}
