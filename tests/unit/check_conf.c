/*
 * conf_load(): every test writes a small file into a fresh temporary directory and loads
 * it. Error tests pin the exact "FILE:LINE: " prefix and the words a user needs.
 * The example files are found under $VLAB_SRCDIR (default: the current directory).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"

static char tmpdir[64];
static char conf_path[PATH_MAX];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vlab-check-conf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(conf_path, sizeof(conf_path), "%s/lab.conf", tmpdir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s (run from the source tree or set VLAB_SRCDIR)", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* TEXT with every FROM replaced by TO (caller frees). */
static char *replace_all(const char *text, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = text; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(text) + n * tl + 1);
	ck_assert_ptr_nonnull(out);
	for (o = out, p = text; *p;) {
		if (!strncmp(p, from, fl)) {
			memcpy(o, to, tl);
			o += tl;
			p += fl;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static const char *srcdir(void)
{
	const char *d = getenv("VLAB_SRCDIR");

	return d && *d ? d : ".";
}

static int load_text(const char *text, struct lab_conf *c, char *err, size_t errlen)
{
	write_file(conf_path, text);
	return conf_load(conf_path, c, err, errlen);
}

static bool conf_is_zero(const struct lab_conf *c)
{
	static const struct lab_conf zero;

	return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* TEXT must fail with -EINVAL at LINE (0: no line) with WANT in the message. */
static void expect_error(const char *text, unsigned line, const char *want)
{
	struct lab_conf c;
	char err[512], prefix[PATH_MAX + 32];
	int ret;

	memset(&c, 0xa5, sizeof(c));
	ret = load_text(text, &c, err, sizeof(err));
	ck_assert_msg(ret == -EINVAL, "expected -EINVAL, got %d (%s) for:\n%s", ret, err, text);
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", conf_path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", conf_path);
	ck_assert_msg(!strncmp(err, prefix, strlen(prefix)),
		      "error '%s' does not start with '%s'", err, prefix);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' does not say '%s'", err, want);
	ck_assert_msg(conf_is_zero(&c), "conf not zeroed after an error");
}

static void expect_ok(const char *text, struct lab_conf *c)
{
	char err[512];
	int ret = load_text(text, c, err, sizeof(err));

	ck_assert_msg(ret == 0, "load failed (%d): %s\nfor:\n%s", ret, err, text);
}

static const char *ip_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* One line each, so tests can count lines. */
#define CLASS_LINE \
	"classes = ( { name = \"c1\"; base_image = \"/img/base.qcow2\"; user = \"student\"; } );\n"
#define PUBLIC_LINE \
	"  public = ( { address = \"203.0.113.10\"; ports = \"20000-20999\"; } );\n"
#define SUBNET_LINE "  subnet = \"10.77.0.0/24\";\n"

/* Three lines: network group with only the required keys. */
#define NETWORK_MIN \
	"network = {\n" SUBNET_LINE \
	"  public = ( { address = \"203.0.113.10\"; ports = \"20000-20999\"; } ); };\n"

START_TEST(conf_loads_minimal_config_with_defaults)
{
	struct lab_conf c;
	char ip[INET_ADDRSTRLEN];

	expect_ok(NETWORK_MIN CLASS_LINE, &c);
	ck_assert_str_eq(c.path, conf_path);
	ck_assert_str_eq(c.state_dir, "/var/lib/vlab");
	ck_assert_str_eq(c.run_dir, "/run/vlab");
	ck_assert_ptr_null(c.socket_group);
	ck_assert_str_eq(c.bridge, "labbr0");
	ck_assert_str_eq(ip_str(c.subnet, ip), "10.77.0.0");
	ck_assert_uint_eq(c.prefix, 24);
	ck_assert_str_eq(ip_str(c.gateway, ip), "10.77.0.1");
	ck_assert_uint_eq(c.mac_prefix[0], 0x52);
	ck_assert_uint_eq(c.mac_prefix[1], 0x54);
	ck_assert_uint_eq(c.mac_prefix[2], 0x00);
	ck_assert_str_eq(c.nft_table, "vlab");
	ck_assert(c.egress);
	ck_assert(c.dns);
	ck_assert_uint_eq(c.dhcp_lease_secs, 12 * 3600);
	ck_assert_uint_eq(c.n_publics, 1);
	ck_assert_str_eq(ip_str(c.publics[0].addr, ip), "203.0.113.10");
	ck_assert_uint_eq(c.publics[0].port_lo, 20000);
	ck_assert_uint_eq(c.publics[0].port_hi, 20999);
	ck_assert_str_eq(c.netd_socket, "/run/vlab/netd.sock");
	ck_assert_str_eq(c.dnsmasq_path, "/usr/sbin/dnsmasq");
	ck_assert_str_eq(c.labd_socket, "/run/vlab/labd.sock");
	ck_assert_str_eq(c.database, "/var/lib/vlab/lab.db");
	ck_assert_str_eq(c.libvirt_uri, "qemu:///system");
	ck_assert_str_eq(c.pool_name, "vlab");
	ck_assert_str_eq(c.pool_dir, "/var/lib/vlab/pool");
	ck_assert_str_eq(c.console_dir, "/var/lib/vlab/console");
	ck_assert_str_eq(c.domain_type, "kvm");
	ck_assert_str_eq(c.cpu_model, "host-passthrough");
	ck_assert_uint_eq(c.tb_cache_mib, 0);
	ck_assert_uint_eq(c.parallel, 4);
	ck_assert_uint_eq(c.stop_timeout, 60);
	ck_assert(c.restart_crashed);
	ck_assert_uint_eq(c.n_classes, 1);
	ck_assert_str_eq(c.classes[0].name, "c1");
	ck_assert_str_eq(c.classes[0].base_image, "/img/base.qcow2");
	ck_assert_str_eq(c.classes[0].user, "student");
	ck_assert_uint_eq(c.classes[0].vcpus, 1);
	ck_assert_uint_eq(c.classes[0].memory_mib, 1024);
	ck_assert_ptr_null(c.classes[0].kernel);
	ck_assert_ptr_null(c.classes[0].initrd);
	ck_assert_ptr_null(c.classes[0].cmdline);
	conf_free(&c);
}
END_TEST

START_TEST(conf_derives_paths_from_state_and_run_dir)
{
	struct lab_conf c;

	expect_ok("state_dir = \"/srv/lab/\";\n"
		  "run_dir = \"/tmp/r\";\n"
		  "socket_group = \"vlab\";\n"
		  NETWORK_MIN CLASS_LINE, &c);
	ck_assert_str_eq(c.state_dir, "/srv/lab");
	ck_assert_str_eq(c.socket_group, "vlab");
	ck_assert_str_eq(c.netd_socket, "/tmp/r/netd.sock");
	ck_assert_str_eq(c.labd_socket, "/tmp/r/labd.sock");
	ck_assert_str_eq(c.database, "/srv/lab/lab.db");
	ck_assert_str_eq(c.pool_dir, "/srv/lab/pool");
	ck_assert_str_eq(c.console_dir, "/srv/lab/console");
	conf_free(&c);
}
END_TEST

START_TEST(conf_loads_test_conf_from_configs)
{
	char path[PATH_MAX], dir[PATH_MAX], images[PATH_MAX], want[PATH_MAX + 64];
	char *text, *t1, *t2;
	unsigned want_prefix;
	struct lab_conf c;
	char ip[INET_ADDRSTRLEN];

	snprintf(path, sizeof(path), "%s/configs/test.conf", srcdir());
	snprintf(dir, sizeof(dir), "%s/lab", tmpdir);
	snprintf(images, sizeof(images), "%s/images", tmpdir);
	text = read_file(path);
	/* The demo's subnet size may change; compare with what the file says. */
	ck_assert_ptr_nonnull(strstr(text, "subnet = \"10.77.0.0/"));
	ck_assert_int_eq(sscanf(strstr(text, "subnet = \"10.77.0.0/"), "subnet = \"10.77.0.0/%u\"",
				&want_prefix), 1);
	/* @IMAGE_DIR@ first: it does not contain @DIR@, but keep the order obvious. */
	t1 = replace_all(text, "@IMAGE_DIR@", images);
	t2 = replace_all(t1, "@DIR@", dir);
	expect_ok(t2, &c);
	free(text);
	free(t1);
	free(t2);

	snprintf(want, sizeof(want), "%s/state", dir);
	ck_assert_str_eq(c.state_dir, want);
	snprintf(want, sizeof(want), "%s/run/netd.sock", dir);
	ck_assert_str_eq(c.netd_socket, want);
	snprintf(want, sizeof(want), "%s/state/lab.db", dir);
	ck_assert_str_eq(c.database, want);
	/* console_dir is not in test.conf: derived from state_dir. */
	snprintf(want, sizeof(want), "%s/state/console", dir);
	ck_assert_str_eq(c.console_dir, want);
	ck_assert_str_eq(c.dnsmasq_path, "/usr/sbin/dnsmasq");
	ck_assert_ptr_null(c.socket_group);
	ck_assert_str_eq(ip_str(c.subnet, ip), "10.77.0.0");
	ck_assert_uint_eq(c.prefix, want_prefix);
	ck_assert_str_eq(ip_str(c.gateway, ip), "10.77.0.1");
	ck_assert(!c.dns);
	ck_assert_uint_eq(c.n_publics, 2);
	ck_assert_str_eq(ip_str(c.publics[1].addr, ip), "203.0.113.11");
	ck_assert_uint_eq(c.publics[1].port_lo, 20000);
	ck_assert_uint_eq(c.publics[1].port_hi, 20999);
	ck_assert_str_eq(c.pool_name, "vlab-test");
	ck_assert_str_eq(c.domain_type, "qemu");
	ck_assert_str_eq(c.cpu_model, "qemu64");
	ck_assert_uint_eq(c.tb_cache_mib, 32);
	ck_assert_uint_eq(c.stop_timeout, 10);
	ck_assert_uint_eq(c.n_classes, 1);
	ck_assert_str_eq(c.classes[0].name, "test");
	ck_assert_uint_eq(c.classes[0].memory_mib, 256);
	snprintf(want, sizeof(want), "%s/vmlinuz", images);
	ck_assert_str_eq(c.classes[0].kernel, want);
	ck_assert_str_eq(c.classes[0].cmdline, "console=ttyS0 quiet no_timer_check");
	conf_free(&c);
}
END_TEST

START_TEST(conf_loads_example_lab_conf)
{
	char path[PATH_MAX], err[512];
	struct lab_conf c;
	char ip[INET_ADDRSTRLEN];
	int ret;

	snprintf(path, sizeof(path), "%s/configs/lab.conf", srcdir());
	ret = conf_load(path, &c, err, sizeof(err));
	ck_assert_msg(ret == 0, "%s: %s", path, err);
	ck_assert_str_eq(c.domain_type, "kvm");
	ck_assert_str_eq(c.cpu_model, "host-passthrough");
	ck_assert_str_eq(c.state_dir, "/var/lib/vlab");
	ck_assert_uint_eq(c.n_publics, 2);
	ck_assert_str_eq(ip_str(c.publics[0].addr, ip), "203.0.113.10");
	ck_assert_str_eq(ip_str(c.publics[1].addr, ip), "203.0.113.11");
	ck_assert_ptr_nonnull(conf_class_find(&c, "net101"));
	ck_assert_str_eq(conf_class_find(&c, "net101")->base_image,
			 "/var/lib/vlab/images/debian-12-genericcloud-amd64.qcow2");
	ck_assert_str_eq(conf_class_find(&c, "net101")->user, "student");
	ck_assert_ptr_null(conf_class_find(&c, "net102"));
	conf_free(&c);
}
END_TEST

START_TEST(conf_reports_missing_file)
{
	struct lab_conf c;
	char err[512], want[PATH_MAX + 64];

	memset(&c, 0xa5, sizeof(c));
	snprintf(conf_path, sizeof(conf_path), "%s/absent.conf", tmpdir);
	ck_assert_int_eq(conf_load(conf_path, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", conf_path);
	ck_assert_str_eq(err, want);
	ck_assert(conf_is_zero(&c));
}
END_TEST

START_TEST(conf_reports_syntax_error_with_line)
{
	expect_error("state_dir = \"/srv\";\n"
		     "network = {\n"
		     "  subnet = ;\n"
		     "};\n", 3, "syntax error");
}
END_TEST

START_TEST(conf_refuses_duplicate_setting)
{
	expect_error(NETWORK_MIN CLASS_LINE
		     "run_dir = \"/a\";\n"
		     "run_dir = \"/b\";\n", 6, "duplicate setting");
}
END_TEST

START_TEST(conf_refuses_subnet_of_wrong_type)
{
	expect_error("network = {\n"
		     "  subnet = 5;\n"
		     PUBLIC_LINE "};\n" CLASS_LINE, 2, "network.subnet: expected a string, got 5");
}
END_TEST

static const struct {
	const char *cidr;
	const char *want;
} bad_cidrs[] = {
	{ "10.0.0.0/33", "'10.0.0.0/33' is not a CIDR prefix (expected A.B.C.D/N with N in 8..30)" },
	{ "10.0.0.1/24", "'10.0.0.1/24' has host bits set (expected the network address, e.g. '10.0.0.0/24')" },
	{ "abc", "'abc' is not a CIDR prefix" },
	{ "10.0.0.0", "'10.0.0.0' is not a CIDR prefix" },
	{ "10.0.0.0/024", "is not a CIDR prefix" },
	{ "10.0.0/24", "is not a CIDR prefix" },
	{ "10.0.0.0/24 ", "is not a CIDR prefix" },
	{ "10.0.0.0/31", "prefix length /31 is out of range (expected 8..30)" },
	{ "10.0.0.0/7", "prefix length /7 is out of range" },
};

START_TEST(conf_refuses_bad_cidr)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "network = {\n"
		 "  public = ( { address = \"203.0.113.10\"; ports = \"20000-20999\"; } );\n"
		 "  subnet = \"%s\";\n"
		 "};\n" CLASS_LINE, bad_cidrs[_i].cidr);
	expect_error(text, 3, bad_cidrs[_i].want);
}
END_TEST

static const char *const bad_public_addrs[] = {
	"2001:db8::1", "203.0.113", "203.0.113.300", "203.0.113.010", "203.0.113.10 ", "",
};

START_TEST(conf_refuses_public_address_not_ipv4)
{
	char text[512], want[128];

	snprintf(text, sizeof(text),
		 "network = {\n" SUBNET_LINE
		 "  public = (\n"
		 "    { address = \"203.0.113.10\"; ports = \"20000-20999\"; },\n"
		 "    { address = \"%s\"; ports = \"20000-20999\"; }\n"
		 "  );\n"
		 "};\n" CLASS_LINE, bad_public_addrs[_i]);
	snprintf(want, sizeof(want), "network.public[1].address: '%s' is not an IPv4 address",
		 bad_public_addrs[_i]);
	expect_error(text, 5, want);
}
END_TEST

START_TEST(conf_refuses_reversed_port_range)
{
	expect_error("network = {\n" SUBNET_LINE
		     "  public = (\n"
		     "    { address = \"203.0.113.10\"; ports = \"20000-20999\"; },\n"
		     "    { address = \"203.0.113.11\";\n"
		     "      ports = \"3000-2000\"; }\n"
		     "  );\n"
		     "};\n" CLASS_LINE, 6,
		     "network.public[1].ports: '3000-2000' is reversed (first port must be <= last)");
}
END_TEST

static const char *const bad_port_ranges[] = {
	"0-100", "0", "1-65536", "65536", "abc", "20000", "20000-", "-20000", "2000-3000x",
	"+1-5", " 1-5", "1--5", "020000-20999",
};

START_TEST(conf_refuses_malformed_port_range)
{
	char text[512], want[128];

	snprintf(text, sizeof(text),
		 "network = {\n" SUBNET_LINE
		 "  public = ( { address = \"203.0.113.10\";\n"
		 "               ports = \"%s\"; } );\n"
		 "};\n" CLASS_LINE, bad_port_ranges[_i]);
	snprintf(want, sizeof(want), "network.public[0].ports: '%s' is not a port range "
		 "(expected \"LO-HI\" with 1 <= LO <= HI <= 65535)", bad_port_ranges[_i]);
	expect_error(text, 4, want);
}
END_TEST

START_TEST(conf_refuses_overlapping_ranges_for_same_address)
{
	expect_error("network = {\n" SUBNET_LINE
		     "  public = (\n"
		     "    { address = \"203.0.113.10\"; ports = \"20000-20999\"; },\n"
		     "    { address = \"203.0.113.11\"; ports = \"20000-20999\"; },\n"
		     "    { address = \"203.0.113.10\"; ports = \"20999-21999\"; }\n"
		     "  );\n"
		     "};\n" CLASS_LINE, 6,
		     "network.public[2].ports: '20999-21999' overlaps network.public[0] (20000-20999) "
		     "for the same address 203.0.113.10");
}
END_TEST

START_TEST(conf_accepts_split_ranges_and_shared_ranges)
{
	struct lab_conf c;
	struct in_addr a, b;

	/* Two addresses with the same range (the usual setup), and one address twice. */
	expect_ok("network = {\n" SUBNET_LINE
		  "  public = (\n"
		  "    { address = \"203.0.113.10\"; ports = \"20000-20999\"; },\n"
		  "    { address = \"203.0.113.11\"; ports = \"20000-20999\"; },\n"
		  "    { address = \"203.0.113.10\"; ports = \"21000-21999\"; }\n"
		  "  );\n"
		  "};\n" CLASS_LINE, &c);
	ck_assert_uint_eq(c.n_publics, 3);
	inet_pton(AF_INET, "203.0.113.10", &a);
	inet_pton(AF_INET, "203.0.113.11", &b);
	ck_assert_ptr_eq(conf_public_find(&c, a, 20000), &c.publics[0]);
	ck_assert_ptr_eq(conf_public_find(&c, a, 21999), &c.publics[2]);
	ck_assert_ptr_eq(conf_public_find(&c, b, 20999), &c.publics[1]);
	ck_assert_ptr_null(conf_public_find(&c, b, 21000));
	ck_assert_ptr_null(conf_public_find(&c, a, 19999));
	conf_free(&c);
}
END_TEST

START_TEST(conf_refuses_public_address_inside_subnet)
{
	expect_error("network = {\n" SUBNET_LINE
		     "  public = ( { address = \"10.77.0.200\"; ports = \"20000-20999\"; } );\n"
		     "};\n" CLASS_LINE, 3,
		     "network.public[0].address: '10.77.0.200' is inside the lab subnet 10.77.0.0/24");
}
END_TEST

START_TEST(conf_refuses_loopback_public_address)
{
	expect_error("network = {\n" SUBNET_LINE
		     "  public = ( { address = \"127.0.0.1\"; ports = \"20000-20999\"; } );\n"
		     "};\n" CLASS_LINE, 3, "'127.0.0.1' cannot be a public address of the host");
}
END_TEST

START_TEST(conf_refuses_unknown_top_level_key)
{
	expect_error(NETWORK_MIN CLASS_LINE "statedir = \"/srv\";\n", 5,
		     "unknown key 'statedir' at top level (expected one of: state_dir, run_dir,");
}
END_TEST

START_TEST(conf_refuses_unknown_key_in_network)
{
	/* The typo must win over the "missing subnet" it causes. */
	expect_error("network = {\n"
		     "  subnett = \"10.77.0.0/24\";\n"
		     PUBLIC_LINE "};\n" CLASS_LINE, 2, "unknown key 'subnett' in network");
}
END_TEST

START_TEST(conf_refuses_unknown_key_in_public_entry)
{
	expect_error("network = {\n" SUBNET_LINE
		     "  public = (\n"
		     "    { address = \"203.0.113.10\";\n"
		     "      port = \"20000-20999\"; }\n"
		     "  );\n"
		     "};\n" CLASS_LINE, 5, "unknown key 'port' in network.public[0] (expected one of: "
		     "address, ports)");
}
END_TEST

START_TEST(conf_refuses_unknown_key_in_class)
{
	expect_error(NETWORK_MIN
		     "classes = (\n"
		     "  { name = \"c1\"; base_image = \"/img/b.qcow2\"; user = \"student\";\n"
		     "    mem = 512; }\n"
		     ");\n", 6, "unknown key 'mem' in classes[0]");
}
END_TEST

START_TEST(conf_refuses_unknown_key_in_labd)
{
	expect_error(NETWORK_MIN CLASS_LINE
		     "labd = {\n"
		     "  parallel = 2;\n"
		     "  paralel = 2;\n"
		     "};\n", 7, "unknown key 'paralel' in labd");
}
END_TEST

START_TEST(conf_refuses_missing_subnet)
{
	expect_error(CLASS_LINE
		     "network = {\n"
		     PUBLIC_LINE
		     "};\n", 2, "missing required key 'subnet' in network");
}
END_TEST

START_TEST(conf_refuses_missing_network)
{
	expect_error(CLASS_LINE, 0, "missing required key 'network'");
}
END_TEST

START_TEST(conf_refuses_missing_or_empty_public)
{
	expect_error("network = {\n" SUBNET_LINE "};\n" CLASS_LINE, 1,
		     "missing required key 'public' in network");
	expect_error("network = {\n" SUBNET_LINE "  public = ( );\n};\n" CLASS_LINE, 3,
		     "network.public: is empty");
}
END_TEST

START_TEST(conf_refuses_public_as_group_instead_of_list)
{
	expect_error("network = {\n" SUBNET_LINE
		     "  public = { address = \"203.0.113.10\"; ports = \"20000-20999\"; };\n"
		     "};\n" CLASS_LINE, 3, "network.public: expected a list ( ... ), got a group");
}
END_TEST

START_TEST(conf_refuses_missing_or_empty_classes)
{
	expect_error(NETWORK_MIN, 0, "missing required key 'classes'");
	expect_error(NETWORK_MIN "classes = ( );\n", 4, "classes: is empty");
}
END_TEST

START_TEST(conf_refuses_class_without_user)
{
	expect_error(NETWORK_MIN
		     "classes = (\n"
		     "  { name = \"c1\"; base_image = \"/img/b.qcow2\"; }\n"
		     ");\n", 5, "missing required key 'user' in classes[0]");
}
END_TEST

START_TEST(conf_refuses_class_without_base_image)
{
	expect_error(NETWORK_MIN
		     "classes = (\n"
		     "  { name = \"c1\"; user = \"student\"; }\n"
		     ");\n", 5, "missing required key 'base_image' in classes[0]");
}
END_TEST

START_TEST(conf_refuses_duplicate_class_name)
{
	expect_error(NETWORK_MIN
		     "classes = (\n"
		     "  { name = \"net101\"; base_image = \"/img/a.qcow2\"; user = \"student\"; },\n"
		     "  { base_image = \"/img/b.qcow2\"; user = \"student\";\n"
		     "    name = \"net101\"; }\n"
		     ");\n", 7, "classes[1].name: 'net101' is already used by classes[0]");
}
END_TEST

START_TEST(conf_refuses_invalid_class_name)
{
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"Net101\"; base_image = \"/i\"; user = \"student\"; } );\n",
		     4, "classes[0].name: 'Net101' is not valid");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"../x\"; base_image = \"/i\"; user = \"student\"; } );\n",
		     4, "classes[0].name: '../x' is not valid");
}
END_TEST

