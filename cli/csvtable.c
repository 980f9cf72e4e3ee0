#include "cli/csvtable.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <unicode/utf8.h>

struct field {
	char *s;	/* NUL-terminated copy; may hold NULs of its own before len */
	size_t len;
};

struct reader {
	struct csv_table *t;
	struct student_errors *errs;
	size_t max_rows;
	unsigned line;		/* physical line of the chunk being fed */
	unsigned rec_line;	/* line the current record starts on; 0 between records */
	struct field *f;	/* fields of the current record */
	size_t nf, capf;
	bool have_header;
	size_t nrows;		/* rows seen, the ones left out included */
	int err;		/* -ENOMEM: give up */
	bool stop;		/* the rest cannot be read sensibly */
};

static void rd_nomem(struct reader *r)
{
	r->err = -ENOMEM;
	r->stop = true;
}

/* Appends one error; when even that fails, the reading stops for want of memory. */
#define rd_error(r, line, ...) do { \
	if (student_errors_add((r)->errs, (line), __VA_ARGS__) < 0) \
		rd_nomem(r); \
} while (0)

static void fields_clear(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->nf; i++)
		free(r->f[i].s);
	r->nf = 0;
}

char *csv_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

/* libcsv: one field ended. CSV_APPEND_NULL makes s a string, but we keep len for NULs. */
static void on_field(void *s, size_t len, void *data)
{
	struct reader *r = data;
	struct field *f;

	if (r->stop)
		return;
	if (!r->rec_line)
		r->rec_line = r->line;
	if (r->nf == r->capf) {
		size_t cap = r->capf ? r->capf * 2 : 8;

		f = reallocarray(r->f, cap, sizeof(*f));
		if (!f) {
			rd_nomem(r);
			return;
		}
		r->f = f;
		r->capf = cap;
	}
	f = &r->f[r->nf];
	f->s = malloc(len + 1);
	if (!f->s) {
		rd_nomem(r);
		return;
	}
	if (len)
		memcpy(f->s, s, len);
	f->s[len] = '\0';
	f->len = len;
	r->nf++;
}

/* The current fields as NUL-terminated strings, handed over to the table. */
static char **fields_take(struct reader *r)
{
	char **v = calloc(r->nf ? r->nf : 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < r->nf; i++) {
		char *s = r->f[i].s, *t = csv_trim(s);

		if (t != s)
			memmove(s, t, strlen(t) + 1);
		v[i] = s;
		r->f[i].s = NULL;
	}
	return v;
}

static void header_read(struct reader *r, unsigned line)
{
	size_t i;

	r->have_header = true;
	for (i = 0; i < r->nf; i++) {
		if (memchr(r->f[i].s, '\0', r->f[i].len)) {
			rd_error(r, line, "header column %zu contains a NUL byte", i + 1);
			r->stop = true;
			return;
		}
	}
	r->t->header = fields_take(r);
	if (!r->t->header) {
		rd_nomem(r);
		return;
	}
	r->t->ncols = r->nf;
	r->t->header_line = line;
}

static void row_read(struct reader *r, unsigned line)
{
	struct csv_table *t = r->t;
	struct csv_row *row;
	size_t i;

	if (++r->nrows > r->max_rows) {
		rd_error(r, 0, "more than %zu student rows; split the roster", r->max_rows);
		r->stop = true;
		return;
	}
	if (r->nf != t->ncols) {
		rd_error(r, line, "%zu field%s, but the header has %zu column%s", r->nf,
			 r->nf == 1 ? "" : "s", t->ncols, t->ncols == 1 ? "" : "s");
		return;
	}
	for (i = 0; i < r->nf; i++) {
		if (memchr(r->f[i].s, '\0', r->f[i].len)) {
			rd_error(r, line, "column '%s' contains a NUL byte", t->header[i]);
			return;
		}
	}
	if (t->nrows == t->caprows) {
		size_t cap = t->caprows ? t->caprows * 2 : 64;

		row = reallocarray(t->rows, cap, sizeof(*row));
		if (!row) {
			rd_nomem(r);
			return;
		}
		t->rows = row;
		t->caprows = cap;
	}
	row = &t->rows[t->nrows];
	row->line = line;
	row->f = fields_take(r);
	if (!row->f) {
		rd_nomem(r);
		return;
	}
	t->nrows++;
}

/* libcsv: one record ended (ch is the terminator, -1 at the end of input). */
static void on_record(int ch, void *data)
{
	struct reader *r = data;
	unsigned line = r->rec_line ? r->rec_line : r->line;

	if (!r->stop) {
		if (!r->have_header)
			header_read(r, line);
		else
			row_read(r, line);
	}
	fields_clear(r);
	r->rec_line = 0;
}

