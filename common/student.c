#include "common/student.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/id.h"

static int errors_vadd(struct student_errors *errs, unsigned line, const char *fmt,
		       va_list ap) __attribute__((format(printf, 3, 0)));
static int errors_vadd(struct student_errors *errs, unsigned line, const char *fmt,
		       va_list ap)
{
	struct student_error *v;
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 16;

		v = reallocarray(errs->v, cap, sizeof(*v));
		if (!v) {
			free(msg);
			return -ENOMEM;
		}
		errs->v = v;
		errs->cap = cap;
	}
	errs->v[errs->n].line = line;
	errs->v[errs->n].message = msg;
	errs->n++;
	return 0;
}

int student_errors_add(struct student_errors *errs, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = errors_vadd(errs, line, fmt, ap);
	va_end(ap);
	return r;
}

/* Record a validation failure: -EINVAL, or -ENOMEM when even that failed. */
static int reject(struct student_errors *errs, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int reject(struct student_errors *errs, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = errors_vadd(errs, line, fmt, ap);
	va_end(ap);
	return r < 0 ? r : -EINVAL;
}

/* Insertion sort: stable, and error lists are short and nearly sorted already. */
void student_errors_sort(struct student_errors *errs)
{
	size_t i, j;

	for (i = 1; i < errs->n; i++) {
		struct student_error e = errs->v[i];

		for (j = i; j > 0 && errs->v[j - 1].line > e.line; j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = e;
	}
}

void student_errors_free(struct student_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->v[i].message);
	free(errs->v);
	errs->v = NULL;
	errs->n = errs->cap = 0;
}

const char *student_quote_value(const char *s, char *buf, size_t buflen)
{
	size_t i, o = 0;

	if (!buflen)
		return buf;
	for (i = 0; s[i] && o + 8 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 40) {
			o += (size_t)snprintf(buf + o, buflen - o, "...");
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * Decode one UTF-8 sequence at s (len bytes left). Returns its length and sets *cp,
 * or 0 when malformed: overlong forms, surrogates and values past U+10FFFF included.
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2; c &= 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3; c &= 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * C0, DEL and C1 controls, and the invisible format characters that can make a name
 * print as something else (bidi overrides, zero-width, line separators, BOM).
 */
static bool codepoint_refused(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

static int check_name(unsigned line, const char *name, struct student_errors *errs)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0, n;
	uint32_t cp;
	char q[200];

	if (len > STUDENT_NAME_MAX)
		return reject(errs, line, "name is %zu bytes long, at most %d are allowed",
			      len, STUDENT_NAME_MAX);
	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return reject(errs, line, "name '%s' is not valid UTF-8 (byte %zu)",
				      student_quote_value(name, q, sizeof(q)), i + 1);
		if (codepoint_refused(cp))
			return reject(errs, line, "name '%s' contains control or invisible "
				      "character U+%04X",
				      student_quote_value(name, q, sizeof(q)), (unsigned)cp);
		i += n;
	}
	return 0;
}

static bool email_char_ok(unsigned char c)
{
	/* Printable ASCII without space and the characters of "Name <addr>" forms. */
	return c > 0x20 && c < 0x7f && !strchr("\"(),:;<>[\\]", c);
}

static int check_email(unsigned line, const char *email, struct student_errors *errs)
{
	const char *at = strchr(email, '@'), *why = NULL, *dom;
	size_t len = strlen(email), i;
	char q[200];

	if (len > STUDENT_EMAIL_MAX)
		return reject(errs, line, "email is %zu bytes long, at most %d are allowed",
			      len, STUDENT_EMAIL_MAX);
	for (i = 0; i < len && !why; i++) {
		if (!email_char_ok((unsigned char)email[i]))
			why = "it contains a space, a control character, non-ASCII or one of "
			      "\"(),:;<>[\\]";
	}
	if (!why && (!at || strchr(at + 1, '@')))
		why = "it needs exactly one '@'";
	if (!why && (at == email || at - email > 64))
		why = "the part before '@' must be 1 to 64 characters";
	if (!why) {
		dom = at + 1;
		if (!*dom || *dom == '.' || dom[strlen(dom) - 1] == '.' || strstr(dom, ".."))
			why = "the domain after '@' is empty or has a misplaced '.'";
	}
	if (!why)
		return 0;
	return reject(errs, line, "email '%s' is not a plain address: %s",
		      student_quote_value(email, q, sizeof(q)), why);
}

static int check_fields(unsigned line, const char *id, bool check_id, const char *name,
			const char *email, struct student_errors *errs)
{
	char q[200];
	int ret = 0, r;

	if (!check_id) {
		/* the caller reported the id */
	} else if (!id || !*id) {
		ret = reject(errs, line, "id is missing");
	} else if (!id_valid(id)) {
		ret = reject(errs, line, "id '%s' is not valid: 1 to %d of a-z 0-9 _ -, "
			     "starting with a letter or digit",
			     student_quote_value(id, q, sizeof(q)), ID_MAX_LEN);
	}
	if (ret == -ENOMEM)
		return ret;

	if (name && *name) {
		r = check_name(line, name, errs);
		if (r < 0)
			ret = r;
		if (ret == -ENOMEM)
			return ret;
	}
	if (email && *email) {
		r = check_email(line, email, errs);
		if (r < 0)
			ret = r;
	}
	return ret;
}

int student_check_fields(unsigned line, const char *id, const char *name,
			 const char *email, struct student_errors *errs)
{
	return check_fields(line, id, id != NULL, name, email, errs);
}

int student_validate(unsigned line, const char *id, const char *name, const char *email,
		     const char *keys, struct student_rec *out, struct student_errors *errs)
{
	char msg[SSHKEY_ERR_LEN];
	int ret, r;

	memset(out, 0, sizeof(*out));
	out->line = line;

	ret = check_fields(line, id, true, name, email, errs);
	if (ret == -ENOMEM)
		goto out;

	r = sshkey_parse_list(keys ? keys : "", keys ? strlen(keys) : 0, &out->keys,
			      &out->n_keys, msg, sizeof(msg));
	if (r == -ENOMEM) {
		ret = r;
		goto out;
	}
	if (r < 0)
		ret = reject(errs, line, "%s", msg);
	if (ret < 0)
		goto out;

	out->id = strdup(id);
	out->name = strdup(name && *name ? name : id);
	out->email = email && *email ? strdup(email) : NULL;
	if (!out->id || !out->name || (email && *email && !out->email))
		ret = -ENOMEM;
out:
	if (ret < 0) {
		student_rec_clear(out);
		out->line = line;
	}
	return ret;
}

static int cmp_by_id_line(const void *a, const void *b, void *arg)
{
	const struct student_rec *recs = arg;
	const struct student_rec *x = &recs[*(const size_t *)a], *y = &recs[*(const size_t *)b];
	int c = strcmp(x->id, y->id);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

int student_check_batch(const struct student_rec *recs, size_t n,
			struct student_errors *errs)
{
	size_t *idx, m = 0, i, first = 0;
	char q[200];
	int ret = 0;

	idx = calloc(n ? n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (recs[i].id)
			idx[m++] = i;
	}
	/* Sorting indices keeps a 5000-row batch far from n^2 string compares. */
	qsort_r(idx, m, sizeof(*idx), cmp_by_id_line, (void *)recs);
	for (i = 0; i < m; i++) {
		const struct student_rec *r = &recs[idx[i]];

		if (i == 0 || strcmp(recs[idx[first]].id, r->id) != 0) {
			first = i;
			continue;
		}
		if (student_errors_add(errs, r->line, "duplicate id '%s' (first on line %u)",
				       student_quote_value(r->id, q, sizeof(q)),
				       recs[idx[first]].line) < 0) {
			ret = -ENOMEM;
			goto out;
		}
		ret = -EINVAL;
	}
out:
	free(idx);
	return ret;
}

void student_rec_clear(struct student_rec *rec)
{
	if (!rec)
		return;
	free(rec->id);
	free(rec->name);
	free(rec->email);
	sshkey_free_list(rec->keys, rec->n_keys);
	memset(rec, 0, sizeof(*rec));
}

void student_recs_free(struct student_rec *recs, size_t n)
{
	size_t i;

	if (!recs)
		return;
	for (i = 0; i < n; i++)
		student_rec_clear(&recs[i]);
	free(recs);
}
