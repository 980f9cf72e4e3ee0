/* common/proto.c: request parsing, typed fields, line framing, send/wait. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/proto.h"

/* Parses S (its strlen) as a request; returns the result, E filled. */
static int parse(const char *s, json_object **req, const char **op, int64_t *id,
		 struct proto_error *e)
{
	memset(e, 0, sizeof(*e));
	return proto_parse_request(s, strlen(s), req, op, id, e);
}

static void write_all(int fd, const char *s)
{
	size_t n = strlen(s);

	ck_assert_int_eq(write(fd, s, n), (ssize_t)n);
}

START_TEST(proto_parses_minimal_request)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"put\",\"id\":7}", &req, &op, &id, &e), 0);
	ck_assert_str_eq(op, "put");
	ck_assert_int_eq(id, 7);
	json_object_put(req);

	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"dump-all\"}", &req, &op, &id, &e), 0);
	ck_assert_str_eq(op, "dump-all");
	ck_assert_int_eq(id, -1);
	json_object_put(req);
}
END_TEST

START_TEST(proto_refuses_trailing_garbage)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"put\"} x", &req, &op, &id, &e), -EINVAL);
	ck_assert_ptr_null(req);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_ptr_nonnull(strstr(e.message, "'x'"));
	/* Two objects on one line are garbage too. */
	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"a\"}{\"v\":1,\"op\":\"b\"}", &req, &op, &id,
			       &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
}
END_TEST

START_TEST(proto_accepts_trailing_whitespace)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("  {\"v\":1,\"op\":\"put\"} \t\r\n", &req, &op, &id, &e), 0);
	json_object_put(req);
}
END_TEST

START_TEST(proto_refuses_embedded_nul)
{
	static const char line[] = "{\"v\":1,\"op\":\"put\"}\0junk";
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(proto_parse_request(line, sizeof(line) - 1, &req, &op, &id, &e),
			 -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
}
END_TEST

/* {"v":1,"op":"x","a":[[[...]]]} with DEPTH nested arrays. */
static char *deep_request(int depth)
{
	char *s = malloc(64 + 2 * (size_t)depth);
	size_t off;

	ck_assert_ptr_nonnull(s);
	off = (size_t)sprintf(s, "{\"v\":1,\"op\":\"x\",\"a\":");
	for (int i = 0; i < depth; i++)
		s[off++] = '[';
	for (int i = 0; i < depth; i++)
		s[off++] = ']';
	strcpy(s + off, "}");
	return s;
}

START_TEST(proto_refuses_depth_over_limit)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;
	char *s = deep_request(100);

	ck_assert_int_eq(parse(s, &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_ptr_nonnull(strstr(e.message, "deeper"));
	free(s);
}
END_TEST

START_TEST(proto_accepts_depth_under_limit)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;
	char *s = deep_request(PROTO_MAX_DEPTH - 2);   /* + the root object */

	ck_assert_int_eq(parse(s, &req, &op, &id, &e), 0);
	json_object_put(req);
	free(s);
}
END_TEST

START_TEST(proto_refuses_line_over_max)
{
	size_t len = PROTO_MAX_LINE + 1;
	char *s = malloc(len);
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_ptr_nonnull(s);
	memset(s, ' ', len);
	memcpy(s, "{\"v\":1,\"op\":\"x\"}", 16);
	ck_assert_int_eq(proto_parse_request(s, len, &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_ptr_nonnull(strstr(e.message, "limit"));
	free(s);
}
END_TEST

START_TEST(proto_refuses_non_object_root)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("[1,2]", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_ptr_nonnull(strstr(e.message, "expected a JSON object"));
	ck_assert_int_eq(parse("not json", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_int_eq(parse("{\"v\":1,", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
}
END_TEST

START_TEST(proto_refuses_string_version)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("{\"v\":\"1\",\"op\":\"put\"}", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_VERSION);
	ck_assert_ptr_nonnull(strstr(e.message, "\"1\""));
	ck_assert_int_eq(parse("{\"v\":1.0,\"op\":\"put\"}", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_VERSION);
}
END_TEST

START_TEST(proto_refuses_unsupported_version)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("{\"v\":2,\"op\":\"put\"}", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_VERSION);
	ck_assert_str_eq(e.message, "protocol version 2 is not supported (expected \"v\":1)");
	ck_assert_int_eq(parse("{\"op\":\"put\"}", &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_VERSION);
	ck_assert_ptr_nonnull(strstr(e.message, "version 1"));
}
END_TEST

START_TEST(proto_refuses_bad_op)
{
	static const char *const bad[] = {
		"{\"v\":1,\"op\":\"Put\"}", "{\"v\":1,\"op\":\"\"}", "{\"v\":1,\"op\":\"a_b\"}",
		"{\"v\":1,\"op\":3}", "{\"v\":1}",
		"{\"v\":1,\"op\":\"abcdefghijklmnopqrstuvwxyzabcdefg\"}",   /* 33 */
	};
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &req, &op, &id, &e) == -EINVAL, "accepted %s", bad[i]);
		ck_assert_str_eq(e.code, PROTO_E_INVALID);
		ck_assert_ptr_nonnull(strstr(e.message, "'op'"));
	}
	/* 32 is fine */
	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"abcdefghijklmnopqrstuvwxyzabcdef\"}", &req,
			       &op, &id, &e), 0);
	json_object_put(req);
}
END_TEST

START_TEST(proto_echoes_id_in_error)
{
	struct proto_error e;
	json_object *req, *reply, *v, *err;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("{\"v\":9,\"op\":\"put\",\"id\":42}", &req, &op, &id, &e),
			 -EINVAL);
	ck_assert_int_eq(id, 42);
	reply = proto_new_error(id, &e);
	ck_assert(json_object_object_get_ex(reply, "id", &v));
	ck_assert_int_eq(json_object_get_int64(v), 42);
	ck_assert(json_object_object_get_ex(reply, "ok", &v));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(reply, "error", &err));
	ck_assert(json_object_object_get_ex(err, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), PROTO_E_VERSION);
	ck_assert(json_object_object_get_ex(err, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), e.message);
	json_object_put(reply);

	/* No id in the request: none in the reply. */
	ck_assert_int_eq(parse("{\"v\":9,\"op\":\"put\"}", &req, &op, &id, &e), -EINVAL);
	ck_assert_int_eq(id, -1);
	reply = proto_new_error(id, &e);
	ck_assert(!json_object_object_get_ex(reply, "id", &v));
	json_object_put(reply);
}
END_TEST

