/*
 * The dnsmasq child: fork + execv of an argv we build (no shell), bound to the lab bridge,
 * static leases only, hosts file replaced atomically and reread on SIGHUP.
 *
 * Privileges: dnsmasq starts as root (it needs to bind port 67 and open the raw DHCP
 * socket) and then drops to its compiled-in default user, "nobody" (group "dip" on
 * Debian), keeping only the network capabilities. We deliberately do not pass --user=root:
 * "nobody" is enough because
 *   - the lease file is opened by dnsmasq while still root and kept open (it rewrites it
 *     through that descriptor), so a root-owned STATE_DIR is fine for it;
 *   - the hosts file is reread as "nobody" on every SIGHUP, so we write it mode 0644 and
 *     check that STATE_DIR and its parents are searchable by others (dhcp_start refuses
 *     otherwise, with the fix in the message, rather than fail silently at the next reload);
 *   - --pid-file= (empty) stops dnsmasq writing a pid file of its own, so it needs no
 *     write access to RUN_DIR; netd writes RUN_DIR/dnsmasq.pid itself.
 * The price: the drop to "nobody" clears PR_SET_PDEATHSIG (see dhcp_child_exec).
 */
#include "netd/dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/fsutil.h"
#include "common/log.h"

#define DHCP_STOP_WAIT_MS   3000    /* SIGTERM -> SIGKILL */
#define DHCP_QUICK_DEATH_MS 10000   /* a child that dies sooner than this backs off */
#define DHCP_BACKOFF_MAX_MS 30000

static long long dhcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dhcp_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int dhcp_init(struct dhcp *d, const struct lab_conf *conf)
{
	memset(d, 0, sizeof(*d));
	d->conf = conf;
	if (asprintf(&d->hosts_path, "%s/dhcp-hosts", conf->state_dir) < 0)
		d->hosts_path = NULL;
	if (asprintf(&d->lease_path, "%s/dnsmasq.leases", conf->state_dir) < 0)
		d->lease_path = NULL;
	if (asprintf(&d->pid_path, "%s/dnsmasq.pid", conf->run_dir) < 0)
		d->pid_path = NULL;
	if (!d->hosts_path || !d->lease_path || !d->pid_path) {
		dhcp_free(d);
		return -ENOMEM;
	}
	return 0;
}

void dhcp_free(struct dhcp *d)
{
	free(d->hosts_path);
	free(d->lease_path);
	free(d->pid_path);
	d->hosts_path = d->lease_path = d->pid_path = NULL;
}

/* --- pure builders ------------------------------------------------------------------ */

void dhcp_format_lease(unsigned secs, char *buf, size_t len)
{
	if (secs == 0)
		snprintf(buf, len, "infinite");
	else if (secs % 60 == 0)
		snprintf(buf, len, "%um", secs / 60);
	else
		snprintf(buf, len, "%us", secs);
}

/*
 * dnsmasq reads each dhcp-host field by its shape: digits with an optional w/d/h/m/s
 * suffix are a lease time, "infinite" too, "ignore" means never answer that MAC. A student
 * called "ignore" or "90m" must not change their lease, so such IDs, and IDs that are not
 * RFC 1123 labels ('_', trailing '-'), get no hostname at all.
 */
static bool dhcp_hostname_ok(const char *s)
{
	size_t n = strlen(s), digits = 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digits++;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
			return false;
	}
	if (digits == n || (digits == n - 1 && strchr("wdhmsWDHMS", s[n - 1])))
		return false;
	return strcmp(s, "infinite") != 0 && strcmp(s, "ignore") != 0;
}

