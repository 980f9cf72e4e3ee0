/* labd/alloc.c: index and public endpoint allocation. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/conf.h"
#include "labd/alloc.h"

struct pub {
	const char *addr;
	uint16_t lo, hi;
};

/* A config with subnet 10.77.0.0/PREFIX, MAC prefix 52:54:00 and the given publics. */
static struct lab_conf conf_make(unsigned prefix, const struct pub *pubs, size_t n)
{
	struct lab_conf c;
	size_t i;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.0", &c.subnet), 1);
	c.prefix = prefix;
	c.mac_prefix[0] = 0x52;
	c.mac_prefix[1] = 0x54;
	c.mac_prefix[2] = 0x00;
	c.publics = calloc(n ? n : 1, sizeof(*c.publics));
	ck_assert_ptr_nonnull(c.publics);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(inet_pton(AF_INET, pubs[i].addr, &c.publics[i].addr), 1);
		c.publics[i].port_lo = pubs[i].lo;
		c.publics[i].port_hi = pubs[i].hi;
	}
	c.n_publics = n;
	return c;
}

static struct alloc_endpoint ep_make(const char *addr, uint16_t port)
{
	struct alloc_endpoint ep;

	ck_assert_int_eq(inet_pton(AF_INET, addr, &ep.addr), 1);
	ep.port = port;
	return ep;
}

/* "A.B.C.D:PORT" of a taken endpoint, for readable assertions. */
static const char *ep_str(struct alloc_endpoint ep, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ep.addr, a, sizeof(a));
	snprintf(buf, len, "%s:%u", a, ep.port);
	return buf;
}

static void ep_take_expect(struct alloc_endpoint_pool *p, const char *want)
{
	struct alloc_endpoint ep;
	char buf[64], err[256] = "";
	int r = alloc_endpoint_take(p, &ep, err, sizeof(err));

	ck_assert_msg(r == 0, "take: %d %s", r, err);
	ck_assert_str_eq(ep_str(ep, buf, sizeof(buf)), want);
}