START_TEST(proto_refuses_negative_or_string_id)
{
	struct proto_error e;
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"put\",\"id\":-3}", &req, &op, &id, &e),
			 -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	ck_assert_int_eq(id, -1);
	ck_assert_int_eq(parse("{\"v\":1,\"op\":\"put\",\"id\":\"7\"}", &req, &op, &id, &e),
			 -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
}
END_TEST

START_TEST(proto_get_int_refuses_other_types)
{
	static const char *const bad[] = { "\"12\"", "1.5", "true", "null", "[1]" };
	struct proto_error e;
	int64_t n = 5;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char s[64];
		json_object *o;

		snprintf(s, sizeof(s), "{\"n\":%s}", bad[i]);
		o = json_tokener_parse(s);
		ck_assert_ptr_nonnull(o);
		ck_assert_msg(proto_get_int(o, "n", true, 0, 100, &n, &e) == -EINVAL,
			      "accepted %s", bad[i]);
		ck_assert_str_eq(e.code, PROTO_E_INVALID);
		ck_assert_int_eq(n, 5);
		json_object_put(o);
	}
}
END_TEST

START_TEST(proto_get_int_reports_range)
{
	json_object *o = json_tokener_parse("{\"vm_port\":70000,\"big\":18446744073709551615}");
	struct proto_error e;
	int64_t n = 0;

	ck_assert_int_eq(proto_get_int(o, "vm_port", true, 1, 65535, &n, &e), -EINVAL);
	ck_assert_str_eq(e.message, "field 'vm_port': expected an integer in 1..65535, got 70000");
	ck_assert_int_eq(proto_get_int(o, "vm_port", true, 1, 70000, &n, &e), 0);
	ck_assert_int_eq(n, 70000);
	/* Above INT64_MAX must not saturate into range. */
	ck_assert_int_eq(proto_get_int(o, "big", true, 0, INT64_MAX, &n, &e), -EINVAL);
	json_object_put(o);
}
END_TEST

