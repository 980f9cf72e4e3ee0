/*
 * labd's operations (labd/ops.h). Each op of labd/request.c's table has its function in
 * the table at the end of this file: it checks the request against the database, records
 * what it decided, and either fills the reply (0) or starts a bulk request (1) whose
 * tasks report back through ops_task_done.
 */
#include "labd/ops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/sshkey.h"
#include "common/student.h"
#include "labd/listing.h"
#include "labd/names.h"
#include "labd/request.h"
#include "labd/task.h"

/* A bulk request: one final reply after every student's task came back. */
struct ops_request {
	struct labd *l;
	struct ops_sink sink;         /* .reply NULL once the client went away */
	int64_t id;
	char op[16];
	unsigned total, done, failed;
	bool queueing;                /* ops_handle is still queueing its tasks */
	json_object *results;         /* array of {student, ok, error?} */
	json_object *extra;           /* more fields for the final reply, or NULL */
};

struct op_ctx {
	struct labd *l;
	const struct ops_sink *sink;
	struct labd_req *req;
	struct proto_error e;
	json_object *reply;           /* ok reply being filled */
	struct ops_request *r;        /* the bulk request the op started */
};

/* 0: reply now with x->reply; 1: bulk request x->r started; <0: refused, x->e says why. */
typedef int (*op_fn)(struct op_ctx *x);

/* ------------------------------------------------------------ bulk requests */

static struct ops_request *request_new(struct op_ctx *x, unsigned total)
{
	struct ops_request *r = calloc(1, sizeof(*r));

	if (!r || !(r->results = json_object_new_array())) {
		free(r);
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		return NULL;
	}
	r->l = x->l;
	r->sink = *x->sink;
	r->id = x->req->id;
	snprintf(r->op, sizeof(r->op), "%s", labd_ops[x->req->op].name);
	r->total = total;
	r->queueing = true;
	x->r = r;
	return r;
}

/* The final reply, and R is gone. */
static void request_finish(struct ops_request *r)
{
	json_object *reply;

	/* Volume files labd wrote for this request become visible in libvirt (virsh
	 * vol-list) before the reply says the request is done. */
	if (host_pool_sync(&r->l->host) < 0)
		log_warnx("%s: the storage pool was not refreshed; libvirt lists the new volumes "
			  "at its next refresh", r->op);
	if (r->sink.reply) {
		if (r->failed) {
			struct proto_error e;

			proto_error_set(&e, PROTO_E_PARTIAL, "%s: %u of %u students failed", r->op,
					r->failed, r->total);
			reply = proto_new_error(r->id, &e);
		} else {
			reply = proto_new_ok(r->id);
		}
		json_object_object_add(reply, "results", json_object_get(r->results));
		if (r->extra) {
			json_object_object_foreach(r->extra, key, val)
				json_object_object_add(reply, key, json_object_get(val));
		}
		r->sink.reply(r->sink.ctx, reply, true);
		json_object_put(reply);
	}
	json_object_put(r->results);
	json_object_put(r->extra);
	free(r);
}

/* STUDENT of R is done: RESULT 0, or -errno with MESSAGE. */
static void request_progress(struct ops_request *r, const char *student, int result,
			     const char *message)
{
	json_object *res = json_object_new_object(), *ev;

	r->done++;
	json_object_object_add(res, "student", json_object_new_string(student));
	json_object_object_add(res, "ok", json_object_new_boolean(result == 0));
	if (result < 0) {
		json_object *err = json_object_new_object();

		r->failed++;
		json_object_object_add(err, "code",
				       json_object_new_string(proto_errno_code(result)));
		json_object_object_add(err, "message", json_object_new_string(message));
		json_object_object_add(res, "error", err);
	}
	json_object_array_add(r->results, res);
	if (r->sink.reply) {
		ev = proto_new_event(r->id, "progress");
		json_object_object_add(ev, "done", json_object_new_int((int)r->done));
		json_object_object_add(ev, "total", json_object_new_int((int)r->total));
		json_object_object_add(ev, "student", json_object_new_string(student));
		json_object_object_add(ev, "ok", json_object_new_boolean(result == 0));
		r->sink.reply(r->sink.ctx, ev, false);
		json_object_put(ev);
	}
	if (r->done == r->total && !r->queueing)
		request_finish(r);
}

