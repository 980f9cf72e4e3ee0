/* NFLOG messages and the packet headers netd reads from them (netd/nflog_parse.h). */
#include "netd/nflog_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#define IPV4_MIN_HLEN 20
#define IPV4_OFF_FRAG 6
#define IPV4_OFF_PROTO 9
#define IPV4_OFF_SADDR 12
#define IPV4_OFF_DADDR 16
#define IPV4_FRAG_OFFSET_MASK 0x1fff

int nflog_parse_message(const struct nlmsghdr *nlh, struct nflog_packet *out)
{
	const struct nfgenmsg *g;
	const struct nlattr *a;

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return 0;
	/* The attributes are walked up to the aligned end: a length the kernel would not
	 * write (unaligned) would let the last one reach past the message. */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) || nlh->nlmsg_len != MNL_ALIGN(nlh->nlmsg_len))
		return -EINVAL;
	g = mnl_nlmsg_get_payload(nlh);
	*out = (struct nflog_packet){ .group = ntohs(g->res_id) };
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		switch (mnl_attr_get_type(a)) {
		case NFULA_PREFIX:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
				return -EINVAL;
			out->prefix = mnl_attr_get_str(a);
			break;
		case NFULA_PAYLOAD:
			out->payload = mnl_attr_get_payload(a);
			out->payload_len = mnl_attr_get_payload_len(a);
			break;
		default:
			break;
		}
	}
	return 1;
}

int nflog_parse_tcp4(const uint8_t *p, size_t len, struct nflog_tcp4 *out)
{
	size_t hlen;
	uint16_t frag, port;

	if (!p || len < IPV4_MIN_HLEN || (p[0] >> 4) != 4)
		return -EINVAL;
	hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < IPV4_MIN_HLEN || p[IPV4_OFF_PROTO] != IPPROTO_TCP)
		return -EINVAL;
	/* Only the first fragment carries the ports. */
	memcpy(&frag, p + IPV4_OFF_FRAG, 2);
	if (ntohs(frag) & IPV4_FRAG_OFFSET_MASK)
		return -EINVAL;
	if (len < hlen + 4)
		return -EINVAL;
	memcpy(&out->saddr.s_addr, p + IPV4_OFF_SADDR, 4);
	memcpy(&out->daddr.s_addr, p + IPV4_OFF_DADDR, 4);
	memcpy(&port, p + hlen, 2);
	out->sport = ntohs(port);
	memcpy(&port, p + hlen + 2, 2);
	out->dport = ntohs(port);
	return 0;
}
