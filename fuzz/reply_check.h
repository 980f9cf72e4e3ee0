/*
 * What both proto fuzzers check of every reply: it reaches the client as the same
 * message. The reply is serialized, written to a pipe and read back with
 * proto_wait_reply, as labctl and labd read the daemons' replies.
 */
#ifndef VLAB_FUZZ_REPLY_CHECK_H
#define VLAB_FUZZ_REPLY_CHECK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proto.h"

/*
 * With VLAB_FUZZ_KNOWN=1 in the environment, a reply that the client refuses only
 * because an error message quotes a value cut in the middle of a UTF-8 sequence
 * (reported; check_hostile pins it) is let through, so that a long run can look past
 * that bug. Without it, such a reply is a crash like any other.
 */
static bool fuzz_known_bad_utf8(const char *line, size_t len)
{
	json_tokener *tok;
	json_object *o;
	bool lenient_ok;

	if (!getenv("VLAB_FUZZ_KNOWN"))
		return false;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, line, (int)len);
	lenient_ok = o != NULL;
	json_object_put(o);
	json_tokener_free(tok);
	return lenient_ok;
}

/* REPLY through the pipe FDS (blocking, opened by the target) and back; aborts unless
 * CLIENT reads exactly what DAEMON sent. */
static void fuzz_check_reply(const int fds[2], json_object *reply, const char *client,
			     const char *daemon)
{
	struct linebuf lb;
	json_object *back = NULL;
	size_t len, off = 0;
	char *line = proto_serialize(reply, &len);
	int r;

	if (!line)
		abort();
	if (len > 60000) {      /* more than a pipe holds at once (a big dump): skip */
		free(line);
		return;
	}
	while (off < len) {
		ssize_t w = write(fds[1], line + off, len - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	linebuf_init(&lb, 0);
	/* Filled once first: linebuf_next() on a linebuf that never held data computes
	 * NULL + 0, which UBSan (clang) refuses; reported, pinned by check_hostile's
	 * linebuf_next_on_fresh_linebuf_is_defined. */
	if (linebuf_fill(&lb, fds[0]) <= 0)
		abort();
	r = proto_wait_reply(fds[0], &lb, &back, NULL, NULL);
	if (r < 0 && fuzz_known_bad_utf8(line, len)) {
		json_object_put(back);
		linebuf_free(&lb);
		free(line);
		return;
	}
	if (r < 0) {
		fprintf(stderr, "%s cannot read %s's reply (%s):\n%s", client, daemon,
			strerror(-r), line);
		abort();
	}
	if (!json_object_equal(reply, back)) {
		fprintf(stderr, "%s reads a different reply than %s sent:\n%s", client, daemon,
			line);
		abort();
	}
	json_object_put(back);
	linebuf_free(&lb);
	free(line);
}

#endif
