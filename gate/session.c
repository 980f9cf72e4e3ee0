/*
 * vlab-gate session STUDENT: the forced command of every key the keys command lets in.
 *
 * The student comes from this command line, which only the keys command writes, and
 * never from anything the client sends: SSH_ORIGINAL_COMMAND and menu lines are held
 * against the fixed table in command.c, and no command takes a name. Every request to
 * labd also carries the key sshd authenticated (SSH_USER_AUTH), so labd can check
 * that it is one of this student's, and the client's address for its audit log.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/id.h"
#include "common/log.h"
#include "common/proto.h"
#include "gate/command.h"
#include "gate/console.h"
#include "gate/gate.h"
#include "gate/labc.h"
#include "gate/sshenv.h"
#include "gate/text.h"

#define MENU_IDLE_MS (15 * 60 * 1000)  /* the menu ends after this long without input */
#define CONFIRM_MS (2 * 60 * 1000)     /* how long reset waits for the student's ID */
#define INPUT_LINE_MAX 4096            /* longer lines are discarded with a refusal */

struct session {
	const char *student;     /* argv's: the only student this process acts for */
	char *socket;            /* labd's gate socket */
	char *key;               /* "TYPE BASE64" sshd authenticated */
	char client[SSHENV_CLIENT_MAX];
	bool tty;                /* stdin is a terminal: the menu, questions */
	struct linebuf input;    /* the student's lines (menu, questions) */
};

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* To the student, on stderr, in order with what stdout already said. */
static void complain(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vlab-gate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void misconfigured(void)
{
	complain("the gate is not set up right; tell your teacher (the details are in the "
		 "host's log)");
}

/* ---- the student's input ---- */

/*
 * One line of the student's input into *LINE and *LEN: 1, 0 at the end of input, -ETIMEDOUT
 * after MS without a line, -EMSGSIZE for a line longer than INPUT_LINE_MAX (dropped).
 */
static int read_line(struct session *s, int ms, char **line, size_t *len)
{
	struct timespec t0, t;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	long long left;
	ssize_t n;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		r = linebuf_next(&s->input, line, len);
		if (r != 0)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((long long)(t.tv_sec - t0.tv_sec) * 1000 +
			     (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = linebuf_fill(&s->input, STDIN_FILENO);
		/* EIO: sshd closed the pty, the same as the end of input. */
		if (n == 0 || n == -EIO)
			return 0;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
	}
}

/* ---- talking to labd ---- */

/*
 * Sends OP for the session's student. GATE_EXIT_OK with *REPLY (and with STREAM, the
 * console's connection), or another exit status once the student was told why not.
 */
static int session_call(struct session *s, const char *op, json_object **reply,
			struct labc_stream *stream)
{
	const struct gate_who who = { s->student, s->key, s->client };
	char clean[TEXT_LINE_MAX];
	const char *code, *msg;
	json_object *req;
	int r;

	*reply = NULL;
	req = labc_request(op, &who);
	if (req == NULL) {
		complain("out of memory");
		return GATE_EXIT_FAIL;
	}
	labc_deadline(GATE_OP_TIMEOUT, "the lab did not answer within 10 minutes; it may still "
		      "do what you asked: look with 'status' in a while");
	r = labc_call(s->socket, req, reply, stream);
	labc_deadline(0, NULL);
	json_object_put(req);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		complain("the lab is not answering right now; try again in a minute");
		log_warnx("%s %s: labd at %s: %s", s->student, op, s->socket, strerror(-r));
		return GATE_EXIT_NOCONN;
	}
	if (r == -EACCES) {
		misconfigured();
		log_warnx("%s %s: labd at %s: %s (is this user in gate.group?)", s->student, op,
			  s->socket, strerror(-r));
		return GATE_EXIT_NOCONN;
	}
	if (r < 0) {
		complain("lost the connection to the lab before its answer; look with 'status' "
			 "whether it happened");
		log_warnx("%s %s: labd at %s: %s", s->student, op, s->socket, strerror(-r));
		return GATE_EXIT_NOCONN;
	}
	if (!labc_ok(*reply)) {
		msg = labc_error(*reply, &code);
		complain("%s", text_clean(msg, clean, sizeof(clean)));
		log_info("%s %s from %s: refused (%s)", s->student, op, s->client,
			 text_clean(code, clean, sizeof(clean)));
		json_object_put(*reply);
		*reply = NULL;
		return GATE_EXIT_FAIL;
	}
	return GATE_EXIT_OK;
}

/* ---- the commands ---- */

static int do_status(struct session *s, const struct gate_cmd *c)
{
	char line[TEXT_LINE_MAX];
	json_object *reply;
	int ret;

	(void)c;
	ret = session_call(s, "self-status", &reply, NULL);
	if (ret != GATE_EXIT_OK)
		return ret;
	printf("%s\n", text_status_line(reply, s->student, line, sizeof(line)));
	json_object_put(reply);
	return GATE_EXIT_OK;
}

/* start, reboot and reset: say what is happening, then how it ended. A reset gives the
 * VM new SSH host keys, and the student's ssh will complain about them: HOSTKEY_HINT
 * says what to run. */
static int do_action(struct session *s, const char *op, const char *doing, const char *done,
		     bool hostkey_hint)
{
	char line[TEXT_LINE_MAX], ip[64];
	const char *a = NULL;
	json_object *reply;
	bool changed = true;
	int64_t port = 0;
	int ret;

	printf("%s\n", doing);
	fflush(stdout);
	ret = session_call(s, op, &reply, NULL);
	if (ret != GATE_EXIT_OK)
		return ret;
	(void)proto_get_bool(reply, "changed", false, &changed, NULL);
	printf("%s %s\n", changed ? done : "Nothing to do:",
	       text_status_line(reply, s->student, line, sizeof(line)));
	(void)proto_get_string(reply, "public_ip", false, &a, NULL);
	(void)proto_get_int(reply, "public_port", false, 1, 65535, &port, NULL);
	if (hostkey_hint && a != NULL && port > 0)
		printf("Your VM has new SSH host keys: run ssh-keygen -R \"[%s]:%d\" before you "
		       "connect to it.\n", text_clean(a, ip, sizeof(ip)), (int)port);
	json_object_put(reply);
	return GATE_EXIT_OK;
}

static int do_start(struct session *s, const struct gate_cmd *c)
{
	(void)c;
	return do_action(s, "self-start", "Starting your VM...", "Started.", false);
}

static int do_reboot(struct session *s, const struct gate_cmd *c)
{
	(void)c;
	return do_action(s, "self-reboot", "Rebooting your VM...", "Rebooted.", false);
}

/* The student types their own ID to confirm; anything else stops. */
static bool reset_confirmed(struct session *s)
{
	size_t len, want = strlen(s->student);
	char *line;
	int r;

	printf("This erases everything on your VM (%s): it starts again from a fresh disk.\n"
	       "Type your student ID (%s) to go on, anything else to stop: ",
	       s->student, s->student);
	fflush(stdout);
	r = read_line(s, CONFIRM_MS, &line, &len);
	if (r == 1) {
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		if (len == want && memcmp(line, s->student, want) == 0)
			return true;
	} else {
		printf("\n");
	}
	complain("that was not '%s': nothing was done", s->student);
	return false;
}

static int do_reset(struct session *s, const struct gate_cmd *c)
{
	if (!c->yes && !s->tty) {
		complain("reset asks you to type your student ID, and this session has no "
			 "terminal: use 'ssh -t ... reset', or 'reset --yes' in a script");
		return GATE_EXIT_USAGE;
	}
	if (!c->yes && !reset_confirmed(s))
		return GATE_EXIT_FAIL;
	return do_action(s, "self-reset", "Resetting your VM: a fresh disk, then a first boot "
			 "(this can take a few minutes)...", "Reset.", true);
}

static int do_console(struct session *s, const struct gate_cmd *c)
{
	char user[64], pw[128];
	struct labc_stream st;
	const char *u = NULL, *p = NULL;
	json_object *reply;
	int ret, end;

	(void)c;
	ret = session_call(s, "self-console", &reply, &st);
	if (ret != GATE_EXIT_OK)
		return ret;
	(void)proto_get_string(reply, "user", false, &u, NULL);
	(void)proto_get_string(reply, "console_password", false, &p, NULL);
	printf("Console of %s's VM.", s->student);
	if (u != NULL && p != NULL)
		printf(" Log in as %s, console password for %s: %s", text_clean(u, user, sizeof(user)),
		       s->student, text_clean(p, pw, sizeof(pw)));
	printf("\nCtrl-] leaves the console. Press Enter for a prompt.\n");
	fflush(stdout);
	json_object_put(reply);

	end = console_relay(STDIN_FILENO, STDOUT_FILENO, &st);
	close(st.fd);
	free(st.pending);
	switch (end) {
	case CONSOLE_LEFT:
		printf("\r\nLeft the console of %s's VM.\n", s->student);
		return GATE_EXIT_OK;
	case CONSOLE_INPUT_CLOSED:
		return GATE_EXIT_OK;
	case CONSOLE_CLOSED_BY_LAB:
		printf("\r\n");
		complain("the lab closed the console (was your VM stopped, rebooted or reset?)");
		return GATE_EXIT_FAIL;
	case CONSOLE_SIGNALLED:
		return GATE_EXIT_FAIL;
	default:
		log_warnx("%s console: %s", s->student, strerror(-end));
		return GATE_EXIT_FAIL;
	}
}

static int do_help(struct session *s, const struct gate_cmd *c)
{
	(void)s;
	(void)c;
	gate_cmd_help(stdout);
	return GATE_EXIT_OK;
}

static int do_quit(struct session *s, const struct gate_cmd *c)
{
	(void)s;
	(void)c;
	return GATE_EXIT_OK;
}

static const struct {
	enum gate_op op;
	int (*fn)(struct session *s, const struct gate_cmd *c);
} handlers[] = {
	{ GATE_OP_STATUS, do_status },
	{ GATE_OP_CONSOLE, do_console },
	{ GATE_OP_START, do_start },
	{ GATE_OP_REBOOT, do_reboot },
	{ GATE_OP_RESET, do_reset },
	{ GATE_OP_HELP, do_help },
	{ GATE_OP_QUIT, do_quit },
};

static int session_run(struct session *s, const struct gate_cmd *c)
{
	size_t i;
	int ret;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (handlers[i].op != c->op)
			continue;
		ret = handlers[i].fn(s, c);
		fflush(stdout);
		return ret;
	}
	return GATE_EXIT_USAGE;
}

