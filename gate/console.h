/*
 * The console relay: the student's side (the pty sshd gave the session, or plain pipes)
 * on one end, labd's console stream on the other. Ctrl-] from the student leaves.
 * docs/protocol.md says how the stream starts and ends.
 */
#ifndef VLAB_GATE_CONSOLE_H
#define VLAB_GATE_CONSOLE_H

#include <stddef.h>

#include "gate/labc.h"

#define CONSOLE_ESCAPE 0x1d       /* Ctrl-], as telnet and virsh console */
#define CONSOLE_DRAIN_MS 5000     /* after the student's EOF: how long labd has to close */

enum console_end {
	CONSOLE_LEFT = 1,         /* the student pressed Ctrl-] */
	CONSOLE_INPUT_CLOSED,     /* the student's input ended (EOF): labd was told, and closed */
	CONSOLE_CLOSED_BY_LAB,    /* labd ended the stream (the VM stopped, labd restarts) */
	CONSOLE_SIGNALLED,        /* SIGHUP/SIGTERM/SIGINT: the SSH session went away */
};

/* The offset of the first CONSOLE_ESCAPE in BUF[0..LEN), or LEN when there is none. */
size_t console_find_escape(const char *buf, size_t len);

/*
 * Relays IN -> labd and labd -> OUT until one side ends; STREAM's pending bytes go to OUT
 * first. When IN is a terminal it is in raw mode meanwhile (every byte, Ctrl-C too, goes
 * to the VM) and restored before this returns. Closes nothing. Returns an enum
 * console_end, or -errno when reading or writing failed.
 */
int console_relay(int in, int out, const struct labc_stream *stream);

#endif
