/*
 * A scripted stand-in for labd, for tests/cli/run: listens on a unix socket and answers
 * each request with the lines its script gives for the request's op.
 *
 * usage: fakelabd SOCKET SCRIPT LOG
 *
 * SCRIPT: one "OP RESPONSE" per line ('#' comments and blank lines skipped). The
 * RESPONSE lines of an op (events, then the final reply) are sent in order, each with
 * the request's "id" put in. RESPONSE "CLOSE" hangs up instead (a labd that died).
 * An op with no line gets an unknown_op error. Every request line is appended to LOG
 * as received. Connections are served one at a time; SIGTERM or 120 s end it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/sock.h"

#define MAX_LINES 256

struct script_line {
	char *op;
	char *response;
};

static struct script_line script[MAX_LINES];
static size_t n_script;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static int script_load(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *sp;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		fprintf(stderr, "fakelabd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (sp == NULL || n_script == MAX_LINES) {
			fprintf(stderr, "fakelabd: %s: bad line '%s'\n", path, line);
			free(line);
			fclose(f);
			return -1;
		}
		*sp = '\0';
		script[n_script].op = strdup(line);
		script[n_script].response = strdup(sp + 1);
		n_script++;
	}
	free(line);
	fclose(f);
	return 0;
}

/* Answers one request line. -1 when the connection is to be closed. */
static int answer(int fd, const char *line, size_t len, FILE *log)
{
	struct proto_error e = { 0 };
	json_object *req = NULL, *resp;
	const char *op = NULL;
	int64_t id = -1;
	size_t i, sent = 0;
	int ret = 0;

	fprintf(log, "%s\n", line);
	fflush(log);
	if (proto_parse_request(line, len, &req, &op, &id, &e) < 0) {
		resp = proto_new_error(id, &e);
		proto_send(fd, resp);
		json_object_put(resp);
		return 0;
	}
	for (i = 0; i < n_script; i++) {
		if (strcmp(script[i].op, op) != 0)
			continue;
		if (strcmp(script[i].response, "CLOSE") == 0) {
			ret = -1;
			goto out;
		}
		resp = json_tokener_parse(script[i].response);
		if (resp == NULL) {
			fprintf(stderr, "fakelabd: script response for %s is not JSON\n", op);
			ret = -1;
			goto out;
		}
		if (id >= 0)
			json_object_object_add(resp, "id", json_object_new_int64(id));
		proto_send(fd, resp);
		json_object_put(resp);
		sent++;
	}
	if (sent == 0) {
		proto_error_set(&e, PROTO_E_UNKNOWN, "fakelabd has no script for op '%s'", op);
		resp = proto_new_error(id, &e);
		proto_send(fd, resp);
		json_object_put(resp);
	}
out:
	json_object_put(req);
	return ret;
}

static void serve(int fd, FILE *log)
{
	struct linebuf lb;
	char *line;
	size_t len;
	ssize_t n;
	int r;

	linebuf_init(&lb, 0);
	while (!stop) {
		while ((r = linebuf_next(&lb, &line, &len)) == 1)
			if (answer(fd, line, len, log) < 0)
				goto out;
		n = linebuf_fill(&lb, fd);
		if (n <= 0)
			break;
	}
out:
	linebuf_free(&lb);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct sock_peer peer;
	FILE *log;
	int lfd, fd;

	if (argc != 4) {
		fprintf(stderr, "usage: fakelabd SOCKET SCRIPT LOG\n");
		return 2;
	}
	if (script_load(argv[2]) < 0)
		return 1;
	log = fopen(argv[3], "ae");
	if (log == NULL) {
		fprintf(stderr, "fakelabd: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	alarm(120);   /* a forgotten fake must not outlive its test */

	lfd = sock_listen(argv[1], 0600, NULL);
	if (lfd < 0) {
		fprintf(stderr, "fakelabd: listen on %s: %s\n", argv[1], strerror(-lfd));
		return 1;
	}
	while (!stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };

		if (poll(&pfd, 1, -1) < 0)
			continue;   /* EINTR: look at stop */
		fd = sock_accept(lfd, &peer);
		if (fd < 0)
			continue;
		/* Blocking from here: one client at a time, reads wait for data. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		serve(fd, log);
		close(fd);
	}
	close(lfd);
	unlink(argv[1]);
	fclose(log);
	for (size_t i = 0; i < n_script; i++) {
		free(script[i].op);
		free(script[i].response);
	}
	return 0;
}
