/*
 * The AuthorizedKeysCommand's one output line: the offered key, restricted to a pty
 * and to the gate's session for the student labd named.
 */
#ifndef VLAB_GATE_KEYS_H
#define VLAB_GATE_KEYS_H

#include "common/sshkey.h"

/*
 * 'restrict,pty,command="EXE[ -c CONFIG] session STUDENT" TYPE BASE64\n' in *OUT
 * (malloc'd). EXE and CONFIG (may be NULL) must be absolute paths of [A-Za-z0-9/._+-]
 * and STUDENT a valid ID, so that nothing in the line needs quoting for sshd or for
 * the shell sshd runs the command with. 0, -EINVAL or -ENOMEM.
 */
int keys_line(const char *exe, const char *config, const char *student,
	      const struct sshkey *key, char **out);

#endif
