/*
 * Pure builders of netd's nftables objects: libnftnl objects only, no socket. The
 * expressions are the ones nft(8) itself emits for the same rules (compare with
 * `nft --debug=netlink -f`), so `nft list table` prints them back as written in nft.h.
 * Also the one parser of a kernel dump netd reads (the activity set's elements).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h> /* libnftnl/expr.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>

#include "netd/nft_build.h"

/* nft's datatype ids (nftables include/datatype.h) and how concatenations combine them. */
#define TYPE_IPADDR 7
#define TYPE_ETHERADDR 9
#define TYPE_INET_SERVICE 13
#define TYPE_IFNAME 41
#define TYPE_BITS 6
#define TYPE_CONCAT_IP_PORT ((TYPE_IPADDR << TYPE_BITS) | TYPE_INET_SERVICE)
/* ifname . ether_addr . ipv4_addr */
#define TYPE_CONCAT_PORT_KEY \
	((((TYPE_IFNAME << TYPE_BITS) | TYPE_ETHERADDR) << TYPE_BITS) | TYPE_IPADDR)

/* nft's byteorder enum, stored in the set's userdata so `nft list` prints keys right. */
#define NFT_UDATA_BYTEORDER_INVALID 0
#define NFT_UDATA_BYTEORDER_BIG 2

/* Registers as nft allocates them: a concat's second field goes to the next 32-bit reg. */
#define REG_A NFT_REG_1
#define REG_B NFT_REG32_01
/* The port key iifname . MAC . IPv4: the name fills NFT_REG_1 (16 bytes), the MAC the
 * next 16-byte register (nft picks NFT_REG_2 there), the address the 32-bit register
 * right after the MAC's 8 padded bytes. */
#define REG_PORT_NAME NFT_REG_1
#define REG_PORT_MAC NFT_REG_2
#define REG_PORT_IP NFT_REG32_06

/* Offsets in the Ethernet, IPv4, ARP and TCP/UDP headers. */
#define OFF_ETH_SADDR 6
#define OFF_ETH_TYPE 12
#define OFF_IP_SADDR 12
#define OFF_IP_DADDR 16
#define OFF_ARP_HTYPE 0          /* htype, ptype: 4 bytes */
#define OFF_ARP_HLEN 4           /* hlen, plen: 2 bytes */
#define OFF_ARP_SHA 8
#define OFF_ARP_SPA 14
#define OFF_TH_SPORT 0
#define OFF_TH_DPORT 2

struct rule_builder {
	struct nftnl_rule *r;
	int err;
};

static struct nftnl_expr *rb_expr(struct rule_builder *b, const char *name)
{
	struct nftnl_expr *e;

	if (b->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e)
		b->err = -ENOMEM;
	return e;
}

/* nftnl_rule_add_expr() takes ownership of E. */
static void rb_add(struct rule_builder *b, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(b->r, e);
}

static void rb_payload(struct rule_builder *b, uint32_t base, uint32_t off, uint32_t len,
		       uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(b, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	rb_add(b, e);
}

static void rb_meta(struct rule_builder *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(b, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	rb_add(b, e);
}

static void rb_ct(struct rule_builder *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(b, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	rb_add(b, e);
}

/* ct KEY of the ORIGINAL direction, as `ct original ...`. */
static void rb_ct_orig(struct rule_builder *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(b, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	rb_add(b, e);
}

/* ct KEY of the REPLY direction, as `ct reply ...`: for a DNATed connection the reply
 * comes from the VM, so `ct reply ip saddr` is the VM's address on every packet of the
 * connection, whichever way it goes. */
static void rb_ct_reply(struct rule_builder *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = rb_expr(b, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_REPLY);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	rb_add(b, e);
}

static void rb_cmp(struct rule_builder *b, uint32_t op, uint32_t sreg, const void *data,
		   uint32_t len)
{
	struct nftnl_expr *e = rb_expr(b, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	rb_add(b, e);
}

/* reg = (reg & mask) ^ 0, as nft emits for prefixes and flag tests. */
static void rb_mask(struct rule_builder *b, uint32_t reg, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = rb_expr(b, "bitwise");
	uint8_t zero[16] = { 0 };

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	rb_add(b, e);
}

/* DREG < 0: a plain membership test; otherwise a map lookup into DREG. */
static void rb_lookup(struct rule_builder *b, uint32_t sreg, int dreg, const char *set,
		      uint32_t set_id)
{
	struct nftnl_expr *e = rb_expr(b, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	/* The id lets the kernel find a set created earlier in the same batch. */
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	rb_add(b, e);
}

/* `limit rate over RATE/second burst RATE packets`: matches packets beyond the rate. */
static struct nftnl_expr *limit_over_new(uint64_t rate)
{
	struct nftnl_expr *e = nftnl_expr_alloc("limit");

	if (!e)
		return NULL;
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, (uint32_t)rate);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
	return e;
}

/* `update @SET { <sreg> [limit rate over LIMIT/second] }`: the element of the key in SREG
 * is added, or its expiration reset to the set's timeout; with LIMIT, the element's own
 * limit decides whether the rule goes on (a meter). */
static void rb_dynset_update(struct rule_builder *b, uint32_t sreg, const char *set,
			     uint32_t set_id, uint64_t limit)
{
	struct nftnl_expr *e = rb_expr(b, "dynset"), *l;

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, set_id);
	if (limit) {
		l = limit_over_new(limit);
		if (!l) {
			nftnl_expr_free(e);
			b->err = -ENOMEM;
			return;
		}
		/* the dynset expression takes L */
		nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, l, 0);
	}
	rb_add(b, e);
}

/* `log prefix NFT_WAKE_PREFIX group G snaplen NFT_WAKE_SNAPLEN queue-threshold 1`: to
 * NFLOG, each message sent at once (the default batches them for up to a second). */
static void rb_log_wake(struct rule_builder *b, uint16_t group)
{
	struct nftnl_expr *e = rb_expr(b, "log");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, NFT_WAKE_PREFIX);
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, NFT_WAKE_SNAPLEN);
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD, 1);
	rb_add(b, e);
}

