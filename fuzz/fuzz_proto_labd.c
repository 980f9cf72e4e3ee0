/*
 * libFuzzer target: labd's request path without libvirt or the database. Each input is
 * split into lines as labd's linebuf hands them out; each line goes the way labd/ops.c
 * takes it: proto_parse_request, then labd's own request checks (labd/request.c, the
 * code labd runs), in a lab of two classes:
 *   enrol:    labd_request_parse_enrol (class, start, 1..5000 rows, each row's fields,
 *             student_validate, student_check_batch), then labd_request_enrol_finish;
 *   set-keys: labd_request_parse_set_keys, labd_request_check_keys;
 *   unenrol/start/stop/reboot/reset: labd_request_parse_targets, then "force" for stop;
 *   list/sheet: labd_request_parse_filter; status: nothing.
 * The database is stood in for: every valid id is enrolled, none is enrolled twice, and
 * "all" names nobody. Allocation and tasks are left out.
 *
 * Checked beyond "no crash": every refusal has a code and a message; a row that was
 * refused is left empty and adds an error; an accepted enrol holds only valid rows
 * (valid id, 1..SSHKEY_LIST_MAX keys); errors come sorted by line; every reply (with its
 * "errors") reaches a client intact through proto_wait_reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/id.h"
#include "common/proto.h"
#include "common/sshkey.h"
#include "common/student.h"
#include "fuzz/reply_check.h"
#include "labd/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A lab of two classes, so that "class" is required and can be unknown. */
static struct conf_class classes[2] = { { .name = (char *)"net101" },
					{ .name = (char *)"sys201" } };
static const struct lab_conf conf = { .classes = classes, .n_classes = 2 };
static int pipefd[2] = { -1, -1 };

struct ctx {
	json_object *req;
	struct proto_error e;
	json_object *reply;
	json_object *errors;
};

static void check_rec(const struct student_rec *r)
{
	if (!r->id || !id_valid(r->id) || !r->name || r->n_keys < 1 ||
	    r->n_keys > SSHKEY_LIST_MAX || !r->keys) {
		fprintf(stderr, "student_validate accepted an invalid row (line %u)\n", r->line);
		abort();
	}
}

/* A refused row holds nothing (its line may be kept). */
static bool rec_empty(const struct student_rec *r)
{
	return !r->id && !r->name && !r->email && !r->keys && r->n_keys == 0;
}

static int op_enrol(struct ctx *x)
{
	struct labd_enrol en;
	size_t i, refused = 0;
	int ret;

	ret = labd_request_parse_enrol(x->req, &conf, &en, &x->e);
	x->errors = en.errors ? json_object_get(en.errors) : NULL;
	if (ret < 0)
		goto out;
	if (en.n < 1 || en.n > LABD_ENROL_MAX || !en.cls || !en.errors)
		abort();
	for (i = 0; i < en.n; i++) {
		if (en.recs[i].id) {
			check_rec(&en.recs[i]);
		} else if (rec_empty(&en.recs[i])) {
			refused++;
		} else {
			fprintf(stderr, "students[%zu] was refused but left filled\n", i);
			abort();
		}
	}
	ret = labd_request_enrol_finish(&en, &x->e);
	for (i = 1; i < en.errs.n; i++)
		if (en.errs.v[i - 1].line > en.errs.v[i].line)
			abort();
	/* Each refused row added at least one error; the batch check may add more. */
	if (json_object_array_length(en.errors) < refused || (refused > 0 && ret == 0)) {
		fprintf(stderr, "%zu row(s) refused, %zu error(s), enrol %s\n", refused,
			json_object_array_length(en.errors), ret ? "refused" : "accepted");
		abort();
	}
	if (ret == 0)
		json_object_object_add(x->reply, "count", json_object_new_int64((int64_t)en.n));
out:
	labd_enrol_clear(&en);
	return ret;
}