static uint32_t idx_take(struct alloc_index *p)
{
	uint32_t i = 0;
	char err[256] = "";
	int r = alloc_index_take(p, &i, err, sizeof(err));

	ck_assert_msg(r == 0, "take: %d %s", r, err);
	return i;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ indexes */

START_TEST(alloc_index_takes_lowest_never_used)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;

	ck_assert_int_eq(alloc_index_new(&c, 0, &p), 0);
	ck_assert_uint_eq(alloc_index_capacity(p), 253);
	ck_assert_int_eq(alloc_index_hold(p, 2), 0);
	ck_assert_int_eq(alloc_index_hold(p, 4), 0);
	ck_assert_uint_eq(idx_take(p), 1);
	ck_assert_uint_eq(idx_take(p), 3);
	ck_assert_uint_eq(idx_take(p), 5);
	ck_assert_uint_eq(alloc_index_free_count(p), 253 - 5);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_same_inputs_same_results)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	uint32_t got[2][40];
	int run, i;

	for (run = 0; run < 2; run++) {
		struct alloc_index *p;

		ck_assert_int_eq(alloc_index_new(&c, 30, &p), 0);
		ck_assert_int_eq(alloc_index_hold(p, 7), 0);
		ck_assert_int_eq(alloc_index_release(p, 3, 40), 0);
		ck_assert_int_eq(alloc_index_release(p, 9, 12), 0);
		for (i = 0; i < 29; i++)   /* 30 - held 7 = 29 takes, the last two reuse */
			got[run][i] = idx_take(p);
		alloc_index_free(p);
	}
	ck_assert_mem_eq(got[0], got[1], 29 * sizeof(uint32_t));
	/* and the order is the documented one: never-used first, then 9 (seq 12), 3 (seq 40) */
	ck_assert_uint_eq(got[0][0], 1);
	ck_assert_uint_eq(got[0][1], 2);
	ck_assert_uint_eq(got[0][2], 4);
	ck_assert_uint_eq(got[0][27], 9);
	ck_assert_uint_eq(got[0][28], 3);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_exhaustion_names_capacity)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;
	char err[256] = "";
	uint32_t i, idx = 0;

	ck_assert_int_eq(alloc_index_new(&c, 0, &p), 0);
	for (i = 1; i <= 253; i++)
		ck_assert_uint_eq(idx_take(p), i);
	ck_assert_int_eq(alloc_index_take(p, &idx, err, sizeof(err)), -ENOSPC);
	ck_assert_str_eq(err, "no free student index: all 253 addresses of 10.77.0.0/24 are in use");
	ck_assert_uint_eq(alloc_index_free_count(p), 0);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_limit_caps_capacity)
{
	struct lab_conf c = conf_make(16, NULL, 0);
	struct alloc_index *p;
	char err[256] = "";
	uint32_t i, idx = 0;

	ck_assert_int_eq(alloc_index_new(&c, 10, &p), 0);
	ck_assert_uint_eq(alloc_index_capacity(p), 10);
	for (i = 0; i < 10; i++)
		idx_take(p);
	ck_assert_int_eq(alloc_index_take(p, &idx, err, sizeof(err)), -ENOSPC);
	ck_assert_msg(strstr(err, "all 10 ") && strstr(err, "10.77.0.0/16"), "%s", err);
	ck_assert_int_eq(alloc_index_hold(p, 11), -ERANGE);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_reuses_freed_longest_ago)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;
	uint32_t i;

	ck_assert_int_eq(alloc_index_new(&c, 5, &p), 0);
	for (i = 0; i < 5; i++)
		idx_take(p);
	/* A = 4 freed first, B = 2 freed second: the order of freeing, not of numbers. */
	ck_assert_int_eq(alloc_index_release(p, 4, 100), 0);
	ck_assert_int_eq(alloc_index_release(p, 2, 101), 0);
	ck_assert_uint_eq(idx_take(p), 4);
	ck_assert_uint_eq(idx_take(p), 2);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_seq_next_orders_after_loaded_rows)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;
	uint32_t i;

	ck_assert_int_eq(alloc_index_new(&c, 3, &p), 0);
	for (i = 0; i < 3; i++)
		idx_take(p);
	ck_assert_int_eq(alloc_index_release(p, 1, ALLOC_SEQ_NEXT), 0);  /* seq 1 */
	ck_assert_int_eq(alloc_index_release(p, 3, 50), 0);
	ck_assert_int_eq(alloc_index_release(p, 2, ALLOC_SEQ_NEXT), 0);  /* seq 51 */
	ck_assert_uint_eq(idx_take(p), 1);
	ck_assert_uint_eq(idx_take(p), 3);
	ck_assert_uint_eq(idx_take(p), 2);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_prefers_never_used_over_freed)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;

	ck_assert_int_eq(alloc_index_new(&c, 0, &p), 0);
	ck_assert_uint_eq(idx_take(p), 1);
	ck_assert_uint_eq(idx_take(p), 2);
	ck_assert_int_eq(alloc_index_release(p, 1, 1), 0);
	ck_assert_uint_eq(idx_take(p), 3);
	ck_assert_uint_eq(alloc_index_free_count(p), 251);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_hold_of_freed_index_takes_it_out_of_reuse)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;
	char err[128];
	uint32_t idx;

	ck_assert_int_eq(alloc_index_new(&c, 3, &p), 0);
	ck_assert_int_eq(alloc_index_release(p, 1, 5), 0);
	ck_assert_int_eq(alloc_index_release(p, 2, 6), 0);
	ck_assert_int_eq(alloc_index_hold(p, 1), 0);
	ck_assert_int_eq(alloc_index_hold(p, 3), 0);
	ck_assert_uint_eq(idx_take(p), 2);
	ck_assert_int_eq(alloc_index_take(p, &idx, err, sizeof(err)), -ENOSPC);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_addrs_follow_addr_helpers)
{
	struct lab_conf c = conf_make(24, NULL, 0);
	struct alloc_index *p;
	struct in_addr ip, ip2;
	uint8_t mac[6], mac2[6];
	char ips[INET_ADDRSTRLEN], macs[ADDR_MAC_STRLEN];
	uint32_t i;

	ck_assert_int_eq(alloc_index_new(&c, 0, &p), 0);
	for (i = 0; i < 16; i++)
		idx_take(p);
	ck_assert_uint_eq(idx_take(p), 17);
	ck_assert_int_eq(alloc_index_addrs(p, 17, &ip, mac), 0);
	inet_ntop(AF_INET, &ip, ips, sizeof(ips));
	addr_format_mac(mac, macs);
	ck_assert_str_eq(ips, "10.77.0.18");   /* net + 1 is the gateway */
	ck_assert_str_eq(macs, "52:54:00:00:00:11");
	ck_assert_int_eq(addr_ip_for_index(c.subnet, 24, 17, &ip2), 0);
	ck_assert_int_eq(addr_mac_for_index(c.mac_prefix, 17, mac2), 0);
	ck_assert_uint_eq(ip.s_addr, ip2.s_addr);
	ck_assert_mem_eq(mac, mac2, 6);
	ck_assert_int_eq(alloc_index_addrs(p, 253, &ip, NULL), 0);
	inet_ntop(AF_INET, &ip, ips, sizeof(ips));
	ck_assert_str_eq(ips, "10.77.0.254");
	ck_assert_int_eq(alloc_index_addrs(p, 0, &ip, mac), -ERANGE);
	ck_assert_int_eq(alloc_index_addrs(p, 254, &ip, mac), -ERANGE);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_index_1000_takes_are_fast)
{
	struct lab_conf c = conf_make(8, NULL, 0);   /* 16M indexes */
	struct alloc_index *p;
	double t0, dt;
	uint32_t i;

	ck_assert_int_eq(alloc_index_new(&c, 0, &p), 0);
	/* The low half used and freed: the takes must skip it without scanning per take. */
	for (i = 1; i <= 200000; i++)
		ck_assert_int_eq(alloc_index_release(p, i, i), 0);
	t0 = now_ms();
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(idx_take(p), 200001 + i);
	dt = now_ms() - t0;
	ck_assert_msg(dt < 50.0, "1000 index takes took %.1f ms", dt);
	alloc_index_free(p);
	free(c.publics);
}
END_TEST

