/*
 * labd's control socket, served from libvirt's default event loop: accepts clients (the
 * peer checked with SO_PEERCRED: root or the configured group), frames JSON lines, hands
 * each line to ops_handle with a sink of its own, and sends what ops says back. While a
 * client's bulk request is in flight its further lines wait; when the final reply comes,
 * control resumes reading that client from its own event handler (a zero timeout), never
 * from inside the reply.
 */
#ifndef VLAB_LABD_CONTROL_H
#define VLAB_LABD_CONTROL_H

#include "labd/labd.h"

#define CONTROL_MAX_CLIENTS 64

struct control;

/* Listens on L->conf.labd_socket (mode 0660, group socket_group). 0 or -errno. */
int control_open(struct labd *l, struct control **out);
/* Closes every client (their requests carry on, unanswered) and the socket; NULL is
 * fine. */
void control_close(struct control *c);

#endif