START_TEST(conf_refuses_invalid_user_name)
{
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"Student\"; } );\n",
		     4, "classes[0].user: 'Student' is not valid (expected a POSIX user name");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"1st\"; } );\n",
		     4, "classes[0].user: '1st' is not valid");
}
END_TEST

START_TEST(conf_refuses_bad_domain_type)
{
	expect_error(NETWORK_MIN CLASS_LINE
		     "labd = {\n"
		     "  domain_type = \"xen\";\n"
		     "};\n", 6, "labd.domain_type: 'xen' is not valid (expected \"kvm\" or \"qemu\")");
}
END_TEST

START_TEST(conf_defaults_cpu_model_for_qemu_and_refuses_passthrough)
{
	struct lab_conf c;

	expect_ok(NETWORK_MIN CLASS_LINE "labd = { domain_type = \"qemu\"; };\n", &c);
	ck_assert_str_eq(c.cpu_model, "qemu64");
	conf_free(&c);
	expect_error(NETWORK_MIN CLASS_LINE
		     "labd = {\n"
		     "  domain_type = \"qemu\";\n"
		     "  cpu_model = \"host-passthrough\";\n"
		     "};\n", 7, "labd.cpu_model: 'host-passthrough' needs domain_type \"kvm\"");
}
END_TEST

