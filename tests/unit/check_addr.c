/* Address arithmetic (common/addr.c) and identifiers (common/id.c): pure functions. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

#include "common/addr.h"
#include "common/id.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad test address %s", s);
	return a;
}

static const char *str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

START_TEST(addr_parses_cidr)
{
	struct in_addr net;
	unsigned prefix;
	char b[INET_ADDRSTRLEN];

	ck_assert_int_eq(addr_parse_cidr("10.77.0.0/24", &net, &prefix), 0);
	ck_assert_str_eq(str(net, b), "10.77.0.0");
	ck_assert_uint_eq(prefix, 24);
	ck_assert_int_eq(addr_parse_cidr("192.168.0.0/16", &net, &prefix), 0);
	ck_assert_uint_eq(prefix, 16);
	ck_assert_int_eq(addr_parse_cidr("10.0.0.4/30", &net, &prefix), 0);
	ck_assert_str_eq(str(net, b), "10.0.0.4");
	ck_assert_int_eq(addr_parse_cidr("0.0.0.0/0", &net, &prefix), 0);
	ck_assert_uint_eq(prefix, 0);
	ck_assert_int_eq(addr_parse_cidr("10.0.0.1/32", &net, &prefix), 0);
	ck_assert_uint_eq(prefix, 32);
}
END_TEST

static const char *const bad_cidrs[] = {
	"10.0.0.0/33", "10.0.0.1/24", "abc", "10.0.0.0", "10.0.0.0/", "/24", "10.0.0.0/024",
	"10.0.0.0/24x", "10.0.0.0/-1", "10.0.0.0/ 24", " 10.0.0.0/24", "010.0.0.0/24",
	"10.0.0/24", "10.0.0.0/24/24", "2001:db8::/32", "",
};

START_TEST(addr_refuses_bad_cidr)
{
	struct in_addr net = { .s_addr = 0x12345678 };
	unsigned prefix = 77;

	ck_assert_msg(addr_parse_cidr(bad_cidrs[_i], &net, &prefix) == -EINVAL,
		      "'%s' accepted", bad_cidrs[_i]);
	ck_assert_uint_eq(net.s_addr, 0x12345678);
	ck_assert_uint_eq(prefix, 77);
}
END_TEST

START_TEST(addr_parse_ip_prefix_keeps_host_bits)
{
	struct in_addr a;
	unsigned prefix;
	char b[INET_ADDRSTRLEN];

	ck_assert_int_eq(addr_parse_ip_prefix("10.0.0.1/24", &a, &prefix), 0);
	ck_assert_str_eq(str(a, b), "10.0.0.1");
	ck_assert_uint_eq(prefix, 24);
	ck_assert_int_eq(addr_parse_ip_prefix("10.0.0.1/33", &a, &prefix), -EINVAL);
	ck_assert_int_eq(addr_parse_ip_prefix("10.0.0.1", &a, &prefix), -EINVAL);
}
END_TEST

START_TEST(addr_parses_ipv4)
{
	struct in_addr a;
	char b[INET_ADDRSTRLEN];

	ck_assert_int_eq(addr_parse_ipv4("203.0.113.10", &a), 0);
	ck_assert_str_eq(str(a, b), "203.0.113.10");
	ck_assert_int_eq(addr_parse_ipv4("0.0.0.0", &a), 0);
	ck_assert_int_eq(addr_parse_ipv4("255.255.255.255", &a), 0);
	ck_assert_uint_eq(a.s_addr, 0xffffffff);
	ck_assert_int_eq(addr_parse_ipv4("10.0.0.100", &a), 0);
	ck_assert_str_eq(str(a, b), "10.0.0.100");
}
END_TEST

static const char *const bad_ipv4s[] = {
	"010.0.0.1", "10.0.0.01", "10.00.0.1", "10.0.0", "10.1", "10", "10.0.0.256",
	"203.0.113.300", "10.0.0.1 ", " 10.0.0.1", "10.0.0.1x", "10.0.0.1/24", "2001:db8::1",
	"0x0a.0.0.1", "10..0.1", "10.0.0.", "", "1.2.3.4.5", "-1.0.0.0",
};

START_TEST(addr_refuses_bad_ipv4)
{
	struct in_addr a = { .s_addr = 0x12345678 };

	ck_assert_msg(addr_parse_ipv4(bad_ipv4s[_i], &a) == -EINVAL, "'%s' accepted", bad_ipv4s[_i]);
	ck_assert_uint_eq(a.s_addr, 0x12345678);
}
END_TEST

START_TEST(addr_parses_and_formats_mac)
{
	uint8_t mac[6];
	char s[ADDR_MAC_STRLEN];

	ck_assert_int_eq(addr_parse_mac("52:54:00:AB:cd:0F", mac), 0);
	ck_assert_uint_eq(mac[0], 0x52);
	ck_assert_uint_eq(mac[3], 0xab);
	ck_assert_uint_eq(mac[4], 0xcd);
	ck_assert_uint_eq(mac[5], 0x0f);
	addr_format_mac(mac, s);
	ck_assert_str_eq(s, "52:54:00:ab:cd:0f");
}
END_TEST

static const char *const bad_macs[] = {
	"52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52-54-00-ab-cd-ef", "525400abcdef",
	"52:54:00:ab:cd:e", "52:54:00:ab:cd:efg", "5:254:00:ab:cd:ef", "52:54:00:ab:cd:gg",
	" 52:54:00:ab:cd:ef", "52:54:00:ab:cd:ef ", "", "52:54:00:ab:cd:",
};

START_TEST(addr_refuses_bad_mac)
{
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };

	ck_assert_msg(addr_parse_mac(bad_macs[_i], mac) == -EINVAL, "'%s' accepted", bad_macs[_i]);
	ck_assert_uint_eq(mac[0], 1);
	ck_assert_uint_eq(mac[5], 6);
}
END_TEST

START_TEST(addr_mac_prefix_must_be_local_unicast)
{
	uint8_t p[3] = { 0 };

	ck_assert_int_eq(addr_parse_mac_prefix("52:54:00", p), 0);
	ck_assert_uint_eq(p[0], 0x52);
	ck_assert_uint_eq(p[1], 0x54);
	ck_assert_int_eq(addr_parse_mac_prefix("02:AB:cd", p), 0);
	ck_assert_uint_eq(p[1], 0xab);
	ck_assert_int_eq(addr_parse_mac_prefix("00:16:3e", p), -EINVAL);  /* universal (Xen OUI) */
	ck_assert_int_eq(addr_parse_mac_prefix("53:54:00", p), -EINVAL);  /* multicast */
	ck_assert_int_eq(addr_parse_mac_prefix("03:00:00", p), -EINVAL);  /* local multicast */
	ck_assert_int_eq(addr_parse_mac_prefix("52:54", p), -EINVAL);
	ck_assert_int_eq(addr_parse_mac_prefix("52:54:00:00", p), -EINVAL);
	ck_assert_int_eq(addr_parse_mac_prefix("52:54:0", p), -EINVAL);
	ck_assert_uint_eq(p[0], 0x02);
}
END_TEST

