#include "cli/roster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "common/id.h"

/* vlab's own columns, matched ignoring case. */
enum { VCOL_ID, VCOL_NAME, VCOL_EMAIL, VCOL_KEYS, VCOL_N };

static const char *const vcol_names[VCOL_N] = { "id", "name", "email", "ssh_key" };

#define NAME_COLUMNS_MAX 4
#define QBUF 320		/* q(): 60 characters of up to 4 bytes, and "..." */

/* Where each part of a student comes from, decided once from the header. */
struct plan {
	long id;			/* column of the ID */
	bool normalise;			/* idnorm_id() the ID (not vlab's own format) */
	long name[NAME_COLUMNS_MAX];	/* joined with spaces; -1 unused */
	long email, keys;		/* -1: none */
};

/* One ID and where it was made from, for the check that no two students share one. */
struct id_entry {
	unsigned line;
	const char *id;			/* owned by the record being built */
	const char *from;		/* the value it was made from (owned by the table) */
};

/* Appends one error: -EINVAL, or -ENOMEM when even that failed. */
#define add_error(errs, line, ...) \
	(student_errors_add((errs), (line), __VA_ARGS__) < 0 ? -ENOMEM : -EINVAL)

/*
 * S for a message: printable characters as they are, so that "Prénom" reads as it is
 * written, but control and invisible format characters (bidi overrides, zero-width)
 * as \xNN, and at most 60 characters. The roster was checked to be UTF-8.
 */
static const char *q(const char *s, char *buf, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	int32_t i = 0, at, n = (int32_t)strlen(s), chars = 0;
	size_t o = 0;
	UChar32 c;

	while (i < n && o + 16 < len) {
		at = i;
		U8_NEXT(u, i, n, c);
		if (++chars > 60) {
			o += (size_t)snprintf(buf + o, len - o, "...");
			break;
		}
		if (c >= 0 && c != '\'' && c != '\\' && u_isprint(c) &&
		    u_charType(c) != U_FORMAT_CHAR) {
			memcpy(buf + o, s + at, (size_t)(i - at));
			o += (size_t)(i - at);
			continue;
		}
		for (; at < i; at++)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", u[at]);
	}
	buf[o] = '\0';
	return buf;
}

/*
 * The column NAME refers to: a label equal to it ignoring case, else one equal once
 * both are folded, else Moodle's field NAME. 0, -ENOENT, -EEXIST, -ENOMEM.
 */
static int column_find(struct roster *r, const char *name, long *col)
{
	char *folded = NULL;
	size_t i, found = 0;
	int f, ret;

	*col = -1;
	for (i = 0; i < r->tab.ncols; i++) {
		if (!strcasecmp(r->tab.header[i], name) && found++ == 0)
			*col = (long)i;
	}
	if (found == 0) {
		ret = idnorm_label(r->norm, name, &folded);
		if (ret == -ENOMEM)
			return ret;
		for (i = 0; ret == 0 && *folded && i < r->tab.ncols; i++) {
			if (!strcmp(r->labels[i], folded) && found++ == 0)
				*col = (long)i;
		}
		free(folded);
	}
	for (f = 0; found == 0 && f < MOODLE_NFIELDS; f++) {
		if (!strcasecmp(name, moodle_field_name(f)) && r->moodle.col[f] >= 0) {
			*col = r->moodle.col[f];
			found = 1;
		}
	}
	if (found > 1)
		return -EEXIST;
	return found ? 0 : -ENOENT;
}