static const struct {
	const char *prefix;
	const char *want;
} bad_mac_prefixes[] = {
	{ "00:16:3e", "'00:16:3e' is not locally administered" },
	{ "53:54:00", "'53:54:00' is a multicast prefix" },
	{ "52:54", "'52:54' is not a MAC prefix" },
	{ "52:54:0g", "'52:54:0g' is not a MAC prefix" },
	{ "52-54-00", "'52-54-00' is not a MAC prefix" },
	{ "52:54:00:01", "'52:54:00:01' is not a MAC prefix" },
};

START_TEST(conf_refuses_bad_mac_prefix)
{
	char text[512];

	snprintf(text, sizeof(text), "network = {\n" SUBNET_LINE
		 "  mac_prefix = \"%s\";\n" PUBLIC_LINE "};\n" CLASS_LINE, bad_mac_prefixes[_i].prefix);
	expect_error(text, 3, bad_mac_prefixes[_i].want);
}
END_TEST

START_TEST(conf_accepts_uppercase_mac_prefix)
{
	struct lab_conf c;

	expect_ok("network = {\n" SUBNET_LINE "  mac_prefix = \"0A:BC:De\";\n" PUBLIC_LINE "};\n"
		  CLASS_LINE, &c);
	ck_assert_uint_eq(c.mac_prefix[0], 0x0a);
	ck_assert_uint_eq(c.mac_prefix[1], 0xbc);
	ck_assert_uint_eq(c.mac_prefix[2], 0xde);
	conf_free(&c);
}
END_TEST

