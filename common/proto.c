/* The JSON-lines protocol: request parsing, typed field access, line framing, I/O. */
#include "common/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINEBUF_CHUNK 4096
#define QUOTE_MAX 40             /* bad values are quoted up to this many bytes */
#define SEND_TIMEOUT_MS 10000    /* a peer that stops reading must not wedge a daemon */
#define OP_MAX_LEN 32

size_t proto_utf8_cut(const char *s, size_t len)
{
	size_t start = len, need;
	unsigned char lead;

	/* Back up over continuation bytes (10xxxxxx) to the last lead byte ... */
	while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80 && len - start < 3)
		start--;
	if (start == 0)
		return len;
	lead = (unsigned char)s[start - 1];
	if (lead < 0x80)
		return len;
	/* ... and drop its sequence if it is not complete. */
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	return len - (start - 1) < need ? start - 1 : len;
}

const char *proto_errno_code(int err)
{
	switch (err < 0 ? -err : err) {
	case EBUSY:
		return PROTO_E_BUSY;
	case ENOENT:
		return PROTO_E_NOTFOUND;
	default:
		return PROTO_E_INTERNAL;
	}
}

void proto_error_set(struct proto_error *e, const char *code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e == NULL)
		return;
	e->code = code;
	va_start(ap, fmt);
	n = vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	/* A message cut at the buffer's end must still be valid UTF-8 on the wire. */
	if (n >= (int)sizeof(e->message))
		e->message[proto_utf8_cut(e->message, sizeof(e->message) - 1)] = '\0';
}

const char *proto_quote(const char *s, char out[PROTO_QUOTE_BUF])
{
	size_t n = strlen(s);

	if (n <= QUOTE_MAX)
		return s;
	n = proto_utf8_cut(s, QUOTE_MAX);
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

/* A JSON value as a short quotable string: "\"abc\"", "12", "[1,2]", cut with "...". */
static const char *quote_value(json_object *v, char out[QUOTE_MAX + 4])
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n;

	if (s == NULL)
		s = "?";
	n = strlen(s);
	if (n <= QUOTE_MAX) {
		memcpy(out, s, n + 1);
	} else {
		n = proto_utf8_cut(s, QUOTE_MAX);
		memcpy(out, s, n);
		memcpy(out + n, "...", 4);
	}
	return out;
}

/* Raw bytes (possibly not NUL-terminated) as a printable, truncated snippet. */
static const char *quote_bytes(const char *p, size_t len, char out[QUOTE_MAX + 4])
{
	size_t i, n = len < QUOTE_MAX ? len : QUOTE_MAX;

	for (i = 0; i < n; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	if (len > n)
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	return out;
}

/* ---- line framing ---- */

void linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max ? max : PROTO_MAX_LINE;
}

void linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->len = lb->cap = lb->start = lb->scanned = 0;
	lb->overflow = false;
}

ssize_t linebuf_fill(struct linebuf *lb, int fd)
{
	ssize_t n;

	/* Lines handed out earlier are dropped only now: "valid until the next call". */
	if (lb->start > 0) {
		memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
		lb->len -= lb->start;
		lb->start = 0;
	}
	if (lb->cap - lb->len < LINEBUF_CHUNK) {
		size_t ncap = lb->cap ? lb->cap : LINEBUF_CHUNK;
		char *nbuf;

		while (ncap - lb->len < LINEBUF_CHUNK)
			ncap *= 2;
		nbuf = realloc(lb->buf, ncap);
		if (nbuf == NULL)
			return -ENOMEM;
		lb->buf = nbuf;
		lb->cap = ncap;
	}
	do
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;

	if (lb->overflow) {
		/* Still inside a line that was too long: keep only what follows its end,
		 * so a huge line never sits in memory. */
		char *nl = memchr(lb->buf + lb->len, '\n', (size_t)n);

		if (nl != NULL) {
			size_t rest = (size_t)n - (size_t)(nl + 1 - (lb->buf + lb->len));

			memmove(lb->buf + lb->len, nl + 1, rest);
			lb->len += rest;
			lb->overflow = false;
		}
	} else {
		lb->len += (size_t)n;
	}
	return n;
}

