/*
 * The JSON-lines protocol between labctl, labd and netd.
 *
 * One request per line:  {"v":1,"op":"put","id":7, ...op fields...}
 * Zero or more events:   {"v":1,"id":7,"event":"progress","done":3,"total":12, ...}
 * One final reply:       {"v":1,"id":7,"ok":true, ...result fields...}
 *                   or   {"v":1,"id":7,"ok":false,"error":{"code":"invalid","message":"..."}}
 * "id" is optional and echoed back. Lines are capped at PROTO_MAX_LINE bytes.
 */
#ifndef VLAB_PROTO_H
#define VLAB_PROTO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>          /* ssize_t */

#define PROTO_VERSION 1
#define PROTO_MAX_LINE (16u << 20)   /* a sync of 10k mappings is ~1.3 MiB */
#define PROTO_MAX_DEPTH 16           /* json-c tokener depth: deep JSON is refused */
#define PROTO_ID_MAX ((1LL << 53) - 1) /* largest request id */

/* Error codes on the wire (error.code). */
#define PROTO_E_PARSE     "parse"      /* not JSON, not an object, too deep, too long */
#define PROTO_E_VERSION   "version"    /* missing or unsupported "v" */
#define PROTO_E_UNKNOWN   "unknown_op"
#define PROTO_E_INVALID   "invalid"    /* a field is missing, of the wrong type or out of range */
#define PROTO_E_CONFLICT  "conflict"   /* clashes with existing state */
#define PROTO_E_NOTFOUND  "not_found"
#define PROTO_E_DENIED    "denied"
#define PROTO_E_INTERNAL  "internal"   /* our fault or the system's; see the daemon's log */
#define PROTO_E_BUSY      "busy"
#define PROTO_E_PARTIAL   "partial"    /* a bulk operation where some students failed */

/* The wire code for a failure reported as -errno (or errno): busy for EBUSY, not_found
 * for ENOENT, internal for the rest. The one place a daemon turns an errno into a code;
 * codes a caller knows better (invalid, conflict, ...) it sets itself. */
const char *proto_errno_code(int err);

struct proto_error {
	const char *code;        /* one of PROTO_E_*, static */
	char message[512];
};

void proto_error_set(struct proto_error *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The longest prefix of S[0..LEN) that does not end inside a UTF-8 sequence (for cutting
 * quoted values and messages without producing invalid UTF-8). */
size_t proto_utf8_cut(const char *s, size_t len);

/* S for a message: itself when short, else its first 40 bytes (on a UTF-8 boundary)
 * and "...", in OUT. */
#define PROTO_QUOTE_BUF 48
const char *proto_quote(const char *s, char out[PROTO_QUOTE_BUF]);

/* A growing input buffer that yields complete lines (without the '\n'). */
struct linebuf {
	char *buf;
	size_t len, cap;
	size_t max;              /* longest accepted line; 0 = PROTO_MAX_LINE */
	bool overflow;           /* the current line went past max: discard until '\n' */
	size_t start;            /* bytes at the front already handed out by linebuf_next */
	size_t scanned;          /* bytes from start known to hold no '\n': a long line is
	                            searched once, not again after every read */
};

void linebuf_init(struct linebuf *lb, size_t max);
void linebuf_free(struct linebuf *lb);
/* Reads what is available from FD. Returns bytes read (>0), 0 on EOF, -errno
 * (-EAGAIN when nothing is there on a non-blocking fd). */
ssize_t linebuf_fill(struct linebuf *lb, int fd);
/* Next complete line: 1 and *LINE (NUL-terminated, valid until the next call) and
 * *LEN; 0 when no complete line is buffered; -EMSGSIZE once for a line that was too
 * long (it is discarded). */
int linebuf_next(struct linebuf *lb, char **line, size_t *len);

/*
 * Parses one request line. On success returns 0 with *REQ (caller puts it), *OP
 * pointing into it, *ID the request id (-1 if absent). On failure returns -EINVAL
 * with E filled (code parse/version/invalid) and *ID set when it could be read.
 */
int proto_parse_request(const char *line, size_t len, json_object **req, const char **op,
			int64_t *id, struct proto_error *e);

/* Typed field access; each fills E ("field 'x': expected a string") on failure and
 * returns -EINVAL. A field that is absent and not REQUIRED returns 0 and leaves *OUT
 * untouched (set the default first); JSON null counts as a wrong type. */
int proto_get_string(json_object *o, const char *key, bool required, const char **out,
		     struct proto_error *e);
int proto_get_int(json_object *o, const char *key, bool required, int64_t min, int64_t max,
		  int64_t *out, struct proto_error *e);
int proto_get_bool(json_object *o, const char *key, bool required, bool *out,
		   struct proto_error *e);
int proto_get_array(json_object *o, const char *key, bool required, json_object **out,
		    struct proto_error *e);
int proto_get_object(json_object *o, const char *key, bool required, json_object **out,
		     struct proto_error *e);

/* Builders. Each returns a new object the caller puts (or passes to proto_send). */
json_object *proto_new_request(const char *op, int64_t id);
/* Adds KEY: VAL to O. VAL is taken, also on failure (a NULL VAL is a failed allocation).
 * 0 or -ENOMEM. */
int proto_add(json_object *o, const char *key, json_object *val);
json_object *proto_new_ok(int64_t id);
json_object *proto_new_error(int64_t id, const struct proto_error *e);
json_object *proto_new_event(int64_t id, const char *event);

/* Serialises O as one line (+'\n') into a new malloc'd string; *LEN gets its length. */
char *proto_serialize(json_object *o, size_t *len);
/* Writes O as one line to a blocking FD, retrying short writes. 0 or -errno. */
int proto_send(int fd, json_object *o);

/* A reply's error.message (NULL when it has none) and, in *CODE (may be NULL), its
 * error.code ("" when it has none). The strings live as long as REPLY. */
const char *proto_reply_error(json_object *reply, const char **code);

/* Client side: reads lines from FD (blocking) until a final reply (a line with "ok" and
 * no "event": events carry a per-student "ok" too); events go
 * to ON_EVENT (may be NULL). Returns 0 with *REPLY, or -errno (-EPROTO for garbage). */
int proto_wait_reply(int fd, struct linebuf *lb, json_object **reply,
		     void (*on_event)(json_object *ev, void *arg), void *arg);

#endif