START_TEST(conf_refuses_relative_paths)
{
	expect_error("state_dir = \"var/lib/vlab\";\n" NETWORK_MIN CLASS_LINE, 1,
		     "state_dir: 'var/lib/vlab' is not an absolute path");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; user = \"student\";\n"
		     "              base_image = \"images/b.qcow2\"; } );\n", 5,
		     "classes[0].base_image: 'images/b.qcow2' is not an absolute path");
	expect_error(NETWORK_MIN CLASS_LINE "labd = { database = \"\"; };\n", 5,
		     "labd.database: '' is not an absolute path");
}
END_TEST

START_TEST(conf_refuses_initrd_or_cmdline_without_kernel)
{
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"student\";\n"
		     "              initrd = \"/boot/initrd.img\"; } );\n", 5,
		     "classes[0].initrd: set without kernel");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"student\";\n"
		     "              cmdline = \"console=ttyS0\"; } );\n", 5,
		     "classes[0].cmdline: set without kernel");
}
END_TEST

START_TEST(conf_refuses_integers_out_of_range)
{
	expect_error(NETWORK_MIN CLASS_LINE "labd = { parallel = 0; };\n", 5,
		     "labd.parallel: 0 is out of range (expected 1..64)");
	expect_error(NETWORK_MIN CLASS_LINE "labd = { stop_timeout = 3601; };\n", 5,
		     "labd.stop_timeout: 3601 is out of range (expected 1..3600)");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"student\"; memory = 32; } );\n",
		     4, "classes[0].memory: 32 is out of range (expected 64..1048576)");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"student\"; vcpus = 65; } );\n",
		     4, "classes[0].vcpus: 65 is out of range (expected 1..64)");
}
END_TEST