int linebuf_next(struct linebuf *lb, char **line, size_t *len)
{
	char *p;
	size_t avail = lb->len - lb->start;
	char *nl;
	size_t n;

	if (lb->buf == NULL)     /* never filled: no pointer arithmetic on NULL */
		return 0;
	p = lb->buf + lb->start;
	if (avail == 0) {
		lb->len = lb->start = lb->scanned = 0;
		return 0;
	}
	if (lb->scanned > avail)
		lb->scanned = 0;
	nl = memchr(p + lb->scanned, '\n', avail - lb->scanned);
	if (nl == NULL) {
		lb->scanned = avail;
		/* +1: a line of exactly max bytes may still be waiting for its "\r\n". */
		if (avail > lb->max + 1) {
			lb->len = lb->start = lb->scanned = 0;
			lb->overflow = true;
			return -EMSGSIZE;
		}
		return 0;
	}
	n = (size_t)(nl - p);
	lb->start += n + 1;
	lb->scanned = 0;
	*nl = '\0';
	if (n > 0 && p[n - 1] == '\r')
		p[--n] = '\0';
	if (n > lb->max)
		return -EMSGSIZE;
	*line = p;
	*len = n;
	return 1;
}

/* ---- parsing ---- */

static bool is_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One JSON object from LINE, nothing but whitespace after it. 0 or -EINVAL with E. */
static int parse_object(const char *line, size_t len, json_object **out,
			struct proto_error *e)
{
	json_tokener *tok = NULL;
	json_object *o = NULL;
	enum json_tokener_error jerr;
	char q[QUOTE_MAX + 4];
	size_t end, i;
	int ret = -EINVAL;

	*out = NULL;
	if (len > PROTO_MAX_LINE) {
		proto_error_set(e, PROTO_E_PARSE, "line is %zu bytes, longer than the limit of %u",
				len, PROTO_MAX_LINE);
		goto out;
	}
	tok = json_tokener_new_ex(PROTO_MAX_DEPTH);
	if (tok == NULL) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	/* Trailing bytes are checked below, so that whitespace (and only that) is fine. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
				    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue || (o == NULL && jerr == json_tokener_success)) {
		proto_error_set(e, PROTO_E_PARSE, "incomplete JSON (expected one JSON object "
				"per line): '%s'", quote_bytes(line, len, q));
		goto out;
	}
	if (jerr == json_tokener_error_depth) {
		proto_error_set(e, PROTO_E_PARSE, "JSON nested deeper than %d levels",
				PROTO_MAX_DEPTH);
		goto out;
	}
	if (jerr != json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		proto_error_set(e, PROTO_E_PARSE, "invalid JSON at byte %zu: %s", end,
				json_tokener_error_desc(jerr));
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	for (i = end; i < len; i++) {
		if (!is_json_ws(line[i])) {
			proto_error_set(e, PROTO_E_PARSE, "unexpected data after the JSON value "
					"at byte %zu: '%s' (expected one JSON object per line)",
					i, quote_bytes(line + i, len - i, q));
			goto out;
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		proto_error_set(e, PROTO_E_PARSE, "expected a JSON object, got %s",
				quote_value(o, q));
		goto out;
	}
	*out = o;
	o = NULL;
	ret = 0;
out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	return ret;
}

static bool op_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > OP_MAX_LEN)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz-") == n;
}

/* A JSON string may carry \u0000; C code would silently cut it there. */
static bool string_has_nul(json_object *v)
{
	return (size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v));
}

int proto_parse_request(const char *line, size_t len, json_object **req, const char **op,
			int64_t *id, struct proto_error *e)
{
	json_object *o = NULL, *v;
	char q[QUOTE_MAX + 4];
	int ret;

	*req = NULL;
	*op = NULL;
	*id = -1;
	ret = parse_object(line, len, &o, e);
	if (ret < 0)
		goto out;
	ret = -EINVAL;

	/* The id first, so that every later error can be tied to the request. */
	if (json_object_object_get_ex(o, "id", &v)) {
		/* 2^53 - 1 at most: every JSON implementation can echo it exactly, and a
		 * larger number that json-c clamped is never taken for another id. */
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > PROTO_ID_MAX) {
			proto_error_set(e, PROTO_E_INVALID, "field 'id': expected an integer in "
					"0..%lld, got %s", (long long)PROTO_ID_MAX, quote_value(v, q));
			goto out;
		}
		*id = json_object_get_int64(v);
	}

	if (!json_object_object_get_ex(o, "v", &v)) {
		proto_error_set(e, PROTO_E_VERSION, "field 'v' is missing (this side speaks "
				"protocol version %d)", PROTO_VERSION);
		goto out;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != PROTO_VERSION) {
		proto_error_set(e, PROTO_E_VERSION, "protocol version %s is not supported "
				"(expected \"v\":%d)", quote_value(v, q), PROTO_VERSION);
		goto out;
	}

	if (!json_object_object_get_ex(o, "op", &v)) {
		proto_error_set(e, PROTO_E_INVALID, "field 'op' is missing (expected a string "
				"of [a-z-]{1,%d})", OP_MAX_LEN);
		goto out;
	}
	if (!json_object_is_type(v, json_type_string) || !op_valid(json_object_get_string(v)) ||
	    string_has_nul(v)) {
		proto_error_set(e, PROTO_E_INVALID, "field 'op': expected a string of "
				"[a-z-]{1,%d}, got %s", OP_MAX_LEN, quote_value(v, q));
		goto out;
	}
	*op = json_object_get_string(v);
	*req = o;
	o = NULL;
	ret = 0;