static bool blank_chunk(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	}
	return true;
}

/*
 * The separator the header row uses more of, outside quotes: ';' when it has more
 * semicolons than commas (Excel in a locale whose decimal mark is ','), else ','.
 */
static char detect_sep(const char *buf, size_t len)
{
	size_t i, commas = 0, semis = 0;
	bool quoted = false;

	for (i = 0; i < len; i++) {
		if (buf[i] == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (buf[i] == '\n')
			break;
		else if (buf[i] == ',')
			commas++;
		else if (buf[i] == ';')
			semis++;
	}
	return semis > commas ? ';' : ',';
}

/* The whole file must be UTF-8: a spreadsheet's "CSV" in a legacy code page is not. */
static bool check_utf8(struct reader *r, const char *buf, size_t len)
{
	const uint8_t *s = (const uint8_t *)buf;
	int32_t i = 0, at, n = (int32_t)len;
	unsigned line = 1;
	UChar32 c;

	while (i < n) {
		at = i;
		U8_NEXT(s, i, n, c);
		if (c == '\n')
			line++;
		if (c < 0) {
			rd_error(r, line, "the roster is not UTF-8 (byte 0x%02X); save it as "
				 "\"CSV UTF-8\" (in Excel: Save As, CSV UTF-8)", s[at]);
			return false;
		}
	}
	return true;
}

/*
 * libcsv reports fields and record ends but not where a record began, so the input
 * goes in one physical line at a time: a record starts on the first non-blank line
 * fed while none is open.
 */
static void feed(struct reader *r, const char *buf, size_t len)
{
	struct csv_parser p;
	size_t pos = 0;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		rd_nomem(r);
		return;
	}
	csv_set_delim(&p, (unsigned char)r->t->sep);
	r->line = 1;
	while (pos < len && !r->stop) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;

		if (!r->rec_line && !blank_chunk(buf + pos, l))
			r->rec_line = r->line;
		if (csv_parse(&p, buf + pos, l, on_field, on_record, r) != l) {
			if (csv_error(&p) == CSV_EPARSE)
				rd_error(r, r->line, "malformed CSV: a '\"' inside an unquoted "
					 "field or text after a closing '\"' (quote the whole "
					 "field and double the quotes inside it)");
			else
				rd_nomem(r);
			r->stop = true;
			goto out;
		}
		pos += l;
		if (nl)
			r->line++;
	}
	if (!r->stop && csv_fini(&p, on_field, on_record, r) != 0) {
		if (csv_error(&p) == CSV_EPARSE)
			rd_error(r, r->rec_line ? r->rec_line : r->line,
				 "a quoted field is never closed (missing '\"')");
		else
			rd_nomem(r);
		r->stop = true;
	}
out:
	csv_free(&p);
}

int csv_table_read(const char *buf, size_t len, size_t max_rows, struct csv_table *t,
		   struct student_errors *errs)
{
	struct reader r = { .t = t, .errs = errs, .max_rows = max_rows };
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	t->sep = ',';
	if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
			 (buf[0] == '\xfe' && buf[1] == '\xff'))) {
		rd_error(&r, 0, "roster is UTF-16; save it as UTF-8 (\"CSV UTF-8\")");
		goto out;
	}
	/* Spreadsheets and Moodle write "CSV UTF-8" with a byte order mark. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	if (!check_utf8(&r, buf, len))
		goto out;
	t->sep = detect_sep(buf, len);
	feed(&r, buf, len);
	if (r.err || r.stop)
		goto out;
	if (!r.have_header)
		rd_error(&r, 0, "roster is empty (no header row)");
	else if (r.nrows == 0)
		rd_error(&r, 0, "roster has a header but no student rows");
	else if (t->nrows > 0)
		ret = 0;
out:
	fields_clear(&r);
	free(r.f);
	return r.err ? r.err : ret;
}

void csv_table_free(struct csv_table *t)
{
	size_t i, j;

	if (!t)
		return;
	for (i = 0; i < t->nrows; i++) {
		for (j = 0; j < t->ncols; j++)
			free(t->rows[i].f[j]);
		free(t->rows[i].f);
	}
	free(t->rows);
	if (t->header) {
		for (j = 0; j < t->ncols; j++)
			free(t->header[j]);
		free(t->header);
	}
	memset(t, 0, sizeof(*t));
}