START_TEST(proto_get_missing_field)
{
	json_object *o = json_tokener_parse("{\"a\":\"x\"}");
	struct proto_error e;
	const char *s = "default";
	bool b = true;
	int64_t n = 9;

	ck_assert_int_eq(proto_get_string(o, "name", true, &s, &e), -EINVAL);
	ck_assert_str_eq(e.message, "field 'name' is missing (expected a string)");
	/* Optional and absent: 0, default kept. */
	ck_assert_int_eq(proto_get_string(o, "name", false, &s, &e), 0);
	ck_assert_str_eq(s, "default");
	ck_assert_int_eq(proto_get_int(o, "n", false, 0, 10, &n, &e), 0);
	ck_assert_int_eq(n, 9);
	ck_assert_int_eq(proto_get_bool(o, "b", false, &b, &e), 0);
	ck_assert(b);
	ck_assert_int_eq(proto_get_string(o, "a", true, &s, &e), 0);
	ck_assert_str_eq(s, "x");
	json_object_put(o);
}
END_TEST

START_TEST(proto_get_typed_fields_refuse_wrong_types)
{
	json_object *o = json_tokener_parse("{\"s\":12,\"b\":1,\"a\":{},\"o\":[]}"), *v;
	struct proto_error e;
	const char *s;
	bool b;

	ck_assert_int_eq(proto_get_string(o, "s", true, &s, &e), -EINVAL);
	ck_assert_str_eq(e.message, "field 's': expected a string, got 12");
	ck_assert_int_eq(proto_get_bool(o, "b", true, &b, &e), -EINVAL);
	ck_assert_int_eq(proto_get_array(o, "a", true, &v, &e), -EINVAL);
	ck_assert_int_eq(proto_get_object(o, "o", true, &v, &e), -EINVAL);
	ck_assert_int_eq(proto_get_array(o, "o", true, &v, &e), 0);
	ck_assert(json_object_is_type(v, json_type_array));
	json_object_put(o);
}
END_TEST

START_TEST(proto_quotes_long_bad_values_truncated)
{
	char buf[1024];
	json_object *o;
	struct proto_error e;
	int64_t n;

	memset(buf, 0, sizeof(buf));
	strcpy(buf, "{\"n\":\"");
	memset(buf + 6, 'z', 500);
	strcat(buf, "\"}");
	o = json_tokener_parse(buf);
	ck_assert_int_eq(proto_get_int(o, "n", true, 0, 1, &n, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "zzz..."));
	ck_assert_uint_lt(strlen(e.message), 120);
	json_object_put(o);
}
END_TEST

START_TEST(linebuf_splits_lines_across_reads)
{
	struct linebuf lb;
	char *line;
	size_t len;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	linebuf_init(&lb, 0);
	write_all(p[1], "{\"a\":");
	ck_assert_int_eq(linebuf_fill(&lb, p[0]), 5);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);
	write_all(p[1], "1}\n{\"b\"");
	ck_assert_int_gt(linebuf_fill(&lb, p[0]), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_str_eq(line, "{\"a\":1}");
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);
	write_all(p[1], ":2}\n");
	ck_assert_int_gt(linebuf_fill(&lb, p[0]), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_str_eq(line, "{\"b\":2}");
	close(p[1]);
	ck_assert_int_eq(linebuf_fill(&lb, p[0]), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);
	close(p[0]);
	linebuf_free(&lb);
}
END_TEST

START_TEST(linebuf_yields_several_lines_from_one_read)
{
	struct linebuf lb;
	char *line;
	size_t len;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	linebuf_init(&lb, 0);
	write_all(p[1], "one\ntwo\r\n\nthree");
	ck_assert_int_eq(linebuf_fill(&lb, p[0]), 15);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_str_eq(line, "one");
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_str_eq(line, "two");          /* CRLF: the \r is stripped */
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);   /* "three" is not complete */
	write_all(p[1], "\n");
	ck_assert_int_eq(linebuf_fill(&lb, p[0]), 1);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_str_eq(line, "three");
	close(p[0]);
	close(p[1]);
	linebuf_free(&lb);
}
END_TEST

