/*
 * Roster CSV (RFC 4180, UTF-8 with or without BOM, LF or CRLF): a header row, then
 * one student per row. Columns, case-insensitive: id and ssh_key (or ssh_keys)
 * required, name and email optional, others ignored. A key field may hold several
 * keys, one per line (a quoted field with newlines).
 */
#ifndef VLAB_ROSTER_H
#define VLAB_ROSTER_H

#include <stddef.h>

#include "common/student.h"

#define ROSTER_MAX_BYTES	(4u * 1024 * 1024)
#define ROSTER_MAX_ROWS		5000

/*
 * Parse and validate a roster held in memory. Every problem found is appended to errs
 * with the physical line (1-based) where its record starts; line 0 means the roster
 * as a whole. Duplicate ids are checked across the batch.
 * Returns 0 with *rows (*n >= 1, free with student_recs_free), -EINVAL when errs got
 * at least one entry (then *rows is NULL: a roster is taken whole or not at all), or
 * -ENOMEM.
 */
int roster_parse(const char *buf, size_t len, struct student_rec **rows, size_t *n,
		 struct student_errors *errs);

/*
 * Read path ("-" is stdin) and roster_parse() it. Files over ROSTER_MAX_BYTES are
 * refused. I/O errors return -errno and are also reported in errs ("PATH: reason").
 */
int roster_load_file(const char *path, struct student_rec **rows, size_t *n,
		     struct student_errors *errs);

#endif
