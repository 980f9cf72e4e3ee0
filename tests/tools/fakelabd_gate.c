/*
 * A stand-in for labd's gate socket, for tests/gate/run: it answers the gate's ops
 * (docs/protocol.md, "The gate's ops") for a small roster the way labd must, checks
 * included, and plays a console on self-console.
 *
 * usage: fakelabd_gate SOCKET GROUP ROSTER LOG
 *
 * GROUP: the group the socket (mode 0660) is given, "-" for root only.
 * ROSTER: one "ID STATE TYPE BASE64 [COMMENT]" per line ('#' and blank lines skipped).
 * LOG: every request line is appended as "req uid=UID LINE", and console events as
 * "console-open ID pid=PID", "console-in ID BYTES", "console-closed ID".
 *
 * Behaviour the tests lean on: self-reset succeeds twice per student, then answers
 * rate_limited; self-reboot of a VM that is not running is a conflict; one console per
 * student at a time (a second gets busy). The console sends "[fake console of ID]",
 * then echoes every byte it receives with a-z turned into A-Z; the text "!close" makes
 * it hang up (labd ending a console). SIGTERM or 300 s end it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/id.h"
#include "common/proto.h"
#include "common/sock.h"
#include "common/sshkey.h"

#define MAX_STUDENTS 16
#define MAX_CLIENTS 32
#define RESETS_ALLOWED 2

struct student {
	char id[ID_MAX_LEN + 1];
	char state[32];
	struct sshkey key;
	int resets;
	bool console_busy;
};

struct client {
	int fd;                  /* -1: free slot */
	unsigned uid;
	int pid;
	struct linebuf lb;
	struct student *console; /* non-NULL: the connection is a console stream */
	char tail[8];            /* the last bytes received, to find "!close" across reads */
};