START_TEST(addr_netmask_and_subnet_membership)
{
	char b[INET_ADDRSTRLEN];

	ck_assert_str_eq(str(addr_netmask(24), b), "255.255.255.0");
	ck_assert_str_eq(str(addr_netmask(8), b), "255.0.0.0");
	ck_assert_str_eq(str(addr_netmask(30), b), "255.255.255.252");
	ck_assert_str_eq(str(addr_netmask(0), b), "0.0.0.0");
	ck_assert_str_eq(str(addr_netmask(32), b), "255.255.255.255");
	ck_assert(addr_in_subnet(ip("10.77.0.200"), ip("10.77.0.0"), 24));
	ck_assert(addr_in_subnet(ip("10.77.0.255"), ip("10.77.0.0"), 24));
	ck_assert(!addr_in_subnet(ip("10.77.1.0"), ip("10.77.0.0"), 24));
	ck_assert(!addr_in_subnet(ip("203.0.113.10"), ip("10.77.0.0"), 24));
	ck_assert(addr_in_subnet(ip("10.255.1.2"), ip("10.0.0.0"), 8));
}
END_TEST

START_TEST(addr_gateway_and_vm_hosts)
{
	char b[INET_ADDRSTRLEN];
	struct in_addr net = ip("10.77.0.0");

	ck_assert_str_eq(str(addr_gateway(net, 24), b), "10.77.0.1");
	ck_assert_str_eq(str(addr_gateway(ip("172.16.0.0"), 12), b), "172.16.0.1");
	ck_assert(!addr_is_vm_host(ip("10.77.0.0"), net, 24));    /* network */
	ck_assert(!addr_is_vm_host(ip("10.77.0.1"), net, 24));    /* gateway */
	ck_assert(addr_is_vm_host(ip("10.77.0.2"), net, 24));
	ck_assert(addr_is_vm_host(ip("10.77.0.254"), net, 24));
	ck_assert(!addr_is_vm_host(ip("10.77.0.255"), net, 24));  /* broadcast */
	ck_assert(!addr_is_vm_host(ip("10.77.1.2"), net, 24));    /* outside */
	ck_assert(addr_is_vm_host(ip("10.77.0.2"), net, 30));
	ck_assert(!addr_is_vm_host(ip("10.77.0.3"), net, 30));
}
END_TEST