static void rb_verdict(struct rule_builder *b, int verdict)
{
	struct nftnl_expr *e = rb_expr(b, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	rb_add(b, e);
}

static void rb_dnat(struct rule_builder *b, uint32_t addr_reg, uint32_t proto_reg)
{
	struct nftnl_expr *e = rb_expr(b, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
	rb_add(b, e);
}

static void rb_masq(struct rule_builder *b)
{
	struct nftnl_expr *e = rb_expr(b, "masq");

	if (e)
		rb_add(b, e);
}

/* [i|o]ifname ==/!= BR: nft compares the whole IFNAMSIZ buffer, zero padded. */
static void rb_ifname(struct rule_builder *b, uint32_t key, uint32_t op, const char *br)
{
	char name[IFNAMSIZ] = { 0 };

	strncpy(name, br, sizeof(name) - 1);
	rb_meta(b, key, REG_A);
	rb_cmp(b, op, REG_A, name, sizeof(name));
}

static void rb_l4proto(struct rule_builder *b, uint8_t proto)
{
	rb_meta(b, NFT_META_L4PROTO, REG_A);
	rb_cmp(b, NFT_CMP_EQ, REG_A, &proto, sizeof(proto));
}

/* ip saddr/daddr ==/!= SUBNET, as nft does it: a byte-aligned prefix loads only its
 * bytes; otherwise the whole address is loaded and masked. PREFIX is 1..32. */
static void rb_subnet(struct rule_builder *b, uint32_t off, uint32_t op, struct in_addr net,
		      unsigned prefix)
{
	uint32_t len = prefix % 8 ? 4 : prefix / 8;
	uint32_t mask = htonl(prefix == 32 ? ~0u : ~(~0u >> prefix));
	uint32_t val = net.s_addr & mask;

	rb_payload(b, NFT_PAYLOAD_NETWORK_HEADER, off, len, REG_A);
	if (prefix % 8)
		rb_mask(b, REG_A, &mask, len);
	rb_cmp(b, op, REG_A, &val, len);
}

static void rb_ct_bits(struct rule_builder *b, uint32_t key, uint32_t bits)
{
	uint32_t zero = 0;

	rb_ct(b, key, REG_A);
	rb_mask(b, REG_A, &bits, sizeof(bits));
	rb_cmp(b, NFT_CMP_NEQ, REG_A, &zero, sizeof(zero));
}

/* l4proto == PROTO, th dport == PORT */
static void rb_dport(struct rule_builder *b, uint8_t proto, uint16_t port)
{
	uint16_t be = htons(port);

	rb_l4proto(b, proto);
	rb_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, OFF_TH_DPORT, sizeof(be), REG_A);
	rb_cmp(b, NFT_CMP_EQ, REG_A, &be, sizeof(be));
}

/* ip daddr . tcp dport into REG_A . REG_B (the caller tested l4proto tcp). */
static void rb_daddr_dport(struct rule_builder *b)
{
	rb_payload(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_IP_DADDR, 4, REG_A);
	rb_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, OFF_TH_DPORT, 2, REG_B);
}

