/*
 * netd/nflog_parse.c: NFLOG packet messages built with libmnl as the kernel writes them
 * (nfnetlink_log's __build_packet_message), then parsed back; and the IPv4/TCP headers
 * of a logged packet.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "netd/nflog_parse.h"

static char buf[4096];

/* An IPv4 TCP SYN 203.0.113.100:51234 -> 10.77.0.2:22 with IHL words of header. */
static size_t tcp_syn(uint8_t *p, unsigned ihl)
{
	memset(p, 0, 80);
	p[0] = (uint8_t)(0x40 | ihl);
	p[9] = IPPROTO_TCP;
	p[12] = 203; p[13] = 0; p[14] = 113; p[15] = 100;
	p[16] = 10; p[17] = 77; p[18] = 0; p[19] = 2;
	p[ihl * 4] = 51234 >> 8; p[ihl * 4 + 1] = 51234 & 0xff;
	p[ihl * 4 + 2] = 0; p[ihl * 4 + 3] = 22;
	p[ihl * 4 + 13] = 0x02;                 /* SYN */
	return ihl * 4 + 20;
}

static struct nlmsghdr *packet_msg(uint16_t group, const char *prefix, const void *payload,
				   size_t len)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol = htons(0x0800), .hook = 2 };

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_OUTDEV, htonl(3));
	if (payload)
		mnl_attr_put(nlh, NFULA_PAYLOAD, len, payload);
	return nlh;
}

START_TEST(nflog_message_gives_group_prefix_and_payload)
{
	uint8_t pkt[80];
	size_t len = tcp_syn(pkt, 5);
	struct nflog_packet p;

	ck_assert_int_eq(nflog_parse_message(packet_msg(7, "vlab-wake", pkt, len), &p), 1);
	ck_assert_uint_eq(p.group, 7);
	ck_assert_str_eq(p.prefix, "vlab-wake");
	ck_assert_uint_eq(p.payload_len, len);
	ck_assert_mem_eq(p.payload, pkt, len);

	ck_assert_int_eq(nflog_parse_message(packet_msg(7, NULL, NULL, 0), &p), 1);
	ck_assert_ptr_null(p.prefix);
	ck_assert_ptr_null(p.payload);
}
END_TEST

START_TEST(nflog_other_messages_are_not_packets)
{
	struct nflog_packet p;
	struct nlmsghdr *nlh = packet_msg(7, "vlab-wake", NULL, 0);

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	ck_assert_int_eq(nflog_parse_message(nlh, &p), 0);
	nlh->nlmsg_type = NLMSG_ERROR;
	ck_assert_int_eq(nflog_parse_message(nlh, &p), 0);
}
END_TEST

START_TEST(nflog_malformed_packet_messages_are_refused)
{
	struct nflog_packet p;
	struct nlmsghdr *nlh;
	struct nlattr *a;

	/* no room for the nfgenmsg */
	nlh = packet_msg(7, NULL, NULL, 0);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	ck_assert_int_eq(nflog_parse_message(nlh, &p), -EINVAL);
	/* a length the kernel never writes (not 4-byte aligned) */
	nlh = packet_msg(7, "vlab-wake", NULL, 0);
	nlh->nlmsg_len -= 1;
	ck_assert_int_eq(nflog_parse_message(nlh, &p), -EINVAL);
	/* a prefix without its NUL */
	nlh = packet_msg(7, NULL, NULL, 0);
	a = (struct nlattr *)mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put(nlh, NFULA_PREFIX, 4, "vlab");
	ck_assert_uint_eq(mnl_attr_get_type(a), NFULA_PREFIX);
	ck_assert_int_eq(nflog_parse_message(nlh, &p), -EINVAL);
}
END_TEST

START_TEST(nflog_tcp4_reads_addresses_and_ports)
{
	uint8_t pkt[80];
	size_t len = tcp_syn(pkt, 5);
	struct nflog_tcp4 t;
	char a[INET_ADDRSTRLEN];

	ck_assert_int_eq(nflog_parse_tcp4(pkt, len, &t), 0);
	ck_assert_str_eq(inet_ntop(AF_INET, &t.saddr, a, sizeof(a)), "203.0.113.100");
	ck_assert_str_eq(inet_ntop(AF_INET, &t.daddr, a, sizeof(a)), "10.77.0.2");
	ck_assert_uint_eq(t.sport, 51234);
	ck_assert_uint_eq(t.dport, 22);
	/* the rule's snaplen may cut the packet right after the ports */
	ck_assert_int_eq(nflog_parse_tcp4(pkt, 24, &t), 0);
	/* IP options move the TCP header */
	len = tcp_syn(pkt, 15);
	ck_assert_int_eq(nflog_parse_tcp4(pkt, 64, &t), 0);
	ck_assert_uint_eq(t.sport, 51234);
	ck_assert_uint_eq(t.dport, 22);
	ck_assert_uint_eq(len, 80);
}
END_TEST

START_TEST(nflog_tcp4_refuses_what_is_not_the_first_bytes_of_ipv4_tcp)
{
	uint8_t pkt[80];
	struct nflog_tcp4 t;
	size_t len;

	len = tcp_syn(pkt, 5);
	ck_assert_int_eq(nflog_parse_tcp4(pkt, 23, &t), -EINVAL);      /* no room for ports */
	ck_assert_int_eq(nflog_parse_tcp4(NULL, 0, &t), -EINVAL);
	ck_assert_int_eq(nflog_parse_tcp4(pkt, 19, &t), -EINVAL);
	pkt[0] = 0x65;                                                  /* IPv6 */
	ck_assert_int_eq(nflog_parse_tcp4(pkt, len, &t), -EINVAL);
	pkt[0] = 0x44;                                                  /* IHL 4 < 5 */
	ck_assert_int_eq(nflog_parse_tcp4(pkt, len, &t), -EINVAL);
	len = tcp_syn(pkt, 5);
	pkt[9] = IPPROTO_UDP;
	ck_assert_int_eq(nflog_parse_tcp4(pkt, len, &t), -EINVAL);
	len = tcp_syn(pkt, 5);
	pkt[6] = 0x00; pkt[7] = 0xb9;                                   /* fragment offset */
	ck_assert_int_eq(nflog_parse_tcp4(pkt, len, &t), -EINVAL);
	pkt[6] = 0x20; pkt[7] = 0x00;                                   /* MF on the first */
	ck_assert_int_eq(nflog_parse_tcp4(pkt, len, &t), 0);
	len = tcp_syn(pkt, 15);
	ck_assert_int_eq(nflog_parse_tcp4(pkt, 63, &t), -EINVAL);      /* options, cut short */
}
END_TEST

Suite *make_nflog_parse_suite(void); /* called by check_all.c */

Suite *make_nflog_parse_suite(void)
{
	Suite *s = suite_create("nflog_parse");
	TCase *tc = tcase_create("nflog");

	tcase_add_test(tc, nflog_message_gives_group_prefix_and_payload);
	tcase_add_test(tc, nflog_other_messages_are_not_packets);
	tcase_add_test(tc, nflog_malformed_packet_messages_are_refused);
	tcase_add_test(tc, nflog_tcp4_reads_addresses_and_ports);
	tcase_add_test(tc, nflog_tcp4_refuses_what_is_not_the_first_bytes_of_ipv4_tcp);
	suite_add_tcase(s, tc);
	return s;
}