/* No command and a terminal: commands one line at a time until quit, EOF or idleness. */
static int session_menu(struct session *s)
{
	char msg[GATE_MSG_LEN];
	struct gate_cmd c;
	size_t len;
	char *line;
	int r;

	printf("vlab gate: %s's VM. Type a command; 'help' lists them, 'quit' leaves.\n",
	       s->student);
	(void)do_status(s, NULL);
	for (;;) {
		printf("gate> ");
		fflush(stdout);
		r = read_line(s, MENU_IDLE_MS, &line, &len);
		if (r == 0) {
			printf("\n");
			return GATE_EXIT_OK;
		}
		if (r == -ETIMEDOUT) {
			printf("\nNo input for %d minutes: bye.\n", MENU_IDLE_MS / 60000);
			return GATE_EXIT_OK;
		}
		if (r == -EMSGSIZE) {
			complain("that line is too long for a command; 'help' lists them");
			continue;
		}
		if (r < 0)
			return GATE_EXIT_FAIL;
		if (gate_cmd_parse(line, len, &c, msg, sizeof(msg)) < 0) {
			complain("%s", msg);
			continue;
		}
		if (c.op == GATE_OP_QUIT)
			return GATE_EXIT_OK;
		if (c.op != GATE_OP_NONE)
			(void)session_run(s, &c);
	}
}

