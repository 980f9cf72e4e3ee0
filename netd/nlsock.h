/*
 * What netd's netlink listeners share (the nftables monitor in netd/nft.c, the NFLOG
 * listener in netd/nflog.c): socket buffers above the sysctl limits, and reading every
 * queued message without blocking.
 */
#ifndef VLAB_NETD_NLSOCK_H
#define VLAB_NETD_NLSOCK_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>

/* NLH is a whole message within the LEFT bytes read. mnl_nlmsg_ok() compares the length
 * as an int, so a length above INT_MAX would pass it and send the walk off the buffer;
 * the kernel writes no such message, but a walk should not depend on it. */
static inline bool nlsock_msg_ok(const struct nlmsghdr *nlh, int left)
{
	return left >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned)left;
}

/* SO_xxxBUFFORCE (FORCE_OPT) if allowed (CAP_NET_ADMIN), else the plain OPT, which the
 * sysctl limits: an unprivileged test still gets what it allows. 0 or -errno. */
int nlsock_set_buf(int fd, int force_opt, int opt, int size);

/* Reads FD (non-blocking) into BUF until nothing is queued, running CB on every message
 * (walked with nlsock_msg_ok).
 * *LOST is set when the kernel dropped messages for want of room (ENOBUFS); the socket
 * goes on working. 0 or -errno. */
int nlsock_drain(int fd, char *buf, size_t size,
		 void (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg, bool *lost);

#endif
