/*
 * labd's operations (docs/protocol.md). Validation happens in full before anything is
 * created (the request itself in labd/request.c, which the fuzzer runs too; then against
 * the database); bulk operations queue one task per student and answer when all came back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/sshkey.h"
#include "common/student.h"
#include "labd/labd.h"
#include "labd/request.h"

struct op_ctx {
	struct labd *l;
	struct client *c;
	json_object *req;
	int64_t id;
	const char *op;
	struct proto_error e;
	json_object *reply;       /* ok reply being filled */
	json_object *errors;      /* validation errors (enrol) */
};

typedef int (*op_fn)(struct op_ctx *x);   /* 0 ok, 1 deferred (bulk), <0 error in x->e */

static char *keys_join(const struct sshkey *keys, size_t n)
{
	char *out = NULL, *line;
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		char *grown;
		size_t l;

		if (sshkey_format(&keys[i], &line) < 0)
			goto fail;
		l = strlen(line);
		grown = realloc(out, len + l + 2);
		if (!grown) {
			free(line);
			goto fail;
		}
		out = grown;
		memcpy(out + len, line, l);
		len += l;
		out[len++] = '\n';
		out[len] = '\0';
		free(line);
	}
	if (len)
		out[len - 1] = '\0';   /* no trailing newline */
	return out ? out : strdup("");
fail:
	free(out);
	return NULL;
}

static struct request *request_new(struct op_ctx *x, unsigned total)
{
	struct request *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->client = x->c;
	r->id = x->id;
	snprintf(r->op, sizeof(r->op), "%s", x->op);
	r->total = total;
	r->results = json_object_new_array();
	return r;
}

/* Immediate per-student failure inside a bulk request (nothing was queued for it). */
static void request_fail_now(struct labd *l, struct request *r, const char *student,
			     int ret, const char *msg)
{
	request_progress(l, r, student, ret,
			 ret == -EBUSY ? PROTO_E_BUSY : ret == -ENOENT ? PROTO_E_NOTFOUND
								   : PROTO_E_INTERNAL, msg);
}

static bool str_same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Is REC exactly what S already is (same class, name, email and keys)? */
static bool enrol_same_row(const struct conf_class *cls, const struct student_rec *rec,
			   const struct db_student *s)
{
	char *keys = keys_join(rec->keys, rec->n_keys);
	bool same = keys && strcmp(keys, s->keys) == 0 && strcmp(cls->name, s->class) == 0 &&
		    str_same(rec->name, s->name) && str_same(rec->email, s->email);

	free(keys);
	return same;
}

/* A row of a re-run enrol whose student exists: done when it is ready (started, unless
 * the enrol says --no-start); busy while a creation (e.g. reconcile's) is in flight. */
static void enrol_finish_existing(struct labd *l, struct request *r, const char *id, bool start)
{
	struct db_alloc a = { 0 };
	char msg[512];
	int ret = db_alloc_get(l->db, id, &a);

	if (ret < 0) {
		snprintf(msg, sizeof(msg), "'%s' is enrolled but has no allocation (see labd's log)",
			 id);
		request_fail_now(l, r, id, -EIO, msg);
	} else if (a.state != DB_ALLOC_READY) {
		snprintf(msg, sizeof(msg), "'%s' is %s; run the enrol again when that finished", id,
			 a.state == DB_ALLOC_CREATING ? "still being created" : "being removed");
		request_fail_now(l, r, id, -EBUSY, msg);
	} else if (!start) {
		request_progress(l, r, id, 0, NULL, NULL);
	} else if ((ret = task_submit(l, TASK_START, id, false, r, msg, sizeof(msg))) < 0) {
		request_fail_now(l, r, id, ret, msg);
	}
	db_alloc_free(&a);
}

