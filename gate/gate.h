/*
 * vlab-gate: the program stock OpenSSH sshd runs for the gate (docs/vlab-gate.8).
 *
 *   vlab-gate [-c FILE] keys USER TYPE BASE64   sshd's AuthorizedKeysCommand (gate/keys.c)
 *   vlab-gate [-c FILE] session STUDENT         the forced command the keys line names
 *                                               (gate/session.c)
 *
 * The student a session acts for comes from its command line, which only the keys
 * command writes; nothing the student sends can change it.
 */
#ifndef VLAB_GATE_GATE_H
#define VLAB_GATE_GATE_H

/* Exit statuses (the student's ssh returns them): the same meaning as labctl's. */
#define GATE_EXIT_OK      0   /* done */
#define GATE_EXIT_FAIL    1   /* labd refused or the operation failed */
#define GATE_EXIT_USAGE   2   /* not a gate command */
#define GATE_EXIT_NOCONN  3   /* labd cannot be reached, or the gate is misconfigured */

/* The one account students log in as ("ssh -p 2222 lab@HOST"); sshd_config's AllowUsers. */
#define GATE_LOGIN "lab"

/* Seconds the keys command may take before it gives up (and so lets nobody in). */
#define GATE_KEYS_TIMEOUT 10
/* Seconds a session waits for labd's answer to one operation (a reset boots the VM). */
#define GATE_OP_TIMEOUT 600

/* What the command line gave main(). */
struct gate_opts {
	const char *config;      /* -c FILE; NULL = CONF_DEFAULT_PATH */
};

int keys_main(const struct gate_opts *o, int argc, char **argv);
int session_main(const struct gate_opts *o, int argc, char **argv);

/* labd's gate socket from the configuration: 0 and *PATH (malloc'd), or
 * GATE_EXIT_NOCONN after logging why (no gate section, unreadable file). */
int gate_socket_path(const struct gate_opts *o, char **path);

#endif
