/* labctl's connection to labd and what its subcommands share. */
#include "cli/client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/output.h"
#include "common/conf.h"
#include "common/jsonfmt.h"
#include "common/id.h"
#include "common/sock.h"

/* Not (yet) among proto.h's codes: labd sends it for a bulk operation in part failed. */
#ifndef PROTO_E_PARTIAL
#define PROTO_E_PARTIAL "partial"
#endif

struct cli_options cli_opts;

bool cli_common_option(int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_CONFIG:
		cli_opts.config = arg;
		return true;
	case CLI_OPT_SOCKET:
		cli_opts.socket = arg;
		return true;
	case CLI_OPT_JSON:
		cli_opts.json = true;
		return true;
	default:
		return false;
	}
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);   /* keep stdout and stderr in order on a terminal */
	fputs("labctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage(const char *usage, bool help)
{
	fputs(usage, help ? stdout : stderr);
	return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* ---- where labd is ---- */

int cli_socket_path(const char **path)
{
	static char *from_conf;
	struct lab_conf conf;
	char err[512];
	int r;

	if (cli_opts.socket != NULL) {
		*path = cli_opts.socket;
		return CLI_EXIT_OK;
	}
	if (from_conf != NULL) {
		*path = from_conf;
		return CLI_EXIT_OK;
	}
	r = conf_load(cli_opts.config ? cli_opts.config : CONF_DEFAULT_PATH, &conf, err,
		      sizeof(err));
	if (r == -ENOENT && cli_opts.config == NULL) {
		/* No config on this host at all: labd runs with the defaults. */
		*path = CLI_DEFAULT_SOCKET;
		return CLI_EXIT_OK;
	}
	if (r < 0) {
		cli_err("%s", err[0] ? err : strerror(-r));
		cli_err("(give the socket with --socket PATH, or the config with --config FILE)");
		return CLI_EXIT_USAGE;
	}
	from_conf = strdup(conf.labd_socket ? conf.labd_socket : CLI_DEFAULT_SOCKET);
	conf_free(&conf);
	if (from_conf == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	*path = from_conf;
	return CLI_EXIT_OK;
}

/* ---- the connection ---- */

int client_open(struct client *c, const char *path)
{
	int fd;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->next_id = 1;
	linebuf_init(&c->lb, 0);
	fd = sock_connect(path);
	if (fd < 0)
		return fd;
	c->fd = fd;
	return 0;
}

/* One line from labd as a JSON object; NULL for anything else. */
static json_object *parse_line(const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(PROTO_MAX_DEPTH);
	json_object *o;
	size_t end;

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		for (end = json_tokener_get_parse_end(tok); end < len; end++)
			if (line[end] != ' ' && line[end] != '\t' && line[end] != '\r')
				break;
		if (end == len && json_object_is_type(o, json_type_object)) {
			json_tokener_free(tok);
			return o;
		}
	}
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

/* True when O carries "id" and it is not ID. */
static bool other_id(json_object *o, int64_t id)
{
	json_object *v;

	return json_object_object_get_ex(o, "id", &v) &&
	       (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != id);
}

/* Sends REQ with the next id; *ID gets it. */
static int client_send(struct client *c, json_object *req, int64_t *id)
{
	*id = c->next_id++;
	if (c->fd < 0)
		return -ENOTCONN;
	if (cli_add(req, "id", json_object_new_int64(*id)) < 0)
		return -ENOMEM;
	return proto_send(c->fd, req);
}

/* One event line of request ID, handed to ON_EVENT; -EPROTO for anything else. */
static int client_event(const char *line, size_t len, int64_t id, client_event_fn on_event,
			void *arg)
{
	json_object *o = parse_line(line, len), *v;
	int r = -EPROTO;

	/* Another request's events would mean the stream is out of step. */
	if (o && json_object_object_get_ex(o, "event", &v) &&
	    json_object_is_type(v, json_type_string) && !other_id(o, id)) {
		if (on_event != NULL)
			on_event(o, arg);
		r = 0;
	}
	json_object_put(o);
	return r;
}

/*
 * Reads until the line that is not an event of request ID: its final reply, in *LINE
 * (valid until the next read). Not proto_wait_reply(): a bulk progress event carries the
 * student's own "ok", so "event" has to be looked at before "ok" to tell an event from
 * the reply; and the reply is not parsed here (a 1000-student list is printed from its
 * text).
 */
static int client_wait_final(struct client *c, int64_t id, client_event_fn on_event,
			     void *arg, char **line, size_t *len)
{
	const char *v;
	size_t vlen;
	ssize_t n;
	int r;

	for (;;) {
		r = linebuf_next(&c->lb, line, len);
		if (r < 0)
			return r == -EMSGSIZE ? -EPROTO : r;
		if (r == 0) {
			n = linebuf_fill(&c->lb, c->fd);
			if (n == 0)
				return -ECONNRESET;   /* labd closed before its reply */
			if (n < 0)
				return (int)n;
			continue;
		}
		r = jsonfmt_member(*line, *len, "event", &v, &vlen);
		if (r == -ENOENT)
			return 0;
		if (r < 0 || (r = client_event(*line, *len, id, on_event, arg)) < 0)
			return r == -EINVAL ? -EPROTO : r;
	}
}

int client_call(struct client *c, json_object *req, json_object **reply,
		client_event_fn on_event, void *arg)
{
	json_object *o, *v;
	int64_t id;
	char *line;
	size_t len;
	int r;

	*reply = NULL;
	if ((r = client_send(c, req, &id)) < 0 ||
	    (r = client_wait_final(c, id, on_event, arg, &line, &len)) < 0)
		return r;
	o = parse_line(line, len);
	/* The reply may leave out the id (labd could not read it), not name another. */
	if (o == NULL || !json_object_object_get_ex(o, "ok", &v) ||
	    !json_object_is_type(v, json_type_boolean) || other_id(o, id)) {
		json_object_put(o);
		return -EPROTO;
	}
	*reply = o;
	return 0;
}

int client_call_text(struct client *c, json_object *req, const char **text, size_t *len,
		     bool *ok)
{
	const char *v;
	char *line, want[24];
	size_t vlen;
	int64_t id;
	int r;

	*text = NULL;
	if ((r = client_send(c, req, &id)) < 0 ||
	    (r = client_wait_final(c, id, NULL, NULL, &line, len)) < 0)
		return r;
	/* What client_call checks, on the text: a boolean "ok", no other request's id. */
	if (jsonfmt_member(line, *len, "ok", &v, &vlen) < 0 ||
	    !((vlen == 4 && !memcmp(v, "true", 4)) || (vlen == 5 && !memcmp(v, "false", 5))))
		return -EPROTO;
	*ok = vlen == 4;
	snprintf(want, sizeof(want), "%" PRId64, id);
	r = jsonfmt_member(line, *len, "id", &v, &vlen);
	if (r == -EINVAL || (r == 0 && (vlen != strlen(want) || memcmp(v, want, vlen) != 0)))
		return -EPROTO;
	*text = line;
	return 0;
}

json_object *cli_parse_reply(const char *text, size_t len)
{
	return parse_line(text, len);
}

void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	linebuf_free(&c->lb);
}

int cli_connect(struct client *c)
{
	const char *path;
	int r;

	c->fd = -1;
	linebuf_init(&c->lb, 0);
	r = cli_socket_path(&path);
	if (r != CLI_EXIT_OK)
		return r;
	r = client_open(c, path);
	if (r < 0) {
		cli_err("cannot connect to labd at %s: %s; is labd running?", path, strerror(-r));
		return CLI_EXIT_NOCONN;
	}
	return CLI_EXIT_OK;
}

static void on_progress(json_object *ev, void *arg)
{
	struct progress *bar = arg;
	const char *event = NULL, *student = NULL;
	int64_t done = 0, total = 0;

	if (proto_get_string(ev, "event", true, &event, NULL) < 0 ||
	    strcmp(event, "progress") != 0)
		return;
	/* A malformed event only costs a frame of the bar. */
	if (proto_get_int(ev, "done", true, 0, UINT32_MAX, &done, NULL) < 0 ||
	    proto_get_int(ev, "total", true, 0, UINT32_MAX, &total, NULL) < 0)
		return;
	(void)proto_get_string(ev, "student", false, &student, NULL);
	progress_update(bar, (unsigned)done, (unsigned)total, student);
}

/* What a failed call means for the user: the message and the exit status. */
static int cli_call_status(const struct client *c, int r)
{
	if (r == -EPROTO) {
		cli_err("labd at %s answered with something that is not the vlab protocol",
			c->path);
		return CLI_EXIT_FAIL;
	}
	if (r == -EMSGSIZE) {
		cli_err("the request is larger than the protocol's %u MiB limit",
			PROTO_MAX_LINE >> 20);
		return CLI_EXIT_FAIL;
	}
	if (r == -ENOMEM) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	if (r < 0) {
		/* labd went away mid-request: what it did is unknown; `list` tells. */
		cli_err("lost the connection to labd at %s before its reply: %s", c->path,
			strerror(-r));
		return CLI_EXIT_NOCONN;
	}
	return CLI_EXIT_OK;
}

int cli_call(struct client *c, json_object *req, json_object **reply, bool progress)
{
	struct progress bar;
	int r;

	progress_init(&bar, stderr);
	r = client_call(c, req, reply, progress ? on_progress : NULL, &bar);
	progress_clear(&bar);
	return cli_call_status(c, r);
}

int cli_request(json_object *req, json_object **reply, bool progress)
{
	struct client c;
	int r;

	*reply = NULL;
	r = cli_connect(&c);
	if (r == CLI_EXIT_OK)
		r = cli_call(&c, req, reply, progress);
	client_close(&c);
	return r;
}

int cli_request_text(json_object *req, cli_text_fn fn, void *arg)
{
	const char *text;
	struct client c;
	size_t len;
	bool ok;
	int r;

	r = cli_connect(&c);
	if (r == CLI_EXIT_OK)
		r = cli_call_status(&c, client_call_text(&c, req, &text, &len, &ok));
	if (r == CLI_EXIT_OK)
		r = fn(text, len, ok, arg);
	client_close(&c);
	return r;
}

/* ---- requests ---- */

int cli_add(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	/* json-c leaves VAL with us when it fails. */
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int cli_add_string(json_object *o, const char *key, const char *val)
{
	return cli_add(o, key, json_object_new_string(val));
}

int cli_add_selection(json_object *req, const char *cmd, char **ids, int n,
		      const char *cls)
{
	json_object *arr = NULL;
	int i;

	if (cls != NULL && !id_valid(cls)) {
		cli_err("%s: '%s' is not a class name ([a-z0-9][a-z0-9_-]{0,31})", cmd, cls);
		return CLI_EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		if (!id_valid(ids[i])) {
			cli_err("%s: '%s' is not a student ID ([a-z0-9][a-z0-9_-]{0,31})", cmd,
				ids[i]);
			return CLI_EXIT_USAGE;
		}
	}
	if (cls != NULL && cli_add_string(req, "class", cls) < 0)
		goto nomem;
	if (n == 0)
		return CLI_EXIT_OK;
	arr = json_object_new_array();
	if (arr == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		json_object *s = json_object_new_string(ids[i]);

		if (s == NULL || json_object_array_add(arr, s) < 0) {
			json_object_put(s);
			goto nomem;
		}
	}
	if (cli_add(req, "students", arr) < 0)   /* takes arr */
		goto nomem_taken;
	return CLI_EXIT_OK;
nomem:
	json_object_put(arr);
nomem_taken:
	cli_err("out of memory");
	return CLI_EXIT_FAIL;
}

int cli_add_targets(json_object *req, const char *cmd, char **ids, int n, bool all,
		    const char *cls)
{
	int r;

	/* "Everything" is never the default: a script with an empty list must not reset
	 * a whole class. */
	if (n == 0 && !all) {
		cli_err("%s: name the students (ID...), or say --all for every student%s",
			cmd, cls ? " of the class" : "");
		return CLI_EXIT_USAGE;
	}
	if (n > 0 && all) {
		cli_err("%s: give student IDs or --all, not both", cmd);
		return CLI_EXIT_USAGE;
	}
	r = cli_add_selection(req, cmd, ids, n, cls);
	if (r != CLI_EXIT_OK || !all)
		return r;
	if (cli_add(req, "all", json_object_new_boolean(1)) < 0) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- SSH keys from files ---- */

/* Appends the file PATH ("-" = stdin) to *BUF, refusing more than MAX bytes in all. */
static int read_append(const char *path, char **buf, size_t *len, size_t max)
{
	bool use_stdin = strcmp(path, "-") == 0;
	FILE *f = use_stdin ? stdin : fopen(path, "re");
	size_t got;
	char *nbuf;
	int ret = 0;

	if (f == NULL)
		return -errno;
	nbuf = realloc(*buf, max + 2);
	if (nbuf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	*buf = nbuf;
	while (*len <= max && (got = fread(*buf + *len, 1, max + 1 - *len, f)) > 0)
		*len += got;
	if (ferror(f)) {
		ret = errno ? -errno : -EIO;
		goto out;
	}
	if (*len > max) {
		ret = -EFBIG;
		goto out;
	}
	/* Keys of the next file start on a line of their own. */
	if (*len > 0 && (*buf)[*len - 1] != '\n')
		(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
out:
	if (f != NULL && !use_stdin)
		fclose(f);
	return ret;
}

int cli_read_key_files(const char *cmd, char *const *paths, size_t n, char **out)
{
	/* The most sshkey_parse_list() could accept, and a little room for blank lines. */
	const size_t max = (size_t)SSHKEY_LIST_MAX * (SSHKEY_LINE_MAX + 2) + 4096;
	char *buf = NULL;
	size_t i, len = 0;
	int r;

	*out = NULL;
	for (i = 0; i < n; i++) {
		r = read_append(paths[i], &buf, &len, max);
		if (r == -EFBIG) {
			cli_err("%s: %s: too large for a list of SSH public keys (is it a "
				"private key or another file?)", cmd, paths[i]);
			goto fail;
		}
		if (r < 0) {
			cli_err("%s: %s: %s", cmd, paths[i], strerror(-r));
			goto fail;
		}
	}
	if (buf == NULL)
		buf = strdup("");
	if (buf == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	*out = buf;
	return CLI_EXIT_OK;
fail:
	free(buf);
	return CLI_EXIT_FAIL;
}

int cli_keys_join(const struct sshkey *keys, size_t n, char **out)
{
	return sshkey_join(keys, n, out);
}

/* ---- confirmation ---- */

int cli_confirm_possible(const char *cmd, bool yes)
{
	if (yes || isatty(STDIN_FILENO) == 1)
		return CLI_EXIT_OK;
	cli_err("%s --all: stdin is not a terminal, so nobody can confirm; add --yes", cmd);
	return CLI_EXIT_USAGE;
}

int cli_confirm(const char *cmd, const char *question, bool yes)
{
	char answer[16];
	size_t n;

	if (yes)
		return CLI_EXIT_OK;
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		answer[0] = '\0';
	n = strcspn(answer, "\r\n");
	answer[n] = '\0';
	if (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0)
		return CLI_EXIT_OK;
	cli_err("%s: not confirmed; nothing was done", cmd);
	return CLI_EXIT_FAIL;
}

/* ---- replies ---- */

bool cli_reply_ok(json_object *reply)
{
	json_object *v;

	return json_object_object_get_ex(reply, "ok", &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

const char *cli_reply_error(json_object *reply, const char **code)
{
	const char *c, *msg = proto_reply_error(reply, &c);

	if (code != NULL)
		*code = c;
	if (msg == NULL || *msg == '\0')
		msg = *c ? c : "failed (labd gave no reason)";
	return msg;
}

int cli_print_json_reply(json_object *reply)
{
	/* The envelope is the protocol's business; scripts want the data and ok/error.
	 * Dropped from REPLY itself: a copy of a 1000-student list would double labctl's
	 * memory, and every page touched costs a fault. */
	json_object_object_del(reply, "v");
	json_object_object_del(reply, "id");
	return output_json(stdout, reply);
}

const char *cli_field_text(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return json_object_get_string(v);
	case json_type_int:
		snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
		return buf;
	case json_type_boolean:
		return json_object_get_boolean(v) ? "true" : "false";
	case json_type_double:
		snprintf(buf, len, "%g", json_object_get_double(v));
		return buf;
	default:
		snprintf(buf, len, "%s", json_object_to_json_string_ext(v,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return buf;
	}
}

int cli_report_bulk(const char *verb, json_object *reply)
{
	json_object *results = NULL, *res;
	const char *student, *code;
	size_t i, n = 0, failed = 0;
	bool ok = cli_reply_ok(reply);

	if (cli_opts.json)
		(void)cli_print_json_reply(reply);
	(void)proto_get_array(reply, "results", false, &results, NULL);
	if (results != NULL)
		n = json_object_array_length(results);
	for (i = 0; i < n; i++) {
		res = json_object_array_get_idx(results, i);
		if (cli_reply_ok(res))
			continue;
		failed++;
		student = NULL;
		(void)proto_get_string(res, "student", false, &student, NULL);
		cli_err("%s: %s failed: %s", student ? student : "?", verb,
			cli_reply_error(res, NULL));
	}
	/* A refusal of the whole request, or a failure the results do not explain
	 * ("partial" only says that some students failed: they were listed). */
	if (!ok) {
		const char *msg = cli_reply_error(reply, &code);

		if (failed == 0 || strcmp(code, PROTO_E_PARTIAL) != 0)
			cli_err("%s: %s", verb, msg);
	}
	if (!cli_opts.json && (ok || n > 0)) {
		if (n == 0)
			printf("%s: no students\n", verb);
		else if (failed == 0)
			printf("%s: %zu of %zu student%s ok\n", verb, n, n, n == 1 ? "" : "s");
		else
			printf("%s: %zu of %zu student%s ok, %zu failed\n", verb, n - failed, n,
			       n == 1 ? "" : "s", failed);
	}
	return ok && failed == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- the bulk commands ---- */

int cli_bulk_main(const struct cli_bulk *b, int argc, char **argv)
{
	static const struct option base_opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "class", required_argument, NULL, 'C' },
		{ "yes", no_argument, NULL, 'y' },
		{ "force", no_argument, NULL, 'f' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *cls = NULL;
	bool all = false, yes = false, force = false;
	json_object *req = NULL, *reply = NULL;
	struct client c = { .fd = -1 };
	char question[512];
	int ch, ret;

	optind = 0;   /* GNU: restart, permuting IDs and options */
	while ((ch = getopt_long(argc, argv, "hy", base_opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		switch (ch) {
		case 'a':
			all = true;
			break;
		case 'C':
			cls = optarg;
			break;
		case 'y':
			/* Harmless where nothing is asked: scripts may pass it everywhere. */
			yes = true;
			break;
		case 'f':
			if (!b->has_force)
				return cli_usage(b->usage, false);
			force = true;
			break;
		case 'h':
			return cli_usage(b->usage, true);
		default:
			return cli_usage(b->usage, false);
		}
	}

	req = proto_new_request(b->op, -1);
	if (req == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	ret = cli_add_targets(req, b->op, argv + optind, argc - optind, all, cls);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (force && cli_add(req, "force", json_object_new_boolean(1)) < 0) {
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (all && b->confirm != NULL) {
		/* Refuse before connecting: a cron job must not depend on labd being up
		 * to learn that it forgot --yes. */
		ret = cli_confirm_possible(b->op, yes);
		if (ret != CLI_EXIT_OK)
			goto out;
	}
	ret = cli_connect(&c);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (all && b->confirm != NULL) {
		if (cls != NULL)
			snprintf(question, sizeof(question), "%s every student of class '%s'? %s",
				 b->op, cls, b->confirm);
		else
			snprintf(question, sizeof(question), "%s every student of every class? %s",
				 b->op, b->confirm);
		ret = cli_confirm(b->op, question, yes);
		if (ret != CLI_EXIT_OK)
			goto out;
	}
	ret = cli_call(&c, req, &reply, true);
	if (ret != CLI_EXIT_OK)
		goto out;
	ret = cli_report_bulk(b->op, reply);
out:
	client_close(&c);
	json_object_put(reply);
	json_object_put(req);
	return ret;
}