START_TEST(conf_refuses_wrong_scalar_types)
{
	expect_error("network = {\n" SUBNET_LINE "  egress = \"yes\";\n" PUBLIC_LINE "};\n" CLASS_LINE,
		     3, "network.egress: expected a boolean (true or false), got 'yes'");
	expect_error(NETWORK_MIN
		     "classes = ( { name = \"c1\"; base_image = \"/i\"; user = \"student\"; memory = \"1G\"; } );\n",
		     4, "classes[0].memory: expected an integer, got '1G'");
	expect_error(NETWORK_MIN CLASS_LINE "labd = { parallel = 2.5; };\n", 5,
		     "labd.parallel: expected an integer, got 2.5");
	expect_error(NETWORK_MIN CLASS_LINE "netd = \"/run/netd.sock\";\n", 5,
		     "netd: expected a group { ... }, got '/run/netd.sock'");
}
END_TEST

START_TEST(conf_refuses_bad_bridge_and_table_names)
{
	expect_error("network = {\n  bridge = \"lab br\";\n" SUBNET_LINE PUBLIC_LINE "};\n" CLASS_LINE,
		     2, "network.bridge: 'lab br' is not valid (expected a Linux interface name");
	expect_error("network = {\n  bridge = \"labbr0123456789ab\";\n" SUBNET_LINE PUBLIC_LINE "};\n"
		     CLASS_LINE, 2, "network.bridge: 'labbr0123456789ab' is not valid");
	expect_error("network = {\n  nft_table = \"vlab lab\";\n" SUBNET_LINE PUBLIC_LINE "};\n"
		     CLASS_LINE, 2, "network.nft_table: 'vlab lab' is not valid");
}
END_TEST