static int op_enrol(struct op_ctx *x)
{
	struct labd *l = x->l;
	struct labd_enrol en;
	const struct conf_class *cls;
	struct student_rec *recs;
	struct request *r = NULL;
	char msg[512];
	size_t n, i, n_new = 0;
	int ret;
	bool began = false, start, *already = NULL;

	/* 1. The request, every row on its own and the batch as a whole. */
	ret = labd_request_parse_enrol(x->req, &l->conf, &en, &x->e);
	x->errors = en.errors ? json_object_get(en.errors) : NULL;   /* the reply's */
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	cls = en.cls;
	start = en.start;
	recs = en.recs;
	n = en.n;

	/* 2. Against the class and the pools. */
	already = calloc(n, sizeof(*already));
	if (!already) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct db_student s = { 0 };

		if (!recs[i].id)
			continue;
		if (db_student_get(l->db, recs[i].id, &s) == 0) {
			/* The same row again (an enrol re-run after an error or a crash) is
			 * done already; a different one is a mistake. */
			if (enrol_same_row(cls, &recs[i], &s))
				already[i] = true;
			else
				student_errors_add(&en.errs, recs[i].line, "'%s' is already enrolled "
						   "(class %s)", recs[i].id, s.class);
			db_student_free(&s);
		}
		if (!already[i])
			n_new++;
	}
	if (alloc_check_batch(l->ipool, l->epool, (uint32_t)n_new, msg, sizeof(msg)) < 0)
		student_errors_add(&en.errs, 0, "%s", msg);
	if (labd_request_enrol_finish(&en, &x->e) < 0)
		goto out;

	/* 3. Allocate everyone new in one transaction. */
	ret = n_new ? db_begin(l->db) : 0;
	if (ret < 0)
		goto dberr;
	began = n_new > 0;
	for (i = 0; i < n && n_new; i++) {
		struct db_student s = { 0 };
		struct db_alloc a = { 0 };
		struct alloc_endpoint ep;
		struct in_addr ip;
		uint8_t mac[6];
		uint32_t idx;
		char ipbuf[INET_ADDRSTRLEN], pubbuf[INET_ADDRSTRLEN], macbuf[ADDR_MAC_STRLEN];
		char dom[64], ov[64], sd[64];
		char *keys;

		if (already[i])
			continue;
		keys = keys_join(recs[i].keys, recs[i].n_keys);
		if (!keys) {
			ret = -ENOMEM;
			goto dberr;
		}
		s.id = recs[i].id;
		s.class = cls->name;
		s.name = recs[i].name;
		s.email = recs[i].email && recs[i].email[0] ? recs[i].email : NULL;
		s.keys = keys;
		ret = db_student_insert(l->db, &s);
		free(keys);
		if (ret < 0)
			goto dberr;
		if ((ret = alloc_index_take(l->ipool, &idx, msg, sizeof(msg))) < 0 ||
		    (ret = alloc_endpoint_take(l->epool, &ep, msg, sizeof(msg))) < 0) {
			proto_error_set(&x->e, PROTO_E_INVALID, "%s", msg);
			goto fail;
		}
		alloc_index_addrs(l->ipool, idx, &ip, mac);
		inet_ntop(AF_INET, &ip, ipbuf, sizeof(ipbuf));
		inet_ntop(AF_INET, &ep.addr, pubbuf, sizeof(pubbuf));
		addr_format_mac(mac, macbuf);
		labd_name_domain(recs[i].id, dom, sizeof(dom));
		labd_name_overlay(recs[i].id, ov, sizeof(ov));
		labd_name_seed(recs[i].id, sd, sizeof(sd));
		a = (struct db_alloc){
			.student = recs[i].id, .idx = idx, .mac = macbuf, .ip = ipbuf,
			.public_ip = pubbuf, .public_port = ep.port, .domain = dom,
			.overlay_vol = ov, .seed_vol = sd, .base_image = cls->base_image,
			.state = DB_ALLOC_CREATING,
		};
		if ((ret = db_alloc_insert(l->db, &a)) < 0 ||
		    (ret = db_audit_add(l->db, (int64_t)x->c->peer.uid, "enrol", recs[i].id, pubbuf,
					ep.port, cls->name)) < 0)
			goto dberr;
	}
	ret = began ? db_commit(l->db) : 0;
	if (ret < 0)
		goto dberr;
	began = false;

	/* 4. One task per student. */
	r = request_new(x, (unsigned)n);
	if (!r) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	x->c->busy = r;
	log_info("enrol: %zu students in class %s (uid %u)%s", n_new, cls->name,
		 (unsigned)x->c->peer.uid, n_new < n ? "; the others were enrolled already" : "");
	for (i = 0; i < n; i++) {
		/* The flag of a create task means "define only, leave it off". */
		if (!already[i] &&
		    task_submit(l, TASK_CREATE, recs[i].id, !start, r, msg, sizeof(msg)) < 0)
			request_fail_now(l, r, recs[i].id, -EIO, msg);
	}
	/* Last: finishing R synchronously frees it, and these may be all there is. */
	for (i = 0; i < n; i++) {
		if (already[i])
			enrol_finish_existing(l, r, recs[i].id, start);
	}
	ret = 1;
	goto out;