/* nft's named priorities dstnat, srcnat and filter for family ip. */
#define PRIO_DSTNAT (-100)
#define PRIO_SRCNAT 100
#define PRIO_FILTER 0

#define SET_ID_PUBLICS 1
#define SET_ID_MAP 2
/* 3 is the bridge table's port_addrs */
#define SET_ID_ASLEEP 4
#define SET_ID_ACTIVE 5
#define SET_ID_WAKE_LIMIT 6

static struct nftnl_table *table_build(const struct nft_params *p, uint32_t family)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return NULL;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, p->table) < 0) {
		nftnl_table_free(t);
		return NULL;
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	return t;
}

struct nftnl_table *nft_build_table(const struct nft_params *p)
{
	return table_build(p, NFPROTO_IPV4);
}

struct nftnl_table *nft_build_bridge_table(const struct nft_params *p)
{
	return table_build(p, NFPROTO_BRIDGE);
}

/* Userdata as nft writes it: without the key byteorder nft prints a plain ipv4_addr key
 * as a number. Concatenations carry "invalid" (each field has its own order). */
static int set_put_udata(struct nftnl_set *s, uint32_t key_order, bool map, uint32_t data_order)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
	int ret = -ENOMEM;

	if (!ud)
		return -ENOMEM;
	if (!nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, key_order))
		goto out;
	if (map && !nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, data_order))
		goto out;
	if (nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			       nftnl_udata_buf_len(ud)) < 0)
		goto out;
	ret = 0;
out:
	nftnl_udata_buf_free(ud);
	return ret;
}

/* ID 0: no id, the set is referred to by name only. The family is also what nft.c puts
 * in the message header. */
static struct nftnl_set *set_new_family(const struct nft_params *p, const char *name,
					uint32_t id, uint32_t family)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, p->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, family);
	if (id)
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

static struct nftnl_set *set_new(const struct nft_params *p, const char *name, uint32_t id)
{
	return set_new_family(p, name, id, NFPROTO_IPV4);
}

static struct nftnl_set *set_build(const struct nft_params *p, const char *name, uint32_t id,
				   uint32_t key_type, uint32_t key_len, bool map)
{
	struct nftnl_set *s = set_new(p, name, id);
	uint32_t order = key_type == TYPE_IPADDR ? NFT_UDATA_BYTEORDER_BIG
						 : NFT_UDATA_BYTEORDER_INVALID;

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, map ? NFT_SET_MAP : 0);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	if (map) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, TYPE_CONCAT_IP_PORT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, NFT_CONCAT_LEN);
	}
	if (set_put_udata(s, order, map, NFT_UDATA_BYTEORDER_INVALID) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	return s;
}

struct nftnl_set *nft_build_map(const struct nft_params *p)
{
	return set_build(p, NFT_MAP_NAME, SET_ID_MAP, TYPE_CONCAT_IP_PORT, NFT_CONCAT_LEN, true);
}

struct nftnl_set *nft_build_publics_set(const struct nft_params *p)
{
	return set_build(p, NFT_PUBLICS_NAME, SET_ID_PUBLICS, TYPE_IPADDR, 4, false);
}

/* A set of VM addresses; with TIMEOUT_MS, dynamic (the forward chain adds and refreshes
 * elements) with that timeout. */
static struct nftnl_set *ip_set_build(const struct nft_params *p, const char *name, uint32_t id,
				      uint64_t timeout_ms)
{
	struct nftnl_set *s = set_build(p, name, id, TYPE_IPADDR, 4, false);

	if (s && timeout_ms) {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, timeout_ms);
	}
	return s;
}

struct nftnl_set *nft_build_asleep_set(const struct nft_params *p)
{
	return ip_set_build(p, NFT_ASLEEP_NAME, SET_ID_ASLEEP, 0);
}

struct nftnl_set *nft_build_active_set(const struct nft_params *p)
{
	return ip_set_build(p, NFT_ACTIVE_NAME, SET_ID_ACTIVE, NFT_ACTIVE_TIMEOUT_MS);
}

struct nftnl_set *nft_build_wake_limit_set(const struct nft_params *p)
{
	return ip_set_build(p, NFT_WAKE_LIMIT_NAME, SET_ID_WAKE_LIMIT, NFT_WAKE_LIMIT_TIMEOUT_MS);
}

int nft_build_ip_elem(struct nftnl_set *set, struct in_addr ip, uint64_t expires_ms)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &ip.s_addr, 4);
	if (expires_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, expires_ms);
	nftnl_set_elem_add(set, e); /* the set owns E now */
	return 0;
}

/* One element of a set element list: the key if it is 4 bytes, the expiration and the
 * timeout. 1 if it has a 4-byte key and an expiration. */