/* ---------------------------------------------------------------- endpoints */

static const struct pub two_k[] = {
	{ "203.0.113.10", 20000, 20999 },
	{ "203.0.113.11", 20000, 20999 },
};

START_TEST(alloc_endpoint_spreads_over_addresses)
{
	struct lab_conf c = conf_make(24, two_k, 2);
	struct alloc_endpoint_pool *p;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	ck_assert_uint_eq(alloc_endpoint_capacity(p), 2000);
	ep_take_expect(p, "203.0.113.10:20000");
	ep_take_expect(p, "203.0.113.11:20000");
	ep_take_expect(p, "203.0.113.10:20001");
	ep_take_expect(p, "203.0.113.11:20001");
	ck_assert_uint_eq(alloc_endpoint_free_count(p), 1996);
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_spreads_with_uneven_ranges)
{
	static const struct pub pubs[] = {
		{ "203.0.113.10", 20000, 20001 },
		{ "203.0.113.11", 22000, 22009 },
	};
	struct lab_conf c = conf_make(24, pubs, 2);
	struct alloc_endpoint_pool *p;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	ep_take_expect(p, "203.0.113.10:20000");
	ep_take_expect(p, "203.0.113.11:22000");
	ep_take_expect(p, "203.0.113.10:20001");
	ep_take_expect(p, "203.0.113.11:22001");
	/* .10 has no never-used port left: .11 takes the rest. */
	ep_take_expect(p, "203.0.113.11:22002");
	ep_take_expect(p, "203.0.113.11:22003");
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_groups_ranges_of_one_address)
{
	/* .10 appears twice; it counts as one address, its lowest port first. */
	static const struct pub pubs[] = {
		{ "203.0.113.10", 30000, 30001 },
		{ "203.0.113.11", 20000, 20001 },
		{ "203.0.113.10", 10000, 10001 },
	};
	struct lab_conf c = conf_make(24, pubs, 3);
	struct alloc_endpoint_pool *p;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	ck_assert_uint_eq(alloc_endpoint_capacity(p), 6);
	ep_take_expect(p, "203.0.113.10:10000");
	ep_take_expect(p, "203.0.113.11:20000");
	ep_take_expect(p, "203.0.113.10:10001");
	ep_take_expect(p, "203.0.113.11:20001");
	ep_take_expect(p, "203.0.113.10:30000");
	ep_take_expect(p, "203.0.113.10:30001");
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_loaded_holds_count_for_spreading)
{
	struct lab_conf c = conf_make(24, two_k, 2);
	struct alloc_endpoint_pool *p;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	ck_assert_int_eq(alloc_endpoint_hold(p, ep_make("203.0.113.10", 20000)), 0);
	ck_assert_int_eq(alloc_endpoint_hold(p, ep_make("203.0.113.10", 20001)), 0);
	ck_assert_int_eq(alloc_endpoint_hold(p, ep_make("203.0.113.10", 20005)), 0);
	/* .10 holds 3, .11 none: .11 until they are level, then .10 first (config order). */
	ep_take_expect(p, "203.0.113.11:20000");
	ep_take_expect(p, "203.0.113.11:20001");
	ep_take_expect(p, "203.0.113.11:20002");
	ep_take_expect(p, "203.0.113.10:20002");
	ep_take_expect(p, "203.0.113.11:20003");
	/* Freed endpoints do not count as held. */
	ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.11", 20000), 1), 0);
	ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.11", 20001), 2), 0);
	ep_take_expect(p, "203.0.113.11:20004");
	ep_take_expect(p, "203.0.113.11:20005");
	ep_take_expect(p, "203.0.113.10:20003");
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_same_inputs_same_results)
{
	static const struct pub pubs[] = {
		{ "203.0.113.10", 20000, 20009 },
		{ "203.0.113.11", 21000, 21004 },
	};
	struct lab_conf c = conf_make(24, pubs, 2);
	struct alloc_endpoint got[2][12];
	int run, i;

	for (run = 0; run < 2; run++) {
		struct alloc_endpoint_pool *p;
		char err[256];

		ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
		ck_assert_int_eq(alloc_endpoint_hold(p, ep_make("203.0.113.11", 21002)), 0);
		ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.10", 20003), 8), 0);
		for (i = 0; i < 12; i++)
			ck_assert_int_eq(alloc_endpoint_take(p, &got[run][i], err, sizeof(err)), 0);
		alloc_endpoint_pool_free(p);
	}
	for (i = 0; i < 12; i++) {
		ck_assert_uint_eq(got[0][i].addr.s_addr, got[1][i].addr.s_addr);
		ck_assert_uint_eq(got[0][i].port, got[1][i].port);
	}
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_exhaustion_names_capacity)
{
	struct lab_conf c = conf_make(24, two_k, 2);
	struct alloc_endpoint_pool *p;
	struct alloc_endpoint ep;
	char err[512] = "";
	int i;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	for (i = 0; i < 2000; i++)
		ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, sizeof(err)), 0);
	ck_assert_uint_eq(alloc_endpoint_free_count(p), 0);
	ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, sizeof(err)), -ENOSPC);
	ck_assert_str_eq(err, "no free public endpoint: all 2000 endpoints (203.0.113.10 ports "
			 "20000-20999, 203.0.113.11 ports 20000-20999) are in use");
	/* A short buffer truncates, never overruns. */
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, 20), -ENOSPC);
	ck_assert_uint_eq(strlen(err), 19);
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_reuses_freed_longest_ago)
{
	static const struct pub pubs[] = {
		{ "203.0.113.10", 20000, 20001 },
		{ "203.0.113.11", 20000, 20001 },
	};
	struct lab_conf c = conf_make(24, pubs, 2);
	struct alloc_endpoint_pool *p;
	struct alloc_endpoint ep;
	char err[256];
	int i;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, sizeof(err)), 0);
	/* A freed first, then B; B's address now holds fewer, but age decides reuse. */
	ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.10", 20001), 7), 0);
	ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.11", 20000), 9), 0);
	ck_assert_uint_eq(alloc_endpoint_free_count(p), 2);
	ep_take_expect(p, "203.0.113.10:20001");
	ep_take_expect(p, "203.0.113.11:20000");
	ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, sizeof(err)), -ENOSPC);
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_prefers_never_used_over_freed)
{
	struct lab_conf c = conf_make(24, two_k, 2);
	struct alloc_endpoint_pool *p;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	ep_take_expect(p, "203.0.113.10:20000");
	ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.10", 20000), 1), 0);
	ep_take_expect(p, "203.0.113.10:20001");
	ep_take_expect(p, "203.0.113.11:20000");
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_refuses_overlapping_ranges)
{
	static const struct pub pubs[] = {
		{ "203.0.113.10", 20000, 20999 },
		{ "203.0.113.11", 20500, 20600 },   /* other address: fine */
		{ "203.0.113.10", 20999, 21999 },   /* overlaps the first at 20999 */
	};
	struct lab_conf c = conf_make(24, pubs, 3);
	struct alloc_endpoint_pool *p = (void *)1;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), -EINVAL);
	ck_assert_ptr_null(p);
	c.n_publics = 2;
	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_outside_ranges_is_enoent)
{
	struct lab_conf c = conf_make(24, two_k, 2);
	struct alloc_endpoint_pool *p;

	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	ck_assert_int_eq(alloc_endpoint_hold(p, ep_make("203.0.113.10", 21000)), -ENOENT);
	ck_assert_int_eq(alloc_endpoint_hold(p, ep_make("203.0.113.12", 20000)), -ENOENT);
	ck_assert_int_eq(alloc_endpoint_release(p, ep_make("203.0.113.10", 19999), 1), -ENOENT);
	ck_assert_uint_eq(alloc_endpoint_free_count(p), 2000);
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

START_TEST(alloc_check_batch_refuses_what_does_not_fit)
{
	static const struct pub pubs[] = { { "203.0.113.10", 20000, 20009 } };
	struct lab_conf c = conf_make(24, pubs, 1);
	struct alloc_endpoint_pool *ep;
	struct alloc_index *ip;
	char err[256] = "";

	ck_assert_int_eq(alloc_endpoint_new(&c, &ep), 0);
	ck_assert_int_eq(alloc_index_new(&c, 0, &ip), 0);
	ck_assert_int_eq(alloc_check_batch(ip, ep, 10, err, sizeof(err)), 0);
	ck_assert_int_eq(alloc_check_batch(ip, ep, 12, err, sizeof(err)), -ENOSPC);
	ck_assert_str_eq(err, "too many students: 12 requested, 10 endpoints free");
	alloc_index_free(ip);

	/* The index pool is the tighter one. */
	ck_assert_int_eq(alloc_index_new(&c, 4, &ip), 0);
	idx_take(ip);
	ck_assert_int_eq(alloc_check_batch(ip, ep, 5, err, sizeof(err)), -ENOSPC);
	ck_assert_str_eq(err, "too many students: 5 requested, 3 student indexes free");
	ck_assert_int_eq(alloc_check_batch(ip, ep, 3, err, sizeof(err)), 0);
	alloc_index_free(ip);
	alloc_endpoint_pool_free(ep);
	free(c.publics);
}
END_TEST

START_TEST(alloc_endpoint_1000_takes_are_fast)
{
	static const struct pub pubs[] = {
		{ "203.0.113.10", 1, 65535 },
		{ "203.0.113.11", 1, 65535 },
		{ "203.0.113.12", 1, 65535 },
		{ "203.0.113.13", 1, 65535 },
	};
	struct lab_conf c = conf_make(24, pubs, 4);
	struct alloc_endpoint_pool *p;
	struct alloc_endpoint ep;
	char err[256];
	double t0, dt, worst = 0;
	uint32_t i;
	int a;

	/* Fresh pool, the never-used path. */
	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	t0 = now_ms();
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, sizeof(err)), 0);
	dt = now_ms() - t0;
	worst = dt;
	alloc_endpoint_pool_free(p);

	/* Every port used once and freed (262k rows loaded), the reuse path. */
	ck_assert_int_eq(alloc_endpoint_new(&c, &p), 0);
	for (a = 0; a < 4; a++)
		for (i = 1; i <= 65535; i++)
			ck_assert_int_eq(alloc_endpoint_release(p, ep_make(pubs[a].addr, (uint16_t)i),
								(int64_t)i * 4 + a), 0);
	t0 = now_ms();
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(alloc_endpoint_take(p, &ep, err, sizeof(err)), 0);
	dt = now_ms() - t0;
	if (dt > worst)
		worst = dt;
	/* The oldest freed was .10:1 (seq 4), so the 1000th is .13:250. */
	ck_assert_str_eq(ep_str(ep, err, sizeof(err)), "203.0.113.13:250");
	ck_assert_msg(worst < 50.0, "1000 endpoint takes took %.1f ms", worst);
	alloc_endpoint_pool_free(p);
	free(c.publics);
}
END_TEST

