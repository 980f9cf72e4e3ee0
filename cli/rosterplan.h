/*
 * Which column of a roster holds what, decided once from its header: vlab's own
 * names, Moodle's labels (cli/moodle.h), or the teacher's --id-column and
 * --name-columns; and a column found by name, as {NAME} in a keys URL names one.
 * Part of cli/roster.c, apart so that each file has one job.
 */
#ifndef VLAB_CLI_ROSTERPLAN_H
#define VLAB_CLI_ROSTERPLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/roster.h"

#define ROSTER_NAME_COLUMNS_MAX 4
#define ROSTER_QBUF 320		/* rosterplan_quote(): 60 characters of up to 4 bytes */

/* Where each part of a student comes from, decided once from the header. */
struct roster_plan {
	long id;			/* column of the ID */
	bool normalise;			/* idnorm_id() the ID (not vlab's own format) */
	long name[ROSTER_NAME_COLUMNS_MAX];	/* joined with spaces; -1 unused */
	long email, keys;		/* -1: none */
};

/*
 * Decides from R's header (labels folded in r->labels, Moodle's columns not yet
 * found) and O where every part of a student comes from; fills r->moodle, r->format,
 * r->id_from and r->name_from. Problems are appended to ERRS on the header's line.
 * 0, -EINVAL (reported), -ENOMEM.
 */
int rosterplan_make(struct roster *r, const struct roster_opts *o, struct roster_plan *p,
		    struct student_errors *errs);

/*
 * The column NAME refers to: a label equal to it ignoring case, else one equal once
 * both are folded, else Moodle's field NAME (username, email...). 0, -ENOENT, -EEXIST
 * (two columns match), -ENOMEM.
 */
int rosterplan_column(struct roster *r, const char *name, long *col);

/*
 * S for a message: printable characters as they are, so that "Prénom" reads as it is
 * written, but control and invisible format characters (bidi overrides, zero-width)
 * as \xNN, and at most 60 characters. S must be UTF-8. Returns BUF (ROSTER_QBUF bytes).
 */
const char *rosterplan_quote(const char *s, char *buf, size_t len);

#endif
