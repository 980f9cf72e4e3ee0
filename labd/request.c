/*
 * labd's requests read and checked, before the database is asked anything
 * (labd/request.h). The messages are the ones labctl shows: tests/cli and tests/e2e pin
 * them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/id.h"
#include "labd/request.h"

/* The class called NAME: 0, or -EINVAL naming the classes there are. */
static int class_named(const struct lab_conf *conf, const char *name,
		       const struct conf_class **out, struct proto_error *e)
{
	char list[256] = "", q[PROTO_QUOTE_BUF];
	size_t i;

	*out = conf_class_find(conf, name);
	if (*out)
		return 0;
	for (i = 0; i < conf->n_classes; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 conf->classes[i].name);
	proto_error_set(e, PROTO_E_INVALID, "unknown class '%s' (classes: %s)",
			proto_quote(name, q), list);
	return -EINVAL;
}

/* "class" of an enrol: may be left out only when the lab has one class. */
static int enrol_class(json_object *req, const struct lab_conf *conf,
		       const struct conf_class **out, struct proto_error *e)
{
	const char *name = NULL;

	*out = NULL;
	if (proto_get_string(req, "class", false, &name, e) < 0)
		return -EINVAL;
	if (name)
		return class_named(conf, name, out, e);
	if (conf->n_classes == 1) {
		*out = &conf->classes[0];
		return 0;
	}
	proto_error_set(e, PROTO_E_INVALID, "this lab has %zu classes: say which one "
			"(--class NAME)", conf->n_classes);
	return -EINVAL;
}

/* An optional "class" that narrows a request: NULL when absent. */
static int filter_class(json_object *req, const struct lab_conf *conf,
			const struct conf_class **out, struct proto_error *e)
{
	const char *name = NULL;

	*out = NULL;
	if (proto_get_string(req, "class", false, &name, e) < 0)
		return -EINVAL;
	return name ? class_named(conf, name, out, e) : 0;
}

/* A JSON string field that must not hide a NUL. */
static int get_text(json_object *o, const char *key, bool required, const char **out,
		    struct proto_error *e)
{
	json_object *v;

	if (proto_get_string(o, key, required, out, e) < 0)
		return -EINVAL;
	if (*out && json_object_object_get_ex(o, key, &v) &&
	    (size_t)json_object_get_string_len(v) != strlen(*out)) {
		proto_error_set(e, PROTO_E_INVALID, "field '%s' contains a NUL byte", key);
		return -EINVAL;
	}
	return 0;
}

/* One entry of a reply's "errors". */
static void errors_add(json_object *errors, unsigned line, const char *msg)
{
	json_object *o = json_object_new_object();

	if (line)
		json_object_object_add(o, "line", json_object_new_int((int)line));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_array_add(errors, o);
}

/* One row of an enrol -> EN->recs[I], or an error in EN->errors or EN->errs. */
static void enrol_row(struct labd_enrol *en, json_object *row, size_t i)
{
	const char *id = NULL, *name = NULL, *email = NULL, *keys = NULL;
	int64_t line = (int64_t)i + 1;
	struct proto_error fe = { 0 }, te = { 0 };

	if (!json_object_is_type(row, json_type_object)) {
		char msg[64];

		snprintf(msg, sizeof(msg), "students[%zu]: expected an object", i);
		errors_add(en->errors, 0, msg);
		return;
	}
	if (proto_get_int(row, "line", false, 1, 10000000, &line, &fe) < 0 ||
	    get_text(row, "id", true, &id, &te) < 0 || get_text(row, "name", false, &name, &te) < 0 ||
	    get_text(row, "email", false, &email, &te) < 0 ||
	    get_text(row, "ssh_keys", true, &keys, &te) < 0) {
		errors_add(en->errors, (unsigned)line, fe.message[0] ? fe.message : te.message);
		return;
	}
	/* A refusal is in EN->errs, and the record stays empty. */
	student_validate((unsigned)line, id, name, email, keys, &en->recs[i], &en->errs);
}

int labd_request_parse_enrol(json_object *req, const struct lab_conf *conf,
			     struct labd_enrol *out, struct proto_error *e)
{
	json_object *rows;
	size_t n, i;

