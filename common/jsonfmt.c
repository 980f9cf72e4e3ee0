#include "common/jsonfmt.h"

#include <errno.h>
#include <string.h>

struct span {
	const char *p, *end;
};

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Past the string at P (its opening quote), or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Past the number or literal at P, or NULL. */
static const char *skip_scalar(const char *p, const char *end)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *q = p;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0)
			return p + n;
	}
	if (q < end && *q == '-')
		q++;
	if (q == end || *q < '0' || *q > '9')
		return NULL;
	while (q < end && strchr("0123456789.eE+-", *q))
		q++;
	return q;
}

static const char *skip_value(const char *p, const char *end, int depth);

/* Past the object or array at P, or NULL. */
static const char *skip_container(const char *p, const char *end, int depth)
{
	char close = *p == '{' ? '}' : ']';

	if (depth >= JSONFMT_MAX_DEPTH)
		return NULL;
	p = skip_blank(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (p >= end || *p != '"' || !(p = skip_string(p, end)))
				return NULL;
			p = skip_blank(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = skip_blank(p + 1, end);
		}
		if (!(p = skip_value(p, end, depth + 1)))
			return NULL;
		p = skip_blank(p, end);
		if (p < end && *p == ',') {
			p = skip_blank(p + 1, end);
			continue;
		}
		return p < end && *p == close ? p + 1 : NULL;
	}
}

static const char *skip_value(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p == '{' || *p == '[')
		return skip_container(p, end, depth);
	return skip_scalar(p, end);
}

bool jsonfmt_valid(const char *text, size_t len)
{
	const char *end = text + len, *p = skip_value(skip_blank(text, end), end, 0);

	return p && skip_blank(p, end) == end;
}

/* Calls FN on each member of the object at P, in order, until FN returns non-zero (that
 * is returned): key span, value span. -EINVAL as soon as P is not a JSON object. */
static int each_member(const char *p, const char *end,
		       int (*fn)(struct span key, struct span val, void *arg), void *arg)
{
	struct span k, v;
	int r;

	p = skip_blank(p, end);
	if (p >= end || *p != '{')
		return -EINVAL;
	p = skip_blank(p + 1, end);
	if (p < end && *p == '}')
		return 0;
	for (;;) {
		k.p = p;
		if (p >= end || *p != '"' || !(k.end = p = skip_string(p, end)))
			return -EINVAL;
		p = skip_blank(p, end);
		if (p >= end || *p != ':')
			return -EINVAL;
		v.p = p = skip_blank(p + 1, end);
		if (!(v.end = p = skip_value(p, end, 1)))
			return -EINVAL;
		if ((r = fn(k, v, arg)) != 0)
			return r;
		p = skip_blank(p, end);
		if (p < end && *p == ',') {
			p = skip_blank(p + 1, end);
			continue;
		}
		return p < end && *p == '}' ? 0 : -EINVAL;
	}
}

struct find {
	const char *key;
	struct span val;
};

static bool key_is(struct span k, const char *key)
{
	size_t n = strlen(key);

	return (size_t)(k.end - k.p) == n + 2 && memcmp(k.p + 1, key, n) == 0;
}

static int find_cb(struct span k, struct span v, void *arg)
{
	struct find *f = arg;

	if (!key_is(k, f->key))
		return 0;
	f->val = v;
	return 1;
}

int jsonfmt_member(const char *text, size_t len, const char *key, const char **val,
		   size_t *vlen)
{
	struct find f = { key, { NULL, NULL } };
	int r = each_member(text, text + len, find_cb, &f);

	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*val = f.val.p;
	*vlen = (size_t)(f.val.end - f.val.p);
	return 0;
}

/* ------------------------------------------------------------------ printing */

struct out {
	FILE *f;
	const char *end;
	const char *const *drop;      /* for the top level only */
};

/* One lock for the whole text (flockfile in jsonfmt_print_pretty), not one per token. */
static void put(struct out *o, const char *s, size_t n)
{
	fwrite_unlocked(s, 1, n, o->f);
}

static void indent(struct out *o, int level)
{
	for (int i = 0; i < level; i++)
		put(o, "  ", 2);
}

static bool dropped(const struct out *o, struct span k, int level)
{
	for (size_t i = 0; level == 0 && o->drop && o->drop[i]; i++)
		if (key_is(k, o->drop[i]))
			return true;
	return false;
}

static const char *print_value(struct out *o, const char *p, int level);

/* json-c's layout: the bracket, a newline, the members one per line one level in, and
 * the closing bracket on a line of its own, also when there is none. */
static const char *print_container(struct out *o, const char *p, int level)
{
	char close = *p == '{' ? '}' : ']';
	bool first = true;

	put(o, p, 1);
	put(o, "\n", 1);
	p = skip_blank(p + 1, o->end);
	while (*p != close) {
		struct span k = { NULL, NULL };
		const char *v;

		if (close == '}') {
			k.p = p;
			k.end = skip_string(p, o->end);
			v = skip_blank(skip_blank(k.end, o->end) + 1, o->end);
		} else {
			v = p;
		}
		if (close == '}' && dropped(o, k, level)) {
			p = skip_value(v, o->end, 1);
		} else {
			if (!first)
				put(o, ",\n", 2);
			first = false;
			indent(o, level + 1);
			if (close == '}') {
				put(o, k.p, (size_t)(k.end - k.p));
				put(o, ": ", 2);
			}
			p = print_value(o, v, level + 1);
		}
		p = skip_blank(p, o->end);
		if (*p == ',')
			p = skip_blank(p + 1, o->end);
	}
	if (!first)
		put(o, "\n", 1);
	indent(o, level);
	put(o, &close, 1);
	return p + 1;
}

static const char *print_value(struct out *o, const char *p, int level)
{
	const char *q;

	if (*p == '{' || *p == '[')
		return print_container(o, p, level);
	q = skip_value(p, o->end, 0);
	put(o, p, (size_t)(q - p));
	return q;
}

int jsonfmt_print_pretty(FILE *f, const char *text, size_t len, const char *const *drop)
{
	struct out o = { f, text + len, drop };

	/* Checked whole first: what follows walks it without looking again. */
	if (!jsonfmt_valid(text, len))
		return -EINVAL;
	flockfile(f);
	print_value(&o, skip_blank(text, o.end), 0);
	put(&o, "\n", 1);
	funlockfile(f);
	return ferror(f) ? -EIO : 0;
}
