/*
 * netd/nft_build.c without a kernel: every object is serialised into a netlink message
 * with libnftnl, parsed back with libnftnl, and compared.
 */
#include <arpa/inet.h>
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/expr.h>

#include "netd/nft_build.h"

static char buf[1 << 16];
static struct in_addr publics[2];
static struct nft_params params;

static void params_init(void)
{
	memset(&params, 0, sizeof(params));
	params.table = "vlab";
	params.bridge = "labbr0";
	inet_pton(AF_INET, "10.64.0.0", &params.subnet);
	params.prefix = 24;
	inet_pton(AF_INET, "203.0.113.10", &publics[0]);
	inet_pton(AF_INET, "203.0.113.11", &publics[1]);
	params.publics = publics;
	params.n_publics = 2;
	params.egress = true;
	params.dns = true;
}

static struct nlmsghdr *msg_family(uint16_t type, uint16_t family)
{
	memset(buf, 0, sizeof(buf));
	return nftnl_nlmsg_build_hdr(buf, type, family, NLM_F_CREATE | NLM_F_ACK, 1);
}

static struct nlmsghdr *msg(uint16_t type)
{
	return msg_family(type, NFPROTO_IPV4);
}

static struct mapping test_mapping(void)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	strcpy(m.student, "alice");
	inet_pton(AF_INET, "10.64.0.2", &m.ip);
	m.vm_port = 22;
	inet_pton(AF_INET, "203.0.113.11", &m.public_ip);
	m.public_port = 20017;
	memcpy(m.mac, "\x52\x54\x00\x00\x00\x11", 6);
	strcpy(m.port, "vl17");
	return m;
}

/* Round trips S as NEWSET and returns the parsed copy. */
static struct nftnl_set *set_round_trip(struct nftnl_set *s)
{
	struct nlmsghdr *nlh = msg(NFT_MSG_NEWSET);
	struct nftnl_set *back = nftnl_set_alloc();

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(back);
	nftnl_set_nlmsg_build_payload(nlh, s);
	ck_assert_int_eq(nftnl_set_nlmsg_parse(nlh, back), 0);
	return back;
}

/* Round trips S's elements as NEWSETELEM and returns the parsed copy. */
static struct nftnl_set *elems_round_trip(struct nftnl_set *s)
{
	struct nlmsghdr *nlh = msg(NFT_MSG_NEWSETELEM);
	struct nftnl_set *back = nftnl_set_alloc();

	ck_assert_ptr_nonnull(back);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	ck_assert_int_eq(nftnl_set_elems_nlmsg_parse(nlh, back), 0);
	return back;
}

static struct nftnl_rule *rule_round_trip(struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = msg(NFT_MSG_NEWRULE);
	struct nftnl_rule *back = nftnl_rule_alloc();

	ck_assert_ptr_nonnull(back);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ck_assert_int_eq(nftnl_rule_nlmsg_parse(nlh, back), 0);
	return back;
}

/* "payload,lookup,..." for rule R. */
static void rule_kinds(struct nftnl_rule *r, char *out, size_t len)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	ck_assert_ptr_nonnull(it);
	out[0] = '\0';
	while ((e = nftnl_expr_iter_next(it))) {
		if (out[0])
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, nftnl_expr_get_str(e, NFTNL_EXPR_NAME), len - strlen(out) - 1);
	}
	nftnl_expr_iter_destroy(it);
}

/* The Nth expression (0-based) of R, parsed back. */
static struct nftnl_expr *rule_expr(struct nftnl_rule *r, int n)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	while ((e = nftnl_expr_iter_next(it)) && n-- > 0)
		;
	nftnl_expr_iter_destroy(it);
	ck_assert_ptr_nonnull(e);
	return e;
}

/* Builds CHAIN's rules, round trips each, stores their kinds; returns the count. */
static int chain_rule_kinds(const char *chain, char kinds[][256], struct nftnl_rule **back)
{
	struct nftnl_rule *rules[NFT_BUILD_MAX_RULES];
	int n = nft_build_rules(&params, chain, rules, NFT_BUILD_MAX_RULES), i;

	ck_assert_int_ge(n, 0);
	for (i = 0; i < n; i++) {
		struct nftnl_rule *b = rule_round_trip(rules[i]);

		ck_assert_str_eq(nftnl_rule_get_str(b, NFTNL_RULE_TABLE), "vlab");
		ck_assert_str_eq(nftnl_rule_get_str(b, NFTNL_RULE_CHAIN), chain);
		rule_kinds(b, kinds[i], 256);
		if (back)
			back[i] = b;
		else
			nftnl_rule_free(b);
		nftnl_rule_free(rules[i]);
	}
	return n;
}

START_TEST(nft_table_round_trips_name_and_family)
{
	struct nftnl_table *t = nft_build_table(&params), *back = nftnl_table_alloc();
	struct nlmsghdr *nlh = msg(NFT_MSG_NEWTABLE);

	ck_assert_ptr_nonnull(t);
	nftnl_table_nlmsg_build_payload(nlh, t);
	ck_assert_int_eq(nftnl_table_nlmsg_parse(nlh, back), 0);
	ck_assert_str_eq(nftnl_table_get_str(back, NFTNL_TABLE_NAME), "vlab");
	ck_assert_uint_eq(nftnl_table_get_u32(back, NFTNL_TABLE_FAMILY), NFPROTO_IPV4);
	nftnl_table_free(t);
	nftnl_table_free(back);
}
END_TEST

