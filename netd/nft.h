/*
 * netd's nftables table, spoken over netlink with libnftnl + libmnl.
 *
 * table ip <name> {
 *   set public_addrs  { type ipv4_addr; }                          (the configured publics)
 *   map ssh_dnat      { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
 *   chain prerouting  { type nat hook prerouting priority dstnat;
 *       ip daddr @public_addrs dnat ip to ip daddr . tcp dport map @ssh_dnat }
 *   chain postrouting { type nat hook postrouting priority srcnat;      (egress only)
 *       ip saddr SUBNET ip daddr != SUBNET oifname != BR masquerade }
 *   chain forward     { type filter hook forward priority filter; policy accept;
 *       ct state established,related accept
 *       oifname BR ct status dnat meta l4proto tcp
 *           ct original ip daddr . ct original proto-dst @ssh_dnat accept
 *                                        (the map's keys are the allowed endpoints)
 *       oifname BR drop                      (includes VM->VM routed by the host)
 *       iifname BR accept | drop             (egress on | off) }
 *   chain input       { type filter hook input priority filter; policy accept;
 *       iifname BR ct state established,related accept
 *       iifname BR udp dport 67 accept
 *       iifname BR udp dport 53 accept ; iifname BR tcp dport 53 accept   (dns only)
 *       iifname BR drop }
 * }
 *
 * Every change is one batch; every message asks for an ACK and each kernel error is tied
 * to the message (sequence number) that caused it.
 */
#ifndef VLAB_NFT_H
#define VLAB_NFT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/mapping.h"

#define NFT_MAP_NAME "ssh_dnat"
#define NFT_PUBLICS_NAME "public_addrs"

struct nft_params {
	const char *table;           /* family ip */
	const char *bridge;
	struct in_addr subnet;
	unsigned prefix;
	const struct in_addr *publics;
	size_t n_publics;
	bool egress;
	bool dns;
};

struct nft;                          /* opaque: an mnl socket, sequence numbers, params */

/* Opens a netlink socket for nftables in the current network namespace. */
int nft_open(struct nft **out, const struct nft_params *p);
void nft_close(struct nft *n);

/*
 * Replaces the whole table, contents included, in ONE batch: add table (so the delete
 * cannot fail), delete table, add table, sets, chains, rules, then every mapping's map
 * element and endpoint element. Used at start, after the table vanished, and for sync:
 * there is never a moment without rules, and conntrack is left alone.
 */
int nft_apply_full(struct nft *n, const struct mapping *maps, size_t n_maps);

/* Replaces only the elements of the map and endpoint set (flush both + add all) in one
 * batch. Fails (-ENOENT) if the table is missing. */
int nft_sync(struct nft *n, const struct mapping *maps, size_t n_maps);

/* One batch: delete OLD's elements (if OLD) and add NEW's. */
int nft_put(struct nft *n, const struct mapping *old, const struct mapping *new_map);
/* One batch: delete M's elements. */
int nft_del(struct nft *n, const struct mapping *m);

/* 1 if our table exists with our map, 0 if not, -errno on failure. */
int nft_table_exists(struct nft *n);
/* Deletes our table (0 if it was not there). */
int nft_teardown(struct nft *n);

/* Element count of the map as the kernel has it (for status/tests), or -errno. */
int nft_map_count(struct nft *n);

/*
 * Monitor: a second netlink socket subscribed to nftables events. nft_monitor_fd() is
 * for poll(); nft_monitor_read() drains it and returns 1 if something happened to our
 * table (deleted, or a set/chain of it deleted) so the caller should check and rebuild,
 * 0 if not, -errno on error (-ENOBUFS: events were lost, caller should check too).
 */
int nft_monitor_open(struct nft *n);
int nft_monitor_fd(const struct nft *n);
int nft_monitor_read(struct nft *n);

/* Last kernel error as text ("batch message 3 (NEWSETELEM ssh_dnat): File exists"). */
const char *nft_last_error(const struct nft *n);

#endif
