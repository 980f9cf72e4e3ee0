/*
 * netd's nftables table, spoken over netlink with libnftnl + libmnl.
 *
 * table ip <name> {
 *   set public_addrs  { type ipv4_addr; }                          (the configured publics)
 *   map ssh_dnat      { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
 *   set asleep        { type ipv4_addr; }               (the VMs of sleeping students)
 *   set active        { type ipv4_addr; flags dynamic,timeout; timeout 7d; }
 *                                  (per VM: expires 7 days after its client's last packet)
 *   set wake_limit    { type ipv4_addr; flags dynamic,timeout; timeout 10s; }
 *   chain prerouting  { type nat hook prerouting priority dstnat;
 *       ip daddr @public_addrs dnat ip to ip daddr . tcp dport map @ssh_dnat }
 *   chain postrouting { type nat hook postrouting priority srcnat;      (egress only)
 *       ip saddr SUBNET ip daddr != SUBNET oifname != BR masquerade }
 *   chain forward     { type filter hook forward priority filter; policy accept;
 *       oifname BR ct direction original ct status dnat ct reply ip saddr @asleep
 *           update @wake_limit { ct reply ip saddr limit rate over 4/second burst 4 packets }
 *           drop                             (a flood towards a sleeping VM: not logged)
 *       oifname BR ct direction original ct status dnat ct reply ip saddr @asleep
 *           log prefix "vlab-wake" group G snaplen 64 queue-threshold 1 drop
 *                                        (netd reads it over NFLOG: a wake; dropped
 *                                         silently, before any neighbour lookup)
 *       oifname BR ct direction original ct status dnat update @active { ct reply ip saddr }
 *                                        (a client's packet: its VM is active)
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
 * table bridge <name> {                          (per-port anti-spoofing, same name)
 *   set port_addrs    { type ifname . ether_addr . ipv4_addr; }
 *       two elements per student whose mapping names its port:
 *       "vl7" . MAC . IP  and  "vl7" . MAC . 0.0.0.0 (for DHCP before it has a lease)
 *   chain prerouting  { type filter hook prerouting priority filter; policy accept;
 *       iifname != "vl*" accept                 (not a student's port: not ours to judge)
 *       ip saddr 0.0.0.0 udp sport 68 udp dport 67
 *           iifname . ether saddr . ip saddr @port_addrs accept
 *       ip saddr != 0.0.0.0 iifname . ether saddr . ip saddr @port_addrs accept
 *       arp htype 1 arp ptype ip arp hlen 6 arp plen 4
 *           iifname . ether saddr . arp saddr ip @port_addrs
 *           iifname . arp saddr ether . arp saddr ip @port_addrs accept
 *       drop }                                  (spoofed, IPv6, any other ethertype, and
 * }                                              every frame of a port with no mapping)
 *
 * Every port named MAPPING_TAP_PREFIX* is a student's: what it sends must carry its own
 * MAC and IP, or it is dropped before the bridge learns the MAC or the host sees it.
 *
 * Every change is one batch, covering both tables; every message asks for an ACK and
 * each kernel error is tied to the message (sequence number) that caused it.
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
#define NFT_PORTS_NAME "port_addrs"      /* in the bridge table */
#define NFT_BRIDGE_CHAIN "prerouting"    /* the bridge table's chain */
#define NFT_ASLEEP_NAME "asleep"
#define NFT_ACTIVE_NAME "active"
#define NFT_WAKE_LIMIT_NAME "wake_limit"
/* The prefix of the log messages of packets for sleeping VMs (NFLOG). */
#define NFT_WAKE_PREFIX "vlab-wake"
/* The activity set's timeout: an element expires that long after the last packet of a
 * client to its VM, and that long is the longest idle time netd can read back. */
#define NFT_ACTIVE_TIMEOUT_MS ((uint64_t)MAPPING_IDLE_SLEEP_MAX * 1000u)

struct nft_params {
	const char *table;           /* family ip, and family bridge for the ports' rules */
	const char *bridge;
	struct in_addr subnet;
	unsigned prefix;
	const struct in_addr *publics;
	size_t n_publics;
	bool egress;
	bool dns;
	uint16_t log_group;          /* NFLOG group of the wake rule */
};