START_TEST(addr_index_capacity_per_prefix)
{
	ck_assert_uint_eq(addr_index_capacity(24), 253);
	ck_assert_uint_eq(addr_index_capacity(30), 1);
	ck_assert_uint_eq(addr_index_capacity(16), 65533);
	ck_assert_uint_eq(addr_index_capacity(8), 16777213);
	/* A /7 has more hosts than the 24-bit MAC suffix can number. */
	ck_assert_uint_eq(addr_index_capacity(7), 0xffffff);
	ck_assert_uint_eq(addr_index_capacity(31), 0);
	ck_assert_uint_eq(addr_index_capacity(32), 0);
}
END_TEST

START_TEST(addr_ip_for_index_skips_network_and_gateway)
{
	struct in_addr out, net = ip("10.77.0.0");
	char b[INET_ADDRSTRLEN];

	ck_assert_int_eq(addr_ip_for_index(net, 24, 1, &out), 0);
	ck_assert_str_eq(str(out, b), "10.77.0.2");
	ck_assert_int_eq(addr_ip_for_index(net, 24, 253, &out), 0);
	ck_assert_str_eq(str(out, b), "10.77.0.254");
	ck_assert(addr_is_vm_host(out, net, 24));
	ck_assert_int_eq(addr_ip_for_index(net, 24, 254, &out), -ERANGE);
	ck_assert_int_eq(addr_ip_for_index(net, 24, 0, &out), -ERANGE);
	ck_assert_int_eq(addr_ip_for_index(ip("10.0.0.0"), 16, 300, &out), 0);
	ck_assert_str_eq(str(out, b), "10.0.1.45");
}
END_TEST

START_TEST(addr_mac_for_index_uses_24_bit_suffix)
{
	const uint8_t prefix[3] = { 0x52, 0x54, 0x00 };
	uint8_t mac[6];
	char s[ADDR_MAC_STRLEN];

	ck_assert_int_eq(addr_mac_for_index(prefix, 1, mac), 0);
	addr_format_mac(mac, s);
	ck_assert_str_eq(s, "52:54:00:00:00:01");
	ck_assert_int_eq(addr_mac_for_index(prefix, 0x012345, mac), 0);
	addr_format_mac(mac, s);
	ck_assert_str_eq(s, "52:54:00:01:23:45");
	ck_assert_int_eq(addr_mac_for_index(prefix, 0xffffff, mac), 0);
	addr_format_mac(mac, s);
	ck_assert_str_eq(s, "52:54:00:ff:ff:ff");
	ck_assert_int_eq(addr_mac_for_index(prefix, 0, mac), -ERANGE);
	ck_assert_int_eq(addr_mac_for_index(prefix, 0x1000000, mac), -ERANGE);
}
END_TEST