/* A task's report (labd/task.h), on the main thread. */
static void ops_task_done(void *arg, const char *student, int result, const char *error)
{
	request_progress(arg, student, result, error);
}

/* Queues KIND for STUDENT under R; a refusal counts as that student's result. */
static void request_submit(struct ops_request *r, enum task_kind kind, const char *student,
			   bool force)
{
	char msg[512];
	int ret = task_submit(r->l, kind, student, force, ops_task_done, r, msg, sizeof(msg));

	if (ret < 0)
		request_progress(r, student, ret, msg);
}

void ops_request_detach(struct ops_request *r)
{
	if (r)
		r->sink.reply = NULL;
}

/* ------------------------------------------------------------------- helpers */

static int db_refusal(struct op_ctx *x, int ret, const char *what)
{
	proto_error_set(&x->e, PROTO_E_INTERNAL, "database error (%s); %s", strerror(-ret), what);
	return ret < 0 ? ret : -EIO;
}

static bool str_same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* "'ID' is still being created / being removed; AFTER" for a student not ready. */
static void not_ready(char *msg, size_t len, const char *id, enum db_alloc_state st,
		      const char *after)
{
	snprintf(msg, len, "'%s' is %s; %s", id,
		 st == DB_ALLOC_CREATING ? "still being created" : "being removed", after);
}

/* ---------------------------------------------------------------------- enrol */

/* Is REC exactly what S already is (same class, name, email and keys)? */
static bool enrol_same_row(const struct conf_class *cls, const struct student_rec *rec,
			   const struct db_student *s)
{
	char *keys = NULL;
	bool same = sshkey_join(rec->keys, rec->n_keys, &keys) == 0 &&
		    strcmp(keys, s->keys) == 0 && strcmp(cls->name, s->class) == 0 &&
		    str_same(rec->name, s->name) && str_same(rec->email, s->email);

	free(keys);
	return same;
}

/* Step 2: every row against the database and the pools. ALREADY[i]: row i is enrolled
 * exactly so already (an enrol re-run after an error or a crash). */
static int enrol_check(struct op_ctx *x, bool *already, size_t *n_new)
{
	struct labd_enrol *en = &x->req->enrol;
	char msg[512];
	size_t i;
	int ret;

	*n_new = 0;
	for (i = 0; i < en->n; i++) {
		struct db_student s = { 0 };

		if (!en->recs[i].id)
			continue;
		ret = db_student_get(x->l->db, en->recs[i].id, &s);
		if (ret < 0 && ret != -ENOENT)
			return db_refusal(x, ret, "nothing was created");
		if (ret == 0) {
			/* The same row again is done already; a different one is a mistake. */
			if (enrol_same_row(en->cls, &en->recs[i], &s))
				already[i] = true;
			else
				student_errors_add(&en->errs, en->recs[i].line, "'%s' is already "
						   "enrolled (class %s)", en->recs[i].id, s.class);
			db_student_free(&s);
		}
		if (!already[i])
			(*n_new)++;
	}
	if (alloc_check_batch(x->l->pools.index, x->l->pools.endpoint, (uint32_t)*n_new, msg,
			      sizeof(msg)) < 0)
		student_errors_add(&en->errs, 0, "%s", msg);
	return labd_request_enrol_finish(en, &x->e);
}

/* What step 3 took from the pools, to give back if its transaction fails. */
struct enrol_taken {
	uint32_t *idx;
	struct alloc_endpoint *ep;
	size_t n;
};