dberr:
	proto_error_set(&x->e, PROTO_E_INTERNAL, "database error (%s); nothing was created",
			strerror(-ret));
fail:
	if (began)
		db_rollback(l->db);
	labd_pools_load(l);     /* give back what was taken */
	ret = -EINVAL;
out:
	free(already);
	labd_enrol_clear(&en);
	return ret;
}

/* Resolves targets: "students": [...] or "all": true (within "class" if given). */
static int op_targets(struct op_ctx *x, char ***out, size_t *n_out)
{
	struct labd_targets t;
	struct db_student *list = NULL;
	size_t m = 0, i;
	int ret;

	*out = NULL;
	*n_out = 0;
	ret = labd_request_parse_targets(x->req, &x->l->conf, &t, &x->e);
	if (ret < 0 || !t.all)
		goto done;
	if (db_student_list(x->l->db, t.cls ? t.cls->name : NULL, &list, &m) < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "database error");
		ret = -EIO;
		goto done;
	}
	t.ids = calloc(m ? m : 1, sizeof(*t.ids));
	for (i = 0; t.ids && ret == 0 && i < m; i++) {
		t.ids[t.n] = strdup(list[i].id);
		if (t.ids[t.n])
			t.n++;
		else
			ret = -ENOMEM;
	}
	db_student_list_free(list, m);
	if (!t.ids || ret < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		ret = -ENOMEM;
	}
done:
	if (ret == 0) {
		/* The ids move to the caller. */
		*out = t.ids;
		*n_out = t.n;
		t = (struct labd_targets){ 0 };
	}
	labd_targets_clear(&t);
	return ret;
}

