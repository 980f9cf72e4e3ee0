#include "cli/keyanswer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/student.h"

#define URL_SHOWN_MAX 300

/* A URL from a server, shown as it is when it is plain printable ASCII (curl's
 * effective URLs are), else quoted like any other value. */
static const char *url_shown(const char *url, char *buf, size_t len)
{
	size_t i;

	for (i = 0; url[i] && i < URL_SHOWN_MAX; i++) {
		if (url[i] <= ' ' || url[i] > '~')
			break;
	}
	if (!url[i])
		return url;
	return student_quote_value(url, buf, len);
}

/* What came back, for the teacher: "HTTP 404, text/plain, 9 bytes: 'Not Found'". */
static void describe(FILE *f, const struct keyfetch_answer *a)
{
	char q[200], u[200];

	if (a->status)
		fprintf(f, "HTTP %ld, %s, %zu byte%s", a->status,
			a->content_type ? student_quote_value(a->content_type, q, sizeof(q))
					: "no content type",
			a->len, a->len == 1 ? "" : "s");
	else
		fprintf(f, "no HTTP answer");
	if (a->len > 0)
		fprintf(f, ": '%s'", student_quote_value(a->body, q, sizeof(q)));
	if (a->redirects > 0 && a->final_url)
		fprintf(f, ", after %ld redirect%s to %s", a->redirects,
			a->redirects == 1 ? "" : "s", url_shown(a->final_url, u, sizeof(u)));
}

static bool is_html(const struct keyfetch_answer *a)
{
	const char *ct = a->content_type;
	size_t i = 0;

	if (ct) {
		ct += strspn(ct, " \t");
		if (!strncasecmp(ct, "text/html", 9) || !strncasecmp(ct, "application/xhtml", 17))
			return true;
	}
	while (i < a->len && strchr(" \t\r\n", a->body[i]))
		i++;
	return i < a->len && a->body[i] == '<';
}

static bool blank_body(const struct keyfetch_answer *a)
{
	size_t i;

	for (i = 0; i < a->len; i++) {
		if (!strchr(" \t\r\n", a->body[i]))
			return false;
	}
	return true;
}

static bool same_key(const struct sshkey *x, const struct sshkey *y)
{
	return !strcmp(x->type, y->type) && !strcmp(x->base64, y->base64);
}

/* Every line of the body: usable keys kept, the others noted in NOTES. */
static int read_lines(const struct keyfetch_answer *a, struct keyanswer *k, FILE *notes)
{
	const char *s = a->body;
	size_t pos = 0, line = 0, l, ll, j;
	char msg[SSHKEY_ERR_LEN];
	bool full = false;
	struct sshkey key;
	int r;

	k->keys = calloc(SSHKEY_LIST_MAX, sizeof(*k->keys));
	if (!k->keys)
		return -ENOMEM;
	while (pos < a->len) {
		const char *nl = memchr(s + pos, '\n', a->len - pos);

		l = nl ? (size_t)(nl - (s + pos)) : a->len - pos;
		ll = l > 0 && s[pos + l - 1] == '\r' ? l - 1 : l;
		line++;
		if (ll == 0 || s[pos + strspn(s + pos, " \t")] == '#' ||
		    strspn(s + pos, " \t") >= ll)
			goto next;
		if (full) {
			fprintf(notes, "line %zu: left out, more than %d keys\n", line,
				SSHKEY_LIST_MAX);
			goto next;
		}
		r = sshkey_parse(s + pos, ll, &key, msg, sizeof(msg));
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			fprintf(notes, "line %zu: %s\n", line, msg);
			goto next;
		}
		for (j = 0; j < k->n_keys && !same_key(&k->keys[j], &key); j++)
			;
		if (j < k->n_keys)
			sshkey_clear(&key);	/* the same key twice: once is enough */
		else
			k->keys[k->n_keys++] = key;
		full = k->n_keys == SSHKEY_LIST_MAX;
next:
		pos += l + (nl ? 1 : 0);
	}
	return 0;
}

int keyanswer_read(const struct keyfetch_answer *a, size_t max_bytes, struct keyanswer *k)
{
	char *why = NULL, *notes = NULL;
	size_t whylen = 0, noteslen = 0;
	FILE *w = NULL, *n = NULL;
	int ret = -ENOMEM;

	memset(k, 0, sizeof(*k));
	w = open_memstream(&why, &whylen);
	n = open_memstream(&notes, &noteslen);
	if (!w || !n)
		goto out;
	if (a->too_large) {
		k->kind = KEYANSWER_FAILED;
		fprintf(w, "the answer is larger than %zu KiB, too large for a list of keys "
			"(is it the right URL?)", max_bytes / 1024);
	} else if (a->error) {
		k->kind = KEYANSWER_FAILED;
		fprintf(w, "could not fetch it: %s", a->error);
		if (a->tls)
			fprintf(w, " (a server whose certificate comes from the school's own "
				"CA needs --ca-file FILE)");
	} else if (a->status >= 400 && a->status < 500) {
		k->kind = KEYANSWER_NONE;
		describe(w, a);
	} else if (a->status < 200 || a->status >= 300) {
		k->kind = KEYANSWER_FAILED;
		describe(w, a);
	} else if (is_html(a)) {
		k->kind = KEYANSWER_NONE;
		fprintf(w, "a web page, not a list of keys (");
		describe(w, a);
		fprintf(w, "): a login page? The URL must serve keys without a login");
	} else if (blank_body(a)) {
		k->kind = KEYANSWER_NONE;
		fprintf(w, "an empty answer (");
		describe(w, a);
		fprintf(w, "): the account has no SSH key");
	} else {
		ret = read_lines(a, k, n);
		if (ret < 0)
			goto out;
		k->kind = k->n_keys ? KEYANSWER_KEYS : KEYANSWER_NONE;
		if (!k->n_keys) {
			fprintf(w, "no usable key in the answer (");
			describe(w, a);
			fprintf(w, ")");
		}
	}
	ret = -ENOMEM;
	if (fclose(w) != 0 || fclose(n) != 0) {
		w = n = NULL;
		goto out;
	}
	w = n = NULL;
	if (k->kind == KEYANSWER_NONE && k->n_keys == 0 && noteslen > 0) {
		/* Why none was usable is the notes: they go with the reason. */
		char *both = NULL;

		notes[noteslen - 1] = '\0';
		for (char *p = notes; (p = strchr(p, '\n')) != NULL; )
			*p = ';';
		if (asprintf(&both, "%s: %s", why, notes) < 0)
			goto out;
		free(why);
		free(notes);
		why = both;
		notes = NULL;
		noteslen = 0;
	}
	if (k->kind != KEYANSWER_KEYS) {
		k->why = why;
		why = NULL;
	}
	if (noteslen > 0) {
		notes[noteslen - 1] = '\0';	/* the last newline */
		k->notes = notes;
		notes = NULL;
	}
	ret = 0;
out:
	if (w)
		fclose(w);
	if (n)
		fclose(n);
	free(why);
	free(notes);
	if (ret < 0)
		keyanswer_clear(k);
	return ret;
}

void keyanswer_clear(struct keyanswer *k)
{
	if (!k)
		return;
	sshkey_free_list(k->keys, k->n_keys);
	free(k->why);
	free(k->notes);
	memset(k, 0, sizeof(*k));
}
