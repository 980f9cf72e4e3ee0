/* The gate's labd client: where labd's gate socket is, and one request on it. */
#include "gate/labc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/sock.h"
#include "gate/gate.h"

int gate_socket_path(const struct gate_opts *o, char **path)
{
	const char *file = o->config ? o->config : CONF_DEFAULT_PATH;
	struct lab_conf conf;
	char err[512];
	int r;

	*path = NULL;
	r = conf_load(file, &conf, err, sizeof(err));
	if (r < 0) {
		log_warnx("%s", err[0] ? err : strerror(-r));
		return GATE_EXIT_NOCONN;
	}
	if (!conf.gate) {
		log_warnx("%s: the gate is not enabled (add gate = { port = ...; })", file);
		conf_free(&conf);
		return GATE_EXIT_NOCONN;
	}
	*path = conf.gate_socket;
	conf.gate_socket = NULL;   /* ours now */
	conf_free(&conf);
	return GATE_EXIT_OK;
}

json_object *labc_request(const char *op, const struct gate_who *who)
{
	json_object *req = proto_new_request(op, 1);

	if (req == NULL || who == NULL)
		return req;
	if ((who->student != NULL &&
	     proto_add(req, "student", json_object_new_string(who->student)) < 0) ||
	    (who->key != NULL && proto_add(req, "key", json_object_new_string(who->key)) < 0) ||
	    (who->client != NULL &&
	     proto_add(req, "client", json_object_new_string(who->client)) < 0)) {
		json_object_put(req);
		return NULL;
	}
	return req;
}

int labc_call(const char *socket, json_object *req, json_object **reply,
	      struct labc_stream *stream)
{
	struct linebuf lb;
	size_t rest;
	int fd, ret;

	*reply = NULL;
	if (stream != NULL)
		memset(stream, 0, sizeof(*stream));
	linebuf_init(&lb, LABC_MAX_LINE);
	fd = sock_connect(socket);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ret = proto_send(fd, req);
	if (ret < 0)
		goto out;
	ret = proto_wait_reply(fd, &lb, reply, NULL, NULL);
	if (ret == -EMSGSIZE)
		ret = -EPROTO;
	if (ret < 0 || stream == NULL || !labc_ok(*reply))
		goto out;
	/* What followed the reply's newline is already the console's. */
	rest = lb.len - lb.start;
	if (rest > 0) {
		stream->pending = malloc(rest);
		if (stream->pending == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(stream->pending, lb.buf + lb.start, rest);
		stream->n_pending = rest;
	}
	stream->fd = fd;
	fd = -1;                   /* the caller's now */
out:
	if (ret < 0) {
		json_object_put(*reply);
		*reply = NULL;
	}
	if (fd >= 0)
		close(fd);
	linebuf_free(&lb);
	return ret;
}

bool labc_ok(json_object *reply)
{
	json_object *v;

	return reply != NULL && json_object_object_get_ex(reply, "ok", &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

const char *labc_error(json_object *reply, const char **code)
{
	const char *msg = proto_reply_error(reply, code);

	return msg != NULL && *msg != '\0' ? msg : "the lab refused without saying why";
}

/* The one piece of state a signal handler needs: what to say when time is up. */
static const char *deadline_what;

static void deadline_expired(int sig)
{
	static const char prefix[] = "vlab-gate: ";
	ssize_t r;

	(void)sig;
	if (deadline_what != NULL) {
		r = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
		r = write(STDERR_FILENO, deadline_what, strlen(deadline_what));
		r = write(STDERR_FILENO, "\n", 1);
		(void)r;
	}
	_exit(GATE_EXIT_NOCONN);
}

void labc_deadline(unsigned seconds, const char *what)
{
	struct sigaction sa;

	if (seconds == 0) {
		alarm(0);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = deadline_expired;
	sigemptyset(&sa.sa_mask);
	deadline_what = what;
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}