int dhcp_format_host(const struct mapping *m, char *buf, size_t len)
{
	char mac[ADDR_MAC_STRLEN], ip[INET_ADDRSTRLEN];
	int n;

	addr_format_mac(m->mac, mac);
	if (!inet_ntop(AF_INET, &m->ip, ip, sizeof(ip)))
		return -EINVAL;
	if (dhcp_hostname_ok(m->student))
		n = snprintf(buf, len, "%s,%s,%s", mac, ip, m->student);
	else
		n = snprintf(buf, len, "%s,%s", mac, ip);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void dhcp_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

char **dhcp_argv_build(const struct dhcp *d)
{
	const struct lab_conf *c = d->conf;
	enum { MAX_ARGS = 24 };
	char **argv;
	char net[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], lease[32];
	struct in_addr m = addr_netmask(c->prefix), n;
	size_t i = 0;
	bool ok = true;

	argv = calloc(MAX_ARGS, sizeof(*argv));
	if (!argv)
		return NULL;
	n.s_addr = c->subnet.s_addr & m.s_addr;
	inet_ntop(AF_INET, &n, net, sizeof(net));
	inet_ntop(AF_INET, &m, mask, sizeof(mask));
	dhcp_format_lease(c->dhcp_lease_secs, lease, sizeof(lease));

#define ARG(...)                                                         \
	do {                                                             \
		if (ok && asprintf(&argv[i], __VA_ARGS__) < 0) {         \
			argv[i] = NULL;                                  \
			ok = false;                                      \
		}                                                        \
		i += ok;                                                 \
	} while (0)

	ARG("%s", c->dnsmasq_path);
	ARG("--keep-in-foreground");
	/* Never the host's /etc/dnsmasq.conf (or its conf-dir): only what we say here. */
	ARG("--conf-file=/dev/null");
	ARG("--interface=%s", c->bridge);
	/* Bind the bridge only: a host dnsmasq or resolver on other interfaces keeps working. */
	ARG("--bind-interfaces");
	ARG("--except-interface=lo");
	/* static: answer only MACs in the hosts file, no dynamic pool. */
	ARG("--dhcp-range=%s,static,%s,%s", net, mask, lease);
	ARG("--dhcp-hostsfile=%s", d->hosts_path);
	ARG("--dhcp-leasefile=%s", d->lease_path);
	ARG("--dhcp-authoritative");
	ARG("--no-hosts");
	/* Empty: no pid file of dnsmasq's own; netd tracks the pid and writes pid_path. */
	ARG("--pid-file=");
	/* To stderr, which is netd's: the journal under systemd, the terminal with -d. */
	ARG("--log-facility=-");
	if (!c->dns) {
		/* Port 0 turns DNS off entirely (and stops dnsmasq offering itself as the DNS
		 * server in DHCP); with DNS on it forwards to the host's resolv.conf. */
		ARG("--port=0");
		ARG("--no-resolv");
	}
	if (log_getlevel() >= LOG_LVL_DEBUG)
		ARG("--log-dhcp");
#undef ARG

	if (!ok) {
		dhcp_argv_free(argv);
		return NULL;
	}
	return argv;
}

/* --- files -------------------------------------------------------------------------- */

int dhcp_write_hosts(struct dhcp *d, const struct mapping *maps, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = fs_mkdir_p(d->conf->state_dir, 0755);
	if (r < 0)
		return r;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char line[128];

		r = dhcp_format_host(&maps[i], line, sizeof(line));
		if (r < 0) {
			log_warnx("hosts line for %s: cannot format", maps[i].student);
			break;
		}
		fprintf(f, "%s\n", line);
	}
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	/* 0644 whatever the umask: dnsmasq, as "nobody", rereads it. */
	if (r == 0)
		r = fs_replace_file(d->hosts_path, text, len, 0644);
	free(text);
	return r;
}

/* Can "nobody" reach DIR's files? Every directory up to / must be searchable by others. */
static bool dhcp_dir_searchable(const char *dir, char *bad, size_t badlen)
{
	char *p = strdup(dir);
	bool ok = true;

	if (!p)
		return true;  /* not worth failing over; dnsmasq will tell */
	for (;;) {
		struct stat st;
		char *slash;

		if (stat(p[0] ? p : "/", &st) == 0 && !(st.st_mode & S_IXOTH)) {
			snprintf(bad, badlen, "%s", p[0] ? p : "/");
			ok = false;
			break;
		}
		slash = strrchr(p, '/');
		if (!slash || !p[0])
			break;
		*slash = '\0';
	}
	free(p);
	return ok;
}

/* --- the child ---------------------------------------------------------------------- */

