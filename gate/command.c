/* The gate's command table and its strict parser (see command.h). */
#include "gate/command.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

static const struct gate_cmd_def {
	const char *name;
	enum gate_op op;
	const char *arg;         /* the one optional argument it takes, or NULL */
	const char *usage;       /* NULL: an alias, left out of the help */
	const char *help;
} cmds[] = {
	{ "status", GATE_OP_STATUS, NULL, "status", "your VM's state and how to reach it, on one line" },
	{ "console", GATE_OP_CONSOLE, NULL, "console", "your VM's serial console (Ctrl-] leaves it)" },
	{ "start", GATE_OP_START, NULL, "start", "start your VM" },
	{ "reboot", GATE_OP_REBOOT, NULL, "reboot", "restart your VM (your files stay)" },
	{ "reset", GATE_OP_RESET, "--yes", "reset [--yes]",
	  "erase your VM and start again from a fresh disk (asks first; --yes does not)" },
	{ "help", GATE_OP_HELP, NULL, "help", "this list" },
	{ "quit", GATE_OP_QUIT, NULL, "quit", "leave" },
	{ "exit", GATE_OP_QUIT, NULL, NULL, NULL },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))
#define MAX_WORDS 3              /* a command, its argument, and one to complain about */

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Printable ASCII, or a separator. Bytes, not the locale: isprint() may say yes to more. */
static bool byte_allowed(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t';
}

static const struct gate_cmd_def *cmd_find(const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (strlen(cmds[i].name) == len && memcmp(cmds[i].name, word, len) == 0)
			return &cmds[i];
	return NULL;
}

const char *gate_cmd_name(enum gate_op op)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (cmds[i].op == op)
			return cmds[i].name;
	return "?";
}

void gate_cmd_help(FILE *f)
{
	size_t i;

	fprintf(f, "Commands (they always act on your own VM):\n");
	for (i = 0; i < N_CMDS; i++)
		if (cmds[i].usage != NULL)
			fprintf(f, "  %-14s %s\n", cmds[i].usage, cmds[i].help);
}

int gate_cmd_parse(const char *line, size_t len, struct gate_cmd *cmd, char *msg, size_t msglen)
{
	const char *word[MAX_WORDS];
	size_t wlen[MAX_WORDS], n = 0, i;
	const struct gate_cmd_def *d;

	cmd->op = GATE_OP_NONE;
	cmd->yes = false;
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (len > GATE_CMD_MAX) {
		set_msg(msg, msglen, "that is too long for a command (at most %d characters); "
			"type 'help' for the commands", GATE_CMD_MAX);
		return -EINVAL;
	}
	/* Before anything is quoted back: a message must not carry an escape sequence. */
	for (i = 0; i < len; i++) {
		if (!byte_allowed((unsigned char)line[i])) {
			set_msg(msg, msglen, "that command holds a control character or a non-ASCII "
				"byte (at position %zu); type 'help' for the commands", i + 1);
			return -EINVAL;
		}
	}
	for (i = 0; i < len;) {
		size_t start;

		while (i < len && is_blank(line[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_blank(line[i]))
			i++;
		if (n == MAX_WORDS)
			break;
		word[n] = line + start;
		wlen[n] = i - start;
		n++;
	}
	if (n == 0)
		return 0;

	d = cmd_find(word[0], wlen[0]);
	if (d == NULL) {
		set_msg(msg, msglen, "unknown command '%.*s'; the commands are status, console, "
			"start, reboot, reset and help", (int)(wlen[0] > 32 ? 32 : wlen[0]), word[0]);
		return -EINVAL;
	}
	if (n == 1) {
		cmd->op = d->op;
		return 0;
	}
	if (d->arg != NULL && n == 2 && strlen(d->arg) == wlen[1] &&
	    memcmp(d->arg, word[1], wlen[1]) == 0) {
		cmd->op = d->op;
		cmd->yes = true;
		return 0;
	}
	if (d->arg != NULL)
		set_msg(msg, msglen, "'%s' takes nothing but %s; it always acts on your own VM",
			d->name, d->arg);
	else
		set_msg(msg, msglen, "'%s' takes no arguments; it always acts on your own VM",
			d->name);
	return -EINVAL;
}