START_TEST(nft_map_is_concat_to_concat_map_with_set_id)
{
	struct nftnl_set *s = nft_build_map(&params), *b = set_round_trip(s);

	ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_NAME), NFT_MAP_NAME);
	ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_TABLE), "vlab");
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_FLAGS), NFT_SET_MAP);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_TYPE), (7u << 6) | 13u);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_LEN), 8);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_DATA_TYPE), (7u << 6) | 13u);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_DATA_LEN), 8);
	ck_assert(nftnl_set_is_set(b, NFTNL_SET_ID));
	ck_assert_uint_ne(nftnl_set_get_u32(b, NFTNL_SET_ID), 0);
	ck_assert(nftnl_set_is_set(b, NFTNL_SET_USERDATA));
	nftnl_set_free(s);
	nftnl_set_free(b);
}
END_TEST


/*
 * The element keys of a NEWSETELEM message, walked with libmnl: libnftnl 1.2.4 numbers
 * the element nests 1, 2, ... when building but its parser accepts only type 1, so it
 * cannot read back a message with more than one element (the kernel does not care).
 */
static size_t msg_elem_keys(const struct nlmsghdr *nlh, uint8_t keys[][16], size_t max)
{
	const struct nlattr *list, *el, *a, *v;
	size_t n = 0;

	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, list) {
			mnl_attr_for_each_nested(a, el) {
				if (mnl_attr_get_type(a) != NFTA_SET_ELEM_KEY)
					continue;
				mnl_attr_for_each_nested(v, a) {
					ck_assert_uint_eq(mnl_attr_get_type(v), NFTA_DATA_VALUE);
					ck_assert_uint_le(mnl_attr_get_payload_len(v), 16);
					ck_assert_uint_lt(n, max);
					memset(keys[n], 0, 16);
					memcpy(keys[n], mnl_attr_get_payload(v),
					       mnl_attr_get_payload_len(v));
					n++;
				}
			}
		}
	}
	return n;
}

START_TEST(nft_publics_set_is_ipv4_addr_with_each_public)
{
	struct nftnl_set *s = nft_build_publics_set(&params), *b = set_round_trip(s);
	struct nftnl_set *e = nft_build_publics_elems(&params);
	struct nlmsghdr *nlh = msg(NFT_MSG_NEWSETELEM);
	uint8_t keys[4][16];
	const struct nlattr *attr;
	bool named = false;

	ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_NAME), NFT_PUBLICS_NAME);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_TYPE), 7);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_LEN), 4);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_FLAGS), 0);

	ck_assert_ptr_nonnull(e);
	nftnl_set_elems_nlmsg_build_payload(nlh, e);
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_LIST_SET)
			named = strcmp(mnl_attr_get_str(attr), NFT_PUBLICS_NAME) == 0;
	ck_assert(named);
	ck_assert_uint_eq(msg_elem_keys(nlh, keys, 4), 2);
	ck_assert_mem_eq(keys[0], &publics[0].s_addr, 4);
	ck_assert_mem_eq(keys[1], &publics[1].s_addr, 4);
	nftnl_set_free(s);
	nftnl_set_free(b);
	nftnl_set_free(e);
}
END_TEST

START_TEST(nft_concat_pads_ip_and_port_to_four_bytes_each)
{
	static const uint8_t want[NFT_CONCAT_LEN] = { 10, 64, 0, 2, 0x4e, 0x31, 0, 0 };
	uint8_t out[NFT_CONCAT_LEN];
	struct in_addr ip;

	memset(out, 0xff, sizeof(out));
	inet_pton(AF_INET, "10.64.0.2", &ip);
	nft_encode_concat(ip, 20017, out);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(nft_elems_map_public_endpoint_to_vm_endpoint)
{
	static const uint8_t pub[8] = { 203, 0, 113, 11, 0x4e, 0x31, 0, 0 };
	static const uint8_t vm[8] = { 10, 64, 0, 2, 0, 22, 0, 0 };
	struct mapping m = test_mapping();
	struct nftnl_set *map = nft_build_set_ref(&params, NFT_MAP_NAME);
	struct nftnl_set *mb;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;
	const void *p;
	uint32_t len = 0;

	ck_assert_int_eq(nft_build_elems(&m, map), 0);
	mb = elems_round_trip(map);
	ck_assert_str_eq(nftnl_set_get_str(mb, NFTNL_SET_NAME), NFT_MAP_NAME);
	ck_assert_str_eq(nftnl_set_get_str(mb, NFTNL_SET_TABLE), "vlab");
	it = nftnl_set_elems_iter_create(mb);
	el = nftnl_set_elems_iter_next(it);
	ck_assert_ptr_nonnull(el);
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(p, pub, 8);
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &len);
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(p, vm, 8);
	ck_assert_ptr_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);

	nftnl_set_free(map);
	nftnl_set_free(mb);
}
END_TEST

/* nft_sync flushes a set with a DELSETELEM that has no element list: an empty list
 * attribute would delete nothing instead. */
START_TEST(nft_set_ref_without_elems_builds_a_flush)
{
	struct nftnl_set *s = nft_build_set_ref(&params, NFT_MAP_NAME);
	struct nlmsghdr *nlh = msg(NFT_MSG_DELSETELEM);
	const struct nlattr *attr;
	bool has_name = false;

	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		ck_assert_uint_ne(mnl_attr_get_type(attr), NFTA_SET_ELEM_LIST_ELEMENTS);
		if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_LIST_SET)
			has_name = strcmp(mnl_attr_get_str(attr), NFT_MAP_NAME) == 0;
	}
	ck_assert(has_name);
	nftnl_set_free(s);
}
END_TEST