out:
	json_object_put(o);
	return ret;
}

/* ---- typed field access ---- */

/* Looks KEY up: 1 found, 0 absent and optional, -EINVAL absent and required. */
static int field_find(json_object *o, const char *key, bool required, const char *what,
		      json_object **v, struct proto_error *e)
{
	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, v))
		return 1;
	if (!required)
		return 0;
	proto_error_set(e, PROTO_E_INVALID, "field '%s' is missing (expected %s)", key, what);
	return -EINVAL;
}

static int field_wrong(const char *key, const char *what, json_object *v,
		       struct proto_error *e)
{
	char q[QUOTE_MAX + 4];

	proto_error_set(e, PROTO_E_INVALID, "field '%s': expected %s, got %s", key, what,
			quote_value(v, q));
	return -EINVAL;
}

int proto_get_string(json_object *o, const char *key, bool required, const char **out,
		     struct proto_error *e)
{
	json_object *v;
	int r = field_find(o, key, required, "a string", &v, e);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_string))
		return field_wrong(key, "a string", v, e);
	/* "al\u0000ice" would read as "al" everywhere C strings go. */
	if (string_has_nul(v)) {
		proto_error_set(e, PROTO_E_INVALID, "field '%s': contains a NUL character", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

int proto_get_int(json_object *o, const char *key, bool required, int64_t min, int64_t max,
		  int64_t *out, struct proto_error *e)
{
	char what[96];
	json_object *v;
	int64_t n;
	int r;

	if (min == INT64_MIN && max == INT64_MAX)
		snprintf(what, sizeof(what), "an integer");
	else if (max == INT64_MAX)
		snprintf(what, sizeof(what), "an integer >= %" PRId64, min);
	else if (min == INT64_MIN)
		snprintf(what, sizeof(what), "an integer <= %" PRId64, max);
	else
		snprintf(what, sizeof(what), "an integer in %" PRId64 "..%" PRId64, min, max);

	r = field_find(o, key, required, what, &v, e);
	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_int))
		return field_wrong(key, what, v, e);
	n = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64; get_int64 would saturate them. */
	if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return field_wrong(key, what, v, e);
	if (n < min || n > max)
		return field_wrong(key, what, v, e);
	*out = n;
	return 0;
}

int proto_get_bool(json_object *o, const char *key, bool required, bool *out,
		   struct proto_error *e)
{
	json_object *v;
	int r = field_find(o, key, required, "true or false", &v, e);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_boolean))
		return field_wrong(key, "true or false", v, e);
	*out = json_object_get_boolean(v);
	return 0;
}

int proto_get_array(json_object *o, const char *key, bool required, json_object **out,
		    struct proto_error *e)
{
	json_object *v;
	int r = field_find(o, key, required, "an array", &v, e);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_array))
		return field_wrong(key, "an array", v, e);
	*out = v;
	return 0;
}

int proto_get_object(json_object *o, const char *key, bool required, json_object **out,
		     struct proto_error *e)
{
	json_object *v;
	int r = field_find(o, key, required, "an object", &v, e);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_object))
		return field_wrong(key, "an object", v, e);
	*out = v;
	return 0;
}

/* ---- builders ---- */

