/*
 * labctl's output: aligned text tables, RFC 4180 CSV fields, pretty JSON, and a
 * progress bar for bulk operations. Nothing here talks to labd.
 */
#ifndef VLAB_CLI_OUTPUT_H
#define VLAB_CLI_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Columns of display width: UTF-8 decoded, wide (CJK, emoji) = 2, combining marks = 0,
 * any byte that is not valid UTF-8 = 1. Independent of the locale. */
size_t output_display_width(const char *s);

/*
 * A text table: a header row and rows of cells, printed with every column padded to
 * its widest cell (by display width) and two spaces between columns; the last column
 * is not padded. Cells are copied; control characters in them become '?', so a name
 * from labd cannot move the teacher's cursor or hide a row.
 */
struct table {
	size_t ncols;
	char **cells;            /* (nrows + 1) * ncols, row 0 is the header */
	size_t nrows;            /* rows after the header */
	size_t cap;              /* rows allocated, header included */
};

int table_init(struct table *t, size_t ncols, const char *const *header);
/* CELLS has ncols entries; NULL prints as "-". 0 or -ENOMEM. */
int table_add_row(struct table *t, const char *const *cells);
int table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* One CSV field: as is, or in double quotes with '"' doubled when it holds a comma, a
 * quote, CR or LF, or starts or ends with a space. 0 or -EIO. */
int output_csv_field(FILE *f, const char *s);
/* N fields separated by commas and ended by "\n". 0 or -EIO. */
int output_csv_row(FILE *f, const char *const *fields, size_t n);

/* O as indented JSON and a newline. 0 or -EIO. */
int output_json(FILE *f, json_object *o);

/* The connection sheet's command: "ssh -p PORT USER@IP" into BUF. 0, or -ENOSPC when
 * it does not fit, -EINVAL for a missing field or a port outside 1..65535. */
int output_ssh_command(char *buf, size_t len, const char *user, const char *ip,
		       int64_t port);

/* "[=====>     ] 7/12 alice" with a bar of WIDTH cells into BUF (LABEL may be NULL). */
void output_progress_format(char *buf, size_t len, unsigned done, unsigned total,
			    const char *label, unsigned width);

/* A progress bar redrawn in place on F; does nothing unless F is a terminal. */
struct progress {
	FILE *f;
	bool enabled;
	bool drawn;              /* something is on the line and must be cleared */
};

void progress_init(struct progress *p, FILE *f);
void progress_update(struct progress *p, unsigned done, unsigned total, const char *label);
/* Erases the bar so that the next line starts clean. */
void progress_clear(struct progress *p);

#endif