START_TEST(nft_chains_have_hook_priority_type_and_accept_policy)
{
	static const struct {
		const char *name, *type;
		uint32_t hook;
		int32_t prio;
	} want[] = {
		{ "prerouting", "nat", NF_INET_PRE_ROUTING, -100 },
		{ "postrouting", "nat", NF_INET_POST_ROUTING, 100 },
		{ "forward", "filter", NF_INET_FORWARD, 0 },
		{ "input", "filter", NF_INET_LOCAL_IN, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct nftnl_chain *c = nft_build_chain(&params, want[i].name);
		struct nftnl_chain *b = nftnl_chain_alloc();
		struct nlmsghdr *nlh = msg(NFT_MSG_NEWCHAIN);

		ck_assert_ptr_nonnull(c);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		ck_assert_int_eq(nftnl_chain_nlmsg_parse(nlh, b), 0);
		ck_assert_str_eq(nftnl_chain_get_str(b, NFTNL_CHAIN_NAME), want[i].name);
		ck_assert_str_eq(nftnl_chain_get_str(b, NFTNL_CHAIN_TABLE), "vlab");
		ck_assert_str_eq(nftnl_chain_get_str(b, NFTNL_CHAIN_TYPE), want[i].type);
		ck_assert_uint_eq(nftnl_chain_get_u32(b, NFTNL_CHAIN_HOOKNUM), want[i].hook);
		ck_assert_int_eq(nftnl_chain_get_s32(b, NFTNL_CHAIN_PRIO), want[i].prio);
		ck_assert_uint_eq(nftnl_chain_get_u32(b, NFTNL_CHAIN_POLICY), NF_ACCEPT);
		nftnl_chain_free(c);
		nftnl_chain_free(b);
	}
	ck_assert_ptr_null(nft_build_chain(&params, "output"));
}
END_TEST

START_TEST(nft_prerouting_dnats_through_the_map)
{
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	struct nftnl_expr *e;

	ck_assert_int_eq(chain_rule_kinds("prerouting", kinds, b), 1);
	ck_assert_str_eq(kinds[0], "payload,lookup,meta,cmp,payload,payload,lookup,nat");
	e = rule_expr(b[0], 1);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), NFT_PUBLICS_NAME);
	ck_assert(!nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG));
	e = rule_expr(b[0], 6);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), NFT_MAP_NAME);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG), NFT_REG_1);
	e = rule_expr(b[0], 7);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE), NFT_NAT_DNAT);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN), NFT_REG_1);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN), NFT_REG32_01);
	nftnl_rule_free(b[0]);
}
END_TEST

START_TEST(nft_forward_admits_only_connections_addressed_to_map_keys)
{
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	struct nftnl_expr *e;
	int i;

	/* 0-2: the sleeping VMs' rules (nft_forward_drops_and_logs_packets_of_sleeping_vms) */
	ck_assert_int_eq(chain_rule_kinds("forward", kinds, b), 7);
	ck_assert_str_eq(kinds[3], "ct,bitwise,cmp,immediate");
	ck_assert_str_eq(kinds[4], "meta,cmp,ct,bitwise,cmp,meta,cmp,ct,ct,lookup,immediate");
	ck_assert_str_eq(kinds[5], "meta,cmp,immediate");
	ck_assert_str_eq(kinds[6], "meta,cmp,immediate");
	/* the original destination (public ip . port) ... */
	e = rule_expr(b[4], 7);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY), NFT_CT_DST_IP);
	ck_assert_uint_eq(nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR), IP_CT_DIR_ORIGINAL);
	e = rule_expr(b[4], 8);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY), NFT_CT_PROTO_DST);
	/* ... must be a key of the map: a lookup without a data register */
	e = rule_expr(b[4], 9);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), NFT_MAP_NAME);
	ck_assert(!nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG));
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[5], 2), NFTNL_EXPR_IMM_VERDICT),
			  (uint32_t)NF_DROP);
	/* egress on: the bridge's own traffic may leave */
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[6], 2), NFTNL_EXPR_IMM_VERDICT),
			  (uint32_t)NF_ACCEPT);
	for (i = 0; i < 7; i++)
		nftnl_rule_free(b[i]);
}
END_TEST

/* Rule R's expressions 0..6 are `oifname BR ct direction original ct status dnat` and
 * expression 7 loads `ct reply ip saddr` (the VM) into reg 1. */
static void assert_client_to_vm(struct nftnl_rule *r)
{
	struct nftnl_expr *e;
	const uint8_t *dir;
	uint32_t len = 0;

	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(r, 0), NFTNL_EXPR_META_KEY),
			  NFT_META_OIFNAME);
	ck_assert_str_eq(nftnl_expr_get(rule_expr(r, 1), NFTNL_EXPR_CMP_DATA, &len), "labbr0");
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(r, 2), NFTNL_EXPR_CT_KEY), NFT_CT_DIRECTION);
	dir = nftnl_expr_get(rule_expr(r, 3), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(dir[0], IP_CT_DIR_ORIGINAL);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(r, 4), NFTNL_EXPR_CT_KEY), NFT_CT_STATUS);
	e = rule_expr(r, 7);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY), NFT_CT_SRC_IP);
	ck_assert_uint_eq(nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR), IP_CT_DIR_REPLY);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG), NFT_REG_1);
}