/* Only async-signal-safe calls between fork and exec. */
static void dhcp_child_exec(char **argv, pid_t parent) __attribute__((noreturn));
static void dhcp_child_exec(char **argv, pid_t parent)
{
	static const char msg[] = "netd: exec dnsmasq failed\n";
	struct sigaction sa;
	sigset_t none;

	/* netd's handlers and its blocked SIGTERM/SIGHUP/SIGCHLD (signalfd) must not leak
	 * into dnsmasq, or it would ignore our SIGTERM and SIGHUP. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);  /* SIGKILL, SIGSTOP, glibc's own: EINVAL, harmless */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Dies with netd's (single) thread. If netd already died before prctl took effect we
	 * have been reparented and would never get the signal: check. Caveat: the kernel
	 * clears the parent-death signal when dnsmasq drops to "nobody" (any euid/egid
	 * change), so this covers only the window up to that point. After it, a netd killed
	 * with -9 leaves dnsmasq serving the last hosts file (harmless: VMs keep their
	 * leases); the pid file lets the next dhcp_start or --teardown stop it, and under
	 * systemd the unit's cgroup kill takes it along. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);

	if (close_range(3, ~0U, 0) < 0) {
		long max = sysconf(_SC_OPEN_MAX);

		for (int fd = 3; fd < (max > 0 ? max : 1024); fd++)
			close(fd);
	}
	execv(argv[0], argv);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

static int dhcp_write_pidfile(struct dhcp *d)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)d->pid);

	return fs_replace_file(d->pid_path, buf, (size_t)n, 0644);
}

/* Is PID a dnsmasq serving our hosts file? Reading /proc/PID/cmdline guards against a
 * recycled pid; a zombie has an empty cmdline and so reads as "not ours (any more)". */
static bool dhcp_pid_is_ours(const struct dhcp *d, pid_t pid)
{
	char path[64], buf[8192], *want = NULL;
	ssize_t n;
	size_t off;
	bool name = false, hosts = false;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (asprintf(&want, "--dhcp-hostsfile=%s", d->hosts_path) < 0)
		return false;
	for (off = 0; off < (size_t)n; off += strlen(buf + off) + 1) {
		const char *arg = buf + off;

		if (off == 0) {
			const char *base = strrchr(arg, '/');

			name = strstr(base ? base + 1 : arg, "dnsmasq") != NULL;
		} else if (strcmp(arg, want) == 0) {
			hosts = true;
		}
	}
	free(want);
	return name && hosts;
}

void dhcp_stop_stale(struct dhcp *d)
{
	char buf[32];
	long pid;
	ssize_t n;
	int fd;
	long long deadline;

	fd = open(d->pid_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("%s", d->pid_path);
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > INT_MAX || (d->pid > 0 && pid == d->pid))
		goto out;  /* garbage, or our own live child: dhcp_stop is the way */
	if (!dhcp_pid_is_ours(d, (pid_t)pid)) {
		log_debug("%s: pid %ld is not our dnsmasq (any more); ignoring", d->pid_path, pid);
		goto out;
	}
	log_info("stopping stale dnsmasq %ld left by an earlier netd", pid);
	kill((pid_t)pid, SIGTERM);
	/* Not our child: we cannot waitpid it, so watch its cmdline go. */
	deadline = dhcp_now_ms() + DHCP_STOP_WAIT_MS;
	while (dhcp_pid_is_ours(d, (pid_t)pid) && dhcp_now_ms() < deadline)
		dhcp_sleep_ms(20);
	if (dhcp_pid_is_ours(d, (pid_t)pid)) {
		log_warnx("stale dnsmasq %ld ignored SIGTERM; killing it", pid);
		kill((pid_t)pid, SIGKILL);
		deadline = dhcp_now_ms() + DHCP_STOP_WAIT_MS;
		while (dhcp_pid_is_ours(d, (pid_t)pid) && dhcp_now_ms() < deadline)
			dhcp_sleep_ms(20);
	}
out:
	if (unlink(d->pid_path) < 0 && errno != ENOENT)
		log_warn("removing %s", d->pid_path);
}