/* Inserts REC with a fresh index and endpoint (in the open transaction). */
static int enrol_insert(struct op_ctx *x, const struct student_rec *rec, struct enrol_taken *tk)
{
	struct labd *l = x->l;
	const struct conf_class *cls = x->req->enrol.cls;
	struct db_student s = { .id = rec->id, .class = cls->name, .name = rec->name,
				.email = rec->email && rec->email[0] ? rec->email : NULL };
	struct alloc_endpoint ep;
	struct in_addr ip;
	uint8_t mac[6];
	uint32_t idx;
	char ipbuf[INET_ADDRSTRLEN], pubbuf[INET_ADDRSTRLEN], macbuf[ADDR_MAC_STRLEN];
	char dom[NAMES_LEN], ov[NAMES_LEN], sd[NAMES_LEN], msg[512];
	struct db_alloc a;
	int ret;

	if ((ret = sshkey_join(rec->keys, rec->n_keys, &s.keys)) < 0)
		return db_refusal(x, ret, "nothing was created");
	ret = db_student_insert(l->db, &s);
	free(s.keys);
	if (ret < 0)
		return db_refusal(x, ret, "nothing was created");
	if ((ret = alloc_index_take(l->pools.index, &idx, msg, sizeof(msg))) < 0)
		goto refused;
	tk->idx[tk->n] = idx;
	if ((ret = alloc_endpoint_take(l->pools.endpoint, &ep, msg, sizeof(msg))) < 0) {
		alloc_index_release(l->pools.index, idx, ALLOC_SEQ_NEXT);
		goto refused;
	}
	tk->ep[tk->n++] = ep;
	alloc_index_addrs(l->pools.index, idx, &ip, mac);
	inet_ntop(AF_INET, &ip, ipbuf, sizeof(ipbuf));
	inet_ntop(AF_INET, &ep.addr, pubbuf, sizeof(pubbuf));
	addr_format_mac(mac, macbuf);
	if (names_build(NAME_DOMAIN, rec->id, dom, sizeof(dom)) < 0 ||
	    names_build(NAME_OVERLAY, rec->id, ov, sizeof(ov)) < 0 ||
	    names_build(NAME_SEED, rec->id, sd, sizeof(sd)) < 0)
		return db_refusal(x, -ENAMETOOLONG, "nothing was created");
	a = (struct db_alloc){
		.student = rec->id, .idx = idx, .mac = macbuf, .ip = ipbuf, .public_ip = pubbuf,
		.public_port = ep.port, .domain = dom, .overlay_vol = ov, .seed_vol = sd,
		.base_image = cls->base_image, .state = DB_ALLOC_CREATING,
	};
	if ((ret = db_alloc_insert(l->db, &a)) < 0 ||
	    (ret = db_audit_add(l->db, (int64_t)x->sink->uid, "enrol", rec->id, pubbuf, ep.port,
				cls->name)) < 0)
		return db_refusal(x, ret, "nothing was created");
	return 0;
refused:
	proto_error_set(&x->e, PROTO_E_INVALID, "%s", msg);
	return ret;
}

/* Step 3: everyone new in one transaction; all or nothing, pools included. */
static int enrol_allocate(struct op_ctx *x, const bool *already, size_t n_new)
{
	struct labd_enrol *en = &x->req->enrol;
	struct enrol_taken tk = { calloc(n_new, sizeof(*tk.idx)), calloc(n_new, sizeof(*tk.ep)), 0 };
	size_t i;
	int ret;

	if (!tk.idx || !tk.ep) {
		ret = db_refusal(x, -ENOMEM, "nothing was created");
		goto out;
	}
	if ((ret = db_begin(x->l->db)) < 0) {
		db_refusal(x, ret, "nothing was created");
		goto out;
	}
	for (i = 0; i < en->n && ret == 0; i++)
		if (!already[i])
			ret = enrol_insert(x, &en->recs[i], &tk);
	if (ret == 0 && (ret = db_commit(x->l->db)) < 0)
		db_refusal(x, ret, "nothing was created");
	if (ret < 0) {
		(void)db_rollback(x->l->db);     /* a failure is logged by db.c */
		for (i = 0; i < tk.n; i++)
			pools_release(&x->l->pools, tk.idx[i], tk.ep[i]);
	}
out:
	free(tk.idx);
	free(tk.ep);
	return ret;
}

/* A row of a re-run enrol whose student exists: done when it is ready (started, unless
 * the enrol says --no-start); busy while a creation (e.g. reconcile's) is in flight. */
static void enrol_finish_existing(struct ops_request *r, const char *id, bool start)
{
	struct db_alloc a = { 0 };
	char msg[512];
	int ret = db_alloc_get(r->l->db, id, &a);

	if (ret < 0) {
		snprintf(msg, sizeof(msg), "'%s' is enrolled but has no allocation (see labd's "
			 "log)", id);
		request_progress(r, id, -EIO, msg);
	} else if (a.state != DB_ALLOC_READY) {
		not_ready(msg, sizeof(msg), id, a.state, "run the enrol again when that finished");
		request_progress(r, id, -EBUSY, msg);
	} else if (!start) {
		request_progress(r, id, 0, NULL);
	} else {
		request_submit(r, TASK_START, id, false);
	}
	db_alloc_free(&a);
}