START_TEST(nft_forward_drops_and_logs_packets_of_sleeping_vms)
{
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	struct nftnl_expr *e, *limit;
	int i;

	params.log_group = 7;
	ck_assert_int_eq(chain_rule_kinds("forward", kinds, b), 7);
	/* 0: a sleeping VM's packets beyond NFT_WAKE_LOG_RATE a second: dropped, unlogged */
	ck_assert_str_eq(kinds[0], "meta,cmp,ct,cmp,ct,bitwise,cmp,ct,lookup,ct,dynset,immediate");
	assert_client_to_vm(b[0]);
	e = rule_expr(b[0], 8);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), NFT_ASLEEP_NAME);
	ck_assert(!nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG));
	e = rule_expr(b[0], 10);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_DYNSET_SET_NAME), NFT_WAKE_LIMIT_NAME);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_OP), NFT_DYNSET_OP_UPDATE);
	limit = (struct nftnl_expr *)nftnl_expr_get(e, NFTNL_EXPR_DYNSET_EXPR, NULL);
	ck_assert_ptr_nonnull(limit);
	ck_assert_str_eq(nftnl_expr_get_str(limit, NFTNL_EXPR_NAME), "limit");
	ck_assert_uint_eq(nftnl_expr_get_u64(limit, NFTNL_EXPR_LIMIT_RATE), NFT_WAKE_LOG_RATE);
	ck_assert_uint_eq(nftnl_expr_get_u64(limit, NFTNL_EXPR_LIMIT_UNIT), 1);
	ck_assert_uint_eq(nftnl_expr_get_u32(limit, NFTNL_EXPR_LIMIT_TYPE), NFT_LIMIT_PKTS);
	ck_assert_uint_eq(nftnl_expr_get_u32(limit, NFTNL_EXPR_LIMIT_FLAGS), NFT_LIMIT_F_INV);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 11), NFTNL_EXPR_IMM_VERDICT),
			  (uint32_t)NF_DROP);
	/* 1: the others: to NFLOG, sent at once, then dropped */
	ck_assert_str_eq(kinds[1], "meta,cmp,ct,cmp,ct,bitwise,cmp,ct,lookup,log,immediate");
	assert_client_to_vm(b[1]);
	ck_assert_str_eq(nftnl_expr_get_str(rule_expr(b[1], 8), NFTNL_EXPR_LOOKUP_SET),
			 NFT_ASLEEP_NAME);
	e = rule_expr(b[1], 9);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX), NFT_WAKE_PREFIX);
	ck_assert_uint_eq(nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_GROUP), 7);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_SNAPLEN), NFT_WAKE_SNAPLEN);
	ck_assert_uint_eq(nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD), 1);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[1], 10), NFTNL_EXPR_IMM_VERDICT),
			  (uint32_t)NF_DROP);
	/* 2: any other client packet refreshes its VM's activity element; no verdict */
	ck_assert_str_eq(kinds[2], "meta,cmp,ct,cmp,ct,bitwise,cmp,ct,dynset");
	assert_client_to_vm(b[2]);
	e = rule_expr(b[2], 8);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_DYNSET_SET_NAME), NFT_ACTIVE_NAME);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_OP), NFT_DYNSET_OP_UPDATE);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY), NFT_REG_1);
	ck_assert_ptr_null(nftnl_expr_get(e, NFTNL_EXPR_DYNSET_EXPR, NULL));
	for (i = 0; i < 7; i++)
		nftnl_rule_free(b[i]);
}
END_TEST

START_TEST(nft_sleep_sets_are_vm_addresses_dynamic_where_the_kernel_fills_them)
{
	static const struct {
		struct nftnl_set *(*build)(const struct nft_params *p);
		const char *name;
		uint32_t flags;
		uint64_t timeout;
	} want[] = {
		{ nft_build_asleep_set, NFT_ASLEEP_NAME, 0, 0 },
		{ nft_build_active_set, NFT_ACTIVE_NAME, NFT_SET_TIMEOUT | NFT_SET_EVAL,
		  7ull * 86400 * 1000 },
		{ nft_build_wake_limit_set, NFT_WAKE_LIMIT_NAME, NFT_SET_TIMEOUT | NFT_SET_EVAL,
		  NFT_WAKE_LIMIT_TIMEOUT_MS },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct nftnl_set *s = want[i].build(&params), *b = set_round_trip(s);

		ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_NAME), want[i].name);
		ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_TABLE), "vlab");
		ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_TYPE), 7);
		ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_LEN), 4);
		ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_FLAGS), want[i].flags);
		if (want[i].timeout)
			ck_assert_uint_eq(nftnl_set_get_u64(b, NFTNL_SET_TIMEOUT), want[i].timeout);
		else
			ck_assert(!nftnl_set_is_set(b, NFTNL_SET_TIMEOUT));
		/* an id: the forward chain's rules find them in the same batch */
		ck_assert_uint_ne(nftnl_set_get_u32(b, NFTNL_SET_ID), 0);
		nftnl_set_free(s);
		nftnl_set_free(b);
	}
}
END_TEST

START_TEST(nft_ip_elem_carries_its_expiration_only_when_given)
{
	struct nftnl_set *s = nft_build_set_ref(&params, NFT_ACTIVE_NAME), *b;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;
	struct in_addr ip;
	uint32_t len = 0;

	inet_pton(AF_INET, "10.64.0.9", &ip);
	ck_assert_int_eq(nft_build_ip_elem(s, ip, 3600000), 0);
	b = elems_round_trip(s);
	it = nftnl_set_elems_iter_create(b);
	el = nftnl_set_elems_iter_next(it);
	ck_assert_ptr_nonnull(el);
	ck_assert_mem_eq(nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len), &ip.s_addr, 4);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_EXPIRATION), 3600000);
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	nftnl_set_free(b);

	s = nft_build_set_ref(&params, NFT_ASLEEP_NAME);
	ck_assert_int_eq(nft_build_ip_elem(s, ip, 0), 0);
	b = elems_round_trip(s);
	it = nftnl_set_elems_iter_create(b);
	el = nftnl_set_elems_iter_next(it);
	ck_assert(!nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_EXPIRATION));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	nftnl_set_free(b);
}
END_TEST

struct seen_elems {
	struct nft_active_elem e[4];
	size_t n;
};