static int active_elem_parse(const struct nlattr *el, struct nft_active_elem *out)
{
	const struct nlattr *a, *v;
	bool key = false, expires = false;

	*out = (struct nft_active_elem){ 0 };
	mnl_attr_for_each_nested(a, el) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			mnl_attr_for_each_nested(v, a) {
				if (mnl_attr_get_type(v) == NFTA_DATA_VALUE &&
				    mnl_attr_get_payload_len(v) == 4) {
					memcpy(&out->ip.s_addr, mnl_attr_get_payload(v), 4);
					key = true;
				}
			}
			break;
		case NFTA_SET_ELEM_EXPIRATION:
			if (mnl_attr_validate(a, MNL_TYPE_U64) == 0) {
				out->expires_ms = be64toh(mnl_attr_get_u64(a));
				expires = true;
			}
			break;
		case NFTA_SET_ELEM_TIMEOUT:
			if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
				out->timeout_ms = be64toh(mnl_attr_get_u64(a));
			break;
		default:
			break;
		}
	}
	return key && expires;
}

size_t nft_parse_active_elems(const struct nlmsghdr *nlh,
			      void (*cb)(const struct nft_active_elem *e, void *arg), void *arg)
{
	const struct nlattr *list, *el;
	struct nft_active_elem e;
	size_t n = 0;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
		return 0;
	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, list) {
			if (mnl_attr_get_type(el) != NFTA_LIST_ELEM || !active_elem_parse(el, &e))
				continue;
			cb(&e, arg);
			n++;
		}
	}
	return n;
}

struct nftnl_set *nft_build_publics_elems(const struct nft_params *p)
{
	struct nftnl_set *s = set_new(p, NFT_PUBLICS_NAME, SET_ID_PUBLICS);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < p->n_publics; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e) {
			nftnl_set_free(s);
			return NULL;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &p->publics[i].s_addr, 4);
		nftnl_set_elem_add(s, e); /* the set owns E now */
	}
	return s;
}

struct nftnl_set *nft_build_set_ref(const struct nft_params *p, const char *name)
{
	return set_new(p, name, 0);
}

uint32_t nft_build_set_size(size_t n_maps)
{
	uint32_t size = NFT_SET_SIZE_MIN;

	while (size < n_maps * 2 && size < (1u << 30))
		size <<= 1;
	return size;
}

void nft_encode_concat(struct in_addr ip, uint16_t port, uint8_t out[NFT_CONCAT_LEN])
{
	uint16_t be = htons(port);

	memcpy(out, &ip.s_addr, 4);
	memcpy(out + 4, &be, 2);
	out[6] = 0;
	out[7] = 0;
}

int nft_build_elems(const struct mapping *m, struct nftnl_set *map)
{
	uint8_t pub[NFT_CONCAT_LEN], vm[NFT_CONCAT_LEN];
	struct nftnl_set_elem *e;

	nft_encode_concat(m->public_ip, m->public_port, pub);
	nft_encode_concat(m->ip, m->vm_port, vm);
	e = nftnl_set_elem_alloc();
	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, pub, sizeof(pub));
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, vm, sizeof(vm));
	nftnl_set_elem_add(map, e);
	return 0;
}

static const struct chain_def {
	const char *name;
	const char *type;
	uint32_t hook;
	int32_t prio;
} chain_defs[] = {
	{ "prerouting", "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT },
	{ "postrouting", "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT },
	{ "forward", "filter", NF_INET_FORWARD, PRIO_FILTER },
	{ "input", "filter", NF_INET_LOCAL_IN, PRIO_FILTER },
};

static const struct chain_def *chain_def_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(chain_defs) / sizeof(chain_defs[0]); i++)
		if (strcmp(chain_defs[i].name, name) == 0)
			return &chain_defs[i];
	return NULL;
}

static bool chain_wanted(const struct nft_params *p, const char *name)
{
	return p->egress || strcmp(name, "postrouting") != 0;
}

size_t nft_build_chain_names(const struct nft_params *p, const char **names, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(chain_defs) / sizeof(chain_defs[0]); i++)
		if (chain_wanted(p, chain_defs[i].name) && n < max)
			names[n++] = chain_defs[i].name;
	return n;
}

static struct nftnl_chain *chain_build(const struct nft_params *p, const struct chain_def *d,
				       uint32_t family)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, p->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type) < 0) {
		nftnl_chain_free(c);
		return NULL;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

struct nftnl_chain *nft_build_chain(const struct nft_params *p, const char *name)
{
	const struct chain_def *d = chain_def_find(name);

	if (!d) {
		errno = EINVAL;
		return NULL;
	}
	return chain_build(p, d, NFPROTO_IPV4);
}

static struct nftnl_rule *rule_new(const struct nft_params *p, const char *chain,
				   uint32_t family)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, p->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	return r;
}