/* The header's labels, quoted, for "no column 'x' (the header has: ...)". */
static char *header_list(const struct csv_table *t)
{
	char *s = NULL, buf[QBUF];
	size_t len = 0, i;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (i = 0; i < t->ncols; i++)
		fprintf(f, "%s'%s'", i ? ", " : "", q(t->header[i], buf, sizeof(buf)));
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* column_find() for an option, with the message a teacher needs when it fails. */
static int option_column(struct roster *r, const char *opt, const char *name, long *col,
			 struct student_errors *errs)
{
	char buf[QBUF], *list;
	int ret;

	if (!*name)
		return add_error(errs, r->tab.header_line, "%s: give a column's name", opt);
	ret = column_find(r, name, col);
	if (ret == 0 || ret == -ENOMEM)
		return ret;
	if (ret == -EEXIST)
		return add_error(errs, r->tab.header_line, "%s: more than one column is "
				 "called '%s'; rename one", opt, q(name, buf, sizeof(buf)));
	list = header_list(&r->tab);
	if (!list)
		return -ENOMEM;
	ret = add_error(errs, r->tab.header_line, "%s: no column '%s' (the header has %s)",
			opt, q(name, buf, sizeof(buf)), list);
	free(list);
	return ret;
}

/* S in lower case (ASCII), quoted for a message. */
static const char *lower(const char *s, char *buf, size_t len)
{
	char *p;

	for (p = (char *)q(s, buf, len); *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	return buf;
}

/* vlab's own columns: by name ignoring case, each at most once. */
static int vlab_columns(struct roster *r, long vcol[VCOL_N], struct student_errors *errs)
{
	char buf[QBUF];
	size_t i;
	int k, ret = 0;

	for (k = 0; k < VCOL_N; k++)
		vcol[k] = -1;
	for (i = 0; i < r->tab.ncols; i++) {
		const char *label = r->tab.header[i];

		if (!strcasecmp(label, "ssh_keys"))
			k = VCOL_KEYS;
		else
			for (k = 0; k < VCOL_N && strcasecmp(label, vcol_names[k]); k++)
				;
		if (k == VCOL_N)
			continue;	/* a column for someone else: ignored */
		if (vcol[k] < 0) {
			vcol[k] = (long)i;
			continue;
		}
		ret = add_error(errs, r->tab.header_line, "duplicate column '%s' (columns %ld "
				"and %zu)", lower(label, buf, sizeof(buf)), vcol[k] + 1, i + 1);
		if (ret == -ENOMEM)
			return ret;
	}
	return ret;
}

static int moodle_columns(struct roster *r, struct student_errors *errs)
{
	char a[QBUF], b[QBUF];
	size_t x, y;
	int f;

	if (moodle_columns_find(r->labels, r->tab.ncols, &r->moodle, &x, &y) == 0)
		return 0;
	for (f = 0; f < MOODLE_NFIELDS && r->moodle.col[f] != (long)x; f++)
		;
	return add_error(errs, r->tab.header_line, "columns %zu and %zu ('%s' and '%s') both "
			 "look like Moodle's %s; remove one", x + 1, y + 1,
			 q(r->tab.header[x], a, sizeof(a)), q(r->tab.header[y], b, sizeof(b)),
			 moodle_field_name(f));
}

static int name_columns(struct roster *r, const struct roster_opts *o, const long vcol[],
			struct plan *p, struct student_errors *errs)
{
	char *list, *tok, *save = NULL;
	size_t n = 0;
	int ret = 0;

	if (!o->name_columns) {
		if (r->moodle.col[MOODLE_FIRSTNAME] >= 0 || r->moodle.col[MOODLE_LASTNAME] >= 0) {
			p->name[0] = r->moodle.col[MOODLE_FIRSTNAME];
			p->name[1] = r->moodle.col[MOODLE_LASTNAME];
		} else {
			p->name[0] = vcol[VCOL_NAME];
		}
		return 0;
	}
	list = strdup(o->name_columns);
	if (!list)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok && ret == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == NAME_COLUMNS_MAX) {
			ret = add_error(errs, 0, "--name-columns: at most %d columns",
					NAME_COLUMNS_MAX);
			break;
		}
		ret = option_column(r, "--name-columns", csv_trim(tok), &p->name[n++], errs);
	}
	free(list);
	if (ret == 0 && n == 0)
		ret = add_error(errs, 0, "--name-columns: no column named (e.g. --name-columns "
				"'First name,Last name')");
	return ret;
}

