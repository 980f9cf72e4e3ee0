/*
 * netd's NFLOG listener: a netlink socket bound to one nfnetlink_log group of the
 * current network namespace, which the forward chain's wake rule logs to (netd/nft.h).
 * Spoken with libmnl: the protocol is four attributes, and libmnl is what netd already
 * speaks nftables with (libnetfilter_log would add a package for the same messages).
 */
#ifndef VLAB_NETD_NFLOG_H
#define VLAB_NETD_NFLOG_H

#include <stdint.h>

#include "netd/nflog_parse.h"

struct nflog;

/* Opens the socket and binds GROUP: every logged packet is copied (the rule's snaplen
 * bounds it) and sent at once, not batched. 0, or -errno: -EBUSY when another
 * process holds GROUP in this namespace. */
int nflog_open(struct nflog **out, uint16_t group);
void nflog_close(struct nflog *l);
int nflog_fd(const struct nflog *l);

/* Reads every message queued, without blocking, and runs CB on each logged packet.
 * Returns how many packets went to CB, or -errno. *LOST is incremented when the kernel
 * reported that messages were dropped (the socket's buffer was full). */
int nflog_read(struct nflog *l, void (*cb)(const struct nflog_packet *p, void *arg), void *arg,
	       unsigned *lost);

#endif
