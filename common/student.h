/*
 * One student record and its validation. labctl (roster CSV) and labd (rows from the
 * socket) both run every row through student_validate() and the whole batch through
 * student_check_batch(), collecting every error so a teacher fixes a roster in one go.
 */
#ifndef VLAB_STUDENT_H
#define VLAB_STUDENT_H

#include <stddef.h>

#include "common/sshkey.h"

#define STUDENT_NAME_MAX	128	/* bytes of UTF-8 */
#define STUDENT_EMAIL_MAX	254

struct student_rec {
	unsigned line;		/* roster line the row starts on; 0 when there is none */
	char *id;		/* id_valid() */
	char *name;		/* UTF-8, never NULL: defaults to the id */
	char *email;		/* NULL when not given */
	struct sshkey *keys;	/* 1..SSHKEY_LIST_MAX, canonical */
	size_t n_keys;
};

struct student_error {
	unsigned line;		/* 0: about the input as a whole */
	char *message;		/* without the "line N: " prefix */
};

struct student_errors {
	struct student_error *v;
	size_t n, cap;
};

#define STUDENT_ERRORS_INIT { NULL, 0, 0 }

/* Append one error. 0 or -ENOMEM. */
int student_errors_add(struct student_errors *errs, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Order by line, keeping the order of errors on the same line. */
void student_errors_sort(struct student_errors *errs);
void student_errors_free(struct student_errors *errs);

/*
 * Validate one row and build *out from copies of the fields. name and email may be
 * NULL or "" (name then defaults to id). keys holds one or more key lines.
 * Every problem is appended to errs with `line`.
 * Returns 0 (out filled, free with student_rec_clear), -EINVAL (at least one error
 * added, out left empty) or -ENOMEM.
 */
int student_validate(unsigned line, const char *id, const char *name, const char *email,
		     const char *keys, struct student_rec *out, struct student_errors *errs);

/*
 * The checks of student_validate() but the keys': id syntax (unless ID is NULL: the
 * caller made or checked it), name and email (NULL or "" not checked). Errors are
 * appended with LINE. 0, -EINVAL (errors added) or -ENOMEM.
 */
int student_check_fields(unsigned line, const char *id, const char *name,
			 const char *email, struct student_errors *errs);

/*
 * Checks across rows: duplicate ids ("duplicate id 'alice' (first on line 3)").
 * Reads only line and id of each record; records with id NULL are skipped.
 * 0, -EINVAL (errors added) or -ENOMEM.
 */
int student_check_batch(const struct student_rec *recs, size_t n,
			struct student_errors *errs);

void student_rec_clear(struct student_rec *rec);
void student_recs_free(struct student_rec *recs, size_t n);

/*
 * Make a user-supplied value safe to quote in a message: at most 40 bytes,
 * control and non-ASCII bytes as \xNN. Returns buf.
 */
const char *student_quote_value(const char *s, char *buf, size_t buflen);

#endif
