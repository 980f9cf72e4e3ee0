/*
 * What a student may ask the gate for: one fixed table of commands, and the parser
 * that holds every input (SSH_ORIGINAL_COMMAND, a menu line) against it. Nothing in the
 * table names a student: the gate only ever acts for the one on its command line.
 */
#ifndef VLAB_GATE_COMMAND_H
#define VLAB_GATE_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum gate_op {
	GATE_OP_NONE = 0,        /* an empty line: the menu, or nothing */
	GATE_OP_STATUS,
	GATE_OP_CONSOLE,
	GATE_OP_START,
	GATE_OP_REBOOT,
	GATE_OP_RESET,
	GATE_OP_HELP,
	GATE_OP_QUIT,
};

struct gate_cmd {
	enum gate_op op;
	bool yes;                /* "reset --yes": no question asked */
};

#define GATE_CMD_MAX 128         /* bytes in one command or menu line */
#define GATE_MSG_LEN 256         /* a good size for the parser's message buffer */

/*
 * Parses LINE[0..LEN): words separated by spaces or tabs, the first a command of the
 * table, then only the arguments that command takes (reset: --yes). Every byte must be
 * printable ASCII, a space or a tab (a NUL inside LEN is refused, so LEN matters).
 * Returns 0 with *CMD (op GATE_OP_NONE for a blank line), or -EINVAL with a sentence
 * for the student in MSG that never repeats a byte that is not printable ASCII.
 */
int gate_cmd_parse(const char *line, size_t len, struct gate_cmd *cmd, char *msg, size_t msglen);

/* The command's name as typed ("reset"), for messages and logs. */
const char *gate_cmd_name(enum gate_op op);

/* The list of commands, one per line, for `help` and the menu. */
void gate_cmd_help(FILE *f);

#endif