static void ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int op_bulk(struct op_ctx *x, enum task_kind kind)
{
	struct labd *l = x->l;
	char **ids = NULL;
	size_t n = 0, i;
	bool force = false;
	struct request *r;
	char msg[512];

	if (op_targets(x, &ids, &n) < 0)
		return -EINVAL;
	if (kind == TASK_STOP && proto_get_bool(x->req, "force", false, &force, &x->e) < 0) {
		ids_free(ids, n);
		return -EINVAL;
	}
	if (n == 0) {
		ids_free(ids, n);
		json_object_object_add(x->reply, "results", json_object_new_array());
		return 0;
	}
	r = request_new(x, (unsigned)n);
	if (!r) {
		ids_free(ids, n);
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	x->c->busy = r;
	log_info("%s: %zu students (uid %u)", x->op, n, (unsigned)x->c->peer.uid);
	for (i = 0; i < n; i++) {
		struct db_alloc a = { 0 };
		int ret = db_alloc_get(l->db, ids[i], &a);

		if (ret == 0 && a.state != DB_ALLOC_READY) {
			snprintf(msg, sizeof(msg), "'%s' is %s; try again when that finished", ids[i],
				 a.state == DB_ALLOC_CREATING ? "still being created" : "being removed");
			db_alloc_free(&a);
			request_fail_now(l, r, ids[i], -EBUSY, msg);
			continue;
		}
		if (ret < 0) {
			snprintf(msg, sizeof(msg), "'%s' is not enrolled", ids[i]);
			request_fail_now(l, r, ids[i], -ENOENT, msg);
			continue;
		}
		if (kind == TASK_RESET || kind == TASK_REMOVE) {
			db_begin(l->db);
			if (kind == TASK_RESET)
				db_student_bump_generation(l->db, ids[i], NULL);
			else
				db_alloc_set_state(l->db, ids[i], DB_ALLOC_DELETING);
			db_audit_add(l->db, (int64_t)x->c->peer.uid, kind == TASK_RESET ? "reset" : "unenrol",
				     ids[i], a.public_ip, a.public_port, NULL);
			db_commit(l->db);
		} else {
			db_audit_add(l->db, (int64_t)x->c->peer.uid, task_kind_name(kind), ids[i], NULL, 0,
				     NULL);
		}
		db_alloc_free(&a);
		ret = task_submit(l, kind, ids[i], force, r, msg, sizeof(msg));
		if (ret < 0) {
			if (kind == TASK_REMOVE)
				db_alloc_set_state(l->db, ids[i], DB_ALLOC_READY);
			request_fail_now(l, r, ids[i], ret, msg);
		}
	}
	ids_free(ids, n);
	return 1;
}

static int op_unenrol(struct op_ctx *x) { return op_bulk(x, TASK_REMOVE); }
static int op_start(struct op_ctx *x) { return op_bulk(x, TASK_START); }
static int op_stop(struct op_ctx *x) { return op_bulk(x, TASK_STOP); }
static int op_reboot(struct op_ctx *x) { return op_bulk(x, TASK_REBOOT); }
static int op_reset(struct op_ctx *x) { return op_bulk(x, TASK_RESET); }

static int op_set_keys(struct op_ctx *x)
{
	struct labd *l = x->l;
	struct student_rec rec = { 0 };
	struct db_student s = { 0 };
	const char *id, *keys;
	char *joined = NULL, msg[512];
	int64_t gen = 0;
	struct request *r;
	int ret = -EINVAL;

	if (labd_request_parse_set_keys(x->req, &id, &keys, &x->e) < 0)
		return -EINVAL;
	if (db_student_get(l->db, id, &s) < 0) {
		labd_request_not_enrolled(id, &x->e);
		return -ENOENT;
	}
	if (labd_request_check_keys(id, s.name, s.email, keys, &rec, &x->e) < 0)
		goto out;
	joined = keys_join(rec.keys, rec.n_keys);
	if (!joined || db_student_update_keys(l->db, id, joined, &gen) < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "could not store the keys");
		ret = -EIO;
		goto out;
	}
	db_audit_add(l->db, (int64_t)x->c->peer.uid, "set-keys", id, NULL, 0, NULL);
	r = request_new(x, 1);
	if (!r) {
		ret = -ENOMEM;
		proto_error_set(&x->e, PROTO_E_INTERNAL, "out of memory");
		goto out;
	}
	r->extra = json_object_new_object();
	json_object_object_add(r->extra, "generation", json_object_new_int64(gen));
	json_object_object_add(r->extra, "note", json_object_new_string(
		"the new keys take effect at the VM's next boot (labctl reboot ID); cloud-init "
		"images add them to the existing authorized_keys"));
	x->c->busy = r;
	if (task_submit(l, TASK_SEED, id, false, r, msg, sizeof(msg)) < 0)
		request_fail_now(l, r, id, -EIO, msg);
	ret = 1;
out:
	free(joined);
	student_rec_clear(&rec);
	db_student_free(&s);
	return ret;
}

/* The optional filters of list and sheet. */
static bool wanted(json_object *ids, const char *id)
{
	size_t i;

	if (!ids)
		return true;
	for (i = 0; i < json_object_array_length(ids); i++) {
		json_object *v = json_object_array_get_idx(ids, i);

		if (json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), id) == 0)
			return true;
	}
	return false;
}

