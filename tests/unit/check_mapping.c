/* common/mapping.c: JSON <-> struct mapping, and the check against the lab config. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/mapping.h"
#include "tests/unit/testlab.h"

#define GOOD "{\"student\":\"alice\",\"mac\":\"52:54:00:00:00:05\",\"ip\":\"10.77.0.6\"," \
	     "\"vm_port\":22,\"public_ip\":\"203.0.113.10\",\"public_port\":20005}"

static struct conf_public test_publics[2];
static struct lab_conf test_conf;

/* The lab the tests check against, built by hand: 10.77.0.0/24, two publics. */
static void setup_conf(void)
{
	testlab_fill(&test_conf, test_publics, "10.77.0.0", 24);
}

/* Parses GOOD with FIELD replaced by VALUE (raw JSON), or removed when VALUE is NULL. */
static int from_good_with(const char *field, const char *value, struct mapping *m,
			  struct proto_error *e)
{
	json_object *o = json_tokener_parse(GOOD);
	int r;

	ck_assert_ptr_nonnull(o);
	if (value == NULL)
		json_object_object_del(o, field);
	else
		json_object_object_add(o, field, json_tokener_parse(value));
	memset(e, 0, sizeof(*e));
	r = mapping_from_json(o, m, e);
	json_object_put(o);
	return r;
}

static void good_mapping(struct mapping *m)
{
	struct proto_error e;

	ck_assert_int_eq(from_good_with("student", "\"alice\"", m, &e), 0);
}

START_TEST(mapping_parses_valid_json)
{
	struct mapping m;
	char ip[INET_ADDRSTRLEN];

	good_mapping(&m);
	ck_assert_str_eq(m.student, "alice");
	ck_assert_int_eq(m.mac[0], 0x52);
	ck_assert_int_eq(m.mac[5], 0x05);
	ck_assert_str_eq(inet_ntop(AF_INET, &m.ip, ip, sizeof(ip)), "10.77.0.6");
	ck_assert_int_eq(m.vm_port, 22);
	ck_assert_str_eq(inet_ntop(AF_INET, &m.public_ip, ip, sizeof(ip)), "203.0.113.10");
	ck_assert_int_eq(m.public_port, 20005);
}
END_TEST

START_TEST(mapping_roundtrip_json)
{
	struct proto_error e;
	struct mapping m, back;
	json_object *o;

	ck_assert_int_eq(from_good_with("mac", "\"52:54:00:AB:CD:EF\"", &m, &e), 0);
	o = mapping_to_json(&m);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			 "{\"student\":\"alice\",\"mac\":\"52:54:00:ab:cd:ef\",\"ip\":\"10.77.0.6\","
			 "\"vm_port\":22,\"public_ip\":\"203.0.113.10\",\"public_port\":20005}");
	ck_assert_int_eq(mapping_from_json(o, &back, &e), 0);
	ck_assert_str_eq(back.student, m.student);
	ck_assert_mem_eq(back.mac, m.mac, sizeof(m.mac));
	ck_assert_uint_eq(back.ip.s_addr, m.ip.s_addr);
	ck_assert_uint_eq(back.vm_port, m.vm_port);
	ck_assert_uint_eq(back.public_ip.s_addr, m.public_ip.s_addr);
	ck_assert_uint_eq(back.public_port, m.public_port);
	json_object_put(o);
}
END_TEST

START_TEST(mapping_port_is_optional_and_round_trips)
{
	struct proto_error e;
	struct mapping m, back;
	json_object *o;

	good_mapping(&m);
	ck_assert_str_eq(m.port, "");
	ck_assert_int_eq(from_good_with("port", "\"vl17\"", &m, &e), 0);
	ck_assert_str_eq(m.port, "vl17");
	o = mapping_to_json(&m);
	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(strstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
				     ",\"port\":\"vl17\"}"));
	ck_assert_int_eq(mapping_from_json(o, &back, &e), 0);
	ck_assert_mem_eq(&back, &m, sizeof(m));
	json_object_put(o);
}
END_TEST

START_TEST(mapping_refuses_bad_port)
{
	static const char *const bad[] = {
		"\"\"", "\"eth0\"", "\"v1\"", "\"vl1234567890abcd\"", "\"vl 1\"", "\"VL1\"",
		"\"vl1;\"", "\"vl/1\"", "7", "null",
	};
	struct proto_error e;
	struct mapping m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(from_good_with("port", bad[i], &m, &e) == -EINVAL, "accepted %s",
			      bad[i]);
		ck_assert_ptr_nonnull(strstr(e.message, "'port'"));
	}
	/* 15 characters is the longest interface name */
	ck_assert_int_eq(from_good_with("port", "\"vl1234567890abc\"", &m, &e), 0);
	ck_assert_str_eq(m.port, "vl1234567890abc");
	ck_assert(mapping_port_valid("vl-a_9"));
	ck_assert(!mapping_port_valid("lv1"));
}
END_TEST

