/*
 * Hostile input through the pure parsers both daemons run before acting: every input
 * must be refused with the right code and a message that says what is wrong, never
 * crash, and every refusal must reach the client as a readable reply. The fuzz
 * targets (fuzz/) look for more; what they find lands here as a regression test.
 *
 * The table runs the daemons' own request checks (netd/request.c: put and sync;
 * labd/request.c: enrol), the code netd/control.c and labd/ops.c run before they touch
 * the kernel, libvirt or the database. labd's cap of 5000 rows per enrol is in
 * check_request.c; student_check_batch, below it, is given a 6000-row batch here, and
 * labctl's own cap (ROSTER_MAX_ROWS) is tested through roster_parse.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/roster.h"
#include "common/conf.h"
#include "common/id.h"
#include "common/mapping.h"
#include "common/proto.h"
#include "common/sshkey.h"
#include "common/student.h"
#include "labd/request.h"
#include "netd/request.h"
#include "tests/unit/testlab.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3 t@vlab"
#define KEY_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3"

/* ---- the lab of configs/test.conf: 10.77.0.0/20, two publics, ports 20000-20999 ---- */

static struct conf_public lab_publics[2];
static struct conf_class lab_classes[1];
static struct lab_conf lab;

static void lab_setup(void)
{
	testlab_fill(&lab, lab_publics, "10.77.0.0", 20);
	memset(lab_classes, 0, sizeof(lab_classes));
	lab_classes[0].name = "net101";
	lab.classes = lab_classes;
	lab.n_classes = 1;
}

/* ---- the table ---- */

enum stage {
	ST_PARSE,       /* proto_parse_request alone */
	ST_PUT,         /* netd_request_parse_put */
	ST_SYNC,        /* netd_request_parse_sync */
	ST_ENROL,       /* labd_request_parse_enrol, then labd_request_enrol_finish */
};

struct hostile {
	enum stage st;
	const char *line;       /* one request line */
	size_t len;             /* 0: strlen(line) */
	const char *code;       /* PROTO_E_* expected */
	const char *needle;     /* expected inside the message */
};

/* A mapping as raw JSON fragments. */
#define MAP(st, mac, ip, vp, pub, pp) \
	"{\"student\":" st ",\"mac\":" mac ",\"ip\":" ip ",\"vm_port\":" vp \
	",\"public_ip\":" pub ",\"public_port\":" pp "}"
#define M_ST(st)  MAP(st, "\"52:54:00:00:00:05\"", "\"10.77.0.6\"", "22", "\"203.0.113.10\"", "20005")
#define M_MAC(v)  MAP("\"alice\"", v, "\"10.77.0.6\"", "22", "\"203.0.113.10\"", "20005")
#define M_IP(v)   MAP("\"alice\"", "\"52:54:00:00:00:05\"", v, "22", "\"203.0.113.10\"", "20005")
#define M_VP(v)   MAP("\"alice\"", "\"52:54:00:00:00:05\"", "\"10.77.0.6\"", v, "\"203.0.113.10\"", "20005")
#define M_PUB(v)  MAP("\"alice\"", "\"52:54:00:00:00:05\"", "\"10.77.0.6\"", "22", v, "20005")
#define M_PP(v)   MAP("\"alice\"", "\"52:54:00:00:00:05\"", "\"10.77.0.6\"", "22", "\"203.0.113.10\"", v)
#define MAP_PORT(v) \
	"{\"student\":\"alice\",\"mac\":\"52:54:00:00:00:05\",\"ip\":\"10.77.0.6\",\"vm_port\":22," \
	"\"public_ip\":\"203.0.113.10\",\"public_port\":20005,\"port\":" v "}"
