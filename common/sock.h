/* Unix stream control sockets with peer checks (SO_PEERCRED / SO_PEERGROUPS). */
#ifndef VLAB_SOCK_H
#define VLAB_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/outbuf.h"
#include "common/proto.h"

struct sock_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/*
 * Binds and listens on PATH (non-blocking, close-on-exec). A stale socket file at PATH
 * is replaced only if nothing answers on it (-EADDRINUSE if a live daemon holds it);
 * any other kind of file there is left alone (-EEXIST). Then chmod MODE and, if GROUP is
 * not NULL, chown root:GROUP (-ENOENT if the group does not exist). Returns fd or -errno.
 */
int sock_listen(const char *path, mode_t mode, const char *group);

/* Accepts one client (non-blocking, close-on-exec) and reads its credentials. */
int sock_accept(int lfd, struct sock_peer *peer);

/* True when the peer on FD is root, or has GID as its primary or a supplementary
 * group (gid (gid_t)-1 = root only). */
bool sock_peer_allowed(int fd, const struct sock_peer *peer, gid_t gid);

/* The reply line (malloc'd, '\n'-terminated, *LEN its length; NULL if out of memory)
 * that both daemons send a PEER refused by sock_peer_allowed before closing: a protocol
 * error "denied" without an id that names the peer's uid. */
char *sock_peer_refusal(const struct sock_peer *peer, size_t *len);

/* One client of a daemon's control socket: what both daemons keep per connection.
 * A daemon's own client struct starts with one (fd -1: the slot is free). */
struct sock_client {
	int fd;
	struct sock_peer peer;
	struct linebuf in;       /* request lines, at most PROTO_MAX_LINE each */
	struct outbuf out;       /* replies not sent yet */
};

/*
 * Accepts one connection on the listening LFD and seats it: the peer is checked with
 * sock_peer_allowed against GID (GROUP, the name, for the log; may be NULL); a refused
 * peer gets sock_peer_refusal's line, is logged and closed. An accepted one takes the
 * first free slot of SLOTS, an array of N structs of SIZE bytes that each start with a
 * struct sock_client; with none free it is logged and closed. Returns the slot (fd, peer
 * and an empty input buffer set; the rest of the daemon's struct is the caller's), or
 * NULL.
 */
struct sock_client *sock_client_accept(int lfd, gid_t gid, const char *group, void *slots,
				       size_t n, size_t size);
/* Closes the connection and frees its buffers; the slot is free again. */
void sock_client_close(struct sock_client *c);

/* Resolves a group name; 0 or -ENOENT. */
int sock_group_gid(const char *group, gid_t *gid);

/* Connects (blocking, close-on-exec) to PATH. fd or -errno. */
int sock_connect(const char *path);

#endif