START_TEST(conf_parses_dhcp_lease)
{
	struct lab_conf c;

	expect_ok("network = {\n" SUBNET_LINE "  dhcp_lease = \"infinite\";\n" PUBLIC_LINE "};\n"
		  CLASS_LINE, &c);
	ck_assert_uint_eq(c.dhcp_lease_secs, 0);
	conf_free(&c);
	expect_ok("network = {\n" SUBNET_LINE "  dhcp_lease = \"2d\";\n" PUBLIC_LINE "};\n"
		  CLASS_LINE, &c);
	ck_assert_uint_eq(c.dhcp_lease_secs, 2 * 86400);
	conf_free(&c);
	expect_ok("network = {\n" SUBNET_LINE "  dhcp_lease = \"120s\";\n" PUBLIC_LINE "};\n"
		  CLASS_LINE, &c);
	ck_assert_uint_eq(c.dhcp_lease_secs, 120);
	conf_free(&c);
	expect_error("network = {\n" SUBNET_LINE "  dhcp_lease = \"1m\";\n" PUBLIC_LINE "};\n"
		     CLASS_LINE, 3, "network.dhcp_lease: '1m' is too short (expected at least 2m)");
	expect_error("network = {\n" SUBNET_LINE "  dhcp_lease = \"12\";\n" PUBLIC_LINE "};\n"
		     CLASS_LINE, 3, "network.dhcp_lease: '12' is not a lease time");
	expect_error("network = {\n" SUBNET_LINE "  dhcp_lease = \"h\";\n" PUBLIC_LINE "};\n"
		     CLASS_LINE, 3, "network.dhcp_lease: 'h' is not a lease time");
}
END_TEST

#define CLASS_WITH(x) \
	"classes = ( { name = \"c1\"; base_image = \"/img/base.qcow2\"; user = \"student\"; " x " } );\n"

START_TEST(conf_parses_idle_sleep_as_a_duration)
{
	static const struct {
		const char *value;
		unsigned secs;
	} ok[] = {
		{ "\"45m\"", 2700 }, { "\"20s\"", 20 }, { "\"1h\"", 3600 }, { "\"7d\"", 604800 },
		{ "\"0\"", 0 }, { "\"0m\"", 0 },
	};
	struct lab_conf c;
	char text[512];
	size_t i;

	expect_ok(NETWORK_MIN CLASS_LINE, &c);
	ck_assert_uint_eq(c.classes[0].idle_sleep_secs, 0);
	ck_assert_uint_eq(c.max_running_mib, 0);
	ck_assert_uint_eq(c.log_group, 7);
	conf_free(&c);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), NETWORK_MIN "classes = ( { name = \"c1\"; base_image = "
			 "\"/img/base.qcow2\"; user = \"student\"; idle_sleep = %s; } );\n",
			 ok[i].value);
		expect_ok(text, &c);
		ck_assert_uint_eq(c.classes[0].idle_sleep_secs, ok[i].secs);
		conf_free(&c);
	}
	expect_error(NETWORK_MIN CLASS_WITH("idle_sleep = \"45\";"), 4,
		     "classes[0].idle_sleep: '45' is not an idle time (expected a number with unit "
		     "s, m, h or d, e.g. \"45m\"; \"0\": never)");
	expect_error(NETWORK_MIN CLASS_WITH("idle_sleep = \"45 m\";"), 4,
		     "classes[0].idle_sleep: '45 m' is not an idle time");
	expect_error(NETWORK_MIN CLASS_WITH("idle_sleep = \"8d\";"), 4,
		     "classes[0].idle_sleep: '8d' is too long (expected at most 7d)");
	expect_error(NETWORK_MIN CLASS_WITH("idle_sleep = 45;"), 4,
		     "classes[0].idle_sleep: expected a string");
}
END_TEST