enum rule_kind {
	R_PRE_DNAT,
	R_POST_MASQ,
	R_FWD_ASLEEP_FLOOD,
	R_FWD_ASLEEP_WAKE,
	R_FWD_ACTIVE,
	R_FWD_CT,
	R_FWD_DNAT_IN,
	R_FWD_TO_BR_DROP,
	R_FWD_FROM_BR,
	R_IN_CT,
	R_IN_DHCP,
	R_IN_DNS_UDP,
	R_IN_DNS_TCP,
	R_IN_DROP,
};

/*
 * oifname BR ct direction original ct status dnat: a client's packet of a connection
 * DNATed into the lab, with its VM's address in REG_A (`ct reply ip saddr`). Only the
 * client's packets count as activity: a VM that writes to a client who has gone (a
 * laptop closed mid-session) retransmits for many minutes and is not in use; a client
 * who reads output ACKs it, and those ACKs count.
 */
static void rb_client_to_vm(struct rule_builder *b, const struct nft_params *p)
{
	const uint8_t original = IP_CT_DIR_ORIGINAL;

	rb_ifname(b, NFT_META_OIFNAME, NFT_CMP_EQ, p->bridge);
	rb_ct(b, NFT_CT_DIRECTION, REG_A);
	rb_cmp(b, NFT_CMP_EQ, REG_A, &original, sizeof(original));
	rb_ct_bits(b, NFT_CT_STATUS, IPS_DST_NAT);
	rb_ct_reply(b, NFT_CT_SRC_IP, REG_A);
}

static void rule_fill(struct rule_builder *b, const struct nft_params *p, enum rule_kind k)
{
	const uint32_t ct_est_rel = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
				    NF_CT_STATE_BIT(IP_CT_RELATED);

	switch (k) {
	case R_PRE_DNAT:
		rb_payload(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_IP_DADDR, 4, REG_A);
		rb_lookup(b, REG_A, -1, NFT_PUBLICS_NAME, SET_ID_PUBLICS);
		rb_l4proto(b, IPPROTO_TCP);
		rb_daddr_dport(b);
		rb_lookup(b, REG_A, REG_A, NFT_MAP_NAME, SET_ID_MAP);
		/* the map's data lands in REG_A (address) . REG_B (port) */
		rb_dnat(b, REG_A, REG_B);
		break;
	case R_POST_MASQ:
		rb_subnet(b, OFF_IP_SADDR, NFT_CMP_EQ, p->subnet, p->prefix);
		rb_subnet(b, OFF_IP_DADDR, NFT_CMP_NEQ, p->subnet, p->prefix);
		rb_ifname(b, NFT_META_OIFNAME, NFT_CMP_NEQ, p->bridge);
		rb_masq(b);
		break;
	case R_FWD_ASLEEP_FLOOD:
		/* Before the logging rule: packets beyond the rate end here, unlogged, so a
		 * flood towards a sleeping VM costs netd a few messages a second. */
		rb_client_to_vm(b, p);
		rb_lookup(b, REG_A, -1, NFT_ASLEEP_NAME, SET_ID_ASLEEP);
		/* the key again, as nft writes it (a lookup leaves the register alone) */
		rb_ct_reply(b, NFT_CT_SRC_IP, REG_A);
		rb_dynset_update(b, REG_A, NFT_WAKE_LIMIT_NAME, SET_ID_WAKE_LIMIT, NFT_WAKE_LOG_RATE);
		rb_verdict(b, NF_DROP);
		break;
	case R_FWD_ASLEEP_WAKE:
		/* Dropped here, in forward: the packet never reaches the neighbour lookup
		 * that would fail for a VM that is not running and answer the client with
		 * ICMP host-unreachable, which aborts a connect() in SYN_SENT. The client's
		 * retransmission gets through once the VM runs and netd has taken it out
		 * of the set; an open session's next packet wakes the VM the same way. */
		rb_client_to_vm(b, p);
		rb_lookup(b, REG_A, -1, NFT_ASLEEP_NAME, SET_ID_ASLEEP);
		rb_log_wake(b, p->log_group);
		rb_verdict(b, NF_DROP);
		break;
	case R_FWD_ACTIVE:
		/* Before "established accept": every packet of a session counts, not only
		 * its first. */
		rb_client_to_vm(b, p);
		rb_dynset_update(b, REG_A, NFT_ACTIVE_NAME, SET_ID_ACTIVE, 0);
		break;
	case R_FWD_CT:
		rb_ct_bits(b, NFT_CT_STATE, ct_est_rel);
		rb_verdict(b, NF_ACCEPT);
		break;
	case R_FWD_DNAT_IN:
		/* Admitted only if the connection was addressed to a key of our map: the
		 * map itself is the set of allowed endpoints (a lookup without data), so
		 * the kernel holds one element per student, not two. */
		rb_ifname(b, NFT_META_OIFNAME, NFT_CMP_EQ, p->bridge);
		rb_ct_bits(b, NFT_CT_STATUS, IPS_DST_NAT);
		rb_l4proto(b, IPPROTO_TCP);
		rb_ct_orig(b, NFT_CT_DST_IP, REG_A);
		rb_ct_orig(b, NFT_CT_PROTO_DST, REG_B);
		rb_lookup(b, REG_A, -1, NFT_MAP_NAME, SET_ID_MAP);
		rb_verdict(b, NF_ACCEPT);
		break;
	case R_FWD_TO_BR_DROP:
		rb_ifname(b, NFT_META_OIFNAME, NFT_CMP_EQ, p->bridge);
		rb_verdict(b, NF_DROP);
		break;
	case R_FWD_FROM_BR:
		rb_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ, p->bridge);
		rb_verdict(b, p->egress ? NF_ACCEPT : NF_DROP);
		break;
	case R_IN_CT:
		rb_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ, p->bridge);
		rb_ct_bits(b, NFT_CT_STATE, ct_est_rel);
		rb_verdict(b, NF_ACCEPT);
		break;
	case R_IN_DHCP:
		rb_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ, p->bridge);
		rb_dport(b, IPPROTO_UDP, 67);
		rb_verdict(b, NF_ACCEPT);
		break;
	case R_IN_DNS_UDP:
	case R_IN_DNS_TCP:
		rb_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ, p->bridge);
		rb_dport(b, k == R_IN_DNS_UDP ? IPPROTO_UDP : IPPROTO_TCP, 53);
		rb_verdict(b, NF_ACCEPT);
		break;
	case R_IN_DROP:
		rb_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ, p->bridge);
		rb_verdict(b, NF_DROP);
		break;
	}
}