/* What sshd says about the session: the client, the key. GATE_EXIT_OK or NOCONN. */
static int session_env(struct session *s, const struct gate_opts *o)
{
	const char *conn = getenv("SSH_CONNECTION"), *auth = getenv("SSH_USER_AUTH");
	int r;

	if (sshenv_client(conn, s->client) < 0) {
		log_warnx("session %s: SSH_CONNECTION is %s (run me as sshd's forced command)",
			  s->student, conn ? "not 'ADDR PORT ADDR PORT'" : "not set");
		return GATE_EXIT_NOCONN;
	}
	if (auth == NULL) {
		log_warnx("session %s: SSH_USER_AUTH is not set: sshd_config needs "
			  "ExposeAuthInfo yes", s->student);
		return GATE_EXIT_NOCONN;
	}
	r = sshenv_read_auth(auth, &s->key);
	if (r < 0) {
		log_warnx("session %s: SSH_USER_AUTH %s: %s (expected one line 'publickey TYPE "
			  "BASE64')", s->student, auth, strerror(-r));
		return GATE_EXIT_NOCONN;
	}
	return gate_socket_path(o, &s->socket);
}

int session_main(const struct gate_opts *o, int argc, char **argv)
{
	const char *cmdline = getenv("SSH_ORIGINAL_COMMAND");
	struct session s;
	char msg[GATE_MSG_LEN];
	struct gate_cmd c = { GATE_OP_NONE, false };
	int ret;

	memset(&s, 0, sizeof(s));
	linebuf_init(&s.input, INPUT_LINE_MAX);
	log_init("vlab-gate", false, LOG_LVL_INFO);
	if (argc != 2 || !id_valid(argv[1])) {
		misconfigured();
		log_warnx("session: expected one student ID (the keys command writes it)");
		ret = GATE_EXIT_NOCONN;
		goto out;
	}
	s.student = argv[1];
	if (cmdline != NULL && gate_cmd_parse(cmdline, strlen(cmdline), &c, msg, sizeof(msg)) < 0) {
		complain("%s", msg);
		log_info("%s: refused a command: %s", s.student, msg);
		ret = GATE_EXIT_USAGE;
		goto out;
	}
	if (c.op == GATE_OP_HELP || c.op == GATE_OP_QUIT) {
		ret = session_run(&s, &c);
		goto out;
	}
	ret = session_env(&s, o);
	if (ret != GATE_EXIT_OK) {
		misconfigured();
		goto out;
	}
	s.tty = isatty(STDIN_FILENO) == 1;
	if (c.op != GATE_OP_NONE) {
		ret = session_run(&s, &c);
	} else if (s.tty) {
		ret = session_menu(&s);
	} else {
		fflush(stdout);
		fprintf(stderr, "vlab-gate: no command given (with a terminal, 'ssh -t' shows a "
			"menu)\n");
		gate_cmd_help(stderr);
		ret = GATE_EXIT_USAGE;
	}
out:
	if (fflush(stdout) != 0 && ret == GATE_EXIT_OK)
		ret = GATE_EXIT_FAIL;
	linebuf_free(&s.input);
	free(s.key);
	free(s.socket);
	return ret;
}