struct nft;                          /* opaque: an mnl socket, sequence numbers, params */

/* Where a rebuild gets an awake mapping's activity element from: the milliseconds
 * left before it expires (1..NFT_ACTIVE_TIMEOUT_MS; 0: a fresh element, the full
 * timeout). Without one, every awake mapping gets a fresh element. */
typedef uint64_t (*nft_active_left_fn)(const struct mapping *m, void *arg);

/* Opens a netlink socket for nftables in the current network namespace. */
int nft_open(struct nft **out, const struct nft_params *p);
void nft_close(struct nft *n);
/* Sets where nft_apply_full gets the activity elements from (see nft_active_left_fn). */
void nft_set_active_source(struct nft *n, nft_active_left_fn fn, void *arg);

/*
 * Replaces both tables, contents included, in ONE batch: for each, add table (so the
 * delete cannot fail), delete table, add table, sets, chains, rules; then every
 * mapping's map element and port elements, the asleep element of each sleeping one and
 * the activity element of each awake one (see nft_set_active_source). Used at start,
 * after a table vanished, and for sync: there is never a moment without rules, and
 * conntrack is left alone.
 */
int nft_apply_full(struct nft *n, const struct mapping *maps, size_t n_maps);

/*
 * Replaces the map's and the asleep set's elements with MAPS' (flush + add all), brings
 * port_addrs from OLD's port elements to MAPS' (deletes those that went, adds those that
 * came), and gives a fresh activity element to each mapping that wakes up
 * (mapping_wakes_up against OLD), in one batch. OLD is what the kernel holds now (netd's store: every change went through this
 * module, and the store changes only after the kernel took the batch), so a resync that
 * changes nobody's port, MAC or IP costs nothing in the bridge table. Fails (-ENOENT) if
 * a table, or an element OLD names, is missing: the caller then rebuilds (apply_full).
 */
int nft_sync(struct nft *n, const struct mapping *maps, size_t n_maps, const struct mapping *old,
	     size_t n_old);

/* One batch: delete OLD's elements (if OLD) and add NEW's, in both tables (the port
 * elements are left alone when port, MAC and IP did not change; the asleep element
 * follows NEW's asleep; a mapping that wakes up gets a fresh activity element). */
int nft_put(struct nft *n, const struct mapping *old, const struct mapping *new_map);
/* One batch: delete M's elements from both tables and its asleep element. Activity
 * elements are left to expire: nothing reads one without a mapping at its address, and
 * a mapping that comes to that address gets a fresh one. */
int nft_del(struct nft *n, const struct mapping *m);

/* Runs CB on every element of the activity set: the VM's address, the milliseconds
 * before the element expires, and its timeout. 0 or -errno (-ENOENT: no table). */
typedef void (*nft_active_cb)(struct in_addr ip, uint64_t expires_ms, uint64_t timeout_ms,
			      void *arg);
int nft_active_dump(struct nft *n, nft_active_cb cb, void *arg);

/* 1 if both our tables exist with their sets, 0 if not, -errno on failure. */
int nft_table_exists(struct nft *n);
/* Deletes both our tables (0 if they were not there). */
int nft_teardown(struct nft *n);

/* Element count of the map as the kernel has it (for status/tests), or -errno. */
int nft_map_count(struct nft *n);

/*
 * Monitor: a second netlink socket subscribed to nftables events. nft_monitor_fd() is
 * for poll(); nft_monitor_read() drains it and returns 1 if something happened to one of
 * our tables (deleted, or a set/chain/rule of it deleted) so the caller should check and
 * rebuild,
 * 0 if not, -errno on error (-ENOBUFS: events were lost, caller should check too).
 */
int nft_monitor_open(struct nft *n);
int nft_monitor_fd(const struct nft *n);
int nft_monitor_read(struct nft *n);

/* Last kernel error as text ("batch message 3 (NEWSETELEM ssh_dnat): File exists"). */
const char *nft_last_error(const struct nft *n);

#endif