	*out = (struct labd_enrol){ .start = true, .errs = STUDENT_ERRORS_INIT };
	if (enrol_class(req, conf, &out->cls, e) < 0)
		return -EINVAL;
	if (proto_get_array(req, "students", true, &rows, e) < 0 ||
	    proto_get_bool(req, "start", false, &out->start, e) < 0)
		return -EINVAL;
	n = json_object_array_length(rows);
	if (n == 0) {
		proto_error_set(e, PROTO_E_INVALID, "no students to enrol");
		return -EINVAL;
	}
	if (n > LABD_ENROL_MAX) {
		proto_error_set(e, PROTO_E_INVALID, "%zu students in one batch: at most %d", n,
				LABD_ENROL_MAX);
		return -EINVAL;
	}
	out->recs = calloc(n, sizeof(*out->recs));
	if (!out->recs) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	out->n = n;
	out->errors = json_object_new_array();

	/* Every row on its own, then the batch (duplicate ids). */
	for (i = 0; i < n; i++)
		enrol_row(out, json_object_array_get_idx(rows, i), i);
	if (student_check_batch(out->recs, n, &out->errs) < 0 && out->errs.n == 0) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int labd_request_enrol_finish(struct labd_enrol *en, struct proto_error *e)
{
	size_t i, n;

	student_errors_sort(&en->errs);
	for (i = 0; i < en->errs.n; i++)
		errors_add(en->errors, en->errs.v[i].line, en->errs.v[i].message);
	n = en->errors ? json_object_array_length(en->errors) : 0;
	if (n > 0) {
		proto_error_set(e, PROTO_E_INVALID, "%zu problem(s) in the roster; nothing was "
				"created", n);
		return -EINVAL;
	}
	return 0;
}

void labd_enrol_clear(struct labd_enrol *en)
{
	student_recs_free(en->recs, en->n);
	student_errors_free(&en->errs);
	json_object_put(en->errors);
	*en = (struct labd_enrol){ .errs = STUDENT_ERRORS_INIT };
}

int labd_request_parse_set_keys(json_object *req, const char **student, const char **keys,
				struct proto_error *e)
{
	if (get_text(req, "student", true, student, e) < 0 ||
	    get_text(req, "ssh_keys", true, keys, e) < 0)
		return -EINVAL;
	return 0;
}

void labd_request_not_enrolled(const char *student, struct proto_error *e)
{
	char q[PROTO_QUOTE_BUF];

	proto_error_set(e, PROTO_E_NOTFOUND, "'%s' is not enrolled", proto_quote(student, q));
}

int labd_request_check_keys(const char *student, const char *name, const char *email,
			    const char *keys, struct student_rec *rec, struct proto_error *e)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	int ret = 0;

	if (student_validate(0, student, name, email, keys, rec, &errs) < 0) {
		proto_error_set(e, PROTO_E_INVALID, "%s",
				errs.n ? errs.v[0].message : "invalid keys");
		ret = -EINVAL;
	}
	student_errors_free(&errs);
	return ret;
}

int labd_request_parse_targets(json_object *req, const struct lab_conf *conf,
			       struct labd_targets *out, struct proto_error *e)
{
	json_object *arr = NULL;
	const char *cname = NULL;
	size_t m, i;

	*out = (struct labd_targets){ 0 };
	if (proto_get_bool(req, "all", false, &out->all, e) < 0 ||
	    proto_get_array(req, "students", false, &arr, e) < 0 ||
	    proto_get_string(req, "class", false, &cname, e) < 0)
		return -EINVAL;
	if (cname && filter_class(req, conf, &out->cls, e) < 0)
		return -EINVAL;
	if (out->all == (arr != NULL)) {
		proto_error_set(e, PROTO_E_INVALID, "say which students: \"students\": [ids] or "
				"\"all\": true (not both)");
		return -EINVAL;
	}
	if (out->all)
		return 0;
	m = json_object_array_length(arr);
	if (m == 0) {
		proto_error_set(e, PROTO_E_INVALID, "\"students\" is empty");
		return -EINVAL;
	}
	out->ids = calloc(m, sizeof(*out->ids));
	if (!out->ids) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < m; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
									 : NULL;
		size_t j;

		if (!s || !id_valid(s) || (size_t)json_object_get_string_len(v) != strlen(s)) {
			char q[64];

			proto_error_set(e, PROTO_E_INVALID,
					"students[%zu]: %s is not a student id ([a-z0-9][a-z0-9_-]{0,31})",
					i, s ? student_quote_value(s, q, sizeof(q)) : "(not a string)");
			return -EINVAL;
		}
		for (j = 0; j < out->n; j++)
			if (strcmp(out->ids[j], s) == 0)
				break;
		if (j < out->n)
			continue;
		out->ids[out->n] = strdup(s);
		if (!out->ids[out->n]) {
			proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
			return -ENOMEM;
		}
		out->n++;
	}
	return 0;
}

