/* netd/dhcp.c without root or a kernel: dnsmasq's argv, the hosts file, the backoff,
 * and the stale-pid check that must never kill a process that is not our dnsmasq. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "netd/dhcp.h"

static char tmpdir[64];
static struct lab_conf conf;
static struct dhcp d;

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_dhcp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	log_setlevel(LOG_LVL_ERR);  /* the fake deaths below would warn on every run */
	memset(&conf, 0, sizeof(conf));
	conf.state_dir = tmpdir;
	conf.run_dir = tmpdir;
	conf.bridge = "labbr0";
	inet_pton(AF_INET, "10.0.0.0", &conf.subnet);
	conf.prefix = 24;
	inet_pton(AF_INET, "10.0.0.1", &conf.gateway);
	conf.dns = true;
	conf.dhcp_lease_secs = 43200;
	conf.dnsmasq_path = "/usr/sbin/dnsmasq";
	ck_assert_int_eq(dhcp_init(&d, &conf), 0);
}

static void teardown(void)
{
	char path[128];

	dhcp_free(&d);
	snprintf(path, sizeof(path), "%s/dhcp-hosts", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/dnsmasq.pid", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static int argv_count(char **argv, const char *arg)
{
	int n = 0;

	for (char **a = argv; *a; a++)
		n += strcmp(*a, arg) == 0;
	return n;
}

static bool argv_has_prefix(char **argv, const char *prefix)
{
	for (char **a = argv; *a; a++)
		if (strncmp(*a, prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static void mapping_set(struct mapping *m, const char *student, uint8_t last, const char *ip)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x00 };

	memset(m, 0, sizeof(*m));
	snprintf(m->student, sizeof(m->student), "%s", student);
	memcpy(m->mac, mac, sizeof(mac));
	m->mac[5] = last;
	inet_pton(AF_INET, ip, &m->ip);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(dhcp_argv_has_every_option_once)
{
	static const char *const want[] = {
		"--keep-in-foreground", "--conf-file=/dev/null", "--interface=labbr0",
		"--bind-interfaces", "--except-interface=lo",
		"--dhcp-range=10.0.0.0,static,255.255.255.0,720m",
		"--dhcp-authoritative", "--no-hosts", "--pid-file=", "--log-facility=-",
	};
	char **argv = dhcp_argv_build(&d);
	char hosts[128], leases[128];

	ck_assert_ptr_nonnull(argv);
	ck_assert_str_eq(argv[0], "/usr/sbin/dnsmasq");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(argv_count(argv, want[i]) == 1, "%s not exactly once", want[i]);
	snprintf(hosts, sizeof(hosts), "--dhcp-hostsfile=%s/dhcp-hosts", tmpdir);
	snprintf(leases, sizeof(leases), "--dhcp-leasefile=%s/dnsmasq.leases", tmpdir);
	ck_assert_int_eq(argv_count(argv, hosts), 1);
	ck_assert_int_eq(argv_count(argv, leases), 1);
	/* dnsmasq drops to its default user: never run it as root. */
	ck_assert(!argv_has_prefix(argv, "--user"));
	ck_assert(!argv_has_prefix(argv, "-u"));
	dhcp_argv_free(argv);
}
END_TEST

START_TEST(dhcp_argv_keeps_dns_when_dns_is_on)
{
	char **argv = dhcp_argv_build(&d);

	ck_assert_ptr_nonnull(argv);
	ck_assert(!argv_has_prefix(argv, "--port"));
	ck_assert(!argv_has_prefix(argv, "--no-resolv"));
	dhcp_argv_free(argv);
}
END_TEST

START_TEST(dhcp_argv_turns_dns_off_with_port_zero)
{
	char **argv;

	conf.dns = false;
	argv = dhcp_argv_build(&d);
	ck_assert_ptr_nonnull(argv);
	ck_assert_int_eq(argv_count(argv, "--port=0"), 1);
	dhcp_argv_free(argv);
}
END_TEST

START_TEST(dhcp_argv_range_uses_network_and_mask)
{
	char **argv;

	inet_pton(AF_INET, "172.16.32.0", &conf.subnet);
	conf.prefix = 20;
	conf.dhcp_lease_secs = 0;
	argv = dhcp_argv_build(&d);
	ck_assert_ptr_nonnull(argv);
	ck_assert_int_eq(argv_count(argv, "--dhcp-range=172.16.32.0,static,255.255.240.0,infinite"),
			 1);
	dhcp_argv_free(argv);
}
END_TEST

START_TEST(dhcp_lease_formats_infinite_minutes_seconds)
{
	char buf[32];

	dhcp_format_lease(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "infinite");
	dhcp_format_lease(43200, buf, sizeof(buf));
	ck_assert_str_eq(buf, "720m");
	dhcp_format_lease(120, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2m");
	dhcp_format_lease(150, buf, sizeof(buf));
	ck_assert_str_eq(buf, "150s");
}
END_TEST

START_TEST(dhcp_hosts_file_has_one_exact_line_per_mapping)
{
	struct mapping m[3];
	char path[128];
	struct stat st;

	mapping_set(&m[0], "alice", 0x01, "10.0.0.2");
	mapping_set(&m[1], "bob-2", 0x02, "10.0.0.3");
	mapping_set(&m[2], "c0ffee", 0xfe, "10.0.0.255");
	ck_assert_int_eq(dhcp_write_hosts(&d, m, 3), 0);
	ck_assert_str_eq(slurp(d.hosts_path),
			 "52:54:00:00:00:01,10.0.0.2,alice\n"
			 "52:54:00:00:00:02,10.0.0.3,bob-2\n"
			 "52:54:00:00:00:fe,10.0.0.255,c0ffee\n");
	snprintf(path, sizeof(path), "%s.tmp", d.hosts_path);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* dnsmasq rereads it as "nobody". */
	ck_assert_int_eq(stat(d.hosts_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
}
END_TEST

START_TEST(dhcp_hosts_file_is_replaced_not_appended)
{
	struct mapping m[2];

	mapping_set(&m[0], "alice", 0x01, "10.0.0.2");
	mapping_set(&m[1], "bob", 0x02, "10.0.0.3");
	ck_assert_int_eq(dhcp_write_hosts(&d, m, 2), 0);
	ck_assert_int_eq(dhcp_write_hosts(&d, &m[1], 1), 0);
	ck_assert_str_eq(slurp(d.hosts_path), "52:54:00:00:00:02,10.0.0.3,bob\n");
	ck_assert_int_eq(dhcp_write_hosts(&d, NULL, 0), 0);
	ck_assert_str_eq(slurp(d.hosts_path), "");
}
END_TEST

START_TEST(dhcp_hosts_drops_hostname_with_underscore)
{
	struct mapping m;
	char line[128];

	mapping_set(&m, "stu_01", 0x05, "10.0.0.5");
	ck_assert_int_eq(dhcp_format_host(&m, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "52:54:00:00:00:05,10.0.0.5");
}
END_TEST

START_TEST(dhcp_hosts_drops_hostname_dnsmasq_would_misread)
{
	/* Lease times, keywords and a label ending in '-' are not hostnames to dnsmasq. */
	static const char *const bad[] = { "ignore", "infinite", "90m", "1d", "123", "abc-" };
	static const char *const good[] = { "a-b", "1a", "mm", "x9" };
	struct mapping m;
	char line[128], want[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mapping_set(&m, bad[i], 0x07, "10.0.0.7");
		ck_assert_int_eq(dhcp_format_host(&m, line, sizeof(line)), 0);
		ck_assert_msg(strcmp(line, "52:54:00:00:00:07,10.0.0.7") == 0, "%s: %s", bad[i],
			      line);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		mapping_set(&m, good[i], 0x07, "10.0.0.7");
		ck_assert_int_eq(dhcp_format_host(&m, line, sizeof(line)), 0);
		snprintf(want, sizeof(want), "52:54:00:00:00:07,10.0.0.7,%s", good[i]);
		ck_assert_str_eq(line, want);
	}
}
END_TEST

START_TEST(dhcp_format_host_refuses_short_buffer)
{
	struct mapping m;
	char line[20];

	mapping_set(&m, "alice", 0x01, "10.0.0.2");
	ck_assert_int_eq(dhcp_format_host(&m, line, sizeof(line)), -ENOSPC);
}
END_TEST

/* Pretends our dnsmasq just died: a real child that exits at once. */
static void fake_child_death(long long lived_ms)
{
	struct timespec ts;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(3);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	d.pid = pid;
	d.started_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - lived_ms;
	while (!dhcp_reap(&d))
		usleep(1000);
	ck_assert_int_eq(d.pid, 0);
}

START_TEST(dhcp_backoff_grows_for_quick_deaths_and_caps)
{
	long long delay;

	fake_child_death(0);
	ck_assert_int_eq(dhcp_restart_delay_ms(&d), 0);
	fake_child_death(0);
	delay = dhcp_restart_delay_ms(&d);
	ck_assert_msg(delay > 900 && delay <= 1000, "second quick death: %lld", delay);
	fake_child_death(0);
	delay = dhcp_restart_delay_ms(&d);
	ck_assert_msg(delay > 1900 && delay <= 2000, "third quick death: %lld", delay);
	for (int i = 0; i < 10; i++)
		fake_child_death(0);
	delay = dhcp_restart_delay_ms(&d);
	ck_assert_msg(delay > 29000 && delay <= 30000, "capped: %lld", delay);
}
END_TEST

START_TEST(dhcp_backoff_resets_after_a_long_life)
{
	fake_child_death(0);
	fake_child_death(0);
	fake_child_death(0);
	ck_assert_int_gt(dhcp_restart_delay_ms(&d), 0);
	fake_child_death(20000);
	ck_assert_int_eq(dhcp_restart_delay_ms(&d), 0);
}
END_TEST

START_TEST(dhcp_reap_ignores_a_running_child)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	d.pid = pid;
	ck_assert(!dhcp_reap(&d));
	ck_assert_int_eq(d.pid, pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}
END_TEST

START_TEST(dhcp_stop_stale_spares_a_process_that_is_not_our_dnsmasq)
{
	pid_t pid = fork();
	FILE *f;
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	f = fopen(d.pid_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%ld\n", (long)pid);
	fclose(f);
	dhcp_stop_stale(&d);
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);  /* still running */
	ck_assert_int_eq(access(d.pid_path, F_OK), -1);        /* stale file gone */
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}
END_TEST

Suite *make_dhcp_suite(void);
Suite *make_dhcp_suite(void)
{
	Suite *s = suite_create("dhcp");
	TCase *tc = tcase_create("dhcp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dhcp_argv_has_every_option_once);
	tcase_add_test(tc, dhcp_argv_keeps_dns_when_dns_is_on);
	tcase_add_test(tc, dhcp_argv_turns_dns_off_with_port_zero);
	tcase_add_test(tc, dhcp_argv_range_uses_network_and_mask);
	tcase_add_test(tc, dhcp_lease_formats_infinite_minutes_seconds);
	tcase_add_test(tc, dhcp_hosts_file_has_one_exact_line_per_mapping);
	tcase_add_test(tc, dhcp_hosts_file_is_replaced_not_appended);
	tcase_add_test(tc, dhcp_hosts_drops_hostname_with_underscore);
	tcase_add_test(tc, dhcp_hosts_drops_hostname_dnsmasq_would_misread);
	tcase_add_test(tc, dhcp_format_host_refuses_short_buffer);
	tcase_add_test(tc, dhcp_backoff_grows_for_quick_deaths_and_caps);
	tcase_add_test(tc, dhcp_backoff_resets_after_a_long_life);
	tcase_add_test(tc, dhcp_reap_ignores_a_running_child);
	tcase_add_test(tc, dhcp_stop_stale_spares_a_process_that_is_not_our_dnsmasq);
	suite_add_tcase(s, tc);
	return s;
}
