/*
 * libFuzzer target: labd's request path without libvirt or the database. Each input is
 * split into lines as labd's linebuf hands them out; each line goes through
 * labd_request_parse, the very function labd/ops.c starts with: proto_parse_request,
 * the op looked up in labd's own table of operations (labd_ops, labd/request.c), its
 * fields read as that table says, in a lab of two classes:
 *   enrol:    labd_request_parse_enrol (class, start, 1..5000 rows, each row's fields,
 *             student_validate, student_check_batch), then labd_request_enrol_finish;
 *   set-keys: labd_request_parse_set_keys, then labd_request_check_keys;
 *   unenrol/start/stop/reboot/reset: labd_request_parse_targets, "force" for stop;
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

/* What labd/ops.c does next with an enrol's rows, short of the database. */
static int check_enrol(struct labd_req *r, json_object *reply, struct proto_error *e)
{
	struct labd_enrol *en = &r->enrol;
	size_t i, refused = 0;
	int ret;

	if (en->n < 1 || en->n > LABD_ENROL_MAX || !en->cls || !en->errors)
		abort();
	for (i = 0; i < en->n; i++) {
		if (en->recs[i].id) {
			check_rec(&en->recs[i]);
		} else if (rec_empty(&en->recs[i])) {
			refused++;
		} else {
			fprintf(stderr, "students[%zu] was refused but left filled\n", i);
			abort();
		}
	}
	ret = labd_request_enrol_finish(en, e);
	for (i = 1; i < en->errs.n; i++)
		if (en->errs.v[i - 1].line > en->errs.v[i].line)
			abort();
	/* Each refused row added at least one error; the batch check may add more. */
	if (json_object_array_length(en->errors) < refused || (refused > 0 && ret == 0)) {
		fprintf(stderr, "%zu row(s) refused, %zu error(s), enrol %s\n", refused,
			json_object_array_length(en->errors), ret ? "refused" : "accepted");
		abort();
	}
	if (ret == 0)
		json_object_object_add(reply, "count", json_object_new_int64((int64_t)en->n));
	return ret;
}

static int check_set_keys(struct labd_req *r, struct proto_error *e)
{
	struct student_rec rec = { 0 };
	int ret;

	/* The database holds only valid ids. */
	if (!id_valid(r->student)) {
		labd_request_not_enrolled(r->student, e);
		return -ENOENT;
	}
	ret = labd_request_check_keys(r->student, NULL, NULL, r->keys, &rec, e);
	if (ret < 0) {
		if (strcmp(e->message, "invalid keys") == 0 || !rec_empty(&rec)) {
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

static void check_targets(const struct labd_targets *t)
{
	size_t i;

	if (t->all ? t->ids || t->n : !t->ids || t->n == 0)
		abort();
	for (i = 0; i < t->n; i++)
		if (!id_valid(t->ids[i]))
			abort();
}

/* The op as the table says; 0 or a refusal in E. */
static int check_op(struct labd_req *r, json_object *reply, struct proto_error *e)
{
	switch (labd_ops[r->op].shape) {
	case LABD_SHAPE_ENROL:
		return check_enrol(r, reply, e);
	case LABD_SHAPE_SET_KEYS:
		return check_set_keys(r, e);
	case LABD_SHAPE_TARGETS:
		check_targets(&r->targets);
		return 0;
	case LABD_SHAPE_FILTER:
	case LABD_SHAPE_NONE:
		break;
	}
	return 0;
}

static void handle_line(const char *line, size_t len)
{
	struct proto_error e = { 0 };
	struct labd_req r;
	json_object *reply = NULL;
	int ret = labd_request_parse(line, len, &conf, &r, &e);

	if (ret == 0) {
		if ((unsigned)r.op >= LABD_OP_COUNT)
			abort();
		reply = proto_new_ok(r.id);
		ret = check_op(&r, reply, &e);
	}
	if (ret == 0) {
		fuzz_check_reply(pipefd, reply, "labctl", "labd");
		goto out;
	}
	if (!e.code || !e.message[0]) {
		fprintf(stderr, "refusal without code or message\n");
		abort();
	}
	json_object_put(reply);
	reply = proto_new_error(r.id, &e);
	if (!reply)
		abort();
	if (r.enrol.errors)
		json_object_object_add(reply, "errors", json_object_get(r.enrol.errors));
	fuzz_check_reply(pipefd, reply, "labctl", "labd");
out:
	json_object_put(reply);
	labd_req_clear(&r);
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
