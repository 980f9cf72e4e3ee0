#include "cli/rosterplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

/* Appends one error: -EINVAL, or -ENOMEM when even that failed. */
#define add_error(errs, line, ...) \
	(student_errors_add((errs), (line), __VA_ARGS__) < 0 ? -ENOMEM : -EINVAL)

/* vlab's own columns, matched ignoring case. */
enum { VCOL_ID, VCOL_NAME, VCOL_EMAIL, VCOL_KEYS, VCOL_N };

static const char *const vcol_names[VCOL_N] = { "id", "name", "email", "ssh_key" };

const char *rosterplan_quote(const char *s, char *buf, size_t len)
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

static const char *q(const char *s, char *buf, size_t len)
{
	return rosterplan_quote(s, buf, len);
}

int rosterplan_column(struct roster *r, const char *name, long *col)
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
	char *s = NULL, buf[ROSTER_QBUF];
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

/* rosterplan_column() for an option, with the message a teacher needs when it fails. */
static int option_column(struct roster *r, const char *opt, const char *name, long *col,
			 struct student_errors *errs)
{
	char buf[ROSTER_QBUF], *list;
	int ret;

	if (!*name)
		return add_error(errs, r->tab.header_line, "%s: give a column's name", opt);
	ret = rosterplan_column(r, name, col);
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
	char buf[ROSTER_QBUF];
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
	char a[ROSTER_QBUF], b[ROSTER_QBUF];
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
			struct roster_plan *p, struct student_errors *errs)
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
		if (n == ROSTER_NAME_COLUMNS_MAX) {
			ret = add_error(errs, 0, "--name-columns: at most %d columns",
					ROSTER_NAME_COLUMNS_MAX);
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

static char *describe_names(const struct roster *r, const struct roster_plan *p)
{
	char *s = NULL, buf[ROSTER_QBUF];
	size_t len = 0, i, n = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (i = 0; i < ROSTER_NAME_COLUMNS_MAX; i++) {
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

int rosterplan_make(struct roster *r, const struct roster_opts *o, struct roster_plan *p,
		    struct student_errors *errs)
{
	size_t before = errs->n, i;
	long vcol[VCOL_N];
	bool moodle_like;
	char buf[ROSTER_QBUF];
	int ret;

	for (i = 0; i < ROSTER_NAME_COLUMNS_MAX; i++)
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

