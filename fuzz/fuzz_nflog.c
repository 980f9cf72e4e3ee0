/*
 * libFuzzer target: what netd reads from NFLOG (netd/nflog_parse.c). The input is one
 * netlink read: the messages are walked as netd/nlsock.c walks them (nlsock_msg_ok),
 * each goes through
 * nflog_parse_message and, when it is a packet, its bytes through nflog_parse_tcp4, as
 * netd/sleep.c takes them. Checked beyond "no crash": a prefix and a payload lie inside
 * the message, a prefix ends with its NUL there, and parsed ports come from bytes inside
 * the payload (an IPv4 header of at least 20 bytes, then 4 bytes of ports).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/nflog_parse.h"
#include "netd/nlsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const void *p, size_t len, const struct nlmsghdr *nlh, const char *what)
{
	const char *m = (const char *)nlh, *q = p;

	if (q < m || q + len > m + nlh->nlmsg_len) {
		fprintf(stderr, "%s outside its message\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* aligned, as the kernel's messages are in netd's receive buffer */
	uint32_t *buf = malloc(size + 4);
	const struct nlmsghdr *nlh;
	int left = (int)size;

	if (!buf || size > (1u << 20))
		abort();
	memcpy(buf, data, size);
	for (nlh = (const struct nlmsghdr *)buf; nlsock_msg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left)) {
		struct nflog_packet p;
		struct nflog_tcp4 t;
		size_t hlen;

		if (nflog_parse_message(nlh, &p) <= 0)
			continue;
		if (p.prefix) {
			size_t n = strnlen(p.prefix, nlh->nlmsg_len);

			check_inside(p.prefix, n + 1, nlh, "prefix");
		}
		if (!p.payload)
			continue;
		check_inside(p.payload, p.payload_len, nlh, "payload");
		if (nflog_parse_tcp4(p.payload, p.payload_len, &t) < 0)
			continue;
		hlen = (size_t)(p.payload[0] & 0x0f) * 4;
		if ((p.payload[0] >> 4) != 4 || hlen < 20 || p.payload_len < hlen + 4) {
			fprintf(stderr, "ports read from outside the payload\n");
			abort();
		}
	}
	free(buf);
	return 0;
}