START_TEST(mapping_refuses_unknown_field)
{
	struct proto_error e;
	struct mapping m;

	ck_assert_int_eq(from_good_with("publicport", "20005", &m, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	ck_assert_ptr_nonnull(strstr(e.message, "unknown field 'publicport'"));
}
END_TEST

START_TEST(mapping_refuses_missing_field)
{
	static const char *const fields[] = {
		"student", "mac", "ip", "vm_port", "public_ip", "public_port",
	};
	struct proto_error e;
	struct mapping m;
	char want[64];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		ck_assert_int_eq(from_good_with(fields[i], NULL, &m, &e), -EINVAL);
		snprintf(want, sizeof(want), "field '%s' is missing", fields[i]);
		ck_assert_msg(strstr(e.message, want) != NULL, "%s: %s", fields[i], e.message);
	}
}
END_TEST

START_TEST(mapping_refuses_port_zero)
{
	struct proto_error e;
	struct mapping m;

	ck_assert_int_eq(from_good_with("vm_port", "0", &m, &e), -EINVAL);
	ck_assert_str_eq(e.message, "field 'vm_port': expected an integer in 1..65535, got 0");
	ck_assert_int_eq(from_good_with("public_port", "65536", &m, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	ck_assert_int_eq(from_good_with("public_port", "65535", &m, &e), 0);
}
END_TEST

START_TEST(mapping_refuses_port_as_string)
{
	struct proto_error e;
	struct mapping m;

	ck_assert_int_eq(from_good_with("vm_port", "\"22\"", &m, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "got \"22\""));
	ck_assert_int_eq(from_good_with("public_port", "20005.0", &m, &e), -EINVAL);
}
END_TEST

START_TEST(mapping_refuses_bad_student_id)
{
	struct proto_error e;
	struct mapping m;

	ck_assert_int_eq(from_good_with("student", "\"Alice\"", &m, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "'Alice'"));
	ck_assert_int_eq(from_good_with("student", "\"a;rm -rf\"", &m, &e), -EINVAL);
	ck_assert_int_eq(from_good_with("student", "\"abcdefghijabcdefghijabcdefghijabc\"", &m,
					&e), -EINVAL);            /* 33 */
	ck_assert_int_eq(from_good_with("student", "7", &m, &e), -EINVAL);
}
END_TEST

START_TEST(mapping_refuses_bad_addresses)
{
	struct proto_error e;
	struct mapping m;

	ck_assert_int_eq(from_good_with("mac", "\"52:54:00:00:00\"", &m, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "field 'mac'"));
	ck_assert_int_eq(from_good_with("ip", "\"10.77.0\"", &m, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "field 'ip'"));
	ck_assert_int_eq(from_good_with("public_ip", "\"203.0.113.300\"", &m, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "'203.0.113.300'"));
}
END_TEST

START_TEST(mapping_refuses_non_object)
{
	json_object *o = json_tokener_parse("[\"alice\"]");
	struct proto_error e;
	struct mapping m;

	ck_assert_int_eq(mapping_from_json(o, &m, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	json_object_put(o);
}
END_TEST

START_TEST(mapping_check_accepts_valid)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), 0);
	/* The second public, last port of its range, last host of the subnet. */
	inet_pton(AF_INET, "203.0.113.11", &m.public_ip);
	m.public_port = 20999;
	inet_pton(AF_INET, "10.77.0.254", &m.ip);
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), 0);
}
END_TEST

START_TEST(mapping_check_refuses_ip_outside_subnet)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	inet_pton(AF_INET, "10.0.0.1", &m.ip);
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_str_eq(e.code, PROTO_E_INVALID);
	ck_assert_str_eq(e.message, "ip 10.0.0.1 is not a VM address in the lab subnet "
			 "10.77.0.0/24");
}
END_TEST

START_TEST(mapping_check_refuses_gateway_ip)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	inet_pton(AF_INET, "10.77.0.1", &m.ip);
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "gateway"));
}
END_TEST

START_TEST(mapping_check_refuses_network_and_broadcast_ip)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	inet_pton(AF_INET, "10.77.0.0", &m.ip);
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	inet_pton(AF_INET, "10.77.0.255", &m.ip);
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "broadcast"));
}
END_TEST

START_TEST(mapping_check_refuses_multicast_mac)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	m.mac[0] = 0x53;
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "mac 53:54:00:00:00:05"));
}
END_TEST

START_TEST(mapping_check_refuses_zero_mac)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	memset(m.mac, 0, sizeof(m.mac));
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "00:00:00:00:00:00"));
}
END_TEST

START_TEST(mapping_check_refuses_port_outside_range)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	m.public_port = 21000;
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_str_eq(e.message, "public endpoint 203.0.113.10:21000 is not configured "
			 "(publics: 203.0.113.10 ports 20000-20999, 203.0.113.11 ports "
			 "20000-20999)");
	m.public_port = 19999;
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
}
END_TEST

START_TEST(mapping_check_refuses_unconfigured_public_ip)
{
	struct proto_error e;
	struct mapping m;

	good_mapping(&m);
	inet_pton(AF_INET, "203.0.113.99", &m.public_ip);
	m.public_port = 20001;
	ck_assert_int_eq(mapping_check(&m, &test_conf, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "public endpoint 203.0.113.99:20001 is not "
				     "configured (publics: 203.0.113.10 ports 20000-20999"));
}
END_TEST