static char *describe_names(const struct roster *r, const struct plan *p)
{
	char *s = NULL, buf[QBUF];
	size_t len = 0, i, n = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (i = 0; i < NAME_COLUMNS_MAX; i++) {
		if (p->name[i] < 0)
			continue;
		fprintf(f, "%s'%s'", n++ ? " + " : "", q(r->tab.header[p->name[i]], buf,
							  sizeof(buf)));
	}
	if (fclose(f) != 0 || n == 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Decides from the header (and the options) where every part of a student comes from. */
static int plan_make(struct roster *r, const struct roster_opts *o, struct plan *p,
		     struct student_errors *errs)
{
	size_t before = errs->n, i;
	long vcol[VCOL_N];
	bool moodle_like;
	char buf[QBUF];
	int ret;

	for (i = 0; i < NAME_COLUMNS_MAX; i++)
		p->name[i] = -1;
	if (vlab_columns(r, vcol, errs) == -ENOMEM || moodle_columns(r, errs) == -ENOMEM)
		return -ENOMEM;
	/* Moodle's lists have a username or the first and last names. Its bulk download
	 * also has an "id", Moodle's number for the user: not a vlab ID. */
	moodle_like = r->moodle.col[MOODLE_USERNAME] >= 0 ||
		      r->moodle.col[MOODLE_FIRSTNAME] >= 0 ||
		      r->moodle.col[MOODLE_LASTNAME] >= 0;
	r->format = moodle_like ? "Moodle" : "vlab";
	p->normalise = true;
	if (o->id_column) {
		ret = option_column(r, "--id-column", o->id_column, &p->id, errs);
		if (ret == -ENOMEM)
			return ret;
		if (!moodle_like)
			r->format = "custom";
	} else if (!moodle_like) {
		p->id = vcol[VCOL_ID];
		p->normalise = false;
		if (p->id < 0 && add_error(errs, r->tab.header_line, "missing required column "
					   "'id' (the first row must be the header, e.g. "
					   "id,name,email,ssh_key; for another export, name its "
					   "ID column with --id-column)") == -ENOMEM)
			return -ENOMEM;
	} else {
		p->id = r->moodle.col[MOODLE_USERNAME] >= 0 ? r->moodle.col[MOODLE_USERNAME]
							     : r->moodle.col[MOODLE_EMAIL];
		if (p->id < 0 && add_error(errs, r->tab.header_line, "this Moodle export has "
					   "no username and no e-mail column to make the IDs "
					   "from; add one to the download, or name the ID column "
					   "with --id-column") == -ENOMEM)
			return -ENOMEM;
	}
	if (name_columns(r, o, vcol, p, errs) == -ENOMEM)
		return -ENOMEM;
	p->email = vcol[VCOL_EMAIL] >= 0 ? vcol[VCOL_EMAIL] : r->moodle.col[MOODLE_EMAIL];
	p->keys = vcol[VCOL_KEYS];
	if (p->keys < 0 && !o->keys_elsewhere &&
	    add_error(errs, r->tab.header_line, "missing required column 'ssh_key' (or "
		      "'ssh_keys'): give the keys in the roster, fetch them with --keys-from "
		      "URL, or make key pairs with --generate-keys DIR") == -ENOMEM)
		return -ENOMEM;
	if (errs->n > before)
		return -EINVAL;

	if (asprintf(&r->id_from, "column '%s'%s", q(r->tab.header[p->id], buf, sizeof(buf)),
		     p->normalise ? ", normalised" : "") < 0) {
		r->id_from = NULL;
		return -ENOMEM;
	}
	r->name_from = describe_names(r, p);
	return 0;
}

/* The name: the plan's name columns joined with single spaces, empty ones skipped. */
static char *name_join(const struct plan *p, char *const *f)
{
	size_t len = 0, i;
	char *s;

	for (i = 0; i < NAME_COLUMNS_MAX; i++)
		len += p->name[i] >= 0 ? strlen(f[p->name[i]]) + 1 : 0;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < NAME_COLUMNS_MAX; i++) {
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
	char a[QBUF], b[QBUF], *local;
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
static int row_make(struct roster *r, const struct roster_opts *o, const struct plan *p,
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
	char a[QBUF], b[QBUF], c[QBUF], l[QBUF];
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

static int rows_make(struct roster *r, const struct roster_opts *o, const struct plan *p,
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
	struct plan p;
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
	ret = plan_make(r, opts, &p, errs);
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
	ret = column_find(r, name, &col);
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