static int op_list(struct op_ctx *x)
{
	struct labd *l = x->l;
	struct labd_filter f;
	json_object *ids, *arr;
	struct db_student *ss = NULL;
	size_t n = 0, i;

	if (labd_request_parse_filter(x->req, &l->conf, &f, &x->e) < 0)
		return -EINVAL;
	ids = f.students;
	if (db_student_list(l->db, f.cls ? f.cls->name : NULL, &ss, &n) < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "database error");
		return -EIO;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct db_alloc a = { 0 };
		json_object *o;
		const struct conf_class *cls;
		enum virt_state st = VIRT_MISSING;
		const char *state;
		struct vm *vm;
		size_t nkeys = 1;

		if (!wanted(ids, ss[i].id))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(ss[i].id));
		json_object_object_add(o, "class", json_object_new_string(ss[i].class));
		json_object_object_add(o, "name", json_object_new_string(ss[i].name));
		json_object_object_add(o, "email", ss[i].email ? json_object_new_string(ss[i].email) : NULL);
		for (const char *p = ss[i].keys; *p; p++)
			nkeys += *p == '\n';
		json_object_object_add(o, "keys", json_object_new_int((int)nkeys));
		json_object_object_add(o, "generation", json_object_new_int64(ss[i].generation));
		if (db_alloc_get(l->db, ss[i].id, &a) == 0) {
			json_object_object_add(o, "index", json_object_new_int((int)a.idx));
			json_object_object_add(o, "mac", json_object_new_string(a.mac));
			json_object_object_add(o, "ip", json_object_new_string(a.ip));
			json_object_object_add(o, "public_ip", json_object_new_string(a.public_ip));
			json_object_object_add(o, "public_port", json_object_new_int(a.public_port));
			json_object_object_add(o, "domain", json_object_new_string(a.domain));
			json_object_object_add(o, "base_image", json_object_new_string(a.base_image));
			cls = conf_class_find(&l->conf, ss[i].class);
			json_object_object_add(o, "base_current",
					       json_object_new_boolean(cls && strcmp(cls->base_image,
										     a.base_image) == 0));
			if (a.state == DB_ALLOC_CREATING) {
				state = "creating";
			} else if (a.state == DB_ALLOC_DELETING) {
				state = "deleting";
			} else {
				vm = labd_vm(l, ss[i].id, false);
				if (virt_connected(l->virt))
					virt_dom_state(l->virt, a.domain, &st);
				state = virt_state_name(st);
				if (vm && vm->crashed && st != VIRT_RUNNING)
					state = "crashed";
				if (!virt_connected(l->virt))
					state = "unknown";
			}
			json_object_object_add(o, "state", json_object_new_string(state));
			db_alloc_free(&a);
		}
		json_object_array_add(arr, o);
	}
	db_student_list_free(ss, n);
	json_object_object_add(x->reply, "students", arr);
	return 0;
}

static int op_sheet(struct op_ctx *x)
{
	struct labd *l = x->l;
	struct labd_filter f;
	json_object *ids, *arr;
	struct db_student *ss = NULL;
	size_t n = 0, i;

	if (labd_request_parse_filter(x->req, &l->conf, &f, &x->e) < 0)
		return -EINVAL;
	ids = f.students;
	if (db_student_list(l->db, f.cls ? f.cls->name : NULL, &ss, &n) < 0) {
		proto_error_set(&x->e, PROTO_E_INTERNAL, "database error");
		return -EIO;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct db_alloc a = { 0 };
		const struct conf_class *cls = conf_class_find(&l->conf, ss[i].class);
		json_object *o;
		char cmd[256];

		if (!wanted(ids, ss[i].id) || !cls || db_alloc_get(l->db, ss[i].id, &a) < 0)
			continue;
		snprintf(cmd, sizeof(cmd), "ssh -p %u %s@%s", a.public_port, cls->user, a.public_ip);
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(ss[i].id));
		json_object_object_add(o, "name", json_object_new_string(ss[i].name));
		json_object_object_add(o, "class", json_object_new_string(ss[i].class));
		json_object_object_add(o, "user", json_object_new_string(cls->user));
		json_object_object_add(o, "public_ip", json_object_new_string(a.public_ip));
		json_object_object_add(o, "public_port", json_object_new_int(a.public_port));
		json_object_object_add(o, "command", json_object_new_string(cmd));
		json_object_array_add(arr, o);
		db_alloc_free(&a);
	}
	db_student_list_free(ss, n);
	json_object_object_add(x->reply, "entries", arr);
	return 0;
}