/* The rule kinds of CHAIN for P, in order; returns how many. */
static size_t rule_kinds(const struct nft_params *p, const char *chain, enum rule_kind *k)
{
	size_t n = 0;

	if (strcmp(chain, "prerouting") == 0) {
		k[n++] = R_PRE_DNAT;
	} else if (strcmp(chain, "postrouting") == 0) {
		if (p->egress)
			k[n++] = R_POST_MASQ;
	} else if (strcmp(chain, "forward") == 0) {
		k[n++] = R_FWD_ASLEEP_FLOOD;
		k[n++] = R_FWD_ASLEEP_WAKE;
		k[n++] = R_FWD_ACTIVE;
		k[n++] = R_FWD_CT;
		k[n++] = R_FWD_DNAT_IN;
		k[n++] = R_FWD_TO_BR_DROP;
		k[n++] = R_FWD_FROM_BR;
	} else if (strcmp(chain, "input") == 0) {
		k[n++] = R_IN_CT;
		k[n++] = R_IN_DHCP;
		if (p->dns) {
			k[n++] = R_IN_DNS_UDP;
			k[n++] = R_IN_DNS_TCP;
		}
		k[n++] = R_IN_DROP;
	}
	return n;
}

int nft_build_rules(const struct nft_params *p, const char *chain, struct nftnl_rule **rules,
		    size_t max)
{
	enum rule_kind kinds[NFT_BUILD_MAX_RULES];
	size_t i, n;

	if (!chain_def_find(chain) || !p->bridge || strlen(p->bridge) >= IFNAMSIZ ||
	    p->prefix < 1 || p->prefix > 32)
		return -EINVAL;
	n = rule_kinds(p, chain, kinds);
	if (n > max)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		struct rule_builder b = { .r = rule_new(p, chain, NFPROTO_IPV4), .err = 0 };

		if (!b.r)
			b.err = -ENOMEM;
		else
			rule_fill(&b, p, kinds[i]);
		if (b.err) {
			if (b.r)
				nftnl_rule_free(b.r);
			while (i > 0)
				nftnl_rule_free(rules[--i]);
			return b.err;
		}
		rules[i] = b.r;
	}
	return (int)n;
}

/* --- the bridge table: per-port anti-spoofing ------------------------------ */

