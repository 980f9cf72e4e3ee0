/*
 * labd's requests read and checked: a request line in, the operation (labd's table of
 * operations is here) and typed values that fit the lab's config out, or a refusal in a
 * proto_error. Nothing here touches the database, libvirt or a task, so labd/ops.c and
 * fuzz/fuzz_proto_labd.c run the same table and the same checks; ops.c then checks
 * against the database and does the work.
 */
#ifndef VLAB_LABD_REQUEST_H
#define VLAB_LABD_REQUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "common/proto.h"
#include "common/student.h"

#define LABD_ENROL_MAX 5000       /* students in one enrol request */

/* An enrol's rows, each checked on its own and the batch as a whole. */
struct labd_enrol {
	const struct conf_class *cls;
	bool start;                   /* "start", default true */
	struct student_rec *recs;     /* N, in the request's order; a refused row stays
	                                 empty (id NULL) */
	size_t n;
	json_object *errors;          /* the reply's "errors": rows refused before validation
	                                 ("students[3]: expected an object"), in row order;
	                                 labd_request_enrol_finish appends ERRS */
	struct student_errors errs;   /* validation and batch problems, by roster line; the
	                                 caller may add its own before the finish */
};

/*
 * enrol: class, "students" (1..LABD_ENROL_MAX rows) and "start" -> OUT. Each row is read
 * (line, id, name, email, ssh_keys) and run through student_validate, then the batch
 * through student_check_batch. Returns 0 when the rows were read (refused rows are in
 * OUT->errors and OUT->errs, see labd_request_enrol_finish), or -EINVAL/-ENOMEM when the
 * request as a whole is refused, with E filled. OUT->errors may be set either way; clear
 * OUT with labd_enrol_clear.
 */
int labd_request_parse_enrol(json_object *req, const struct lab_conf *conf,
			     struct labd_enrol *out, struct proto_error *e);
/* Sorts EN->errs by line and appends them to EN->errors (ERRS stays as it is). -EINVAL
 * with E filled ("N problem(s) in the roster; nothing was created") when EN->errors
 * holds anything, else 0. */
int labd_request_enrol_finish(struct labd_enrol *en, struct proto_error *e);
void labd_enrol_clear(struct labd_enrol *en);

/* set-keys: "student" and "ssh_keys" (pointing into REQ). 0 or -EINVAL with E filled. */
int labd_request_parse_set_keys(json_object *req, const char **student, const char **keys,
				struct proto_error *e);
/* The refusal of a request naming STUDENT who is not in the database (not_found). */
void labd_request_not_enrolled(const char *student, struct proto_error *e);
/* KEYS for STUDENT, whose record holds NAME and EMAIL (may be NULL), through
 * student_validate -> *REC (clear with student_rec_clear). 0, or <0 with E filled. */
int labd_request_check_keys(const char *student, const char *name, const char *email,
			    const char *keys, struct student_rec *rec, struct proto_error *e);

/* The students a bulk operation (unenrol, start, stop, reboot, reset) names. */
struct labd_targets {
	bool all;                     /* "all": true: the caller lists them (IDS is NULL) */
	const struct conf_class *cls; /* "class" given, else NULL */
	char **ids;                   /* "students": valid ids, duplicates dropped */
	size_t n;
};

/* "all", "students" and "class" -> OUT: exactly one of all and students, every id
 * valid. 0, or -EINVAL/-ENOMEM with E filled. Clear OUT with labd_targets_clear either
 * way. */
int labd_request_parse_targets(json_object *req, const struct lab_conf *conf,
			       struct labd_targets *out, struct proto_error *e);
void labd_targets_clear(struct labd_targets *t);

/* The filters of list and sheet. */
struct labd_filter {
	const struct conf_class *cls; /* "class" given, else NULL */
	json_object *students;        /* "students" (an array inside the request), or NULL */
};

/* "class" and "students" -> OUT. 0 or -EINVAL with E filled. */
int labd_request_parse_filter(json_object *req, const struct lab_conf *conf,
			      struct labd_filter *out, struct proto_error *e);

/* labd's operations (docs/protocol.md), in the order error messages list them. */
enum labd_op {
	LABD_OP_ENROL,
	LABD_OP_UNENROL,
	LABD_OP_LIST,
	LABD_OP_START,
	LABD_OP_STOP,
	LABD_OP_REBOOT,
	LABD_OP_RESET,
	LABD_OP_SET_KEYS,
	LABD_OP_SHEET,
	LABD_OP_STATUS,
	LABD_OP_COUNT
};

/* How an operation's fields are read. */
enum labd_shape {
	LABD_SHAPE_NONE,        /* no fields (status) */
	LABD_SHAPE_ENROL,       /* labd_request_parse_enrol */
	LABD_SHAPE_TARGETS,     /* labd_request_parse_targets (+ "force" if FORCE) */
	LABD_SHAPE_FILTER,      /* labd_request_parse_filter */
	LABD_SHAPE_SET_KEYS,    /* labd_request_parse_set_keys */
};

struct labd_op_info {
	const char *name;       /* the "op" on the wire */
	enum labd_shape shape;
	bool force;             /* reads an optional boolean "force" */
};

/* The table: a new operation is a value in enum labd_op, a line here (request.c) and
 * its function in ops.c's table. */
extern const struct labd_op_info labd_ops[LABD_OP_COUNT];

/* One request, read and checked on its own. */
struct labd_req {
	json_object *obj;             /* the parsed request (owned) */
	int64_t id;                   /* -1 when absent */
	enum labd_op op;
	struct labd_enrol enrol;      /* LABD_SHAPE_ENROL: its rows; errors may be pending
	                                 (labd_request_enrol_finish reports them) */
	struct labd_targets targets;  /* LABD_SHAPE_TARGETS */
	bool force;                   /* "force", false when absent */
	struct labd_filter filter;    /* LABD_SHAPE_FILTER */
	const char *student, *keys;   /* LABD_SHAPE_SET_KEYS, pointing into OBJ */
};

/*
 * One request line: proto_parse_request, the op looked up in labd_ops (an unknown one is
 * refused naming every op there is), then its fields read as its shape says. 0, or <0
 * with E filled (R->id set when it could be read; R->enrol.errors may hold refused
 * rows). Clear R with labd_req_clear either way.
 */
int labd_request_parse(const char *line, size_t len, const struct lab_conf *conf,
		       struct labd_req *r, struct proto_error *e);
void labd_req_clear(struct labd_req *r);

#endif
