#include "cli/roster.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "common/id.h"

enum { COL_ID, COL_NAME, COL_EMAIL, COL_KEYS, COL_N };

static const char *const col_names[COL_N] = { "id", "name", "email", "ssh_key" };

struct field {
	char *s;	/* NUL-terminated copy; may hold NULs of its own before len */
	size_t len;
};

struct roster_ctx {
	struct student_errors *errs;
	unsigned line;		/* physical line of the chunk being fed */
	unsigned rec_line;	/* line the current record starts on; 0 between records */
	struct field *f;	/* fields of the current record */
	size_t nf, capf;
	bool have_header;
	size_t ncols;
	long col[COL_N];	/* header position of each column we use, -1 if absent */
	size_t nrows;
	struct student_rec *recs;	/* valid rows */
	size_t nrecs, caprecs;
	struct student_rec *ids;	/* line + id of every row with a valid id */
	size_t nids, capids;
	int err;		/* -ENOMEM: give up */
	bool stop;		/* the rest cannot be read sensibly (bad header, too many rows) */
};

static void ctx_nomem(struct roster_ctx *c)
{
	c->err = -ENOMEM;
	c->stop = true;
}

static void ctx_error(struct roster_ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ctx_error(struct roster_ctx *c, unsigned line, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0 || student_errors_add(c->errs, line, "%s", msg) < 0)
		ctx_nomem(c);
	free(msg);
}

static void fields_clear(struct roster_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nf; i++)
		free(c->f[i].s);
	c->nf = 0;
}

static char *trim(char *s)
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
	struct roster_ctx *c = data;
	struct field *f;

	if (c->stop)
		return;
	if (!c->rec_line)
		c->rec_line = c->line;
	if (c->nf == c->capf) {
		size_t cap = c->capf ? c->capf * 2 : 8;

		f = reallocarray(c->f, cap, sizeof(*f));
		if (!f) {
			ctx_nomem(c);
			return;
		}
		c->f = f;
		c->capf = cap;
	}
	f = &c->f[c->nf];
	f->s = malloc(len + 1);
	if (!f->s) {
		ctx_nomem(c);
		return;
	}
	if (len)
		memcpy(f->s, s, len);
	f->s[len] = '\0';
	f->len = len;
	c->nf++;
}

static void header_read(struct roster_ctx *c, unsigned line)
{
	char q[200];
	size_t i, before = c->errs->n;
	int k;

	for (k = 0; k < COL_N; k++)
		c->col[k] = -1;
	c->ncols = c->nf;
	for (i = 0; i < c->nf; i++) {
		char *name;

		if (memchr(c->f[i].s, '\0', c->f[i].len)) {
			ctx_error(c, line, "header column %zu contains a NUL byte", i + 1);
			continue;
		}
		name = trim(c->f[i].s);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!strcmp(name, "ssh_keys"))
			k = COL_KEYS;
		else
			for (k = 0; k < COL_N && strcmp(name, col_names[k]); k++)
				;
		if (k == COL_N)
			continue;	/* a column for someone else: ignored */
		if (c->col[k] >= 0)
			ctx_error(c, line, "duplicate column '%s' (columns %ld and %zu)",
				  student_quote_value(name, q, sizeof(q)), c->col[k] + 1, i + 1);
		else
			c->col[k] = (long)i;
	}
	if (c->col[COL_ID] < 0)
		ctx_error(c, line, "missing required column 'id' (the first row must be the "
			  "header, e.g. id,name,email,ssh_key)");
	if (c->col[COL_KEYS] < 0)
		ctx_error(c, line, "missing required column 'ssh_key' (or 'ssh_keys')");
	c->have_header = true;
	/* Without a sound header no row can be read: report the header only. */
	if (c->errs->n > before)
		c->stop = true;
}

