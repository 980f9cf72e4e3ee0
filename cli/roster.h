/*
 * A class roster read into student records, from the file a school has:
 *
 * - vlab's own CSV: a header row with id and ssh_key (or ssh_keys) columns, name and
 *   email optional, other columns ignored. IDs are taken as written and must be
 *   valid. A key field may hold several keys, one per line (a quoted field).
 * - one of Moodle's user lists (cli/moodle.h): the ID made from the username column,
 *   or when there is none from the e-mail's local part (a username that is an e-mail
 *   address gives its local part too), normalised by idnorm_id(); the name from the
 *   first and last name columns; the e-mail kept.
 * - any other export, with opts->id_column (its values normalised like usernames) and
 *   opts->name_columns.
 *
 * The file is read by cli/csvtable.h (BOM, CRLF, ',' or ';'), its columns told apart
 * by cli/rosterplan.h. An ssh_key column is read in every format; a student may come
 * without a key when opts->keys_elsewhere.
 * Two students whose IDs come out the same are an error naming both lines.
 */
#ifndef VLAB_ROSTER_H
#define VLAB_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/csvtable.h"
#include "cli/idnorm.h"
#include "cli/moodle.h"
#include "common/student.h"

#define ROSTER_MAX_BYTES	(4u * 1024 * 1024)
#define ROSTER_MAX_ROWS		5000

struct roster_opts {
	const char *id_column;		/* --id-column NAME; NULL: from the header */
	const char *name_columns;	/* --name-columns "A,B"; NULL: from the header */
	bool keys_elsewhere;		/* --keys-from or --generate-keys: a row may lack a key */
};

struct roster {
	struct student_rec *recs;	/* n records in file order; n_keys == 0 when the
					   roster gave the student no key */
	size_t n;
	struct csv_table tab;		/* recs[i] was read from tab.rows[i] */
	char **labels;			/* tab.ncols header labels, idnorm_label()ed */
	struct moodle_columns moodle;
	const char *format;		/* "vlab", "Moodle", "custom" */
	char *id_from;			/* for the teacher: "column 'Username', normalised" */
	char *name_from;		/* "columns 'First name' and 'Last name'", or NULL */
	struct idnorm *norm;
};

/*
 * Reads a roster held in memory into *R (zeroed first; roster_free it whatever the
 * result). Every problem found is appended to ERRS with the physical line (1-based)
 * where its record starts; line 0 means the roster as a whole.
 * 0 with r->n >= 1, -EINVAL when ERRS got at least one entry (then r->n is 0: a
 * roster is taken whole or not at all), -ENOMEM, or -EIO when ICU is unusable.
 */
int roster_read(const char *buf, size_t len, const struct roster_opts *opts,
		struct roster *r, struct student_errors *errs);

/*
 * roster_read() of the file PATH ("-" is stdin). Files over ROSTER_MAX_BYTES are
 * refused. I/O errors return -errno and are also reported in ERRS ("PATH: reason").
 */
int roster_load(const char *path, const struct roster_opts *opts, struct roster *r,
		struct student_errors *errs);

/*
 * The value of the column NAME for student I, for {NAME} in a URL: "id" is the
 * student's vlab ID; else a header label equal to NAME ignoring case, or equal once
 * both are folded; else Moodle's field name (username, email, firstname, lastname,
 * idnumber) for the column recognised as that field. *VALUE is trimmed, owned by R.
 * 0, -ENOENT (no such column), -EEXIST (two columns match), -ENOMEM.
 */
int roster_value(struct roster *r, size_t i, const char *name, const char **value);

void roster_free(struct roster *r);

/* The roster as validated records, keys required (vlab's format, or Moodle's with an
 * ssh_key column): roster_read() with default options, the records handed over. On
 * success *rows has *n >= 1 records (student_recs_free); on failure *rows is NULL. */
int roster_parse(const char *buf, size_t len, struct student_rec **rows, size_t *n,
		 struct student_errors *errs);
int roster_load_file(const char *path, struct student_rec **rows, size_t *n,
		     struct student_errors *errs);

#endif