START_TEST(conf_parses_memory_budget_and_log_group)
{
	struct lab_conf c;

	expect_ok(NETWORK_MIN "labd = { max_running_mib = 3072; };\nnetd = { log_group = 2; };\n"
		  CLASS_LINE, &c);
	ck_assert_uint_eq(c.max_running_mib, 3072);
	ck_assert_uint_eq(c.log_group, 2);
	conf_free(&c);
	expect_error(NETWORK_MIN "labd = { max_running_mib = -1; };\n" CLASS_LINE, 4,
		     "labd.max_running_mib: -1 is out of range");
	expect_error(NETWORK_MIN "labd = { max_running_mib = \"3G\"; };\n" CLASS_LINE, 4,
		     "labd.max_running_mib: expected an integer");
	expect_error(NETWORK_MIN "netd = { log_group = 65536; };\n" CLASS_LINE, 4,
		     "netd.log_group: 65536 is out of range (expected 0..65535)");
}
END_TEST

START_TEST(conf_refuses_socket_path_too_long)
{
	char text[1024], dir[160];

	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	snprintf(text, sizeof(text), "run_dir = \"%s\";\n" NETWORK_MIN CLASS_LINE, dir);
	expect_error(text, 1, "run_dir: '/ddd");
	expect_error(text, 1, "too long for a unix socket");
	snprintf(text, sizeof(text), NETWORK_MIN CLASS_LINE "labd = { socket = \"%s\"; };\n", dir);
	expect_error(text, 5, "labd.socket: '/ddd");
}
END_TEST

START_TEST(conf_free_is_safe_and_idempotent)
{
	struct lab_conf c;

	memset(&c, 0, sizeof(c));
	conf_free(&c);
	conf_free(NULL);
	expect_ok(NETWORK_MIN CLASS_LINE, &c);
	conf_free(&c);
	ck_assert(conf_is_zero(&c));
	conf_free(&c);
	ck_assert(conf_is_zero(&c));
}
END_TEST

START_TEST(conf_load_works_without_error_buffer)
{
	struct lab_conf c;

	write_file(conf_path, "network = {\n  subnet = 5;\n};\n" CLASS_LINE);
	ck_assert_int_eq(conf_load(conf_path, &c, NULL, 0), -EINVAL);
	ck_assert(conf_is_zero(&c));
	write_file(conf_path, NETWORK_MIN CLASS_LINE);
	ck_assert_int_eq(conf_load(conf_path, &c, NULL, 0), 0);
	conf_free(&c);
}
END_TEST

START_TEST(conf_copies_every_string_out_of_libconfig)
{
	struct lab_conf c;

	expect_ok(NETWORK_MIN CLASS_LINE, &c);
	/* The file is gone and libconfig destroyed: values must still be ours to read. */
	ck_assert_int_eq(unlink(conf_path), 0);
	ck_assert_str_eq(c.classes[0].user, "student");
	ck_assert_str_eq(c.bridge, "labbr0");
	conf_free(&c);
}
END_TEST

/* ---- gate { } ---- */

START_TEST(conf_gate_is_off_without_its_group)
{
	struct lab_conf c;

	expect_ok(NETWORK_MIN CLASS_LINE, &c);
	ck_assert(!c.gate);
	ck_assert_ptr_null(c.gate_socket);
	ck_assert_ptr_null(c.gate_group);
	conf_free(&c);
}
END_TEST

START_TEST(conf_gate_defaults_socket_and_group)
{
	struct lab_conf c;

	expect_ok(NETWORK_MIN CLASS_LINE "run_dir = \"/srv/run\";\ngate = { port = 2222; };\n", &c);
	ck_assert(c.gate);
	ck_assert_uint_eq(c.gate_port, 2222);
	ck_assert_str_eq(c.gate_socket, "/srv/run/gate.sock");
	ck_assert_str_eq(c.gate_group, "vlab-gate");
	conf_free(&c);
	expect_ok(NETWORK_MIN CLASS_LINE
		  "gate = { port = 22; socket = \"/x/g.sock\"; group = \"students\"; };\n", &c);
	ck_assert_uint_eq(c.gate_port, 22);
	ck_assert_str_eq(c.gate_socket, "/x/g.sock");
	ck_assert_str_eq(c.gate_group, "students");
	conf_free(&c);
}
END_TEST

START_TEST(conf_gate_refuses_a_port_students_get)
{
	/* 20500 lies in 20000-20999: a student there would get the gate's connections. */
	expect_error(NETWORK_MIN CLASS_LINE "gate = {\n  port = 20500;\n};\n", 6,
		     "gate.port: 20500 is inside network.public[0].ports 20000-20999");
	expect_error(NETWORK_MIN CLASS_LINE "gate = {\n  socket = \"/run/vlab/g.sock\";\n};\n", 5,
		     "missing required key 'port' in gate");
	expect_error(NETWORK_MIN CLASS_LINE "gate = { port = 0; };\n", 5, "out of range");
	expect_error(NETWORK_MIN CLASS_LINE "gate = { port = \"2222\"; };\n", 5, "expected an integer");
	expect_error(NETWORK_MIN CLASS_LINE "gate = { port = 2222; prot = 1; };\n", 5,
		     "unknown key 'prot' in gate");
	expect_error(NETWORK_MIN CLASS_LINE "gate = { port = 2222; group = \"Bad Group\"; };\n", 5,
		     "gate.group: 'Bad Group' is not valid");
	expect_error(NETWORK_MIN CLASS_LINE "gate = { port = 2222; socket = \"rel.sock\"; };\n", 5,
		     "not an absolute path");
}
END_TEST

