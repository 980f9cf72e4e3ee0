#include "cli/roster.h"
#include "cli/rosterplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/id.h"

static const char *q(const char *s, char *buf, size_t len)
{
	return rosterplan_quote(s, buf, len);
}

/* One ID and where it was made from, for the check that no two students share one. */
struct id_entry {
	unsigned line;
	const char *id;			/* owned by the record being built */
	const char *from;		/* the value it was made from (owned by the table) */
};

/* Appends one error: -EINVAL, or -ENOMEM when even that failed. */
#define add_error(errs, line, ...) \
	(student_errors_add((errs), (line), __VA_ARGS__) < 0 ? -ENOMEM : -EINVAL)

/* The name: the plan's name columns joined with single spaces, empty ones skipped. */
static char *name_join(const struct roster_plan *p, char *const *f)
{
	size_t len = 0, i;
	char *s;

	for (i = 0; i < ROSTER_NAME_COLUMNS_MAX; i++)
		len += p->name[i] >= 0 ? strlen(f[p->name[i]]) + 1 : 0;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < ROSTER_NAME_COLUMNS_MAX; i++) {
		if (p->name[i] < 0 || !*f[p->name[i]])
			continue;
		if (*s)
			strcat(s, " ");
		strcat(s, f[p->name[i]]);
	}
	return s;
}

/*
 * The normalised ID for VALUE (from column LABEL on LINE): the part before the last
 * '@' of an address, folded. 0, -EINVAL (reported), -ENOMEM.
 */
static int id_normalise(struct roster *r, unsigned line, const char *label,
			const char *value, char out[ID_MAX_LEN + 1],
			struct student_errors *errs)
{
	char a[ROSTER_QBUF], b[ROSTER_QBUF], *local;
	const char *at = strrchr(value, '@');
	int ret;

	if (!*value)
		return add_error(errs, line, "column '%s' is empty: no ID can be made from it",
				 q(label, a, sizeof(a)));
	local = at ? strndup(value, (size_t)(at - value)) : strdup(value);
	if (!local)
		return -ENOMEM;
	ret = idnorm_id(r->norm, local, out);
	free(local);
	if (ret == -EINVAL)
		return add_error(errs, line, "%s '%s' gives no usable ID (no letter a-z or digit "
				 "in it once accents are folded); give the student an ID in a "
				 "column of its own and name it with --id-column",
				 q(label, a, sizeof(a)), q(value, b, sizeof(b)));
	return ret;
}

/* A student without a key in the roster: every other check, and a record to fill. */
static int rec_without_key(unsigned line, const char *id, const char *name,
			   const char *email, struct student_rec *rec,
			   struct student_errors *errs)
{
	int ret = student_check_fields(line, id, name, email, errs);

	memset(rec, 0, sizeof(*rec));
	rec->line = line;
	if (ret < 0)
		return ret;
	rec->id = strdup(id);
	rec->name = strdup(*name ? name : id);
	rec->email = email && *email ? strdup(email) : NULL;
	if (!rec->id || !rec->name || (email && *email && !rec->email)) {
		student_rec_clear(rec);
		return -ENOMEM;
	}
	return 0;
}

static bool blank(const char *s)
{
	return !s || s[strspn(s, " \t\r\n")] == '\0';
}

/*
 * Row I into *REC. *IDOK tells whether the ID came out (for the duplicate check even
 * when the row has other errors). 0, -EINVAL (reported), -ENOMEM.
 */
static int row_make(struct roster *r, const struct roster_opts *o, const struct roster_plan *p,
		    size_t i, struct student_rec *rec, char id[ID_MAX_LEN + 1], bool *idok,
		    struct student_errors *errs)
{
	char *const *f = r->tab.rows[i].f;
	unsigned line = r->tab.rows[i].line;
	const char *idv = p->normalise ? id : f[p->id];
	const char *email = p->email >= 0 ? f[p->email] : NULL;
	const char *keys = p->keys >= 0 ? f[p->keys] : NULL;
	char *name;
	int ret;

	memset(rec, 0, sizeof(*rec));
	*idok = false;
	if (p->normalise) {
		ret = id_normalise(r, line, r->tab.header[p->id], f[p->id], id, errs);
		if (ret == -ENOMEM)
			return ret;
		*idok = ret == 0;
	} else {
		snprintf(id, ID_MAX_LEN + 1, "%s", f[p->id]);
		*idok = id_valid(f[p->id]);
	}
	name = name_join(p, f);
	if (!name)
		return -ENOMEM;
	if (p->normalise && !*idok)
		ret = student_check_fields(line, NULL, name, email, errs);
	else if (!blank(keys) || !o->keys_elsewhere)
		ret = student_validate(line, idv, name, email, keys, rec, errs);
	else
		ret = rec_without_key(line, idv, name, email, rec, errs);
	free(name);
	if (ret == 0 && !*idok)
		ret = -EINVAL;
	return ret;
}