static int push_rec(struct student_rec **v, size_t *n, size_t *cap,
		    const struct student_rec *r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct student_rec *nv = reallocarray(*v, ncap, sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *r;
	return 0;
}

static void row_read(struct roster_ctx *c, unsigned line)
{
	const char *val[COL_N] = { NULL };
	struct student_rec rec, idrec = { 0 };
	int k, r;

	if (++c->nrows > ROSTER_MAX_ROWS) {
		ctx_error(c, 0, "more than %d student rows; split the roster", ROSTER_MAX_ROWS);
		c->stop = true;
		return;
	}
	if (c->nf != c->ncols) {
		ctx_error(c, line, "%zu field%s, but the header has %zu column%s", c->nf,
			  c->nf == 1 ? "" : "s", c->ncols, c->ncols == 1 ? "" : "s");
		return;
	}
	for (k = 0; k < COL_N; k++) {
		struct field *f;

		if (c->col[k] < 0)
			continue;
		f = &c->f[c->col[k]];
		if (memchr(f->s, '\0', f->len)) {
			ctx_error(c, line, "column '%s' contains a NUL byte", col_names[k]);
			return;
		}
		/* Keys keep their layout: the key parser reads lines and spaces itself. */
		val[k] = k == COL_KEYS ? f->s : trim(f->s);
	}

	if (val[COL_ID] && id_valid(val[COL_ID])) {
		idrec.line = line;
		idrec.id = strdup(val[COL_ID]);
		if (!idrec.id || push_rec(&c->ids, &c->nids, &c->capids, &idrec) < 0) {
			free(idrec.id);
			ctx_nomem(c);
			return;
		}
	}
	r = student_validate(line, val[COL_ID], val[COL_NAME], val[COL_EMAIL], val[COL_KEYS],
			     &rec, c->errs);
	if (r == -ENOMEM) {
		ctx_nomem(c);
	} else if (r == 0 && push_rec(&c->recs, &c->nrecs, &c->caprecs, &rec) < 0) {
		student_rec_clear(&rec);
		ctx_nomem(c);
	}
}

/* libcsv: one record ended (ch is the terminator, -1 at the end of input). */
static void on_record(int ch, void *data)
{
	struct roster_ctx *c = data;
	unsigned line = c->rec_line ? c->rec_line : c->line;

	if (!c->stop) {
		if (!c->have_header)
			header_read(c, line);
		else
			row_read(c, line);
	}
	fields_clear(c);
	c->rec_line = 0;
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
 * libcsv reports fields and record ends but not where a record began, so the input
 * goes in one physical line at a time: a record starts on the first non-blank line
 * fed while none is open.
 */
static void roster_feed(struct roster_ctx *c, const char *buf, size_t len)
{
	struct csv_parser p;
	size_t pos = 0;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		ctx_nomem(c);
		return;
	}
	c->line = 1;
	while (pos < len && !c->stop) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;

		if (!c->rec_line && !blank_chunk(buf + pos, l))
			c->rec_line = c->line;
		if (csv_parse(&p, buf + pos, l, on_field, on_record, c) != l) {
			if (csv_error(&p) == CSV_EPARSE)
				ctx_error(c, c->line, "malformed CSV: a '\"' inside an unquoted "
					  "field or text after a closing '\"' (quote the whole "
					  "field and double the quotes inside it)");
			else
				ctx_nomem(c);
			c->stop = true;
			goto out;
		}
		pos += l;
		if (nl)
			c->line++;
	}
	if (!c->stop && csv_fini(&p, on_field, on_record, c) != 0) {
		if (csv_error(&p) == CSV_EPARSE)
			ctx_error(c, c->rec_line ? c->rec_line : c->line,
				  "a quoted field is never closed (missing '\"')");
		else
			ctx_nomem(c);
		c->stop = true;
	}
out:
	csv_free(&p);
}

int roster_parse(const char *buf, size_t len, struct student_rec **rows, size_t *n,
		 struct student_errors *errs)
{
	struct roster_ctx c = { .errs = errs };
	size_t before = errs->n;
	int ret = -EINVAL, r;

	*rows = NULL;
	*n = 0;
	if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
			 (buf[0] == '\xfe' && buf[1] == '\xff'))) {
		ctx_error(&c, 0, "roster is UTF-16; save it as UTF-8 (\"CSV UTF-8\")");
		goto out;
	}
	/* Spreadsheets write "CSV UTF-8" with a byte order mark. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	roster_feed(&c, buf, len);
	if (c.err)
		goto out;
	if (!c.stop) {
		if (!c.have_header)
			ctx_error(&c, 0, "roster is empty (no header row)");
		else if (c.nrows == 0)
			ctx_error(&c, 0, "roster has a header but no student rows");
	}
	r = student_check_batch(c.ids, c.nids, errs);
	if (r == -ENOMEM)
		c.err = r;
out:
	if (c.err) {
		ret = c.err;
	} else if (errs->n == before) {
		*rows = c.recs;
		*n = c.nrecs;
		c.recs = NULL;
		c.nrecs = 0;
		ret = 0;
	} else {
		student_errors_sort(errs);
	}
	fields_clear(&c);
	free(c.f);
	student_recs_free(c.recs, c.nrecs);
	student_recs_free(c.ids, c.nids);
	return ret;
}

int roster_load_file(const char *path, struct student_rec **rows, size_t *n,
		     struct student_errors *errs)
{
	bool use_stdin = !strcmp(path, "-");
	char *buf = NULL;
	size_t len = 0, got;
	FILE *f;
	int ret;

	*rows = NULL;
	*n = 0;
	f = use_stdin ? stdin : fopen(path, "rbe");
	if (!f) {
		ret = -errno;
		goto io_error;
	}
	/* One byte more than allowed tells "exactly at the limit" from "over it". */
	buf = malloc(ROSTER_MAX_BYTES + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while ((got = fread(buf + len, 1, ROSTER_MAX_BYTES + 1 - len, f)) > 0) {
		len += got;
		if (len > ROSTER_MAX_BYTES)
			break;
	}
	if (ferror(f)) {
		ret = errno ? -errno : -EIO;
		goto io_error;
	}
	if (len > ROSTER_MAX_BYTES) {
		ret = -EFBIG;
		if (student_errors_add(errs, 0, "%s: larger than %u MiB, the most a roster may "
				       "be", path, ROSTER_MAX_BYTES >> 20) < 0)
			ret = -ENOMEM;
		goto out;
	}
	ret = roster_parse(buf, len, rows, n, errs);
	goto out;

io_error:
	if (student_errors_add(errs, 0, "%s: %s", path, strerror(-ret)) < 0)
		ret = -ENOMEM;
out:
	if (f && !use_stdin)
		fclose(f);
	free(buf);
	return ret;
}