START_TEST(mapping_sleep_fields_are_optional_and_round_trip)
{
	struct proto_error e;
	struct mapping m, back;
	json_object *o;

	good_mapping(&m);
	ck_assert_uint_eq(m.idle_sleep, 0);
	ck_assert(!m.asleep);
	ck_assert_int_eq(from_good_with("idle_sleep", "2700", &m, &e), 0);
	ck_assert_uint_eq(m.idle_sleep, 2700);
	m.asleep = true;
	o = mapping_to_json(&m);
	ck_assert_ptr_nonnull(json_object_object_get(o, "asleep"));
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "idle_sleep")), 2700);
	ck_assert_int_eq(mapping_from_json(o, &back, &e), 0);
	ck_assert_mem_eq(&back, &m, sizeof(m));
	json_object_put(o);
	/* the defaults are not written: a mapping without them reads as before */
	m.idle_sleep = 0;
	m.asleep = false;
	o = mapping_to_json(&m);
	ck_assert_ptr_null(json_object_object_get(o, "idle_sleep"));
	ck_assert_ptr_null(json_object_object_get(o, "asleep"));
	json_object_put(o);
	ck_assert_int_eq(from_good_with("asleep", "false", &m, &e), 0);
	ck_assert(!m.asleep);
	ck_assert_int_eq(from_good_with("idle_sleep", "604800", &m, &e), 0);
}
END_TEST

START_TEST(mapping_refuses_bad_sleep_fields)
{
	static const char *const bad[][2] = {
		{ "idle_sleep", "\"45m\"" }, { "idle_sleep", "-1" }, { "idle_sleep", "604801" },
		{ "idle_sleep", "1.5" }, { "idle_sleep", "null" }, { "asleep", "1" },
		{ "asleep", "\"true\"" }, { "asleep", "null" },
	};
	struct proto_error e;
	struct mapping m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(from_good_with(bad[i][0], bad[i][1], &m, &e), -EINVAL);
		ck_assert_str_eq(e.code, PROTO_E_INVALID);
		ck_assert_ptr_nonnull(strstr(e.message, bad[i][0]));
	}
}
END_TEST

START_TEST(mapping_wakes_up_when_new_asleep_before_or_moved)
{
	struct mapping old, m;

	good_mapping(&old);
	m = old;
	ck_assert(mapping_wakes_up(NULL, &m));
	ck_assert(!mapping_wakes_up(&old, &m));
	m.idle_sleep = 60;                       /* a new idle_sleep is no wake-up */
	ck_assert(!mapping_wakes_up(&old, &m));
	old.asleep = true;
	ck_assert(mapping_wakes_up(&old, &m));
	old.asleep = false;
	m.ip.s_addr ^= htonl(1);
	ck_assert(mapping_wakes_up(&old, &m));
	m.asleep = true;                         /* asleep never wakes up */
	ck_assert(!mapping_wakes_up(NULL, &m));
}
END_TEST

Suite *make_mapping_suite(void);

Suite *make_mapping_suite(void)
{
	Suite *s = suite_create("mapping");
	TCase *tc = tcase_create("mapping");

	tcase_add_checked_fixture(tc, setup_conf, NULL);
	tcase_add_test(tc, mapping_parses_valid_json);
	tcase_add_test(tc, mapping_roundtrip_json);
	tcase_add_test(tc, mapping_port_is_optional_and_round_trips);
	tcase_add_test(tc, mapping_refuses_bad_port);
	tcase_add_test(tc, mapping_refuses_unknown_field);
	tcase_add_test(tc, mapping_refuses_missing_field);
	tcase_add_test(tc, mapping_refuses_port_zero);
	tcase_add_test(tc, mapping_refuses_port_as_string);
	tcase_add_test(tc, mapping_refuses_bad_student_id);
	tcase_add_test(tc, mapping_refuses_bad_addresses);
	tcase_add_test(tc, mapping_refuses_non_object);
	tcase_add_test(tc, mapping_check_accepts_valid);
	tcase_add_test(tc, mapping_check_refuses_ip_outside_subnet);
	tcase_add_test(tc, mapping_check_refuses_gateway_ip);
	tcase_add_test(tc, mapping_check_refuses_network_and_broadcast_ip);
	tcase_add_test(tc, mapping_check_refuses_multicast_mac);
	tcase_add_test(tc, mapping_check_refuses_zero_mac);
	tcase_add_test(tc, mapping_check_refuses_port_outside_range);
	tcase_add_test(tc, mapping_check_refuses_unconfigured_public_ip);
	tcase_add_test(tc, mapping_sleep_fields_are_optional_and_round_trip);
	tcase_add_test(tc, mapping_refuses_bad_sleep_fields);
	tcase_add_test(tc, mapping_wakes_up_when_new_asleep_before_or_moved);
	suite_add_tcase(s, tc);
	return s;
}
