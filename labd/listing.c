#include "labd/listing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON text being written, json-c's PLAIN layout: {"k":v,...} with no blanks. */
struct jw {
	struct labd *l;
	json_object *filter;     /* list's / sheet's "students" filter, or NULL */
	char *s;
	size_t len, cap;
	json_object *scratch;    /* a string object: json-c escapes each value through it */
	bool first;              /* no comma before the next member or entry */
	int err;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 64 * 1024;
		char *g;

		while (w->len + n + 1 > cap)
			cap *= 2;
		if (!(g = realloc(w->s, cap))) {
			w->err = -ENOMEM;
			return;
		}
		w->s = g;
		w->cap = cap;
	}
	memcpy(w->s + w->len, s, n);
	w->len += n;
	w->s[w->len] = '\0';
}

/* ,"KEY": (KEY is ours: nothing to escape) */
static void jw_key(struct jw *w, const char *key)
{
	if (!w->first)
		jw_put(w, ",", 1);
	w->first = false;
	jw_put(w, "\"", 1);
	jw_put(w, key, strlen(key));
	jw_put(w, "\":", 2);
}

/* Whether json-c would escape something in S (with NOSLASHESCAPE): a control
 * character, a quote or a backslash. */
static bool needs_escape(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
			return true;
	return false;
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
	const char *q;
	size_t n;

	jw_key(w, key);
	if (!v) {
		jw_put(w, "null", 4);
		return;
	}
	if (!needs_escape(v)) {
		jw_put(w, "\"", 1);
		jw_put(w, v, strlen(v));
		jw_put(w, "\"", 1);
		return;
	}
	/* The rare string with something to escape: json-c's own escaping, exactly. */
	if (json_object_set_string(w->scratch, v) < 0 ||
	    !(q = json_object_to_json_string_length(w->scratch, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE, &n))) {
		w->err = -ENOMEM;
		return;
	}
	jw_put(w, q, n);
}

static void jw_int(struct jw *w, const char *key, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jw_key(w, key);
	jw_put(w, p, (size_t)(buf + sizeof(buf) - p));
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

/* An entry of the array: "{" (after a comma but for the first), members, "}". */
static void jw_open(struct jw *w, bool *first_entry)
{
	if (!*first_entry)
		jw_put(w, ",", 1);
	*first_entry = false;
	jw_put(w, "{", 1);
	w->first = true;
}

/* The optional "students" filter of list and sheet. */
static bool wanted(json_object *ids, const char *id)
{
	size_t i;

	if (!ids)
		return true;
	for (i = 0; i < json_object_array_length(ids); i++) {
		json_object *v = json_object_array_get_idx(ids, i);

		if (json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), id) == 0)
			return true;
	}
	return false;
}

struct walk {
	struct jw w;
	bool first_entry;
};

/* The state `list` shows: the database's while a task runs, else the view's. */
static const char *list_state(struct labd *l, const struct db_alloc *a)
{
	if (a->state == DB_ALLOC_CREATING)
		return "creating";
	if (a->state == DB_ALLOC_DELETING)
		return "deleting";
	return vmview_state_text(&l->view, vmview_find(&l->view, a->student));
}

static int list_row(const struct db_roster_row *row, void *arg)
{
	struct walk *k = arg;
	struct jw *w = &k->w;
	const struct db_student *s = &row->s;
	const struct db_alloc *a = &row->a;
	const struct conf_class *cls;
	int64_t nkeys = 1;

	if (!wanted(w->filter, s->id))
		return 0;
	for (const char *p = s->keys; *p; p++)
		nkeys += *p == '\n';
	jw_open(w, &k->first_entry);
	jw_str(w, "id", s->id);
	jw_str(w, "class", s->class);
	jw_str(w, "name", s->name);
	jw_str(w, "email", s->email);
	jw_int(w, "keys", nkeys);
	jw_int(w, "generation", s->generation);
	if (a->student) {
		cls = conf_class_find(&w->l->conf, s->class);
		jw_int(w, "index", a->idx);
		jw_str(w, "mac", a->mac);
		jw_str(w, "ip", a->ip);
		jw_str(w, "public_ip", a->public_ip);
		jw_int(w, "public_port", a->public_port);
		jw_str(w, "domain", a->domain);
		jw_str(w, "base_image", a->base_image);
		jw_bool(w, "base_current", cls && strcmp(cls->base_image, a->base_image) == 0);
		jw_str(w, "state", list_state(w->l, a));
	}
	jw_put(w, "}", 1);
	return w->err;
}

static int sheet_row(const struct db_roster_row *row, void *arg)
{
	struct walk *k = arg;
	struct jw *w = &k->w;
	const struct conf_class *cls = conf_class_find(&w->l->conf, row->s.class);
	char cmd[256];

	if (!wanted(w->filter, row->s.id) || !cls || !row->a.student)
		return 0;
	snprintf(cmd, sizeof(cmd), "ssh -p %u %s@%s", row->a.public_port, cls->user,
		 row->a.public_ip);
	jw_open(w, &k->first_entry);
	jw_str(w, "id", row->s.id);
	jw_str(w, "name", row->s.name);
	jw_str(w, "class", row->s.class);
	jw_str(w, "user", cls->user);
	jw_str(w, "public_ip", row->a.public_ip);
	jw_int(w, "public_port", row->a.public_port);
	jw_str(w, "command", cmd);
	jw_put(w, "}", 1);
	return w->err;
}

/* The array of every row FN writes, as a json-c array that serializes to that text. */
static json_object *listing(struct labd *l, const struct labd_filter *f, db_roster_fn fn,
			    int *err)
{
	struct walk k = { .w = { .l = l, .filter = f->students }, .first_entry = true };
	json_object *arr = NULL;
	int ret = -ENOMEM;

	if (!(k.w.scratch = json_object_new_string("")))
		goto out;
	jw_put(&k.w, "[", 1);
	ret = db_roster_each(l->db, f->cls ? f->cls->name : NULL, fn, &k);
	jw_put(&k.w, "]", 1);
	if (ret == 0)
		ret = k.w.err;
	if (ret < 0 || !(arr = json_object_new_array())) {
		ret = ret < 0 ? ret : -ENOMEM;
		goto out;
	}
	/* The array's text is ours; json-c copies it out when the reply is written. */
	json_object_set_serializer(arr, json_object_userdata_to_json_string, k.w.s,
				   json_object_free_userdata);
	k.w.s = NULL;
out:
	*err = ret;
	free(k.w.s);
	json_object_put(k.w.scratch);
	return arr;
}

json_object *listing_students(struct labd *l, const struct labd_filter *f, int *err)
{
	return listing(l, f, list_row, err);
}

json_object *listing_sheet(struct labd *l, const struct labd_filter *f, int *err)
{
	return listing(l, f, sheet_row, err);
}