static struct student roster[MAX_STUDENTS];
static size_t n_roster;
static struct client clients[MAX_CLIENTS];
static FILE *reqlog;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int roster_load(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[20000], err[SSHKEY_ERR_LEN], id[64], state[64];
	int off;

	if (f == NULL) {
		fprintf(stderr, "fakelabd_gate: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct student *s = &roster[n_roster];

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (n_roster == MAX_STUDENTS || sscanf(line, "%63s %63s %n", id, state, &off) != 2 ||
		    !id_valid(id) || strlen(state) >= sizeof(s->state) ||
		    sshkey_parse(line + off, strlen(line + off), &s->key, err, sizeof(err)) < 0) {
			fprintf(stderr, "fakelabd_gate: %s: bad line '%s'\n", path, line);
			fclose(f);
			return -1;
		}
		memcpy(s->id, id, strlen(id) + 1);          /* id_valid: at most 32 bytes */
		memcpy(s->state, state, strlen(state) + 1); /* checked against its size */
		n_roster++;
	}
	fclose(f);
	return 0;
}

static size_t roster_index(const struct student *s)
{
	return (size_t)(s - roster);
}

/* The students holding KEY ("TYPE BASE64"): how many, and the first in *FOUND. */
static int roster_by_key(const char *key, struct student **found)
{
	struct sshkey k;
	char err[SSHKEY_ERR_LEN];
	size_t i;
	int n = 0;

	*found = NULL;
	if (sshkey_parse(key, strlen(key), &k, err, sizeof(err)) < 0)
		return -1;
	for (i = 0; i < n_roster; i++) {
		if (strcmp(roster[i].key.type, k.type) || strcmp(roster[i].key.base64, k.base64))
			continue;
		if (n++ == 0)
			*found = &roster[i];
	}
	sshkey_clear(&k);
	return n;
}

static void send_json(int fd, json_object *o)
{
	if (o != NULL)
		proto_send(fd, o);
	json_object_put(o);
}

static void send_error(int fd, int64_t id, const char *code, const char *msg)
{
	struct proto_error e;

	proto_error_set(&e, code, "%s", msg);
	send_json(fd, proto_new_error(id, &e));
}

/* Only these fields, and each of them: what labd must insist on too. */
static bool fields_exact(json_object *req, const char *const *allowed)
{
	const char *const *a;
	size_t n = 0, want = 0;

	json_object_object_foreach(req, k, v) {
		(void)v;
		for (a = allowed; *a; a++)
			if (!strcmp(k, *a))
				break;
		if (*a == NULL)
			return false;
		n++;
	}
	for (a = allowed; *a; a++)
		if (strcmp(*a, "id") != 0)
			want++;
	return n == want || n == want + 1;   /* "id" is optional */
}

static bool client_valid(const char *c)
{
	char addr[64];
	unsigned port;
	int end = 0;

	return c != NULL && sscanf(c, "%63s %u%n", addr, &port, &end) == 2 &&
	       c[end] == '\0' && port >= 1 && port <= 65535;
}

/* The checks of every self-* op. The student, or NULL after an error reply. */
static struct student *self_check(int fd, int64_t id, json_object *req)
{
	static const char *const fields[] = { "v", "op", "id", "student", "key", "client", NULL };
	const char *sid = NULL, *key = NULL, *client = NULL;
	struct student *owner;
	size_t i;

	if (!fields_exact(req, fields) ||
	    proto_get_string(req, "student", true, &sid, NULL) < 0 ||
	    proto_get_string(req, "key", true, &key, NULL) < 0 ||
	    proto_get_string(req, "client", true, &client, NULL) < 0 || !id_valid(sid) ||
	    !client_valid(client)) {
		send_error(fd, id, PROTO_E_INVALID, "expected exactly student, key and client");
		return NULL;
	}
	for (i = 0; i < n_roster; i++)
		if (!strcmp(roster[i].id, sid))
			break;
	if (i == n_roster) {
		send_error(fd, id, PROTO_E_NOTFOUND, "you are not enrolled (any more)");
		return NULL;
	}
	if (roster_by_key(key, &owner) < 1 || owner != &roster[i]) {
		send_error(fd, id, PROTO_E_DENIED, "this key is not one of yours");
		return NULL;
	}
	return &roster[i];
}

static json_object *status_reply(int64_t id, const struct student *s)
{
	json_object *o = proto_new_ok(id);

	json_object_object_add(o, "student", json_object_new_string(s->id));
	json_object_object_add(o, "state", json_object_new_string(s->state));
	json_object_object_add(o, "user", json_object_new_string("student"));
	json_object_object_add(o, "public_ip", json_object_new_string("203.0.113.10"));
	json_object_object_add(o, "public_port", json_object_new_int(20001 + (int)roster_index(s)));
	return o;
}

static void console_open(struct client *c, int64_t id, struct student *s)
{
	char banner[96], pw[64];
	json_object *o;

	if (strcmp(s->state, "running") != 0) {
		send_error(c->fd, id, PROTO_E_CONFLICT, "your VM is not running; start it first");
		return;
	}
	if (s->console_busy) {
		send_error(c->fd, id, PROTO_E_BUSY, "the console of your VM is in use by another "
			   "session; leave that one first (Ctrl-])");
		return;
	}
	o = proto_new_ok(id);
	snprintf(pw, sizeof(pw), "pw-%s", s->id);
	json_object_object_add(o, "user", json_object_new_string("student"));
	json_object_object_add(o, "console_password", json_object_new_string(pw));
	send_json(c->fd, o);
	s->console_busy = true;
	c->console = s;
	fprintf(reqlog, "console-open %s pid=%d\n", s->id, c->pid);
	snprintf(banner, sizeof(banner), "[fake console of %s]\r\n", s->id);
	if (write(c->fd, banner, strlen(banner)) < 0)
		fprintf(reqlog, "console banner: %s\n", strerror(errno));
}

static void answer(struct client *c, const char *line, size_t len)
{
	static const char *const key_fields[] = { "v", "op", "id", "key", NULL };
	struct proto_error e = { 0 };
	json_object *req = NULL;
	struct student *s;
	const char *op = NULL, *key = NULL;
	int64_t id = -1;
	int n;

	fprintf(reqlog, "req uid=%u %s\n", c->uid, line);
	if (proto_parse_request(line, len, &req, &op, &id, &e) < 0) {
		send_json(c->fd, proto_new_error(id, &e));
		return;
	}
	if (!strcmp(op, "gate-key")) {
		if (!fields_exact(req, key_fields) || proto_get_string(req, "key", true, &key, NULL) < 0) {
			send_error(c->fd, id, PROTO_E_INVALID, "expected exactly key");
			goto out;
		}
		n = roster_by_key(key, &s);
		if (n < 0)
			send_error(c->fd, id, PROTO_E_INVALID, "key: not an SSH public key");
		else if (n == 0)
			send_error(c->fd, id, PROTO_E_NOTFOUND, "no enrolled student has this key");
		else if (n > 1)
			send_error(c->fd, id, PROTO_E_CONFLICT, "more than one student has this key");
		else {
			json_object *o = proto_new_ok(id);

			json_object_object_add(o, "student", json_object_new_string(s->id));
			send_json(c->fd, o);
		}
		goto out;
	}
	if (strncmp(op, "self-", 5) != 0) {
		send_error(c->fd, id, PROTO_E_DENIED, "the gate's socket serves only gate-key and "
			   "self-* operations");
		goto out;
	}
	s = self_check(c->fd, id, req);
	if (s == NULL)
		goto out;
	if (!strcmp(op, "self-status")) {
		send_json(c->fd, status_reply(id, s));
	} else if (!strcmp(op, "self-start")) {
		json_object *o;
		bool was = !strcmp(s->state, "running");

		snprintf(s->state, sizeof(s->state), "running");
		o = status_reply(id, s);
		json_object_object_add(o, "changed", json_object_new_boolean(!was));
		send_json(c->fd, o);
	} else if (!strcmp(op, "self-reboot")) {
		if (strcmp(s->state, "running") != 0)
			send_error(c->fd, id, PROTO_E_CONFLICT, "your VM is not running; start it");
		else
			send_json(c->fd, status_reply(id, s));
	} else if (!strcmp(op, "self-reset")) {
		if (s->resets >= RESETS_ALLOWED) {
			json_object *o;

			proto_error_set(&e, "rate_limited", "you reset your VM %d times in the last "
					"hour; try again in 60 minutes", s->resets);
			o = proto_new_error(id, &e);
			json_object_object_add(o, "retry_after", json_object_new_int(3600));
			send_json(c->fd, o);
		} else {
			s->resets++;
			snprintf(s->state, sizeof(s->state), "running");
			send_json(c->fd, status_reply(id, s));
		}
	} else if (!strcmp(op, "self-console")) {
		console_open(c, id, s);
	} else {
		send_error(c->fd, id, PROTO_E_UNKNOWN, "unknown self-service operation");
	}
out:
	json_object_put(req);
}

static void client_close(struct client *c)
{
	if (c->console != NULL) {
		fprintf(reqlog, "console-closed %s\n", c->console->id);
		c->console->console_busy = false;
		c->console = NULL;
	}
	close(c->fd);
	c->fd = -1;
	linebuf_free(&c->lb);
}

/* Console bytes from the gate: echoed in capitals. -1 when the console is to end. */
static int console_bytes(struct client *c, const char *buf, size_t n)
{
	char out[4096], look[4096 + sizeof(c->tail)];
	size_t i, t = strlen(c->tail);

	fprintf(reqlog, "console-in %s %zu\n", c->console->id, n);
	for (i = 0; i < n && i < sizeof(out); i++)
		out[i] = buf[i] >= 'a' && buf[i] <= 'z' ? (char)(buf[i] - 'a' + 'A') : buf[i];
	if (write(c->fd, out, i) < 0)
		return -1;
	memcpy(look, c->tail, t);
	memcpy(look + t, buf, i);
	if (memmem(look, t + i, "!close", 6) != NULL)
		return -1;
	t += i;
	i = t < sizeof(c->tail) - 1 ? t : sizeof(c->tail) - 1;
	memcpy(c->tail, look + t - i, i);
	c->tail[i] = '\0';
	return 0;
}

static void client_read(struct client *c)
{
	char *line;
	size_t len;
	ssize_t n;
	int r;

	if (c->console != NULL) {
		char buf[4096];

		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || console_bytes(c, buf, (size_t)n) < 0)
			client_close(c);
		return;
	}
	n = linebuf_fill(&c->lb, c->fd);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	while (c->console == NULL && (r = linebuf_next(&c->lb, &line, &len)) != 0) {
		if (r < 0) {
			send_error(c->fd, -1, PROTO_E_PARSE, "line too long");
			continue;
		}
		answer(c, line, len);
	}
	/* Bytes behind the self-console request are the console's already. */
	if (c->console != NULL && c->lb.len > c->lb.start &&
	    console_bytes(c, c->lb.buf + c->lb.start, c->lb.len - c->lb.start) < 0)
		client_close(c);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct pollfd pfd[MAX_CLIENTS + 1];
	struct sock_peer peer;
	size_t i, n;
	int lfd, fd;

	if (argc != 5) {
		fprintf(stderr, "usage: fakelabd_gate SOCKET GROUP ROSTER LOG\n");
		return 2;
	}
	if (roster_load(argv[3]) < 0)
		return 1;
	reqlog = fopen(argv[4], "ae");
	if (reqlog == NULL) {
		fprintf(stderr, "fakelabd_gate: %s: %s\n", argv[4], strerror(errno));
		return 1;
	}
	setvbuf(reqlog, NULL, _IOLBF, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(300);   /* a forgotten fake must not outlive its test */
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;

	lfd = sock_listen(argv[1], 0660, strcmp(argv[2], "-") ? argv[2] : NULL);
	if (lfd < 0) {
		fprintf(stderr, "fakelabd_gate: listen on %s: %s\n", argv[1], strerror(-lfd));
		return 1;
	}
	while (!stop) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < MAX_CLIENTS; i++) {
			pfd[i + 1].fd = clients[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, MAX_CLIENTS + 1, -1) < 0)
			continue;   /* EINTR: look at stop */
		for (i = 0; i < MAX_CLIENTS; i++)
			if (clients[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(&clients[i]);
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = sock_accept(lfd, &peer);
		if (fd < 0)
			continue;
		for (n = 0; n < MAX_CLIENTS && clients[n].fd >= 0; n++)
			;
		/* Who may connect is the socket file's mode and group here. */
		if (n == MAX_CLIENTS) {
			close(fd);
			continue;
		}
		/* Writes stay blocking: replies are small and the tests read them. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		clients[n].fd = fd;
		clients[n].uid = (unsigned)peer.uid;
		clients[n].pid = (int)peer.pid;
		clients[n].console = NULL;
		clients[n].tail[0] = '\0';
		linebuf_init(&clients[n].lb, 1 << 20);
	}
	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	close(lfd);
	unlink(argv[1]);
	fclose(reqlog);
	for (i = 0; i < n_roster; i++)
		sshkey_clear(&roster[i].key);
	return 0;
}