START_TEST(conf_gate_refuses_another_daemons_socket)
{
	expect_error(NETWORK_MIN CLASS_LINE
		     "gate = { port = 2222; socket = \"/run/vlab/labd.sock\"; };\n", 5,
		     "gate.socket: '/run/vlab/labd.sock' is also labd's socket");
	expect_error(NETWORK_MIN CLASS_LINE
		     "gate = { port = 2222; socket = \"/run/vlab/netd.sock\"; };\n", 5,
		     "is also netd's socket");
}
END_TEST

Suite *make_conf_suite(void);  /* called by check_all.c */

Suite *make_conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *ok = tcase_create("load");
	TCase *bad = tcase_create("errors");
	TCase *gate = tcase_create("gate");

	tcase_add_checked_fixture(ok, setup, teardown);
	tcase_add_test(ok, conf_loads_minimal_config_with_defaults);
	tcase_add_test(ok, conf_derives_paths_from_state_and_run_dir);
	tcase_add_test(ok, conf_loads_test_conf_from_configs);
	tcase_add_test(ok, conf_loads_example_lab_conf);
	tcase_add_test(ok, conf_accepts_split_ranges_and_shared_ranges);
	tcase_add_test(ok, conf_accepts_uppercase_mac_prefix);
	tcase_add_test(ok, conf_defaults_cpu_model_for_qemu_and_refuses_passthrough);
	tcase_add_test(ok, conf_parses_dhcp_lease);
	tcase_add_test(ok, conf_parses_idle_sleep_as_a_duration);
	tcase_add_test(ok, conf_parses_memory_budget_and_log_group);
	tcase_add_test(ok, conf_free_is_safe_and_idempotent);
	tcase_add_test(ok, conf_copies_every_string_out_of_libconfig);
	tcase_add_test(ok, conf_load_works_without_error_buffer);
	suite_add_tcase(s, ok);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, conf_reports_missing_file);
	tcase_add_test(bad, conf_reports_syntax_error_with_line);
	tcase_add_test(bad, conf_refuses_duplicate_setting);
	tcase_add_test(bad, conf_refuses_subnet_of_wrong_type);
	tcase_add_loop_test(bad, conf_refuses_bad_cidr, 0, (int)(sizeof(bad_cidrs) / sizeof(bad_cidrs[0])));
	tcase_add_loop_test(bad, conf_refuses_public_address_not_ipv4, 0,
			    (int)(sizeof(bad_public_addrs) / sizeof(bad_public_addrs[0])));
	tcase_add_test(bad, conf_refuses_reversed_port_range);
	tcase_add_loop_test(bad, conf_refuses_malformed_port_range, 0,
			    (int)(sizeof(bad_port_ranges) / sizeof(bad_port_ranges[0])));
	tcase_add_test(bad, conf_refuses_overlapping_ranges_for_same_address);
	tcase_add_test(bad, conf_refuses_public_address_inside_subnet);
	tcase_add_test(bad, conf_refuses_loopback_public_address);
	tcase_add_test(bad, conf_refuses_unknown_top_level_key);
	tcase_add_test(bad, conf_refuses_unknown_key_in_network);
	tcase_add_test(bad, conf_refuses_unknown_key_in_public_entry);
	tcase_add_test(bad, conf_refuses_unknown_key_in_class);
	tcase_add_test(bad, conf_refuses_unknown_key_in_labd);
	tcase_add_test(bad, conf_refuses_missing_subnet);
	tcase_add_test(bad, conf_refuses_missing_network);
	tcase_add_test(bad, conf_refuses_missing_or_empty_public);
	tcase_add_test(bad, conf_refuses_public_as_group_instead_of_list);
	tcase_add_test(bad, conf_refuses_missing_or_empty_classes);
	tcase_add_test(bad, conf_refuses_class_without_user);
	tcase_add_test(bad, conf_refuses_class_without_base_image);
	tcase_add_test(bad, conf_refuses_duplicate_class_name);
	tcase_add_test(bad, conf_refuses_invalid_class_name);
	tcase_add_test(bad, conf_refuses_invalid_user_name);
	tcase_add_test(bad, conf_refuses_bad_domain_type);
	tcase_add_loop_test(bad, conf_refuses_bad_mac_prefix, 0,
			    (int)(sizeof(bad_mac_prefixes) / sizeof(bad_mac_prefixes[0])));
	tcase_add_test(bad, conf_refuses_relative_paths);
	tcase_add_test(bad, conf_refuses_initrd_or_cmdline_without_kernel);
	tcase_add_test(bad, conf_refuses_integers_out_of_range);
	tcase_add_test(bad, conf_refuses_wrong_scalar_types);
	tcase_add_test(bad, conf_refuses_bad_bridge_and_table_names);
	tcase_add_test(bad, conf_refuses_socket_path_too_long);
	suite_add_tcase(s, bad);

	tcase_add_checked_fixture(gate, setup, teardown);
	tcase_add_test(gate, conf_gate_is_off_without_its_group);
	tcase_add_test(gate, conf_gate_defaults_socket_and_group);
	tcase_add_test(gate, conf_gate_refuses_a_port_students_get);
	tcase_add_test(gate, conf_gate_refuses_another_daemons_socket);
	suite_add_tcase(s, gate);
	return s;
}