static void collect_elem(const struct nft_active_elem *e, void *arg)
{
	struct seen_elems *s = arg;

	ck_assert_uint_lt(s->n, 4);
	s->e[s->n++] = *e;
}

/* One element of a dump's reply: its key, then (when not 0) its timeout and expiration. */
static void put_elem(struct nlmsghdr *nlh, const void *key, size_t len, uint64_t timeout,
		     uint64_t expires)
{
	struct nlattr *el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	struct nlattr *k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, key);
	mnl_attr_nest_end(nlh, k);
	if (timeout)
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(timeout));
	if (expires)
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_EXPIRATION, htobe64(expires));
	mnl_attr_nest_end(nlh, el);
}

/* A dump's reply as the kernel writes it: NEWSETELEM, the elements nested in a list, each
 * with its key, and the expiration (and the timeout when it is not the set's). */
START_TEST(nft_parse_active_elems_reads_key_expiration_and_timeout)
{
	struct nlmsghdr *nlh = msg(NFT_MSG_NEWSETELEM);
	struct nlattr *list;
	struct seen_elems seen = { .n = 0 };
	uint32_t a = htonl(0x0a400002), b = htonl(0x0a400003);
	uint16_t port = htons(22);

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "vlab");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, NFT_ACTIVE_NAME);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	put_elem(nlh, &a, 4, 0, 604790000);
	put_elem(nlh, &b, 4, 3600000, 1000);
	/* skipped: a key that is not an address, and an element without an expiration */
	put_elem(nlh, &port, 2, 0, 1000);
	put_elem(nlh, &a, 4, 0, 0);
	mnl_attr_nest_end(nlh, list);

	ck_assert_uint_eq(nft_parse_active_elems(nlh, collect_elem, &seen), 2);
	ck_assert_uint_eq(seen.e[0].ip.s_addr, a);
	ck_assert_uint_eq(seen.e[0].expires_ms, 604790000);
	ck_assert_uint_eq(seen.e[0].timeout_ms, 0);
	ck_assert_uint_eq(seen.e[1].ip.s_addr, b);
	ck_assert_uint_eq(seen.e[1].expires_ms, 1000);
	ck_assert_uint_eq(seen.e[1].timeout_ms, 3600000);

	/* a message too short for its header carries nothing */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
	ck_assert_uint_eq(nft_parse_active_elems(nlh, collect_elem, &seen), 0);
}
END_TEST

START_TEST(nft_input_allows_dhcp_and_dns_then_drops)
{
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	const uint16_t *port;
	uint32_t len = 0;
	int i;

	ck_assert_int_eq(chain_rule_kinds("input", kinds, b), 5);
	ck_assert_str_eq(kinds[0], "meta,cmp,ct,bitwise,cmp,immediate");
	for (i = 1; i <= 3; i++)
		ck_assert_str_eq(kinds[i], "meta,cmp,meta,cmp,payload,cmp,immediate");
	ck_assert_str_eq(kinds[4], "meta,cmp,immediate");
	port = nftnl_expr_get(rule_expr(b[1], 5), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(ntohs(*port), 67);
	port = nftnl_expr_get(rule_expr(b[3], 5), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(ntohs(*port), 53);
	for (i = 0; i < 5; i++)
		nftnl_rule_free(b[i]);
}
END_TEST

START_TEST(nft_without_dns_omits_port_53_rules)
{
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	const uint16_t *port;
	uint32_t len = 0;
	int i;

	params.dns = false;
	ck_assert_int_eq(chain_rule_kinds("input", kinds, b), 3);
	ck_assert_str_eq(kinds[2], "meta,cmp,immediate");
	port = nftnl_expr_get(rule_expr(b[1], 5), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(ntohs(*port), 67);
	for (i = 0; i < 3; i++)
		nftnl_rule_free(b[i]);
}
END_TEST

START_TEST(nft_without_egress_omits_postrouting_and_drops_lab_traffic)
{
	const char *names[8];
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	size_t n, i;

	n = nft_build_chain_names(&params, names, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(names[1], "postrouting");

	params.egress = false;
	n = nft_build_chain_names(&params, names, 8);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++)
		ck_assert_str_ne(names[i], "postrouting");
	ck_assert_int_eq(chain_rule_kinds("postrouting", kinds, NULL), 0);
	ck_assert_int_eq(chain_rule_kinds("forward", kinds, b), 7);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[6], 2), NFTNL_EXPR_IMM_VERDICT),
			  (uint32_t)NF_DROP);
	for (i = 0; i < 7; i++)
		nftnl_rule_free(b[i]);
}
END_TEST

START_TEST(nft_masquerade_matches_subnet_like_nft)
{
	char kinds[NFT_BUILD_MAX_RULES][256];
	struct nftnl_rule *b[NFT_BUILD_MAX_RULES];
	const uint8_t *data;
	uint32_t len = 0;

	/* byte-aligned prefix: load 3 bytes, no mask */
	ck_assert_int_eq(chain_rule_kinds("postrouting", kinds, b), 1);
	ck_assert_str_eq(kinds[0], "payload,cmp,payload,cmp,meta,cmp,masq");
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 0), NFTNL_EXPR_PAYLOAD_LEN), 3);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 1), NFTNL_EXPR_CMP_OP), NFT_CMP_EQ);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 3), NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 5), NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	nftnl_rule_free(b[0]);

	/* /18: load 4 bytes and mask */
	params.prefix = 18;
	ck_assert_int_eq(chain_rule_kinds("postrouting", kinds, b), 1);
	ck_assert_str_eq(kinds[0], "payload,bitwise,cmp,payload,bitwise,cmp,meta,cmp,masq");
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 0), NFTNL_EXPR_PAYLOAD_LEN), 4);
	data = nftnl_expr_get(rule_expr(b[0], 1), NFTNL_EXPR_BITWISE_MASK, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(data[0], 0xff);
	ck_assert_uint_eq(data[1], 0xff);
	ck_assert_uint_eq(data[2], 0xc0);
	ck_assert_uint_eq(data[3], 0x00);
	nftnl_rule_free(b[0]);
}
END_TEST