int dhcp_start(struct dhcp *d)
{
	char **argv = NULL, bad[PATH_MAX];
	struct stat st;
	pid_t parent = getpid(), pid;
	int r;

	if (d->pid > 0)
		return 0;
	if ((r = fs_mkdir_p(d->conf->state_dir, 0755)) < 0 ||
	    (r = fs_mkdir_p(d->conf->run_dir, 0755)) < 0)
		return r;
	dhcp_stop_stale(d);

	if (!dhcp_dir_searchable(d->conf->state_dir, bad, sizeof(bad))) {
		log_warnx("dnsmasq runs as 'nobody' and rereads %s on every change, but %s is "
			  "not searchable by others: chmod o+x %s", d->hosts_path, bad, bad);
		return -EACCES;
	}
	/* dnsmasq complains about a missing hosts file; start with an empty one. */
	if (stat(d->hosts_path, &st) < 0) {
		r = dhcp_write_hosts(d, NULL, 0);
		if (r < 0)
			return r;
	}

	argv = dhcp_argv_build(d);
	if (!argv) {
		log_warnx("dnsmasq arguments: out of memory");
		return -ENOMEM;
	}
	/* So nothing buffered is written twice, by us and by the child. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		log_warn("fork for dnsmasq");
		goto out;
	}
	if (pid == 0)
		dhcp_child_exec(argv, parent);

	d->pid = pid;
	d->started_ms = dhcp_now_ms();
	log_info("started dnsmasq %ld on %s", (long)pid, d->conf->bridge);
	/* Without the pid file a netd restarted after kill -9 could not find this child. */
	r = dhcp_write_pidfile(d);
	if (r < 0)
		log_warnx("%s not written: a netd restarted after a crash will not stop this "
			  "dnsmasq", d->pid_path);
	r = 0;
out:
	dhcp_argv_free(argv);
	return r;
}

int dhcp_reload(struct dhcp *d)
{
	if (d->pid <= 0)
		return -ESRCH;
	if (kill(d->pid, SIGHUP) < 0) {
		log_warn("SIGHUP to dnsmasq %ld", (long)d->pid);
		return -errno;
	}
	return 0;
}

void dhcp_stop(struct dhcp *d)
{
	long long deadline;
	pid_t r = 0;
	int status;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		deadline = dhcp_now_ms() + DHCP_STOP_WAIT_MS;
		while ((r = waitpid(d->pid, &status, WNOHANG)) == 0 && dhcp_now_ms() < deadline)
			dhcp_sleep_ms(10);
		if (r == 0) {
			log_warnx("dnsmasq %ld ignored SIGTERM; killing it", (long)d->pid);
			kill(d->pid, SIGKILL);
			while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
				;
		}
		log_info("stopped dnsmasq %ld", (long)d->pid);
	}
	d->pid = 0;
	d->restarts = 0;
	d->next_start_ms = 0;
	if (d->pid_path && unlink(d->pid_path) < 0 && errno != ENOENT)
		log_warn("removing %s", d->pid_path);
}

bool dhcp_reap(struct dhcp *d)
{
	long long now, delay;
	int status = 0;
	pid_t r;

	if (d->pid <= 0)
		return false;
	do
		r = waitpid(d->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	if (r < 0)
		log_warn("waitpid dnsmasq %ld", (long)d->pid);  /* ECHILD: gone all the same */
	else if (WIFEXITED(status))
		log_warnx("dnsmasq %ld exited with status %d", (long)d->pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("dnsmasq %ld killed by signal %d", (long)d->pid, WTERMSIG(status));

	/* First restart at once; if it keeps dying within 10 s: 1 s, 2 s, 4 s ... 30 s. */
	now = dhcp_now_ms();
	if (now - d->started_ms >= DHCP_QUICK_DEATH_MS)
		d->restarts = 0;
	if (d->restarts == 0)
		delay = 0;
	else if (d->restarts > 5)
		delay = DHCP_BACKOFF_MAX_MS;
	else
		delay = 1000LL << (d->restarts - 1);
	if (delay > DHCP_BACKOFF_MAX_MS)
		delay = DHCP_BACKOFF_MAX_MS;
	if (d->restarts < 64)
		d->restarts++;
	d->next_start_ms = now + delay;
	d->pid = 0;
	if (unlink(d->pid_path) < 0 && errno != ENOENT)
		log_warn("removing %s", d->pid_path);
	return true;
}

long long dhcp_restart_delay_ms(const struct dhcp *d)
{
	long long left = d->next_start_ms - dhcp_now_ms();

	return left > 0 ? left : 0;
}