Suite *make_alloc_suite(void);
Suite *make_alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("index");

	tcase_add_test(tc, alloc_index_takes_lowest_never_used);
	tcase_add_test(tc, alloc_index_same_inputs_same_results);
	tcase_add_test(tc, alloc_index_exhaustion_names_capacity);
	tcase_add_test(tc, alloc_index_limit_caps_capacity);
	tcase_add_test(tc, alloc_index_reuses_freed_longest_ago);
	tcase_add_test(tc, alloc_index_seq_next_orders_after_loaded_rows);
	tcase_add_test(tc, alloc_index_prefers_never_used_over_freed);
	tcase_add_test(tc, alloc_index_hold_of_freed_index_takes_it_out_of_reuse);
	tcase_add_test(tc, alloc_index_addrs_follow_addr_helpers);
	tcase_add_test(tc, alloc_index_1000_takes_are_fast);
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoint");
	tcase_add_test(tc, alloc_endpoint_spreads_over_addresses);
	tcase_add_test(tc, alloc_endpoint_spreads_with_uneven_ranges);
	tcase_add_test(tc, alloc_endpoint_groups_ranges_of_one_address);
	tcase_add_test(tc, alloc_endpoint_loaded_holds_count_for_spreading);
	tcase_add_test(tc, alloc_endpoint_same_inputs_same_results);
	tcase_add_test(tc, alloc_endpoint_exhaustion_names_capacity);
	tcase_add_test(tc, alloc_endpoint_reuses_freed_longest_ago);
	tcase_add_test(tc, alloc_endpoint_prefers_never_used_over_freed);
	tcase_add_test(tc, alloc_endpoint_refuses_overlapping_ranges);
	tcase_add_test(tc, alloc_endpoint_outside_ranges_is_enoent);
	tcase_add_test(tc, alloc_check_batch_refuses_what_does_not_fit);
	tcase_add_test(tc, alloc_endpoint_1000_takes_are_fast);
	suite_add_tcase(s, tc);
	return s;
}