START_TEST(nft_rules_refuse_bad_input)
{
	struct nftnl_rule *rules[NFT_BUILD_MAX_RULES];

	ck_assert_int_eq(nft_build_rules(&params, "forward", rules, 3), -ENOSPC);
	ck_assert_int_eq(nft_build_rules(&params, "output", rules, NFT_BUILD_MAX_RULES), -EINVAL);
	params.bridge = "a-very-long-bridge-name";
	ck_assert_int_eq(nft_build_rules(&params, "input", rules, NFT_BUILD_MAX_RULES), -EINVAL);
}
END_TEST

START_TEST(nft_set_size_leaves_room_for_growth)
{
	ck_assert_uint_eq(nft_build_set_size(0), NFT_SET_SIZE_MIN);
	ck_assert_uint_eq(nft_build_set_size(10000), NFT_SET_SIZE_MIN);
	ck_assert_uint_eq(nft_build_set_size(40000), 131072);
}
END_TEST

/* --- the bridge table ---------------------------------------------------- */

/* The keys (NFT_PORT_KEY_LEN bytes each) of a NEWSETELEM message, walked with libmnl. */
static size_t msg_port_keys(const struct nlmsghdr *nlh, uint8_t keys[][NFT_PORT_KEY_LEN],
			    size_t max)
{
	const struct nlattr *list, *el, *a, *v;
	size_t n = 0;

	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, list) {
			mnl_attr_for_each_nested(a, el) {
				if (mnl_attr_get_type(a) != NFTA_SET_ELEM_KEY)
					continue;
				mnl_attr_for_each_nested(v, a) {
					ck_assert_uint_eq(mnl_attr_get_type(v), NFTA_DATA_VALUE);
					ck_assert_uint_eq(mnl_attr_get_payload_len(v),
							  NFT_PORT_KEY_LEN);
					ck_assert_uint_lt(n, max);
					memcpy(keys[n++], mnl_attr_get_payload(v),
					       NFT_PORT_KEY_LEN);
				}
			}
		}
	}
	return n;
}

START_TEST(nft_bridge_table_has_the_ip_tables_name_in_family_bridge)
{
	struct nftnl_table *t = nft_build_bridge_table(&params), *back = nftnl_table_alloc();
	struct nlmsghdr *nlh = msg_family(NFT_MSG_NEWTABLE, NFPROTO_BRIDGE);

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), NFPROTO_BRIDGE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	ck_assert_int_eq(nftnl_table_nlmsg_parse(nlh, back), 0);
	ck_assert_str_eq(nftnl_table_get_str(back, NFTNL_TABLE_NAME), "vlab");
	ck_assert_uint_eq(nftnl_table_get_u32(back, NFTNL_TABLE_FAMILY), NFPROTO_BRIDGE);
	nftnl_table_free(t);
	nftnl_table_free(back);
}
END_TEST

START_TEST(nft_port_set_is_keyed_ifname_ether_ipv4_in_the_bridge_family)
{
	struct nftnl_set *s = nft_build_port_set(&params), *b;
	struct nftnl_set *ref = nft_build_port_set_ref(&params);
	struct nftnl_set *map = nft_build_map(&params), *pub = nft_build_publics_set(&params);

	ck_assert_ptr_nonnull(s);
	/* nft.c takes the message header's family from the set */
	ck_assert_uint_eq(nftnl_set_get_u32(s, NFTNL_SET_FAMILY), NFPROTO_BRIDGE);
	ck_assert_uint_eq(nftnl_set_get_u32(ref, NFTNL_SET_FAMILY), NFPROTO_BRIDGE);
	ck_assert(!nftnl_set_is_set(ref, NFTNL_SET_ID));
	b = set_round_trip(s);
	ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_NAME), NFT_PORTS_NAME);
	ck_assert_str_eq(nftnl_set_get_str(b, NFTNL_SET_TABLE), "vlab");
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_FLAGS), 0);
	/* nft's ids: ifname 41, ether_addr 9, ipv4_addr 7, six bits each */
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_TYPE), (41u << 12) | (9u << 6) | 7u);
	ck_assert_uint_eq(nftnl_set_get_u32(b, NFTNL_SET_KEY_LEN), 16 + 8 + 4);
	ck_assert(!nftnl_set_is_set(b, NFTNL_SET_DATA_TYPE));
	/* ids are unique within a batch, and apply_full sends all three sets */
	ck_assert_uint_ne(nftnl_set_get_u32(b, NFTNL_SET_ID), 0);
	ck_assert_uint_ne(nftnl_set_get_u32(b, NFTNL_SET_ID), nftnl_set_get_u32(map, NFTNL_SET_ID));
	ck_assert_uint_ne(nftnl_set_get_u32(b, NFTNL_SET_ID), nftnl_set_get_u32(pub, NFTNL_SET_ID));
	nftnl_set_free(s);
	nftnl_set_free(ref);
	nftnl_set_free(b);
	nftnl_set_free(map);
	nftnl_set_free(pub);
}
END_TEST

