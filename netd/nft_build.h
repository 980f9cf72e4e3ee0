/*
 * Pure builders of netd's nftables objects (no socket, no kernel): each returns a
 * libnftnl object that the caller owns, or fills a batch buffer. Tested by serialising
 * to netlink and parsing back with libnftnl.
 */
#ifndef VLAB_NFT_BUILD_H
#define VLAB_NFT_BUILD_H

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "netd/nft.h"

/* Set/map key and element encodings (concatenations pad each field to 4 bytes). */
#define NFT_CONCAT_LEN 8

struct nftnl_table *nft_build_table(const struct nft_params *p);
/* The sets with no elements (public_addrs gets its elements by nft_build_publics). */
struct nftnl_set *nft_build_map(const struct nft_params *p);
struct nftnl_set *nft_build_publics_set(const struct nft_params *p);
/* public_addrs with its elements, ready for NEWSETELEM. */
struct nftnl_set *nft_build_publics_elems(const struct nft_params *p);

/* The sets of sleeping VMs: asleep (plain), active and wake_limit (dynamic, with
 * timeouts, filled by the forward chain's packets; see nft.h). All keyed by VM address,
 * empty, with set ids for rules in the same batch. */
struct nftnl_set *nft_build_asleep_set(const struct nft_params *p);
struct nftnl_set *nft_build_active_set(const struct nft_params *p);
struct nftnl_set *nft_build_wake_limit_set(const struct nft_params *p);
/* An element IP added to SET (a set ref of one of the sets above). EXPIRES_MS > 0 gives
 * it that long to live instead of the set's timeout (only for sets with timeouts). */
int nft_build_ip_elem(struct nftnl_set *set, struct in_addr ip, uint64_t expires_ms);

/* The per-element rate of logged packets towards one sleeping VM; more are dropped
 * without a log message. */
#define NFT_WAKE_LOG_RATE 4u
#define NFT_WAKE_LIMIT_TIMEOUT_MS 10000u
/* Bytes of each logged packet: an IPv4 header with options (60) and the TCP ports. */
#define NFT_WAKE_SNAPLEN 64u

/* One element of a dump of the activity set, read from a NEWSETELEM message. */
struct nft_active_elem {
	struct in_addr ip;
	uint64_t expires_ms;         /* left before it expires */
	uint64_t timeout_ms;         /* its own timeout; 0: the set's */
};
/* Runs CB on every element of a set element message (a dump's reply) whose key is an
 * IPv4 address and that carries an expiration; others are skipped. Returns how many
 * were passed to CB. */
size_t nft_parse_active_elems(const struct nlmsghdr *nlh,
			      void (*cb)(const struct nft_active_elem *e, void *arg), void *arg);

/* Base chains; name is one of "prerouting", "postrouting", "forward", "input". */
struct nftnl_chain *nft_build_chain(const struct nft_params *p, const char *name);

/* All rules of a chain, in order, into RULES (at most MAX); returns how many, or -errno. */
int nft_build_rules(const struct nft_params *p, const char *chain, struct nftnl_rule **rules,
		    size_t max);

/* The map element of M (public_ip . public_port : ip . vm_port), added to MAP. */
int nft_build_elems(const struct mapping *m, struct nftnl_set *map);

/* Most rules any chain has (nft_build_rules' MAX is enough at this size). */
#define NFT_BUILD_MAX_RULES 8

/* The base chains P needs, in creation order (postrouting only with egress); returns
 * how many were stored in NAMES (at most MAX). */
size_t nft_build_chain_names(const struct nft_params *p, const char **names, size_t max);

/* A set object naming one of our sets (table, name, no id), to carry elements for
 * NEWSETELEM/DELSETELEM, or none for a flush. */
struct nftnl_set *nft_build_set_ref(const struct nft_params *p, const char *name);

/* Size hint for the map and endpoint set when N_MAPS mappings are loaded: at least
 * NFT_SET_SIZE_MIN, and at least twice N_MAPS. The kernel pre-sizes its hash table with
 * it and refuses elements beyond it (-ENFILE) until the next nft_apply_full. */
#define NFT_SET_SIZE_MIN 65536u
uint32_t nft_build_set_size(size_t n_maps);

/* Key encodings, exposed for tests. */
void nft_encode_concat(struct in_addr ip, uint16_t port, uint8_t out[NFT_CONCAT_LEN]);

/* --- the bridge table (per-port anti-spoofing; see nft.h) --- */

/* Key of port_addrs: ifname (16 bytes, zero padded) . MAC (6 + 2 padding) . IPv4. */
#define NFT_PORT_KEY_LEN 28
/* Elements per student with a known port: port . MAC . IP and port . MAC . 0.0.0.0. */
#define NFT_PORT_ELEMS 2
/* Most rules the bridge chain has. */
#define NFT_BUILD_MAX_BRIDGE_RULES 8

struct nftnl_table *nft_build_bridge_table(const struct nft_params *p);
/* port_addrs with no elements (with a set id, for rules in the same batch). */
struct nftnl_set *nft_build_port_set(const struct nft_params *p);
/* port_addrs by name only, to carry elements or to flush. */
struct nftnl_set *nft_build_port_set_ref(const struct nft_params *p);
/* M's elements (NFT_PORT_ELEMS of them) added to SET; returns how many were added: 0
 * when M's port is unknown, or -errno. */
int nft_build_port_elems(const struct mapping *m, struct nftnl_set *set);
/* The bridge table's only base chain, NFT_BRIDGE_CHAIN on the bridge prerouting hook. */
struct nftnl_chain *nft_build_bridge_chain(const struct nft_params *p);
/* Its rules, in order, into RULES (at most MAX); returns how many, or -errno. */
int nft_build_bridge_rules(const struct nft_params *p, struct nftnl_rule **rules, size_t max);

void nft_encode_port_key(const char *port, const uint8_t mac[6], struct in_addr ip,
			 uint8_t out[NFT_PORT_KEY_LEN]);

#endif