static int cmp_id_entry(const void *a, const void *b)
{
	const struct id_entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * No two students with one ID. Normalised IDs say what they were made from, since
 * the teacher sees two different usernames ("jean.dupont", "Jean-Dupont").
 */
static int check_ids(struct id_entry *v, size_t n, bool normalised, const char *label,
		     struct student_errors *errs)
{
	char a[ROSTER_QBUF], b[ROSTER_QBUF], c[ROSTER_QBUF], l[ROSTER_QBUF];
	size_t i, first = 0;
	int ret = 0, r;

	qsort(v, n, sizeof(*v), cmp_id_entry);
	for (i = 1; i < n; i++) {
		if (strcmp(v[first].id, v[i].id)) {
			first = i;
			continue;
		}
		if (!normalised)
			r = add_error(errs, v[i].line, "duplicate id '%s' (first on line %u)",
				      q(v[i].id, a, sizeof(a)), v[first].line);
		else
			r = add_error(errs, v[i].line, "%s '%s' gives the ID '%s', as '%s' on "
				      "line %u does; give one of them an ID of its own (a column "
				      "named with --id-column)", q(label, l, sizeof(l)),
				      q(v[i].from, a, sizeof(a)), q(v[i].id, b, sizeof(b)),
				      q(v[first].from, c, sizeof(c)), v[first].line);
		if (r == -ENOMEM)
			return r;
		ret = r;
	}
	return ret;
}

static int rows_make(struct roster *r, const struct roster_opts *o, const struct roster_plan *p,
		     struct student_errors *errs)
{
	size_t n = r->tab.nrows, i, nids = 0;
	struct student_rec *recs = calloc(n, sizeof(*recs));
	struct id_entry *ids = calloc(n, sizeof(*ids));
	char (*idbuf)[ID_MAX_LEN + 1] = calloc(n, sizeof(*idbuf));
	int ret = 0, rr;
	bool idok;

	if (!recs || !ids || !idbuf) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		rr = row_make(r, o, p, i, &recs[i], idbuf[i], &idok, errs);
		if (rr == -ENOMEM) {
			ret = rr;
			goto out;
		}
		if (rr < 0)
			ret = rr;
		if (idok)
			ids[nids++] = (struct id_entry){ r->tab.rows[i].line, idbuf[i],
							 r->tab.rows[i].f[p->id] };
	}
	rr = check_ids(ids, nids, p->normalise, r->tab.header[p->id], errs);
	if (rr < 0)
		ret = rr;
	if (ret == 0) {
		r->recs = recs;
		r->n = n;
		recs = NULL;
	}
out:
	student_recs_free(recs, n);
	free(ids);
	free(idbuf);
	return ret;
}

int roster_read(const char *buf, size_t len, const struct roster_opts *opts,
		struct roster *r, struct student_errors *errs)
{
	static const struct roster_opts defaults;
	size_t before = errs->n, i;
	struct roster_plan p;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!opts)
		opts = &defaults;
	ret = csv_table_read(buf, len, ROSTER_MAX_ROWS, &r->tab, errs);
	if (ret < 0)
		goto out;
	ret = idnorm_open(&r->norm);
	if (ret < 0) {
		if (ret == -EIO && student_errors_add(errs, 0, "cannot load ICU's "
						      "transliterator (is libicu's data "
						      "installed?)") < 0)
			ret = -ENOMEM;
		goto out;
	}
	r->labels = calloc(r->tab.ncols ? r->tab.ncols : 1, sizeof(*r->labels));
	if (!r->labels) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->tab.ncols; i++) {
		/* A label that is not UTF-8 was refused with the file; only -ENOMEM is left. */
		ret = idnorm_label(r->norm, r->tab.header[i], &r->labels[i]);
		if (ret == -EINVAL)
			ret = (r->labels[i] = strdup("")) ? 0 : -ENOMEM;
		if (ret < 0)
			goto out;
	}
	ret = rosterplan_make(r, opts, &p, errs);
	if (ret < 0)
		goto out;
	ret = rows_make(r, opts, &p, errs);
out:
	if (ret != -ENOMEM && errs->n > before) {
		student_errors_sort(errs);
		ret = -EINVAL;
	}
	if (ret < 0) {
		/* Rows the CSV reader left out are errors too: a roster is taken whole. */
		student_recs_free(r->recs, r->n);
		r->recs = NULL;
		r->n = 0;
	}
	return ret;
}

int roster_load(const char *path, const struct roster_opts *opts, struct roster *r,
		struct student_errors *errs)
{
	bool use_stdin = !strcmp(path, "-");
	char *buf = NULL;
	size_t len = 0, got;
	FILE *f;
	int ret;

	memset(r, 0, sizeof(*r));
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
	ret = roster_read(buf, len, opts, r, errs);
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

int roster_value(struct roster *r, size_t i, const char *name, const char **value)
{
	long col;
	int ret;

	*value = NULL;
	if (i >= r->n)
		return -ENOENT;
	if (!strcmp(name, "id")) {
		*value = r->recs[i].id;
		return 0;
	}
	ret = rosterplan_column(r, name, &col);
	if (ret == 0)
		*value = r->tab.rows[i].f[col];
	return ret;
}

void roster_free(struct roster *r)
{
	size_t i;

	if (!r)
		return;
	student_recs_free(r->recs, r->n);
	if (r->labels) {
		for (i = 0; i < r->tab.ncols; i++)
			free(r->labels[i]);
		free(r->labels);
	}
	csv_table_free(&r->tab);
	free(r->id_from);
	free(r->name_from);
	idnorm_close(r->norm);
	memset(r, 0, sizeof(*r));
}

/* Hands the records over and frees the rest. */
static int roster_take(struct roster *r, int ret, struct student_rec **rows, size_t *n)
{
	*rows = NULL;
	*n = 0;
	if (ret == 0) {
		*rows = r->recs;
		*n = r->n;
		r->recs = NULL;
		r->n = 0;
	}
	roster_free(r);
	return ret;
}

int roster_parse(const char *buf, size_t len, struct student_rec **rows, size_t *n,
		 struct student_errors *errs)
{
	struct roster r;

	return roster_take(&r, roster_read(buf, len, NULL, &r, errs), rows, n);
}

int roster_load_file(const char *path, struct student_rec **rows, size_t *n,
		     struct student_errors *errs)
{
	struct roster r;

	return roster_take(&r, roster_load(path, NULL, &r, errs), rows, n);
}