START_TEST(linebuf_discards_oversized_line_and_recovers)
{
	struct linebuf lb;
	char chunk[4096], *line;
	size_t len;
	int p[2], r, emsgsize = 0;

	ck_assert_int_eq(pipe(p), 0);
	linebuf_init(&lb, 16);
	write_all(p[1], "short\n");
	memset(chunk, 'x', sizeof(chunk));
	/* 1 MiB without a newline: reported once, never held in memory. */
	for (int i = 0; i < 256; i++) {
		ck_assert_int_eq(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
		ck_assert_int_gt(linebuf_fill(&lb, p[0]), 0);
		while ((r = linebuf_next(&lb, &line, &len)) != 0) {
			if (r == -EMSGSIZE)
				emsgsize++;
			else
				ck_assert_str_eq(line, "short");
		}
		ck_assert_uint_le(lb.cap, 16384);
	}
	write_all(p[1], "tail of the long line\nok\n");
	do {
		ck_assert_int_gt(linebuf_fill(&lb, p[0]), 0);
		r = linebuf_next(&lb, &line, &len);
	} while (r == 0);
	ck_assert_int_eq(r, 1);
	ck_assert_str_eq(line, "ok");
	ck_assert_int_eq(emsgsize, 1);
	/* A complete line over the limit in one read: -EMSGSIZE, then the next line. */
	write_all(p[1], "0123456789abcdefg\nafter\n");
	ck_assert_int_gt(linebuf_fill(&lb, p[0]), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), -EMSGSIZE);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_str_eq(line, "after");
	/* Exactly max bytes, with CRLF, is fine. */
	write_all(p[1], "0123456789abcdef\r\n");
	ck_assert_int_gt(linebuf_fill(&lb, p[0]), 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 1);
	ck_assert_uint_eq(len, 16);
	close(p[0]);
	close(p[1]);
	linebuf_free(&lb);
}
END_TEST

START_TEST(linebuf_fill_reports_eagain_on_empty_nonblocking_fd)
{
	struct linebuf lb;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	linebuf_init(&lb, 0);
	ck_assert_int_eq(linebuf_fill(&lb, sv[0]), -EAGAIN);
	close(sv[0]);
	close(sv[1]);
	linebuf_free(&lb);
}
END_TEST

START_TEST(proto_serialize_is_one_line)
{
	json_object *o = proto_new_request("put", 3);
	size_t len;
	char *s;

	json_object_object_add(o, "note", json_object_new_string("a\nb/c"));
	s = proto_serialize(o, &len);
	ck_assert_str_eq(s, "{\"v\":1,\"id\":3,\"op\":\"put\",\"note\":\"a\\nb/c\"}\n");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	json_object_put(o);
}
END_TEST

START_TEST(proto_builders_omit_absent_id)
{
	json_object *o = proto_new_ok(-1);
	char *s = proto_serialize(o, NULL);

	ck_assert_str_eq(s, "{\"v\":1,\"ok\":true}\n");
	free(s);
	json_object_put(o);
	o = proto_new_event(5, "progress");
	s = proto_serialize(o, NULL);
	ck_assert_str_eq(s, "{\"v\":1,\"id\":5,\"event\":\"progress\"}\n");
	free(s);
	json_object_put(o);
}
END_TEST

START_TEST(proto_send_to_closed_peer_gives_epipe)
{
	json_object *o = proto_new_ok(1);
	int sv[2];

	/* Check would report SIGPIPE as a test failure. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(proto_send(sv[0], o), -EPIPE);
	close(sv[0]);
	json_object_put(o);
}
END_TEST

static void count_event(json_object *ev, void *arg)
{
	json_object *v;

	ck_assert(json_object_object_get_ex(ev, "event", &v));
	(*(int *)arg)++;
}

START_TEST(proto_wait_reply_passes_events_then_reply)
{
	struct linebuf lb;
	json_object *reply, *v;
	int sv[2], events = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	linebuf_init(&lb, 0);
	write_all(sv[1], "{\"v\":1,\"id\":1,\"event\":\"progress\",\"done\":1}\n"
		  "{\"v\":1,\"id\":1,\"event\":\"progress\",\"done\":2}\r\n{\"v\":1,\"id\":1,\"ok\":tr");
	write_all(sv[1], "ue,\"n\":3}\n{\"v\":1,\"id\":2,\"ok\":false}\n");
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, count_event, &events), 0);
	ck_assert_int_eq(events, 2);
	ck_assert(json_object_object_get_ex(reply, "n", &v));
	ck_assert_int_eq(json_object_get_int(v), 3);
	json_object_put(reply);
	/* The line after the reply stays buffered for the next call. */
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, NULL, NULL), 0);
	ck_assert(json_object_object_get_ex(reply, "id", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	json_object_put(reply);
	close(sv[0]);
	close(sv[1]);
	linebuf_free(&lb);
}
END_TEST

START_TEST(proto_wait_reply_refuses_garbage)
{
	struct linebuf lb;
	json_object *reply;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	linebuf_init(&lb, 0);
	write_all(sv[1], "hello\n");
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, NULL, NULL), -EPROTO);
	ck_assert_ptr_null(reply);
	write_all(sv[1], "{\"v\":1,\"what\":1}\n");   /* neither ok nor event */
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, NULL, NULL), -EPROTO);
	write_all(sv[1], "{\"v\":1,\"ok\":\"yes\"}\n");
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, NULL, NULL), -EPROTO);
	close(sv[1]);
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, NULL, NULL), -ECONNRESET);
	close(sv[0]);
	linebuf_free(&lb);
}
END_TEST