static int op_enrol(struct op_ctx *x)
{
	struct labd_enrol *en = &x->req->enrol;
	struct ops_request *r;
	bool *already = calloc(en->n ? en->n : 1, sizeof(*already));
	size_t n_new = 0, i;
	int ret = -ENOMEM;

	if (!already) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		goto out;
	}
	if ((ret = enrol_check(x, already, &n_new)) < 0 ||
	    (n_new && (ret = enrol_allocate(x, already, n_new)) < 0))
		goto out;
	/* Step 4: one task per student. */
	ret = -ENOMEM;
	if (!(r = request_new(x, (unsigned)en->n)))
		goto out;
	log_info("enrol: %zu students in class %s (uid %u)%s", n_new, en->cls->name,
		 (unsigned)x->sink->uid, n_new < en->n ? "; the others were enrolled already" : "");
	for (i = 0; i < en->n; i++) {
		/* The flag of a create task means "define only, leave it off". */
		if (!already[i])
			request_submit(r, TASK_CREATE, en->recs[i].id, !en->start);
	}
	for (i = 0; i < en->n; i++) {
		if (already[i])
			enrol_finish_existing(r, en->recs[i].id, en->start);
	}
	ret = 1;
out:
	free(already);
	return ret;
}

/* ------------------------------------------------------------- bulk operations */

/* The ids a bulk op names: "students", or every student ("all", within "class"). */
static int op_targets(struct op_ctx *x, char ***ids, size_t *n)
{
	struct labd_targets *t = &x->req->targets;
	struct db_student *list = NULL;
	size_t m = 0, i;
	int ret;

	if (!t->all)
		goto done;
	if ((ret = db_student_list(x->l->db, t->cls ? t->cls->name : NULL, &list, &m)) < 0)
		return db_refusal(x, ret, "nothing was done");
	t->ids = calloc(m ? m : 1, sizeof(*t->ids));
	for (i = 0; t->ids && i < m; i++) {
		if (!(t->ids[t->n] = strdup(list[i].id)))
			break;
		t->n++;
	}
	db_student_list_free(list, m);
	if (!t->ids || t->n < m) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
done:
	*ids = t->ids;
	*n = t->n;
	return 0;
}

/* Reset and unenrol change the student's record first: a new generation (the seed's
 * instance-id) / the 'deleting' state, with the audit entry, in one transaction. */
static int bulk_record(struct op_ctx *x, enum task_kind kind, const struct db_alloc *a)
{
	struct db *db = x->l->db;
	const char *action = kind == TASK_RESET ? "reset" : "unenrol";
	int ret;

	if (kind != TASK_RESET && kind != TASK_REMOVE)
		return db_audit_add(db, (int64_t)x->sink->uid, task_kind_name(kind), a->student,
				    NULL, 0, NULL);
	if ((ret = db_begin(db)) < 0)
		return ret;
	ret = kind == TASK_RESET ? db_student_bump_generation(db, a->student, NULL)
				 : db_alloc_set_state(db, a->student, DB_ALLOC_DELETING);
	if (ret == 0)
		ret = db_audit_add(db, (int64_t)x->sink->uid, action, a->student, a->public_ip,
				   a->public_port, NULL);
	if (ret == 0 && (ret = db_commit(db)) == 0)
		return 0;
	(void)db_rollback(db);     /* a failure is logged by db.c */
	return ret;
}