START_TEST(nft_port_key_pads_name_to_ifnamsiz_and_mac_to_eight_bytes)
{
	static const uint8_t want[NFT_PORT_KEY_LEN] = {
		'v', 'l', '1', '7', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x52, 0x54, 0, 0, 0, 0x11, 0, 0,
		10, 64, 0, 2,
	};
	struct mapping m = test_mapping();
	uint8_t out[NFT_PORT_KEY_LEN];

	memset(out, 0xff, sizeof(out));
	nft_encode_port_key(m.port, m.mac, m.ip, out);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(nft_port_elems_bind_port_to_mac_with_its_ip_and_zero_for_dhcp)
{
	struct mapping m = test_mapping();
	struct nftnl_set *s = nft_build_port_set_ref(&params);
	struct nlmsghdr *nlh = msg_family(NFT_MSG_NEWSETELEM, NFPROTO_BRIDGE);
	uint8_t keys[4][NFT_PORT_KEY_LEN], want[NFT_PORT_KEY_LEN];
	struct in_addr zero = { 0 };

	ck_assert_int_eq(nft_build_port_elems(&m, s), NFT_PORT_ELEMS);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	ck_assert_uint_eq(msg_port_keys(nlh, keys, 4), 2);
	nft_encode_port_key("vl17", m.mac, m.ip, want);
	ck_assert_mem_eq(keys[0], want, sizeof(want));
	nft_encode_port_key("vl17", m.mac, zero, want);
	ck_assert_mem_eq(keys[1], want, sizeof(want));
	nftnl_set_free(s);
}
END_TEST

START_TEST(nft_port_elems_of_a_mapping_without_port_are_none)
{
	struct mapping m = test_mapping();
	struct nftnl_set *s = nft_build_port_set_ref(&params);
	struct nlmsghdr *nlh = msg_family(NFT_MSG_NEWSETELEM, NFPROTO_BRIDGE);
	uint8_t keys[4][NFT_PORT_KEY_LEN];

	m.port[0] = '\0';
	ck_assert_int_eq(nft_build_port_elems(&m, s), 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	ck_assert_uint_eq(msg_port_keys(nlh, keys, 4), 0);
	nftnl_set_free(s);
}
END_TEST

START_TEST(nft_bridge_chain_filters_on_bridge_prerouting_at_filter_priority)
{
	struct nftnl_chain *c = nft_build_bridge_chain(&params), *b = nftnl_chain_alloc();
	struct nlmsghdr *nlh = msg_family(NFT_MSG_NEWCHAIN, NFPROTO_BRIDGE);

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), NFPROTO_BRIDGE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ck_assert_int_eq(nftnl_chain_nlmsg_parse(nlh, b), 0);
	ck_assert_str_eq(nftnl_chain_get_str(b, NFTNL_CHAIN_NAME), NFT_BRIDGE_CHAIN);
	ck_assert_str_eq(nftnl_chain_get_str(b, NFTNL_CHAIN_TABLE), "vlab");
	ck_assert_str_eq(nftnl_chain_get_str(b, NFTNL_CHAIN_TYPE), "filter");
	ck_assert_uint_eq(nftnl_chain_get_u32(b, NFTNL_CHAIN_HOOKNUM), 0); /* NF_BR_PRE_ROUTING */
	ck_assert_int_eq(nftnl_chain_get_s32(b, NFTNL_CHAIN_PRIO), -200);
	ck_assert_uint_eq(nftnl_chain_get_u32(b, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	nftnl_chain_free(c);
	nftnl_chain_free(b);
}
END_TEST

/* Expects expression N of R to be a lookup in port_addrs of NFT_REG_1, and the three
 * before it to load iifname, a MAC (BASE+MAC_OFF) and an IPv4 address (network header
 * + IP_OFF) into the registers nft uses for that concatenation. */
static void assert_port_lookup(struct nftnl_rule *r, int n, uint32_t base, uint32_t mac_off,
			       uint32_t ip_off)
{
	struct nftnl_expr *e = rule_expr(r, n - 3);

	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY), NFT_META_IIFNAME);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG), NFT_REG_1);
	e = rule_expr(r, n - 2);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), base);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), mac_off);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), 6);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_2);
	e = rule_expr(r, n - 1);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE),
			  NFT_PAYLOAD_NETWORK_HEADER);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), ip_off);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), 4);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG32_06);
	e = rule_expr(r, n);
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup");
	ck_assert_str_eq(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), NFT_PORTS_NAME);
	ck_assert_uint_eq(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
	ck_assert(!nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG));
	ck_assert(!nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) ||
		  nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) == 0);
}

static uint32_t verdict_of(struct nftnl_rule *r, int n)
{
	return nftnl_expr_get_u32(rule_expr(r, n), NFTNL_EXPR_IMM_VERDICT);
}