#define PUT(m)    "{\"v\":1,\"op\":\"put\",\"id\":9,\"mapping\":" m "}"
#define SYNC(ms)  "{\"v\":1,\"op\":\"sync\",\"mappings\":[" ms "]}"
#define ROW(id, keys) "{\"line\":2,\"id\":" id ",\"ssh_keys\":" keys "}"
#define ENROL(rows) "{\"v\":1,\"op\":\"enrol\",\"class\":\"net101\",\"students\":[" rows "]}"
#define K4  KEY "\\n" KEY "\\n" KEY "\\n" KEY "\\n"
#define K17 "\"" K4 K4 K4 K4 KEY "\""

#define PARSE(l, c, n)   { ST_PARSE, l, 0, c, n }
#define BADPUT(m, n)     { ST_PUT, PUT(m), 0, PROTO_E_INVALID, n }
#define BADSYNC(ms, n)   { ST_SYNC, SYNC(ms), 0, PROTO_E_INVALID, n }
#define BADROW(r, n)     { ST_ENROL, ENROL(r), 0, PROTO_E_INVALID, n }

static const char deep_arrays[] =
	"{\"v\":1,\"op\":\"dump\",\"x\":"
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	"}";

static const struct hostile hostile[] = {
	/* framing and JSON */
	PARSE("", PROTO_E_PARSE, "incomplete JSON"),
	PARSE("hello", PROTO_E_PARSE, "invalid JSON"),
	PARSE("{\"v\":1,\"op\":\"put\",", PROTO_E_PARSE, "incomplete JSON"),
	PARSE("{\"v\":1,\"op\":\"dump\"} trailing", PROTO_E_PARSE, "unexpected data"),
	PARSE("[1,2]", PROTO_E_PARSE, "expected a JSON object"),
	PARSE("\"put\"", PROTO_E_PARSE, "expected a JSON object"),
	PARSE(deep_arrays, PROTO_E_PARSE, "nested deeper"),
	PARSE("{\"v\":1,\"op\":\"dump\",\"s\":\"\xff\xfe\"}", PROTO_E_PARSE, "invalid JSON"),
	{ ST_PARSE, "{\"v\":1,\"op\":\"du\0mp\"}", 20, PROTO_E_PARSE, "invalid JSON" },
	/* version, op, id */
	PARSE("{\"op\":\"dump\"}", PROTO_E_VERSION, "'v' is missing"),
	PARSE("{\"v\":\"1\",\"op\":\"dump\"}", PROTO_E_VERSION, "not supported"),
	PARSE("{\"v\":2,\"op\":\"dump\"}", PROTO_E_VERSION, "not supported"),
	PARSE("{\"v\":1.0,\"op\":\"dump\"}", PROTO_E_VERSION, "not supported"),
	PARSE("{\"v\":1}", PROTO_E_INVALID, "'op' is missing"),
	PARSE("{\"v\":1,\"op\":42}", PROTO_E_INVALID, "field 'op'"),
	PARSE("{\"v\":1,\"op\":\"DUMP\"}", PROTO_E_INVALID, "field 'op'"),
	PARSE("{\"v\":1,\"op\":\"dump\\u0000x\"}", PROTO_E_INVALID, "field 'op'"),
	PARSE("{\"v\":1,\"op\":\"dump\",\"id\":-1}", PROTO_E_INVALID, "field 'id'"),
	PARSE("{\"v\":1,\"op\":\"dump\",\"id\":\"7\"}", PROTO_E_INVALID, "field 'id'"),
	PARSE("{\"v\":1,\"op\":\"dump\",\"id\":1.5}", PROTO_E_INVALID, "field 'id'"),
	PARSE("{\"v\":1,\"op\":\"dump\",\"id\":18446744073709551616}", PROTO_E_INVALID, "field 'id'"),
	/* netd put: the request shape */
	{ ST_PUT, "{\"v\":1,\"op\":\"put\"}", 0, PROTO_E_INVALID, "'mapping' is missing" },
	{ ST_PUT, "{\"v\":1,\"op\":\"put\",\"mapping\":[]}", 0, PROTO_E_INVALID, "expected an object" },
	{ ST_PUT, "{\"v\":1,\"op\":\"put\",\"mapping\":null}", 0, PROTO_E_INVALID, "expected an object" },
	BADPUT("{\"student\":\"alice\",\"publicport\":20005}", "unknown field 'publicport'"),
	/* student IDs */
	BADPUT(M_ST("\"a/b\""), "not a student ID"),
	BADPUT(M_ST("\"..\""), "not a student ID"),
	BADPUT(M_ST("\"../etc\""), "not a student ID"),
	BADPUT(M_ST("\"al\\u0000ice\""), "student"),
	BADPUT(M_ST("\"al ice\""), "not a student ID"),
	BADPUT(M_ST("\"\xc3\xa9lodie\""), "not a student ID"),
	BADPUT(M_ST("\"Alice\""), "not a student ID"),
	BADPUT(M_ST("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""), "not a student ID"),
	BADPUT(M_ST("\"\""), "not a student ID"),
	BADPUT(M_ST("\"-alice\""), "not a student ID"),
	/* wrong types, one per field */
	BADPUT(M_ST("42"), "field 'student': expected a string"),
	BADPUT(M_MAC("525400000005"), "field 'mac': expected a string"),
	BADPUT(M_IP("[\"10.77.0.6\"]"), "field 'ip': expected a string"),
	BADPUT(M_VP("\"22\""), "field 'vm_port': expected an integer"),
	BADPUT(M_PUB("null"), "field 'public_ip': expected a string"),
	BADPUT(M_PP("true"), "field 'public_port': expected an integer"),
	BADPUT(M_PP("{}"), "field 'public_port': expected an integer"),
	/* ports */
	BADPUT(M_VP("0"), "field 'vm_port'"),
	BADPUT(M_VP("65536"), "field 'vm_port'"),
	BADPUT(M_VP("-1"), "field 'vm_port'"),
	BADPUT(M_VP("1.5"), "field 'vm_port'"),
	BADPUT(M_PP("1e3"), "field 'public_port'"),
	BADPUT(M_PP("21000"), "not configured"),
	BADPUT(M_PP("19999"), "not configured"),
	/* addresses */
	BADPUT(M_IP("\"256.0.0.1\""), "dotted-quad"),
	BADPUT(M_IP("\"10.77.0.0\""), "network address"),
	BADPUT(M_IP("\"10.77.15.255\""), "broadcast address"),
	BADPUT(M_IP("\"10.77.0.1\""), "gateway"),
	BADPUT(M_IP("\"10.78.0.5\""), "not a VM address"),
	BADPUT(M_IP("\"010.77.0.6\""), "dotted-quad"),
	BADPUT(M_IP("\"10.77.0.6\\u0000junk\""), "field 'ip'"),
	BADPUT(M_IP("\"::ffff:10.77.0.6\""), "dotted-quad"),
	BADPUT(M_PUB("\"203.0.113.12\""), "not configured"),
	BADPUT(M_PUB("\"2001:db8::10\""), "dotted-quad"),
	BADPUT(M_MAC("\"01:54:00:00:00:05\""), "not a unicast"),
	BADPUT(M_MAC("\"00:00:00:00:00:00\""), "not a unicast"),
	BADPUT(M_MAC("\"52:54:00:00:00:0g\""), "MAC address"),
	/* the optional bridge port */
	BADPUT(MAP_PORT("\"eth0\""), "field 'port'"),
	BADPUT(MAP_PORT("\"vl1;reboot\""), "field 'port'"),
	BADPUT(MAP_PORT("\"vl/../x\""), "field 'port'"),
	BADPUT(MAP_PORT("\"vl0123456789abcd\""), "field 'port'"),
	BADPUT(MAP_PORT("\"vl7\\u0000x\""), "field 'port'"),
	BADPUT(MAP_PORT("7"), "field 'port': expected a string"),
	/* netd sync */
	{ ST_SYNC, "{\"v\":1,\"op\":\"sync\",\"mappings\":\"all\"}", 0, PROTO_E_INVALID, "expected an array" },
	BADSYNC("1", "mappings[0]"),
	BADSYNC(M_ST("\"a\"") "," M_ST("\"b\""), "already belongs to 'a'"),
	BADSYNC(M_ST("\"a\"") "," M_ST("\"a\""), "appears twice"),
	BADSYNC(M_ST("\"a\"") "," M_IP("\"10.77.15.255\""), "mappings[1]"),
	/* labd enrol rows: IDs and keys */
	BADROW(ROW("\"x/y\"", "\"" KEY "\""), "not valid"),
	BADROW(ROW("\"..\"", "\"" KEY "\""), "not valid"),
	BADROW(ROW("\"al\\u0000ice\"", "\"" KEY "\""), "NUL"),
	BADROW(ROW("\"bob\"", "\"" KEY "\\u0000\""), "NUL"),
	BADROW(ROW("\"bob\"", "\"command=\\\"/bin/sh\\\" " KEY "\""), "key"),
	BADROW(ROW("\"bob\"", "\"no-pty,from=\\\"*\\\" " KEY "\""), "key"),
	BADROW(ROW("\"bob\"", "\"ssh-ed25519 AAAAC3NzaC1lZDI1\\nNTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3\""), "key 1"),
	BADROW(ROW("\"bob\"", "\"ssh-ed25519 " KEY_B64 "\\rinjected\""), "key"),
	BADROW(ROW("\"bob\"", "\"ssh-ed25519\\t" KEY_B64 "\\tc\\u0007\""), "key"),
	BADROW(ROW("\"bob\"", K17), "at most 16"),
	BADROW(ROW("\"bob\"", "\"\""), "no SSH key"),
	BADROW(ROW("\"bob\"", "[\"" KEY "\"]"), "expected a string"),
	BADROW(ROW("\"bob\"", "\"" KEY "\"") "," ROW("\"bob\"", "\"" KEY "\""), "duplicate"),
	{ ST_ENROL, "{\"v\":1,\"op\":\"enrol\",\"students\":[]}", 0, PROTO_E_INVALID, "no students" },
};

/* labd's enrol checks; the refused rows' messages (the reply's "errors") joined into
 * E's message, after labd's own summary. */
static int labd_enrol(json_object *req, struct proto_error *e)
{
	struct labd_enrol en;
	size_t off, i;
	int ret = labd_request_parse_enrol(req, &lab, &en, e);

	if (ret == 0 && (ret = labd_request_enrol_finish(&en, e)) < 0) {
		off = strlen(e->message);
		for (i = 0; i < json_object_array_length(en.errors) && off < sizeof(e->message); i++) {
			json_object *err = json_object_array_get_idx(en.errors, i), *m;

			if (json_object_object_get_ex(err, "message", &m))
				off += (size_t)snprintf(e->message + off, sizeof(e->message) - off,
							"; %s", json_object_get_string(m));
		}
	}
	labd_enrol_clear(&en);
	return ret;
}

/* Runs H through its stage: 0 if accepted, else -EINVAL with E filled. */
static int run_hostile(const struct hostile *h, struct proto_error *e)
{
	json_object *req = NULL;
	const char *op;
	int64_t id;
	int ret = -EINVAL;

	memset(e, 0, sizeof(*e));
	if (proto_parse_request(h->line, h->len ? h->len : strlen(h->line), &req, &op, &id, e) < 0)
		return -EINVAL;
	switch (h->st) {
	case ST_PARSE:
		ret = 0;
		break;
	case ST_PUT: {
		struct mapping m;

		ret = netd_request_parse_put(req, &lab, &m, e);
		break;
	}
	case ST_SYNC: {
		struct netd_sync sync;

		ret = netd_request_parse_sync(req, &lab, &sync, e);
		netd_sync_clear(&sync);
		break;
	}
	case ST_ENROL:
		ret = labd_enrol(req, e);
		break;
	}
	json_object_put(req);
	return ret;
}

START_TEST(hostile_input_is_refused_with_its_code)
{
	const struct hostile *h = &hostile[_i];
	struct proto_error e;
	int r = run_hostile(h, &e);

	ck_assert_msg(r < 0, "row %d accepted: %.120s", _i, h->line);
	ck_assert_ptr_nonnull(e.code);
	ck_assert_msg(strcmp(e.code, h->code) == 0, "row %d: code %s, expected %s (%s)", _i,
		      e.code, h->code, e.message);
	ck_assert_msg(strstr(e.message, h->needle) != NULL,
		      "row %d: message '%s' does not say '%s'", _i, e.message, h->needle);
}
END_TEST

/* The same lab accepts the well-formed version of the table's requests. */
START_TEST(hostile_table_baseline_is_accepted)
{
	static const struct hostile good[] = {
		{ ST_PUT, PUT(M_ST("\"alice\"")), 0, NULL, NULL },
		{ ST_PUT, PUT(M_IP("\"10.77.15.254\"")), 0, NULL, NULL },
		{ ST_PUT, PUT(M_PUB("\"203.0.113.11\"")), 0, NULL, NULL },
		{ ST_PUT, PUT(M_VP("65535")), 0, NULL, NULL },
		{ ST_PUT, PUT(MAP_PORT("\"vl7\"")), 0, NULL, NULL },
		{ ST_SYNC, SYNC(M_ST("\"a\"")), 0, NULL, NULL },
		{ ST_ENROL, ENROL(ROW("\"bob_2\"", "\"" KEY "\\r\\n\"")), 0, NULL, NULL },
	};
	struct proto_error e;

	for (size_t i = 0; i < N(good); i++)
		ck_assert_msg(run_hostile(&good[i], &e) == 0, "good[%zu] refused: %s", i, e.message);
}
END_TEST

/* ---- replies ---- */

/* Writes REPLY to a pipe and reads it back as a client does. 0 or -errno. */
static int reply_roundtrip(json_object *reply)
{
	struct linebuf lb;
	json_object *back = NULL;
	size_t len;
	char *s = proto_serialize(reply, &len);
	int fds[2], r;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], s, len), (ssize_t)len);
	close(fds[1]);
	linebuf_init(&lb, 0);
	r = proto_wait_reply(fds[0], &lb, &back, NULL, NULL);
	if (r == 0)
		ck_assert(json_object_equal(reply, back));
	json_object_put(back);
	linebuf_free(&lb);
	close(fds[0]);
	free(s);
	return r;
}