static int op_set_keys(struct ctx *x)
{
	struct student_rec rec = { 0 };
	const char *id, *keys;
	int ret;

	if (labd_request_parse_set_keys(x->req, &id, &keys, &x->e) < 0)
		return -EINVAL;
	/* The database holds only valid ids. */
	if (!id_valid(id)) {
		labd_request_not_enrolled(id, &x->e);
		return -ENOENT;
	}
	ret = labd_request_check_keys(id, NULL, NULL, keys, &rec, &x->e);
	if (ret < 0) {
		if (strcmp(x->e.message, "invalid keys") == 0 || !rec_empty(&rec)) {
			fprintf(stderr, "student_validate refused keys without an error "
				"or left the record filled\n");
			abort();
		}
	} else {
		check_rec(&rec);
	}
	student_rec_clear(&rec);
	return ret;
}

/* labd/ops.c op_bulk: the targets, then "force" for stop; "all" names nobody here. */
static int op_bulk(struct ctx *x)
{
	struct labd_targets t;
	const char *op = json_object_get_string(json_object_object_get(x->req, "op"));
	bool force = false;
	size_t i;
	int ret;

	ret = labd_request_parse_targets(x->req, &conf, &t, &x->e);
	if (ret < 0)
		goto out;
	if (t.all ? t.ids || t.n : !t.ids || t.n == 0)
		abort();
	for (i = 0; i < t.n; i++)
		if (!id_valid(t.ids[i]))
			abort();
	if (strcmp(op, "stop") == 0 && proto_get_bool(x->req, "force", false, &force, &x->e) < 0)
		ret = -EINVAL;
out:
	labd_targets_clear(&t);
	return ret;
}

static int op_filter(struct ctx *x)
{
	struct labd_filter f;

	return labd_request_parse_filter(x->req, &conf, &f, &x->e);
}

static int op_status(struct ctx *x)
{
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct ctx *);
} ops[] = {
	{ "enrol", op_enrol }, { "unenrol", op_bulk }, { "start", op_bulk },
	{ "stop", op_bulk }, { "reboot", op_bulk }, { "reset", op_bulk },
	{ "set-keys", op_set_keys }, { "list", op_filter }, { "sheet", op_filter },
	{ "status", op_status },
};

static void handle_line(const char *line, size_t len)
{
	struct ctx x = { 0 };
	json_object *reply;
	const char *op = NULL;
	int64_t id = -1;
	size_t i;
	int ret;

	if (proto_parse_request(line, len, &x.req, &op, &id, &x.e) < 0)
		goto fail;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].name) != 0)
			continue;
		x.reply = proto_new_ok(id);
		ret = ops[i].fn(&x);
		if (ret == 0) {
			fuzz_check_reply(pipefd, x.reply, "labctl", "labd");
			json_object_put(x.reply);
			goto out;
		}
		json_object_put(x.reply);
		goto fail;
	}
	proto_error_set(&x.e, PROTO_E_UNKNOWN, "unknown op '%.32s' (labd knows enrol, unenrol, "
			"list, start, stop, reboot, reset, set-keys, sheet, status)", op);
fail:
	if (!x.e.code || !x.e.message[0]) {
		fprintf(stderr, "refusal without code or message\n");
		abort();
	}
	reply = proto_new_error(id, &x.e);
	if (!reply)
		abort();
	if (x.errors)
		json_object_object_add(reply, "errors", json_object_get(x.errors));
	fuzz_check_reply(pipefd, reply, "labctl", "labd");
	json_object_put(reply);
out:
	json_object_put(x.req);
	json_object_put(x.errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *p, *end, *nl;

	if (pipefd[0] < 0 && pipe2(pipefd, O_CLOEXEC) < 0)
		abort();
	/* Lines as labd's linebuf hands them out (fuzz_proto_netd runs the linebuf
	 * itself): split at '\n', one '\r' before it dropped, NUL-terminated. */
	copy = malloc(size + 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\n';
	end = copy + size + 1;
	for (p = copy; p < end; p = nl + 1) {
		size_t len;

		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)(nl - p);
		*nl = '\0';
		if (len > 0 && p[len - 1] == '\r')
			p[--len] = '\0';
		handle_line(p, len);
	}
	free(copy);
	return 0;
}
