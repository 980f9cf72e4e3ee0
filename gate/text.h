/*
 * What the gate prints from labd's replies: every string made safe for a terminal
 * (printable ASCII only, so no reply can carry an escape sequence to the student),
 * and the status line.
 */
#ifndef VLAB_GATE_TEXT_H
#define VLAB_GATE_TEXT_H

#include <json-c/json.h>
#include <stddef.h>

#define TEXT_LINE_MAX 512

/* IN with every byte that is not printable ASCII replaced by '?', cut to fit OUT
 * (OUTLEN >= 1). Returns OUT; IN NULL gives "". */
const char *text_clean(const char *in, char *out, size_t outlen);

/* "alice: running; ssh -p 20001 student@203.0.113.10" from a self-status REPLY; the
 * parts labd left out are left out. STUDENT is the session's own. */
const char *text_status_line(json_object *reply, const char *student, char *out, size_t outlen);

#endif