/*
 * Why bridge-family nftables and not libvirt's nwfilter: netd already owns the host's
 * nftables side and knows every student's MAC and IP, so the ports' rules are elements
 * in the same batch as the DNAT map (a put changes both atomically, a sync updates both,
 * `nft flush ruleset` is repaired the same way), and nothing depends on libvirt's
 * nwfilter driver running or on labd writing filter XML into every domain.
 *
 * The hook is the bridge's prerouting: it sees every frame that enters from a port,
 * whether it goes to another port or to the host (gateway, DHCP, DNS), and it runs
 * before the bridge learns the source MAC, so a dropped frame cannot move a classmate's
 * MAC onto the attacker's port either.
 */

/* nft's priority "filter" for family bridge. */
#define PRIO_BRIDGE_FILTER (-200)
#define SET_ID_PORTS 3

void nft_encode_port_key(const char *port, const uint8_t mac[6], struct in_addr ip,
			 uint8_t out[NFT_PORT_KEY_LEN])
{
	size_t len = strnlen(port, IFNAMSIZ - 1);

	/* nft compares the whole IFNAMSIZ buffer, zero padded, as for rb_ifname(). */
	memset(out, 0, NFT_PORT_KEY_LEN);
	memcpy(out, port, len);
	memcpy(out + IFNAMSIZ, mac, 6);
	memcpy(out + IFNAMSIZ + 8, &ip.s_addr, 4);
}

struct nftnl_set *nft_build_port_set(const struct nft_params *p)
{
	struct nftnl_set *s = set_new_family(p, NFT_PORTS_NAME, SET_ID_PORTS, NFPROTO_BRIDGE);

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_CONCAT_PORT_KEY);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, NFT_PORT_KEY_LEN);
	if (set_put_udata(s, NFT_UDATA_BYTEORDER_INVALID, false, 0) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	return s;
}

struct nftnl_set *nft_build_port_set_ref(const struct nft_params *p)
{
	return set_new_family(p, NFT_PORTS_NAME, 0, NFPROTO_BRIDGE);
}

static int port_elem_add(struct nftnl_set *set, const struct mapping *m, struct in_addr ip)
{
	uint8_t key[NFT_PORT_KEY_LEN];
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	nft_encode_port_key(m->port, m->mac, ip, key);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
	nftnl_set_elem_add(set, e); /* the set owns E now */
	return 0;
}

int nft_build_port_elems(const struct mapping *m, struct nftnl_set *set)
{
	struct in_addr none = { .s_addr = 0 };
	int r;

	if (!m->port[0])
		return 0;
	/* The second element lets the VM ask for its lease before it has an address, still
	 * from its own MAC on its own port (the rules accept 0.0.0.0 only for DHCP and ARP
	 * probes). One element cannot do both: a rule can compare a field with a constant or
	 * look it up, never compare it with a map's data. */
	if ((r = port_elem_add(set, m, m->ip)) < 0 || (r = port_elem_add(set, m, none)) < 0)
		return r;
	return NFT_PORT_ELEMS;
}

struct nftnl_chain *nft_build_bridge_chain(const struct nft_params *p)
{
	static const struct chain_def d = {
		NFT_BRIDGE_CHAIN, "filter", NF_BR_PRE_ROUTING, PRIO_BRIDGE_FILTER,
	};

	return chain_build(p, &d, NFPROTO_BRIDGE);
}

/* meta protocol == ETHERTYPE, as nft writes the dependency of `ip ...` in a bridge. */
static void rb_protocol(struct rule_builder *b, uint16_t ethertype)
{
	uint16_t be = htons(ethertype);

	rb_meta(b, NFT_META_PROTOCOL, REG_A);
	rb_cmp(b, NFT_CMP_EQ, REG_A, &be, sizeof(be));
}

/* Payload at BASE+OFF of LEN bytes ==/!= DATA. */
static void rb_payload_cmp(struct rule_builder *b, uint32_t base, uint32_t off, uint32_t op,
			   const void *data, uint32_t len)
{
	rb_payload(b, base, off, len, REG_A);
	rb_cmp(b, op, REG_A, data, len);
}

/* iifname . MAC . IPv4 (MAC and address read at the given places) @port_addrs */
static void rb_port_lookup(struct rule_builder *b, uint32_t mac_base, uint32_t mac_off,
			   uint32_t ip_off)
{
	rb_meta(b, NFT_META_IIFNAME, REG_PORT_NAME);
	rb_payload(b, mac_base, mac_off, 6, REG_PORT_MAC);
	rb_payload(b, NFT_PAYLOAD_NETWORK_HEADER, ip_off, 4, REG_PORT_IP);
	rb_lookup(b, REG_PORT_NAME, -1, NFT_PORTS_NAME, SET_ID_PORTS);
}