START_TEST(hostile_refusal_reaches_the_client)
{
	const struct hostile *h = &hostile[_i];
	struct proto_error e;
	json_object *reply;

	run_hostile(h, &e);
	reply = proto_new_error(9, &e);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply_roundtrip(reply), 0);
	json_object_put(reply);
}
END_TEST

/*
 * Regression: error messages quote a bad value cut to 40 bytes (mapping.c quote_str,
 * proto.c quote_value); cut inside a UTF-8 sequence, the reply is no longer UTF-8 and
 * the client (proto_wait_reply, which validates UTF-8) drops it as -EPROTO, so the
 * teacher sees "garbage from the daemon" instead of the reason.
 */
static const char *const cut_utf8[] = {
	/* 1 + 25 x 2 bytes: byte 40 is the first half of an e-acute. */
	PUT(M_ST("\"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"")),
	/* 2 + 13 x 3 bytes: byte 40 is inside a euro sign. */
	PUT(M_MAC("\"aa\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
		  "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
		  "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"")),
	/* quote_value quotes the JSON form: '"' + 4 + 17 x 2 bytes, then a split e-acute. */
	"{\"v\":1,\"op\":\"dump\",\"id\":\"aaaa\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	"\xc3\xa9\xc3\xa9\xc3\xa9\"}",
};

START_TEST(error_reply_quoting_cut_utf8_is_readable)
{
	struct hostile h = { ST_PUT, cut_utf8[_i], 0, PROTO_E_INVALID, "" };
	struct proto_error e;
	json_object *reply;

	ck_assert_int_lt(run_hostile(&h, &e), 0);
	reply = proto_new_error(9, &e);
	ck_assert_msg(reply_roundtrip(reply) == 0, "the client cannot read the refusal: %s",
		      e.message);
	json_object_put(reply);
}
END_TEST

/* ---- framing ---- */

/* Regression (fuzz, clang UBSan): linebuf_next on a linebuf that never held data did
 * NULL + 0 (proto.c "lb->buf + lb->start"); proto_wait_reply starts that way. */
START_TEST(linebuf_next_on_fresh_linebuf_is_defined)
{
	struct linebuf lb;
	char *line = NULL;
	size_t len = 0;

	linebuf_init(&lb, 0);
	ck_assert_int_eq(linebuf_next(&lb, &line, &len), 0);
	ck_assert_ptr_null(line);
	linebuf_free(&lb);
}
END_TEST

/* A line longer than PROTO_MAX_LINE is refused once and dropped without being kept in
 * memory; the request after it is served. */
START_TEST(linebuf_caps_a_line_longer_than_proto_max_line)
{
	static const char next[] = "{\"v\":1,\"op\":\"status\"}\n";
	struct linebuf lb;
	char *line;
	size_t len, max_cap = 0;
	int fds[2], got, status, toolong = 0, lines = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static char chunk[65536];
		size_t total = PROTO_MAX_LINE + 100000, off = 0;

		close(fds[0]);
		memset(chunk, 'a', sizeof(chunk));
		if (write(fds[1], "{\"v\":1,\"op\":\"dump\",\"pad\":\"", 27) != 27)
			_exit(1);
		while (off < total) {
			ssize_t w = write(fds[1], chunk, sizeof(chunk));

			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		if (write(fds[1], "\"}\n", 3) != 3 || write(fds[1], next, sizeof(next) - 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	linebuf_init(&lb, 0);
	for (;;) {
		ssize_t n = linebuf_fill(&lb, fds[0]);

		ck_assert_int_ge(n, 0);
		if (lb.cap > max_cap)
			max_cap = lb.cap;
		while ((got = linebuf_next(&lb, &line, &len)) != 0) {
			if (got == -EMSGSIZE) {
				toolong++;
				continue;
			}
			ck_assert_int_eq(got, 1);
			ck_assert_str_eq(line, "{\"v\":1,\"op\":\"status\"}");
			lines++;
		}
		if (n == 0)
			break;
	}
	ck_assert_int_eq(toolong, 1);
	ck_assert_int_eq(lines, 1);
	/* Never much more than one line's worth held. */
	ck_assert_uint_le(max_cap, 2 * (size_t)PROTO_MAX_LINE + 65536);
	linebuf_free(&lb);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(parse_refuses_a_line_longer_than_proto_max_line)
{
	size_t len = PROTO_MAX_LINE + 1;
	char *big = malloc(len);
	struct proto_error e = { 0 };
	json_object *req;
	const char *op;
	int64_t id;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', len);
	memcpy(big, "{\"v\":1,\"op\":\"dump\"}", 19);
	ck_assert_int_eq(proto_parse_request(big, len, &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_ptr_nonnull(strstr(e.message, "longer than the limit"));
	free(big);
}
END_TEST

/* Deep nesting of objects, not only arrays, stops at PROTO_MAX_DEPTH. */
START_TEST(parse_refuses_objects_nested_100_deep)
{
	char buf[1024];
	size_t off = 0;
	struct proto_error e = { 0 };
	json_object *req;
	const char *op;
	int64_t id;
	int i;

	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "{\"v\":1,\"op\":\"dump\",\"x\":");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "{\"a\":");
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "1");
	for (i = 0; i < 101; i++)
		buf[off++] = '}';
	ck_assert_int_eq(proto_parse_request(buf, off, &req, &op, &id, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_PARSE);
	ck_assert_ptr_nonnull(strstr(e.message, "nested deeper"));
}
END_TEST

/* ---- batches and keys ---- */

/*
 * labd refuses more than 5000 rows (labd_request_parse_enrol, see check_request.c); what
 * it relies on below that, student_check_batch, must cope with a bigger batch and find
 * the one duplicate in it.
 */
START_TEST(check_batch_of_6000_rows_finds_the_duplicate)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec *recs = calloc(6000, sizeof(*recs));
	char id[16];
	size_t i;

	ck_assert_ptr_nonnull(recs);
	for (i = 0; i < 6000; i++) {
		snprintf(id, sizeof(id), "s%zu", i == 5999 ? (size_t)17 : i);
		recs[i].id = strdup(id);
		recs[i].line = (unsigned)i + 2;
	}
	ck_assert_int_eq(student_check_batch(recs, 6000, &errs), -EINVAL);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_uint_eq(errs.v[0].line, 6001);
	ck_assert_ptr_nonnull(strstr(errs.v[0].message, "s17"));
	student_errors_free(&errs);
	student_recs_free(recs, 6000);
}
END_TEST

/* labctl's side of the cap: a roster of 6000 rows is refused as a whole. */
START_TEST(roster_of_6000_rows_is_refused)
{
	static const char head[] = "id,ssh_key\n";
	size_t cap = 6000 * 160 + sizeof(head), len = 0, i;
	char *buf = malloc(cap);
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec *rows = NULL;
	size_t n = 0;
	bool said = false;

	ck_assert_ptr_nonnull(buf);
	len += (size_t)snprintf(buf, cap, "%s", head);
	for (i = 0; i < 6000; i++)
		len += (size_t)snprintf(buf + len, cap - len, "s%zu,%s\n", i, KEY);
	ck_assert_int_eq(roster_parse(buf, len, &rows, &n, &errs), -EINVAL);
	ck_assert_ptr_null(rows);
	for (i = 0; i < errs.n; i++)
		said |= strstr(errs.v[i].message, "5000") != NULL;
	ck_assert_msg(said, "no error names the limit of %d rows", ROSTER_MAX_ROWS);
	student_errors_free(&errs);
	free(buf);
}
END_TEST

START_TEST(sshkey_refuses_hostile_lines)
{
	static const struct {
		const char *line;
		size_t len;
	} bad[] = {
		{ "command=\"/bin/sh\" " KEY, 0 },
		{ "no-pty " KEY, 0 },
		{ KEY "\n", 0 },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1\nNTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3", 0 },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1\rNTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3", 0 },
		{ "ssh-ed25519 " KEY_B64 "\0 evil", sizeof("ssh-ed25519 " KEY_B64) + 5 },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1\0NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3",
		  sizeof("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDSydyk8XPAnnq/j9eXptWqS1lp7fK27hU+WX6Fa9Jl3") },
		{ "ssh-dss AAAAB3NzaC1kc3MAAACBAP", 0 },
	};
	char err[SSHKEY_ERR_LEN];
	struct sshkey key;

	for (size_t i = 0; i < N(bad); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].line);

		err[0] = '\0';
		ck_assert_msg(sshkey_parse(bad[i].line, len, &key, err, sizeof(err)) == -EINVAL,
			      "bad[%zu] accepted", i);
		ck_assert_msg(err[0] != '\0', "bad[%zu] refused without a message", i);
	}
}
END_TEST

START_TEST(sshkey_refuses_a_line_over_16k_and_17_keys)
{
	size_t len = SSHKEY_LINE_MAX + 100, i;
	char *line = malloc(len + 1), *list;
	char err[SSHKEY_ERR_LEN];
	struct sshkey key, *keys = NULL;
	size_t n = 0, off = 0;

	ck_assert_ptr_nonnull(line);
	memset(line, 'A', len);
	memcpy(line, "ssh-rsa ", 8);
	line[len] = '\0';
	ck_assert_int_eq(sshkey_parse(line, len, &key, err, sizeof(err)), -EINVAL);
	ck_assert(err[0] != '\0');
	free(line);

	list = malloc(17 * sizeof(KEY) + 1);
	ck_assert_ptr_nonnull(list);
	for (i = 0; i < 17; i++)
		off += (size_t)sprintf(list + off, "%s\n", KEY);
	ck_assert_int_eq(sshkey_parse_list(list, off, &keys, &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "at most 16"));
	ck_assert_ptr_null(keys);
	free(list);
}
END_TEST

/* A student_validate'd id never holds a path or shell character, whatever comes in. */
START_TEST(student_validate_refuses_hostile_ids)
{
	static const char *const ids[] = {
		"a/b", "..", "../etc", ".hidden", "al ice", "al\tice", "\xc3\xa9lodie", "Alice",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "-a", "_a", "a;rm", "a$b", "a\nb", "a'b", "",
	};
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;

	for (size_t i = 0; i < N(ids); i++) {
		size_t before = errs.n;

		ck_assert_msg(student_validate(3, ids[i], NULL, NULL, KEY, &rec, &errs) == -EINVAL,
			      "id[%zu] accepted", i);
		ck_assert_uint_gt(errs.n, before);
		ck_assert_ptr_null(rec.id);
	}
	student_errors_free(&errs);
}
END_TEST

/* ---- config ---- */

/*
 * Regression (fuzz_conf): libconfig 1.5's scanner calls exit(2) ("input in flex scanner
 * failed") when an @include names a directory, so a bad config killed the daemon at
 * start or on a SIGHUP reload instead of being refused with FILE:LINE.
 */
START_TEST(conf_refuses_include_of_a_directory)
{
	char path[] = "/tmp/vlab-hostile-XXXXXX";
	static const char text[] = "@include \"/\"\n";
	struct lab_conf conf;
	char err[512] = "";
	int fd = mkstemp(path), r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	r = conf_load(path, &conf, err, sizeof(err));
	unlink(path);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_msg(strstr(err, "include") != NULL, "message does not say what: '%s'", err);
}
END_TEST

Suite *make_hostile_suite(void);

Suite *make_hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, lab_setup, NULL);
	tcase_add_loop_test(tc, hostile_input_is_refused_with_its_code, 0, (int)N(hostile));
	tcase_add_loop_test(tc, hostile_refusal_reaches_the_client, 0, (int)N(hostile));
	tcase_add_test(tc, hostile_table_baseline_is_accepted);
	tcase_add_loop_test(tc, error_reply_quoting_cut_utf8_is_readable, 0, (int)N(cut_utf8));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, linebuf_next_on_fresh_linebuf_is_defined);
	tcase_add_test(tc, linebuf_caps_a_line_longer_than_proto_max_line);
	tcase_add_test(tc, parse_refuses_a_line_longer_than_proto_max_line);
	tcase_add_test(tc, parse_refuses_objects_nested_100_deep);
	tcase_add_test(tc, check_batch_of_6000_rows_finds_the_duplicate);
	tcase_add_test(tc, roster_of_6000_rows_is_refused);
	tcase_add_test(tc, sshkey_refuses_hostile_lines);
	tcase_add_test(tc, sshkey_refuses_a_line_over_16k_and_17_keys);
	tcase_add_test(tc, student_validate_refuses_hostile_ids);
	tcase_add_test(tc, conf_refuses_include_of_a_directory);
	suite_add_tcase(s, tc);
	return s;
}