static int op_status(struct op_ctx *x)
{
	struct labd *l = x->l;
	struct db_alloc *as = NULL;
	size_t n = 0, i, running = 0;
	json_object *classes = json_object_new_array();

	db_alloc_list(l->db, NULL, &as, &n);
	for (i = 0; i < n && virt_connected(l->virt); i++) {
		enum virt_state st;

		if (virt_dom_state(l->virt, as[i].domain, &st) == 0 && st == VIRT_RUNNING)
			running++;
	}
	db_alloc_list_free(as, n);
	for (i = 0; i < l->conf.n_classes; i++)
		json_object_array_add(classes, json_object_new_string(l->conf.classes[i].name));
	json_object_object_add(x->reply, "version", json_object_new_string(LABD_VERSION));
	json_object_object_add(x->reply, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(x->reply, "uptime_s",
			       json_object_new_int64((int64_t)(time(NULL) - l->started)));
	json_object_object_add(x->reply, "classes", classes);
	json_object_object_add(x->reply, "students", json_object_new_int((int)n));
	json_object_object_add(x->reply, "running", json_object_new_int((int)running));
	json_object_object_add(x->reply, "free_endpoints",
			       json_object_new_int64(alloc_endpoint_free_count(l->epool)));
	json_object_object_add(x->reply, "netd", json_object_new_boolean(l->netd_synced));
	json_object_object_add(x->reply, "libvirt", json_object_new_boolean(virt_connected(l->virt)));
	json_object_object_add(x->reply, "tasks", json_object_new_int64((int64_t)jobs_pending(l->jobs)));
	return 0;
}

static const struct {
	const char *name;
	op_fn fn;
} ops[] = {
	{ "enrol", op_enrol },     { "unenrol", op_unenrol }, { "list", op_list },
	{ "start", op_start },     { "stop", op_stop },       { "reboot", op_reboot },
	{ "reset", op_reset },     { "set-keys", op_set_keys }, { "sheet", op_sheet },
	{ "status", op_status },
};

bool ops_handle(struct labd *l, struct client *c, const char *line, size_t len)
{
	struct op_ctx x = { .l = l, .c = c, .id = -1 };
	json_object *reply;
	size_t i;
	int ret = -EINVAL;

	if (proto_parse_request(line, len, &x.req, &x.op, &x.id, &x.e) < 0)
		goto fail;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(x.op, ops[i].name) != 0)
			continue;
		x.reply = proto_new_ok(x.id);
		ret = ops[i].fn(&x);
		if (ret == 0) {
			client_send(c, x.reply);
			json_object_put(x.reply);
			json_object_put(x.req);
			json_object_put(x.errors);
			return true;
		}
		json_object_put(x.reply);
		if (ret == 1) {
			json_object_put(x.req);
			json_object_put(x.errors);
			return false;
		}
		goto fail;
	}
	proto_error_set(&x.e, PROTO_E_UNKNOWN, "unknown op '%.32s' (labd knows enrol, unenrol, list, "
			"start, stop, reboot, reset, set-keys, sheet, status)", x.op);
fail:
	if (!x.e.code)
		proto_error_set(&x.e, PROTO_E_INTERNAL, "request failed");
	log_debug("request refused: %s", x.e.message);
	reply = proto_new_error(x.id, &x.e);
	if (x.errors)
		json_object_object_add(reply, "errors", json_object_get(x.errors));
	client_send(c, reply);
	json_object_put(reply);
	json_object_put(x.req);
	json_object_put(x.errors);
	return true;
}

void ops_client_gone(struct labd *l, struct client *c)
{
	if (c->busy)
		c->busy->client = NULL;
	c->busy = NULL;
}