START_TEST(addr_parses_port_ranges)
{
	uint16_t lo = 0, hi = 0;

	ck_assert_int_eq(addr_parse_port_range("20000-20999", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 20000);
	ck_assert_uint_eq(hi, 20999);
	ck_assert_int_eq(addr_parse_port_range("1-65535", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 65535);
	ck_assert_int_eq(addr_parse_port_range("22-22", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 22);
	ck_assert_uint_eq(hi, 22);
	ck_assert_int_eq(addr_parse_port_range("3000-2000", &lo, &hi), -ERANGE);
	ck_assert_uint_eq(lo, 22);
}
END_TEST

static const char *const bad_ranges[] = {
	"0-100", "1-65536", "65536-65537", "abc", "100", "100-", "-100", "1-2-3", "1 -2",
	"1- 2", "+1-2", "01-2", "1-2x", "", "99999999999999999999-1",
};

START_TEST(addr_refuses_malformed_port_range)
{
	uint16_t lo = 7, hi = 7;

	ck_assert_msg(addr_parse_port_range(bad_ranges[_i], &lo, &hi) == -EINVAL, "'%s' accepted",
		      bad_ranges[_i]);
	ck_assert_uint_eq(lo, 7);
	ck_assert_uint_eq(hi, 7);
}
END_TEST

START_TEST(id_accepts_valid_ids)
{
	static const char *const ok[] = {
		"a", "0", "alice", "s1234567", "jean-luc", "ann_b", "9lives", "a-", "a_",
		"abcdefghijklmnopqrstuvwxyz012345",  /* 32 */
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(id_valid(ok[i]), "'%s' refused", ok[i]);
}
END_TEST

START_TEST(id_refuses_invalid_ids)
{
	static const char *const bad[] = {
		"", "-a", "_a", "Alice", "aB", "a/b", "/", "..", "a..", ".", "a.b", "a b", " a",
		"a ", "a\n", "a\t", "abcdefghijklmnopqrstuvwxyz0123456",  /* 33 */
		"\xc3\xa9t\xc3\xa9", "caf\xc3\xa9", "a;rm", "a$b", "a'b", "a\"b", "a\\b", "a:b",
	};
	size_t i;

	ck_assert(!id_valid(NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!id_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *make_addr_suite(void);  /* called by check_all.c */

Suite *make_addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");
	TCase *id = tcase_create("id");

	tcase_add_test(tc, addr_parses_cidr);
	tcase_add_loop_test(tc, addr_refuses_bad_cidr, 0, N(bad_cidrs));
	tcase_add_test(tc, addr_parse_ip_prefix_keeps_host_bits);
	tcase_add_test(tc, addr_parses_ipv4);
	tcase_add_loop_test(tc, addr_refuses_bad_ipv4, 0, N(bad_ipv4s));
	tcase_add_test(tc, addr_parses_and_formats_mac);
	tcase_add_loop_test(tc, addr_refuses_bad_mac, 0, N(bad_macs));
	tcase_add_test(tc, addr_mac_prefix_must_be_local_unicast);
	tcase_add_test(tc, addr_netmask_and_subnet_membership);
	tcase_add_test(tc, addr_gateway_and_vm_hosts);
	tcase_add_test(tc, addr_index_capacity_per_prefix);
	tcase_add_test(tc, addr_ip_for_index_skips_network_and_gateway);
	tcase_add_test(tc, addr_mac_for_index_uses_24_bit_suffix);
	tcase_add_test(tc, addr_parses_port_ranges);
	tcase_add_loop_test(tc, addr_refuses_malformed_port_range, 0, N(bad_ranges));
	suite_add_tcase(s, tc);

	tcase_add_test(id, id_accepts_valid_ids);
	tcase_add_test(id, id_refuses_invalid_ids);
	suite_add_tcase(s, id);
	return s;
}