static void bulk_one(struct op_ctx *x, enum task_kind kind, const char *id, bool force)
{
	struct db_alloc a = { 0 };
	char msg[512];
	int ret = db_alloc_get(x->l->db, id, &a);

	if (ret == 0 && a.state != DB_ALLOC_READY) {
		not_ready(msg, sizeof(msg), id, a.state, "try again when that finished");
		ret = -EBUSY;
	} else if (ret == -ENOENT) {
		snprintf(msg, sizeof(msg), "'%s' is not enrolled", id);
	} else if (ret < 0 || (ret = bulk_record(x, kind, &a)) < 0) {
		snprintf(msg, sizeof(msg), "'%s': database error (%s); nothing was changed", id,
			 strerror(-ret));
	} else if ((ret = task_submit(x->l, kind, id, force, ops_task_done, x->r, msg,
				      sizeof(msg))) < 0 && kind == TASK_REMOVE) {
		/* Nothing was queued: the student is not being removed after all. */
		if (db_alloc_set_state(x->l->db, id, DB_ALLOC_READY) < 0)
			log_warnx("%s: left 'deleting' in the database; labd removes it at its "
				  "next start", id);
	}
	db_alloc_free(&a);
	if (ret < 0)
		request_progress(x->r, id, ret, msg);
}

static int op_bulk(struct op_ctx *x, enum task_kind kind)
{
	char **ids = NULL;
	size_t n = 0, i;

	if (op_targets(x, &ids, &n) < 0)
		return -EINVAL;
	if (n == 0) {
		json_object_object_add(x->reply, "results", json_object_new_array());
		return 0;
	}
	if (!request_new(x, (unsigned)n))
		return -ENOMEM;
	log_info("%s: %zu students (uid %u)", labd_ops[x->req->op].name, n,
		 (unsigned)x->sink->uid);
	for (i = 0; i < n; i++)
		bulk_one(x, kind, ids[i], x->req->force);
	return 1;
}

static int op_unenrol(struct op_ctx *x) { return op_bulk(x, TASK_REMOVE); }
static int op_start(struct op_ctx *x) { return op_bulk(x, TASK_START); }
static int op_stop(struct op_ctx *x) { return op_bulk(x, TASK_STOP); }
static int op_reboot(struct op_ctx *x) { return op_bulk(x, TASK_REBOOT); }
static int op_reset(struct op_ctx *x) { return op_bulk(x, TASK_RESET); }

/* ------------------------------------------------------------------- set-keys */

/* New keys and their audit entry, in one transaction; *GEN gets the new generation. */
static int set_keys_record(struct op_ctx *x, const char *id, const char *keys, int64_t *gen)
{
	struct db *db = x->l->db;
	int ret = db_begin(db);

	if (ret == 0 && (ret = db_student_update_keys(db, id, keys, gen)) == 0 &&
	    (ret = db_audit_add(db, (int64_t)x->sink->uid, "set-keys", id, NULL, 0, NULL)) == 0 &&
	    (ret = db_commit(db)) == 0)
		return 0;
	(void)db_rollback(db);     /* a failure is logged by db.c */
	return ret;
}

static int op_set_keys(struct op_ctx *x)
{
	const char *id = x->req->student;
	struct student_rec rec = { 0 };
	struct db_student s = { 0 };
	struct ops_request *r;
	char *joined = NULL;
	int64_t gen = 0;
	int ret = db_student_get(x->l->db, id, &s);

	if (ret == -ENOENT) {
		labd_request_not_enrolled(id, &x->e);
		return -ENOENT;
	}
	if (ret < 0)
		return db_refusal(x, ret, "nothing was changed");
	if ((ret = labd_request_check_keys(id, s.name, s.email, x->req->keys, &rec, &x->e)) < 0)
		goto out;
	if ((ret = sshkey_join(rec.keys, rec.n_keys, &joined)) < 0 ||
	    (ret = set_keys_record(x, id, joined, &gen)) < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "could not store the keys");
		goto out;
	}
	ret = -ENOMEM;
	if (!(r = request_new(x, 1)))
		goto out;
	r->extra = json_object_new_object();
	json_object_object_add(r->extra, "generation", json_object_new_int64(gen));
	json_object_object_add(r->extra, "note", json_object_new_string(
		"the new keys take effect at the VM's next boot (labctl reboot ID); cloud-init "
		"images add them to the existing authorized_keys"));
	request_submit(r, TASK_SEED, id, false);
	ret = 1;
out:
	free(joined);
	student_rec_clear(&rec);
	db_student_free(&s);
	return ret;
}

/* ---------------------------------------------------- list, sheet, status: reads */