START_TEST(nft_bridge_rules_pass_other_ports_check_student_sources_then_drop)
{
	struct nftnl_rule *rules[NFT_BUILD_MAX_BRIDGE_RULES], *b[NFT_BUILD_MAX_BRIDGE_RULES];
	char kinds[NFT_BUILD_MAX_BRIDGE_RULES][256];
	const uint8_t *data;
	uint32_t len = 0;
	int n, i;

	n = nft_build_bridge_rules(&params, rules, NFT_BUILD_MAX_BRIDGE_RULES);
	ck_assert_int_eq(n, 5);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(nftnl_rule_get_u32(rules[i], NFTNL_RULE_FAMILY), NFPROTO_BRIDGE);
		b[i] = rule_round_trip(rules[i]);
		ck_assert_str_eq(nftnl_rule_get_str(b[i], NFTNL_RULE_TABLE), "vlab");
		ck_assert_str_eq(nftnl_rule_get_str(b[i], NFTNL_RULE_CHAIN), NFT_BRIDGE_CHAIN);
		rule_kinds(b[i], kinds[i], sizeof(kinds[i]));
		nftnl_rule_free(rules[i]);
	}

	/* 0: a port not named "vl*" is not a student's: compare the prefix only */
	ck_assert_str_eq(kinds[0], "meta,cmp,immediate");
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[0], 1), NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	data = nftnl_expr_get(rule_expr(b[0], 1), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, strlen(MAPPING_TAP_PREFIX));
	ck_assert_mem_eq(data, MAPPING_TAP_PREFIX, len);
	ck_assert_uint_eq(verdict_of(b[0], 2), (uint32_t)NF_ACCEPT);

	/* 1: DHCP from 0.0.0.0, from the port's own MAC */
	ck_assert_str_eq(kinds[1], "meta,cmp,payload,cmp,meta,cmp,payload,cmp,"
				   "meta,payload,payload,lookup,immediate");
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[1], 0), NFTNL_EXPR_META_KEY),
			  NFT_META_PROTOCOL);
	data = nftnl_expr_get(rule_expr(b[1], 7), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(data[1], 68);
	ck_assert_uint_eq(data[3], 67);
	assert_port_lookup(b[1], 11, NFT_PAYLOAD_LL_HEADER, 6, 12);
	ck_assert_uint_eq(verdict_of(b[1], 12), (uint32_t)NF_ACCEPT);

	/* 2: any other IPv4 source must be the port's MAC . IP */
	ck_assert_str_eq(kinds[2], "meta,cmp,payload,cmp,meta,payload,payload,lookup,immediate");
	ck_assert_uint_eq(nftnl_expr_get_u32(rule_expr(b[2], 3), NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	assert_port_lookup(b[2], 7, NFT_PAYLOAD_LL_HEADER, 6, 12);

	/* 3: ARP: frame source and sender MAC, with the sender IP, both the port's */
	ck_assert_str_eq(kinds[3], "payload,cmp,payload,cmp,payload,cmp,"
				   "meta,payload,payload,lookup,meta,payload,payload,lookup,immediate");
	data = nftnl_expr_get(rule_expr(b[3], 1), NFTNL_EXPR_CMP_DATA, &len);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(data[0], 0x08);
	ck_assert_uint_eq(data[1], 0x06);
	assert_port_lookup(b[3], 9, NFT_PAYLOAD_LL_HEADER, 6, 14);
	assert_port_lookup(b[3], 13, NFT_PAYLOAD_NETWORK_HEADER, 8, 14);

	/* 4: everything else from a student port */
	ck_assert_str_eq(kinds[4], "immediate");
	ck_assert_uint_eq(verdict_of(b[4], 0), (uint32_t)NF_DROP);
	for (i = 0; i < n; i++)
		nftnl_rule_free(b[i]);
	ck_assert_int_eq(nft_build_bridge_rules(&params, rules, 4), -ENOSPC);
}
END_TEST

Suite *make_nft_build_suite(void); /* called by check_all.c */

Suite *make_nft_build_suite(void)
{
	Suite *s = suite_create("nft_build");
	TCase *tc = tcase_create("builders");

	tcase_add_checked_fixture(tc, params_init, NULL);
	tcase_add_test(tc, nft_table_round_trips_name_and_family);
	tcase_add_test(tc, nft_map_is_concat_to_concat_map_with_set_id);
	tcase_add_test(tc, nft_publics_set_is_ipv4_addr_with_each_public);
	tcase_add_test(tc, nft_concat_pads_ip_and_port_to_four_bytes_each);
	tcase_add_test(tc, nft_elems_map_public_endpoint_to_vm_endpoint);
	tcase_add_test(tc, nft_set_ref_without_elems_builds_a_flush);
	tcase_add_test(tc, nft_chains_have_hook_priority_type_and_accept_policy);
	tcase_add_test(tc, nft_prerouting_dnats_through_the_map);
	tcase_add_test(tc, nft_forward_admits_only_connections_addressed_to_map_keys);
	tcase_add_test(tc, nft_forward_drops_and_logs_packets_of_sleeping_vms);
	tcase_add_test(tc, nft_sleep_sets_are_vm_addresses_dynamic_where_the_kernel_fills_them);
	tcase_add_test(tc, nft_ip_elem_carries_its_expiration_only_when_given);
	tcase_add_test(tc, nft_parse_active_elems_reads_key_expiration_and_timeout);
	tcase_add_test(tc, nft_input_allows_dhcp_and_dns_then_drops);
	tcase_add_test(tc, nft_without_dns_omits_port_53_rules);
	tcase_add_test(tc, nft_without_egress_omits_postrouting_and_drops_lab_traffic);
	tcase_add_test(tc, nft_masquerade_matches_subnet_like_nft);
	tcase_add_test(tc, nft_rules_refuse_bad_input);
	tcase_add_test(tc, nft_set_size_leaves_room_for_growth);
	tcase_add_test(tc, nft_bridge_table_has_the_ip_tables_name_in_family_bridge);
	tcase_add_test(tc, nft_port_set_is_keyed_ifname_ether_ipv4_in_the_bridge_family);
	tcase_add_test(tc, nft_port_key_pads_name_to_ifnamsiz_and_mac_to_eight_bytes);
	tcase_add_test(tc, nft_port_elems_bind_port_to_mac_with_its_ip_and_zero_for_dhcp);
	tcase_add_test(tc, nft_port_elems_of_a_mapping_without_port_are_none);
	tcase_add_test(tc, nft_bridge_chain_filters_on_bridge_prerouting_at_filter_priority);
	tcase_add_test(tc, nft_bridge_rules_pass_other_ports_check_student_sources_then_drop);
	suite_add_tcase(s, tc);
	return s;
}