/* Adds KEY: VAL to O; VAL is taken (put on failure). */
static int obj_add(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int proto_add(json_object *o, const char *key, json_object *val)
{
	return obj_add(o, key, val);
}

/* {"v":1[,"id":ID]} */
static json_object *new_message(int64_t id)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (obj_add(o, "v", json_object_new_int(PROTO_VERSION)) < 0 ||
	    (id >= 0 && obj_add(o, "id", json_object_new_int64(id)) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *proto_new_request(const char *op, int64_t id)
{
	json_object *o = new_message(id);

	if (o != NULL && obj_add(o, "op", json_object_new_string(op)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *proto_new_ok(int64_t id)
{
	json_object *o = new_message(id);

	if (o != NULL && obj_add(o, "ok", json_object_new_boolean(1)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *proto_new_error(int64_t id, const struct proto_error *e)
{
	json_object *o = new_message(id), *err = NULL;

	if (o == NULL)
		return NULL;
	if (obj_add(o, "ok", json_object_new_boolean(0)) < 0)
		goto fail;
	err = json_object_new_object();
	if (err == NULL)
		goto fail;
	if (obj_add(err, "code", json_object_new_string(e->code ? e->code
								 : PROTO_E_INTERNAL)) < 0 ||
	    obj_add(err, "message", json_object_new_string(e->message)) < 0) {
		json_object_put(err);
		goto fail;
	}
	if (obj_add(o, "error", err) < 0)   /* takes err */
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

json_object *proto_new_event(int64_t id, const char *event)
{
	json_object *o = new_message(id);

	if (o != NULL && obj_add(o, "event", json_object_new_string(event)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---- I/O ---- */

char *proto_serialize(json_object *o, size_t *len)
{
	/* PLAIN: no newlines inside (strings escape theirs), so the line is the message. */
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n;
	char *out;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	out = malloc(n + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return out;
}

int proto_send(int fd, json_object *o)
{
	struct stat st;
	bool is_sock;
	size_t len, off = 0;
	char *buf;
	int ret = 0;

	buf = proto_serialize(o, &len);
	if (buf == NULL)
		return -ENOMEM;
	if (len - 1 > PROTO_MAX_LINE) {
		/* The peer would refuse it; better to fail here, with nothing sent. */
		ret = -EMSGSIZE;
		goto out;
	}
	is_sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	while (off < len) {
		ssize_t n;

		/* send() with MSG_NOSIGNAL: a vanished peer is -EPIPE, not SIGPIPE. */
		if (is_sock)
			n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		else
			n = write(fd, buf + off, len - off);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* Accepted sockets are non-blocking; wait, but not forever. */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int r = poll(&pfd, 1, SEND_TIMEOUT_MS);

			if (r < 0 && errno != EINTR) {
				ret = -errno;
				goto out;
			}
			if (r == 0) {
				ret = -ETIMEDOUT;
				goto out;
			}
			continue;
		}
		ret = -errno;
		goto out;
	}
out:
	free(buf);
	return ret;
}

int proto_wait_reply(int fd, struct linebuf *lb, json_object **reply,
		     void (*on_event)(json_object *ev, void *arg), void *arg)
{
	struct proto_error e;
	json_object *o = NULL, *v;
	char *line;
	size_t len;
	int r;

	*reply = NULL;
	for (;;) {
		r = linebuf_next(lb, &line, &len);
		if (r < 0)
			return r;
		if (r == 0) {
			ssize_t n = linebuf_fill(lb, fd);

			if (n == 0)
				return -ECONNRESET;   /* the peer closed before replying */
			if (n == -EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLIN };

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -errno;
				continue;
			}
			if (n < 0)
				return (int)n;
			continue;
		}
		if (parse_object(line, len, &o, &e) < 0)
			return -EPROTO;
		/* An event may carry a student's own "ok": "event" decides first. */
		if (json_object_object_get_ex(o, "event", &v)) {
			if (on_event != NULL)
				on_event(o, arg);
			json_object_put(o);
			o = NULL;
			continue;
		}
		if (!json_object_object_get_ex(o, "ok", &v) ||
		    !json_object_is_type(v, json_type_boolean)) {
			json_object_put(o);
			return -EPROTO;
		}
		*reply = o;
		return 0;
	}
}

const char *proto_reply_error(json_object *reply, const char **code)
{
	json_object *err = NULL;
	const char *msg = NULL, *c = NULL;

	if (proto_get_object(reply, "error", true, &err, NULL) == 0) {
		(void)proto_get_string(err, "message", false, &msg, NULL);
		(void)proto_get_string(err, "code", false, &c, NULL);
	}
	if (code != NULL)
		*code = c ? c : "";
	return msg;
}