enum bridge_rule {
	BR_OTHER_PORT,   /* iifname != "vl*" accept */
	BR_DHCP,         /* ip saddr 0.0.0.0 udp sport 68 udp dport 67 <port key> accept */
	BR_IPV4,         /* ip saddr != 0.0.0.0 <port key> accept */
	BR_ARP,          /* Ethernet/IPv4 ARP whose sender MAC and IP are the port's */
	BR_DROP,         /* everything else a student port sends */
};

static void bridge_rule_fill(struct rule_builder *b, enum bridge_rule k)
{
	static const uint8_t dhcp_ports[4] = { 0, 68, 0, 67 };
	static const uint8_t arp_eth_ip[4] = { 0, 1, 0x08, 0x00 };  /* htype 1, ptype ip */
	static const uint8_t arp_lens[2] = { 6, 4 };                /* hlen 6, plen 4 */
	const uint16_t eth_arp = htons(0x0806);
	const uint32_t any = 0;
	const uint8_t udp = IPPROTO_UDP;

	switch (k) {
	case BR_OTHER_PORT:
		/* A prefix match: nft compares only the prefix's bytes ("vl*"). */
		rb_meta(b, NFT_META_IIFNAME, REG_A);
		rb_cmp(b, NFT_CMP_NEQ, REG_A, MAPPING_TAP_PREFIX, strlen(MAPPING_TAP_PREFIX));
		rb_verdict(b, NF_ACCEPT);
		break;
	case BR_DHCP:
		rb_protocol(b, 0x0800);
		rb_payload_cmp(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_IP_SADDR, NFT_CMP_EQ, &any, 4);
		rb_meta(b, NFT_META_L4PROTO, REG_A);
		rb_cmp(b, NFT_CMP_EQ, REG_A, &udp, 1);
		rb_payload_cmp(b, NFT_PAYLOAD_TRANSPORT_HEADER, OFF_TH_SPORT, NFT_CMP_EQ,
			       dhcp_ports, sizeof(dhcp_ports));
		rb_port_lookup(b, NFT_PAYLOAD_LL_HEADER, OFF_ETH_SADDR, OFF_IP_SADDR);
		rb_verdict(b, NF_ACCEPT);
		break;
	case BR_IPV4:
		rb_protocol(b, 0x0800);
		rb_payload_cmp(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_IP_SADDR, NFT_CMP_NEQ, &any, 4);
		rb_port_lookup(b, NFT_PAYLOAD_LL_HEADER, OFF_ETH_SADDR, OFF_IP_SADDR);
		rb_verdict(b, NF_ACCEPT);
		break;
	case BR_ARP:
		rb_payload_cmp(b, NFT_PAYLOAD_LL_HEADER, OFF_ETH_TYPE, NFT_CMP_EQ, &eth_arp, 2);
		/* Fixed offsets below hold only for Ethernet/IPv4 ARP (the only kind the
		 * host's stack acts on), so anything else is left to the final drop. */
		rb_payload_cmp(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_ARP_HTYPE, NFT_CMP_EQ,
			       arp_eth_ip, sizeof(arp_eth_ip));
		rb_payload_cmp(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_ARP_HLEN, NFT_CMP_EQ,
			       arp_lens, sizeof(arp_lens));
		/* The frame's source MAC and the ARP sender MAC must both be the port's,
		 * with the port's IP (or 0.0.0.0: an address probe) as the sender IP. */
		rb_port_lookup(b, NFT_PAYLOAD_LL_HEADER, OFF_ETH_SADDR, OFF_ARP_SPA);
		rb_port_lookup(b, NFT_PAYLOAD_NETWORK_HEADER, OFF_ARP_SHA, OFF_ARP_SPA);
		rb_verdict(b, NF_ACCEPT);
		break;
	case BR_DROP:
		rb_verdict(b, NF_DROP);
		break;
	}
}

int nft_build_bridge_rules(const struct nft_params *p, struct nftnl_rule **rules, size_t max)
{
	static const enum bridge_rule kinds[] = { BR_OTHER_PORT, BR_DHCP, BR_IPV4, BR_ARP,
						  BR_DROP };
	const size_t n = sizeof(kinds) / sizeof(kinds[0]);
	size_t i;

	if (n > max)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		struct rule_builder b = { .r = rule_new(p, NFT_BRIDGE_CHAIN, NFPROTO_BRIDGE) };

		if (!b.r)
			b.err = -ENOMEM;
		else
			bridge_rule_fill(&b, kinds[i]);
		if (b.err) {
			if (b.r)
				nftnl_rule_free(b.r);
			while (i > 0)
				nftnl_rule_free(rules[--i]);
			return b.err;
		}
		rules[i] = b.r;
	}
	return (int)n;
}
