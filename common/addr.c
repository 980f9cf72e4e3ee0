/* Address arithmetic. Every struct in_addr is in network byte order, as the C library has it. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool addr_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int addr_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decimal 0..MAX with no sign, no spaces and no leading zero; LEN bytes of S. */
static int addr_parse_decimal(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!addr_is_digit(s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* N groups of two hex digits separated by ':', nothing before or after. */
static int addr_parse_hex_groups(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	if (!s || strlen(s) != n * 3 - 1)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int hi = addr_hex_value(s[i * 3]);
		int lo = addr_hex_value(s[i * 3 + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i + 1 < n && s[i * 3 + 2] != ':')
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int addr_parse_ipv4(const char *s, struct in_addr *out)
{
	struct in_addr a;
	size_t i;

	if (!s || !*s || strlen(s) >= INET_ADDRSTRLEN)
		return -EINVAL;
	/*
	 * inet_pton() already refuses shorthand ("10.1") and trailing garbage; leading zeros
	 * are refused here too because other parsers read "010" as octal 8.
	 */
	for (i = 0; s[i]; i++) {
		if (!addr_is_digit(s[i]) && s[i] != '.')
			return -EINVAL;
		if (s[i] == '0' && (i == 0 || s[i - 1] == '.') && addr_is_digit(s[i + 1]))
			return -EINVAL;
	}
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = a;
	return 0;
}

int addr_parse_ip_prefix(const char *s, struct in_addr *ip, unsigned *prefix)
{
	char buf[INET_ADDRSTRLEN];
	const char *slash;
	unsigned long n;
	struct in_addr a;
	size_t len;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	len = (size_t)(slash - s);
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (addr_parse_ipv4(buf, &a) < 0)
		return -EINVAL;
	if (addr_parse_decimal(slash + 1, strlen(slash + 1), 32, &n) < 0)
		return -EINVAL;
	*ip = a;
	*prefix = (unsigned)n;
	return 0;
}

int addr_parse_cidr(const char *s, struct in_addr *net, unsigned *prefix)
{
	struct in_addr a;
	unsigned p;

	if (addr_parse_ip_prefix(s, &a, &p) < 0)
		return -EINVAL;
	if (a.s_addr & ~addr_netmask(p).s_addr)
		return -EINVAL;
	*net = a;
	*prefix = p;
	return 0;
}

int addr_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (addr_parse_hex_groups(s, m, 6) < 0)
		return -EINVAL;
	memcpy(mac, m, sizeof(m));
	return 0;
}

void addr_format_mac(const uint8_t mac[6], char out[ADDR_MAC_STRLEN])
{
	snprintf(out, ADDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int addr_parse_mac_prefix(const char *s, uint8_t out[3])
{
	uint8_t p[3];

	if (addr_parse_hex_groups(s, p, 3) < 0)
		return -EINVAL;
	/* Bit 0 of the first byte is the group (multicast) bit, bit 1 the local bit. */
	if ((p[0] & 0x01) || !(p[0] & 0x02))
		return -EINVAL;
	memcpy(out, p, sizeof(p));
	return 0;
}

struct in_addr addr_netmask(unsigned prefix)
{
	struct in_addr m;

	if (prefix == 0)
		m.s_addr = 0;
	else if (prefix >= 32)
		m.s_addr = htonl(UINT32_MAX);
	else
		m.s_addr = htonl(UINT32_MAX << (32 - prefix));
	return m;
}

bool addr_in_subnet(struct in_addr ip, struct in_addr net, unsigned prefix)
{
	uint32_t mask = addr_netmask(prefix).s_addr;

	return (ip.s_addr & mask) == (net.s_addr & mask);
}

struct in_addr addr_gateway(struct in_addr net, unsigned prefix)
{
	struct in_addr g;

	g.s_addr = htonl(ntohl(net.s_addr & addr_netmask(prefix).s_addr) + 1);
	return g;
}

bool addr_is_vm_host(struct in_addr ip, struct in_addr net, unsigned prefix)
{
	uint32_t mask = ntohl(addr_netmask(prefix).s_addr);
	uint32_t base = ntohl(net.s_addr) & mask;
	uint32_t h = ntohl(ip.s_addr);

	if (prefix > 30 || !addr_in_subnet(ip, net, prefix))
		return false;
	return h != base && h != base + 1 && h != (base | ~mask);
}

uint32_t addr_index_capacity(unsigned prefix)
{
	uint64_t hosts;

	if (prefix > 30)
		return 0;
	/* Network, gateway and broadcast are not for VMs; the MAC suffix has 24 bits. */
	hosts = (UINT64_C(1) << (32 - prefix)) - 3;
	return hosts > 0xffffff ? 0xffffff : (uint32_t)hosts;
}

int addr_ip_for_index(struct in_addr net, unsigned prefix, uint32_t index, struct in_addr *out)
{
	uint32_t base = ntohl(net.s_addr & addr_netmask(prefix).s_addr);

	if (index < 1 || index > addr_index_capacity(prefix))
		return -ERANGE;
	out->s_addr = htonl(base + 1 + index);
	return 0;
}

int addr_mac_for_index(const uint8_t prefix[3], uint32_t index, uint8_t mac[6])
{
	if (index < 1 || index > 0xffffff)
		return -ERANGE;
	memcpy(mac, prefix, 3);
	mac[3] = (uint8_t)(index >> 16);
	mac[4] = (uint8_t)(index >> 8);
	mac[5] = (uint8_t)index;
	return 0;
}

int addr_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash;
	unsigned long a, b;

	if (!s)
		return -EINVAL;
	dash = strchr(s, '-');
	if (!dash)
		return -EINVAL;
	if (addr_parse_decimal(s, (size_t)(dash - s), 65535, &a) < 0 ||
	    addr_parse_decimal(dash + 1, strlen(dash + 1), 65535, &b) < 0 || a == 0 || b == 0)
		return -EINVAL;
	if (a > b)
		return -ERANGE;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}
