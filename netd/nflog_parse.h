/*
 * The messages netd reads from NFLOG (nfnetlink_log): a logged packet's group, prefix and
 * bytes, and the addresses and ports of an IPv4 TCP packet. Pure: no socket; the unit
 * tests build messages with libmnl and parse them back.
 */
#ifndef VLAB_NETD_NFLOG_PARSE_H
#define VLAB_NETD_NFLOG_PARSE_H

#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct nflog_packet {
	uint16_t group;
	const char *prefix;          /* NULL: none; points into the message */
	const uint8_t *payload;      /* from the network header on; NULL: none */
	size_t payload_len;
};

/* NLH parsed: 1 and OUT filled if it is an NFLOG packet message, 0 if it is another
 * message, -EINVAL if it is a packet message that is malformed (shorter than its header,
 * a length not 4-byte aligned, a prefix without its NUL). */
int nflog_parse_message(const struct nlmsghdr *nlh, struct nflog_packet *out);

struct nflog_tcp4 {
	struct in_addr saddr, daddr;
	uint16_t sport, dport;       /* host order */
};

/* The addresses and ports of the IPv4 TCP packet P (LEN bytes from its IP header on):
 * 0, or -EINVAL when it is not IPv4, not TCP, a fragment after the first, or cut short
 * before the ports. */
int nflog_parse_tcp4(const uint8_t *p, size_t len, struct nflog_tcp4 *out);

#endif