void labd_targets_clear(struct labd_targets *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->ids[i]);
	free(t->ids);
	*t = (struct labd_targets){ 0 };
}

int labd_request_parse_filter(json_object *req, const struct lab_conf *conf,
			      struct labd_filter *out, struct proto_error *e)
{
	const char *cname = NULL;

	*out = (struct labd_filter){ 0 };
	if (proto_get_string(req, "class", false, &cname, e) < 0 ||
	    proto_get_array(req, "students", false, &out->students, e) < 0)
		return -EINVAL;
	if (cname && filter_class(req, conf, &out->cls, e) < 0)
		return -EINVAL;
	return 0;
}

const struct labd_op_info labd_ops[LABD_OP_COUNT] = {
	[LABD_OP_ENROL] = { "enrol", LABD_SHAPE_ENROL, false },
	[LABD_OP_UNENROL] = { "unenrol", LABD_SHAPE_TARGETS, false },
	[LABD_OP_LIST] = { "list", LABD_SHAPE_FILTER, false },
	[LABD_OP_START] = { "start", LABD_SHAPE_TARGETS, false },
	[LABD_OP_STOP] = { "stop", LABD_SHAPE_TARGETS, true },
	[LABD_OP_REBOOT] = { "reboot", LABD_SHAPE_TARGETS, false },
	[LABD_OP_RESET] = { "reset", LABD_SHAPE_TARGETS, false },
	[LABD_OP_SET_KEYS] = { "set-keys", LABD_SHAPE_SET_KEYS, false },
	[LABD_OP_SHEET] = { "sheet", LABD_SHAPE_FILTER, false },
	[LABD_OP_STATUS] = { "status", LABD_SHAPE_NONE, false },
};

static void unknown_op(const char *op, struct proto_error *e)
{
	char known[256] = "";
	size_t i;

	for (i = 0; i < LABD_OP_COUNT; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 i ? ", " : "", labd_ops[i].name);
	proto_error_set(e, PROTO_E_UNKNOWN, "unknown op '%.32s' (labd knows %s)", op, known);
}

/* The fields of R's op, as its shape says. */
static int parse_fields(struct labd_req *r, const struct lab_conf *conf, struct proto_error *e)
{
	const struct labd_op_info *info = &labd_ops[r->op];

	switch (info->shape) {
	case LABD_SHAPE_ENROL:
		return labd_request_parse_enrol(r->obj, conf, &r->enrol, e);
	case LABD_SHAPE_TARGETS:
		if (labd_request_parse_targets(r->obj, conf, &r->targets, e) < 0)
			return -EINVAL;
		if (info->force && proto_get_bool(r->obj, "force", false, &r->force, e) < 0)
			return -EINVAL;
		return 0;
	case LABD_SHAPE_FILTER:
		return labd_request_parse_filter(r->obj, conf, &r->filter, e);
	case LABD_SHAPE_SET_KEYS:
		return labd_request_parse_set_keys(r->obj, &r->student, &r->keys, e);
	case LABD_SHAPE_NONE:
		break;
	}
	return 0;
}

int labd_request_parse(const char *line, size_t len, const struct lab_conf *conf,
		       struct labd_req *r, struct proto_error *e)
{
	const char *op = NULL;
	size_t i;

	*r = (struct labd_req){ .id = -1, .enrol.errs = STUDENT_ERRORS_INIT };
	if (proto_parse_request(line, len, &r->obj, &op, &r->id, e) < 0)
		return -EINVAL;
	for (i = 0; i < LABD_OP_COUNT; i++)
		if (strcmp(op, labd_ops[i].name) == 0)
			break;
	if (i == LABD_OP_COUNT) {
		unknown_op(op, e);
		return -EINVAL;
	}
	r->op = (enum labd_op)i;
	return parse_fields(r, conf, e);
}

void labd_req_clear(struct labd_req *r)
{
	labd_enrol_clear(&r->enrol);
	labd_targets_clear(&r->targets);
	json_object_put(r->obj);
	*r = (struct labd_req){ .id = -1, .enrol.errs = STUDENT_ERRORS_INIT };
}