/* list and sheet: one query, the view for the states; no libvirt call (listing.c). */
static int op_roster(struct op_ctx *x, bool sheet)
{
	int ret;
	json_object *arr = sheet ? listing_sheet(x->l, &x->req->filter, &ret)
				 : listing_students(x->l, &x->req->filter, &ret);

	if (!arr) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, ret == -ENOMEM ? "out of memory"
								    : "database error");
		return ret;
	}
	json_object_object_add(x->reply, sheet ? "entries" : "students", arr);
	return 0;
}

static int op_list(struct op_ctx *x) { return op_roster(x, false); }
static int op_sheet(struct op_ctx *x) { return op_roster(x, true); }

static json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

static int op_status(struct op_ctx *x)
{
	struct labd *l = x->l;
	struct db_alloc *as = NULL;
	size_t n = 0, i, running = 0;
	json_object *classes, *rep = x->reply;
	int ret = db_alloc_list(l->db, NULL, &as, &n);

	if (ret < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "database error");
		return ret;
	}
	for (i = 0; i < n && l->view.synced; i++) {
		struct vm *vm = vmview_find(&l->view, as[i].student);

		running += vm && vm->state == VM_RUNNING;
	}
	db_alloc_list_free(as, n);
	classes = json_object_new_array();
	for (i = 0; i < l->conf.n_classes; i++)
		json_object_array_add(classes, jstr(l->conf.classes[i].name));
	json_object_object_add(rep, "version", jstr(LABD_VERSION));
	json_object_object_add(rep, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(rep, "uptime_s",
			       json_object_new_int64((int64_t)(time(NULL) - l->started)));
	json_object_object_add(rep, "classes", classes);
	json_object_object_add(rep, "students", json_object_new_int((int)n));
	json_object_object_add(rep, "running", json_object_new_int((int)running));
	json_object_object_add(rep, "free_endpoints",
			       json_object_new_int64(alloc_endpoint_free_count(l->pools.endpoint)));
	json_object_object_add(rep, "netd", json_object_new_boolean(l->netd.synced(l->netd.ctx)));
	json_object_object_add(rep, "libvirt", json_object_new_boolean(l->view.synced));
	json_object_object_add(rep, "tasks", json_object_new_int64((int64_t)jobs_pending(l->jobs)));
	return 0;
}

/* --------------------------------------------------------------------- entry */

/* One function per op of labd_ops (labd/request.c). */
static const op_fn runs[LABD_OP_COUNT] = {
	[LABD_OP_ENROL] = op_enrol,     [LABD_OP_UNENROL] = op_unenrol,
	[LABD_OP_LIST] = op_list,       [LABD_OP_START] = op_start,
	[LABD_OP_STOP] = op_stop,       [LABD_OP_REBOOT] = op_reboot,
	[LABD_OP_RESET] = op_reset,     [LABD_OP_SET_KEYS] = op_set_keys,
	[LABD_OP_SHEET] = op_sheet,     [LABD_OP_STATUS] = op_status,
};

static void reply_error(const struct ops_sink *sink, struct labd_req *req, struct proto_error *e)
{
	json_object *reply;

	if (!e->code)
		proto_error_set(e, PROTO_E_INTERNAL, "request failed");
	log_debug("request refused: %s", e->message);
	reply = proto_new_error(req->id, e);
	if (req->enrol.errors)
		json_object_object_add(reply, "errors", json_object_get(req->enrol.errors));
	sink->reply(sink->ctx, reply, true);
	json_object_put(reply);
}

struct ops_request *ops_handle(struct labd *l, const struct ops_sink *sink, const char *line,
			       size_t len)
{
	struct labd_req req;
	struct op_ctx x = { .l = l, .sink = sink, .req = &req };
	struct ops_request *r = NULL;
	int ret = labd_request_parse(line, len, &l->conf, &req, &x.e);

	if (ret == 0) {
		x.reply = proto_new_ok(req.id);
		ret = runs[req.op](&x);
	}
	if (ret == 0) {
		sink->reply(sink->ctx, x.reply, true);
	} else if (ret == 1) {
		/* Students refused while queueing are counted already: finish if that was all. */
		r = x.r;
		r->queueing = false;
		if (r->done == r->total) {
			request_finish(r);
			r = NULL;
		}
	} else {
		reply_error(sink, &req, &x.e);
	}
	json_object_put(x.reply);
	labd_req_clear(&req);
	return r;
}
