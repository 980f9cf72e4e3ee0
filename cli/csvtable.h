/*
 * A roster file as spreadsheets and Moodle write it, read into a table: RFC 4180
 * quoting, UTF-8 with or without a byte order mark, LF or CRLF, and ',' or ';'
 * between fields (Excel in a French or German locale writes ';'; the separator is the
 * one the header row uses more of). Every row keeps the physical line it starts on,
 * counting the newlines inside quoted fields. Nothing here knows what a column means.
 */
#ifndef VLAB_CLI_CSVTABLE_H
#define VLAB_CLI_CSVTABLE_H

#include <stddef.h>

#include "common/student.h"

struct csv_row {
	unsigned line;		/* physical line (1-based) where the row starts */
	char **f;		/* ncols NUL-terminated fields, csv_trim()med */
};

struct csv_table {
	char sep;		/* ',' or ';' */
	size_t ncols;
	char **header;		/* ncols labels, csv_trim()med */
	unsigned header_line;
	struct csv_row *rows;
	size_t nrows, caprows;
};

/*
 * Reads BUF into *T (zeroed first; csv_table_free it whatever the result). A row
 * whose field count differs from the header's, or with a NUL byte in a field, is
 * reported and left out; more than MAX_ROWS rows, malformed quoting, a UTF-16 or
 * non-UTF-8 file, and an empty file or one without rows stop the reading. Every
 * problem is appended to ERRS with its line (0: the file as a whole).
 * 0 when the table was read (rows left out are only in ERRS: a caller that takes a
 * roster whole checks ERRS too), -EINVAL when it could not be, -ENOMEM.
 */
int csv_table_read(const char *buf, size_t len, size_t max_rows, struct csv_table *t,
		   struct student_errors *errs);

void csv_table_free(struct csv_table *t);

/* S without the spaces and tabs at its ends, which a field's value does not include
 * (a key field's lines keep their own layout inside). Writes into S. */
char *csv_trim(char *s);

#endif