START_TEST(proto_send_large_message_survives_short_writes)
{
	struct linebuf lb;
	json_object *o, *reply, *v;
	size_t big = 3u << 20;   /* far more than a socket buffer */
	char *s = malloc(big + 1);
	int sv[2], status;
	pid_t pid;

	ck_assert_ptr_nonnull(s);
	memset(s, 'q', big);
	s[big] = '\0';
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		o = proto_new_ok(1);
		json_object_object_add(o, "blob", json_object_new_string(s));
		_exit(proto_send(sv[1], o) == 0 ? 0 : 1);
	}
	close(sv[1]);
	linebuf_init(&lb, 0);
	ck_assert_int_eq(proto_wait_reply(sv[0], &lb, &reply, NULL, NULL), 0);
	ck_assert(json_object_object_get_ex(reply, "blob", &v));
	ck_assert_uint_eq(json_object_get_string_len(v), big);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	json_object_put(reply);
	close(sv[0]);
	linebuf_free(&lb);
	free(s);
}
END_TEST

Suite *make_proto_suite(void);

Suite *make_proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("proto");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, proto_parses_minimal_request);
	tcase_add_test(tc, proto_refuses_trailing_garbage);
	tcase_add_test(tc, proto_accepts_trailing_whitespace);
	tcase_add_test(tc, proto_refuses_embedded_nul);
	tcase_add_test(tc, proto_refuses_depth_over_limit);
	tcase_add_test(tc, proto_accepts_depth_under_limit);
	tcase_add_test(tc, proto_refuses_line_over_max);
	tcase_add_test(tc, proto_refuses_non_object_root);
	tcase_add_test(tc, proto_refuses_string_version);
	tcase_add_test(tc, proto_refuses_unsupported_version);
	tcase_add_test(tc, proto_refuses_bad_op);
	tcase_add_test(tc, proto_echoes_id_in_error);
	tcase_add_test(tc, proto_refuses_negative_or_string_id);
	tcase_add_test(tc, proto_get_int_refuses_other_types);
	tcase_add_test(tc, proto_get_int_reports_range);
	tcase_add_test(tc, proto_get_missing_field);
	tcase_add_test(tc, proto_get_typed_fields_refuse_wrong_types);
	tcase_add_test(tc, proto_quotes_long_bad_values_truncated);
	tcase_add_test(tc, linebuf_splits_lines_across_reads);
	tcase_add_test(tc, linebuf_yields_several_lines_from_one_read);
	tcase_add_test(tc, linebuf_discards_oversized_line_and_recovers);
	tcase_add_test(tc, linebuf_fill_reports_eagain_on_empty_nonblocking_fd);
	tcase_add_test(tc, proto_serialize_is_one_line);
	tcase_add_test(tc, proto_builders_omit_absent_id);
	tcase_add_test(tc, proto_send_to_closed_peer_gives_epipe);
	tcase_add_test(tc, proto_wait_reply_passes_events_then_reply);
	tcase_add_test(tc, proto_wait_reply_refuses_garbage);
	tcase_add_test(tc, proto_send_large_message_survives_short_writes);
	suite_add_tcase(s, tc);
	return s;
}
