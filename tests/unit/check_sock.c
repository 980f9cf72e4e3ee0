/*
 * common/sock.c: listening safely, accepting with credentials, peer checks.
 * The tests marked ROOT need uid 0 (chown, setuid in a child); they skip otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sock.h"

#define NOBODY 65534

/* Tests marked ROOT pass vacuously, and say so, when not run as root. */
#define SKIP_UNLESS_ROOT() do { \
		if (geteuid() != 0) { \
			fprintf(stderr, "%s: skipped, needs root\n", __func__); \
			return; \
		} \
	} while (0)

static char tmpdir[64];   /* small, so paths under it provably fit */

static void setup_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check-sock-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* Children that drop to nobody must be able to reach the socket. */
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown_dir(void)
{
	/* depth first, no shell */
	if (nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void path_in_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

/* Leaves a socket file at PATH that nothing listens on (a crashed daemon's). */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

START_TEST(sock_listen_creates_socket_and_parent_dir)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int fd, fl;

	path_in_dir(path, sizeof(path), "run/vlab/labd.sock");
	fd = sock_listen(path, 0660, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	path_in_dir(dir, sizeof(dir), "run/vlab");
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	fl = fcntl(fd, F_GETFL);
	ck_assert(fl & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}
END_TEST

START_TEST(sock_listen_sets_mode)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	path_in_dir(path, sizeof(path), "a.sock");
	fd = sock_listen(path, 0660, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	close(fd);
	unlink(path);
	fd = sock_listen(path, 0600, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	close(fd);
}
END_TEST

/* ROOT: chown to a group. */
START_TEST(sock_listen_sets_group)
{
	char path[PATH_MAX];
	struct stat st;
	struct group *gr;
	int fd;

	SKIP_UNLESS_ROOT();
	gr = getgrgid(NOBODY);
	ck_assert_ptr_nonnull(gr);
	path_in_dir(path, sizeof(path), "g.sock");
	fd = sock_listen(path, 0660, gr->gr_name);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, NOBODY);
	close(fd);
}
END_TEST

START_TEST(sock_listen_refuses_unknown_group)
{
	char path[PATH_MAX];

	path_in_dir(path, sizeof(path), "u.sock");
	ck_assert_int_eq(sock_listen(path, 0660, "vlab-no-such-group-xyz"), -ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1);   /* nothing left behind */
}
END_TEST

START_TEST(sock_listen_refuses_live_socket)
{
	char path[PATH_MAX];
	struct stat st1, st2;
	int fd;

	path_in_dir(path, sizeof(path), "live.sock");
	fd = sock_listen(path, 0660, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lstat(path, &st1), 0);
	ck_assert_int_eq(sock_listen(path, 0660, NULL), -EADDRINUSE);
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);   /* the live daemon's file is untouched */
	close(fd);
}
END_TEST

START_TEST(sock_listen_replaces_stale_socket)
{
	char path[PATH_MAX];
	int fd, c;

	path_in_dir(path, sizeof(path), "stale.sock");
	make_stale_socket(path);
	ck_assert_int_eq(sock_connect(path), -ECONNREFUSED);
	fd = sock_listen(path, 0660, NULL);
	ck_assert_int_ge(fd, 0);
	c = sock_connect(path);
	ck_assert_int_ge(c, 0);
	close(c);
	close(fd);
}
END_TEST

START_TEST(sock_listen_leaves_regular_file_alone)
{
	char path[PATH_MAX];
	struct stat st;
	FILE *f;

	path_in_dir(path, sizeof(path), "not-a-socket");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("precious", f);
	fclose(f);
	ck_assert_int_eq(sock_listen(path, 0660, NULL), -EEXIST);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 8);
}
END_TEST

START_TEST(sock_refuses_path_too_long)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(sock_listen(path, 0660, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(sock_connect(path), -ENAMETOOLONG);
}
END_TEST

START_TEST(sock_connect_refuses_missing_path)
{
	char path[PATH_MAX];

	path_in_dir(path, sizeof(path), "nobody-here.sock");
	ck_assert_int_eq(sock_connect(path), -ENOENT);
}
END_TEST

START_TEST(sock_accept_reads_peer_credentials)
{
	char path[PATH_MAX];
	struct sock_peer peer;
	int lfd, c, a;

	path_in_dir(path, sizeof(path), "acc.sock");
	lfd = sock_listen(path, 0660, NULL);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(sock_accept(lfd, &peer), -EAGAIN);   /* non-blocking */
	c = sock_connect(path);
	ck_assert_int_ge(c, 0);
	ck_assert(fcntl(c, F_GETFD) & FD_CLOEXEC);
	a = sock_accept(lfd, &peer);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(peer.pid, getpid());
	ck_assert_uint_eq(peer.uid, geteuid());
	ck_assert_uint_eq(peer.gid, getegid());
	ck_assert(fcntl(a, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(a, F_GETFD) & FD_CLOEXEC);
	close(a);
	close(c);
	close(lfd);
}
END_TEST

/* ROOT: the test runs as root, so a socketpair's peer is root. */
START_TEST(sock_peer_allowed_root)
{
	struct sock_peer peer = { 0 };
	int sv[2];

	SKIP_UNLESS_ROOT();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer.uid = 0;
	ck_assert(sock_peer_allowed(sv[0], &peer, (gid_t)-1));
	ck_assert(sock_peer_allowed(sv[0], &peer, 4242));
	/* NULL peer: read from the socket itself. */
	ck_assert(sock_peer_allowed(sv[0], NULL, (gid_t)-1));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(sock_group_gid_resolves_names)
{
	struct group *gr = getgrgid(0);
	gid_t gid = 1;

	ck_assert_ptr_nonnull(gr);
	ck_assert_int_eq(sock_group_gid(gr->gr_name, &gid), 0);
	ck_assert_uint_eq(gid, 0);
	ck_assert_int_eq(sock_group_gid("vlab-no-such-group-xyz", &gid), -ENOENT);
}
END_TEST

/*
 * ROOT: a child drops to uid/gid nobody with the supplementary groups GROUPS, then
 * connects; returns the accepted fd and the peer. SO_PEERCRED and SO_PEERGROUPS are
 * captured at connect(), so the child may exit right away.
 */
static int connect_as_nobody(const char *path, const gid_t *groups, size_t n,
			     struct sock_peer *peer, pid_t *child)
{
	int lfd, fd = -EAGAIN;
	pid_t pid;

	lfd = sock_listen(path, 0666, NULL);
	ck_assert_int_ge(lfd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(n, groups) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(2);
		if (getuid() != NOBODY || sock_connect(path) < 0)
			_exit(3);
		_exit(0);
	}
	/* The listening socket is non-blocking: wait for the child's connect. */
	for (int i = 0; i < 500 && fd == -EAGAIN; i++) {
		fd = sock_accept(lfd, peer);
		if (fd == -EAGAIN)
			usleep(10000);
	}
	ck_assert_int_ge(fd, 0);
	close(lfd);
	*child = pid;
	return fd;
}

static void reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

/* ROOT: setuid in a child. */
START_TEST(sock_peer_allowed_refuses_other_uid)
{
	char path[PATH_MAX];
	struct sock_peer peer;
	pid_t child;
	int fd;

	SKIP_UNLESS_ROOT();
	path_in_dir(path, sizeof(path), "uid.sock");
	fd = connect_as_nobody(path, NULL, 0, &peer, &child);
	ck_assert_uint_eq(peer.uid, NOBODY);
	ck_assert_uint_eq(peer.gid, NOBODY);
	ck_assert(!sock_peer_allowed(fd, &peer, (gid_t)-1));   /* root only */
	ck_assert(!sock_peer_allowed(fd, &peer, 0));
	ck_assert(!sock_peer_allowed(fd, &peer, 4242));
	ck_assert(sock_peer_allowed(fd, &peer, NOBODY));        /* primary group */
	close(fd);
	reap(child);
}
END_TEST

/* ROOT: a supplementary group, past the first getsockopt buffer (ERANGE path). */
START_TEST(sock_peer_allowed_accepts_supplementary_group)
{
	gid_t groups[100];
	char path[PATH_MAX];
	struct sock_peer peer;
	pid_t child;
	int fd;

	SKIP_UNLESS_ROOT();
	for (size_t i = 0; i < 100; i++)
		groups[i] = 5000 + (gid_t)i;
	path_in_dir(path, sizeof(path), "grp.sock");
	fd = connect_as_nobody(path, groups, 100, &peer, &child);
	ck_assert_uint_eq(peer.uid, NOBODY);
	ck_assert(sock_peer_allowed(fd, &peer, 5000));
	ck_assert(sock_peer_allowed(fd, &peer, 5099));
	ck_assert(!sock_peer_allowed(fd, &peer, 5100));
	ck_assert(!sock_peer_allowed(fd, &peer, (gid_t)-1));
	close(fd);
	reap(child);
}
END_TEST

/* The exact line both daemons send a refused peer: labctl shows the message and the
 * operator guide quotes it, so the wire text is pinned byte for byte. */
START_TEST(sock_peer_refusal_names_uid_in_denied_reply)
{
	static const char want[] =
		"{\"v\":1,\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":"
		"\"permission denied: uid 1000 is neither root nor in the lab's socket group\"}}\n";
	struct sock_peer peer = { .pid = 42, .uid = 1000, .gid = 1000 };
	size_t len = 0;
	char *s;

	s = sock_peer_refusal(&peer, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, want);
	ck_assert_uint_eq(len, strlen(want));
	free(s);
}
END_TEST

Suite *make_sock_suite(void);

Suite *make_sock_suite(void)
{
	Suite *s = suite_create("sock");
	TCase *tc = tcase_create("sock");

	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, sock_listen_creates_socket_and_parent_dir);
	tcase_add_test(tc, sock_listen_sets_mode);
	tcase_add_test(tc, sock_listen_sets_group);
	tcase_add_test(tc, sock_listen_refuses_unknown_group);
	tcase_add_test(tc, sock_listen_refuses_live_socket);
	tcase_add_test(tc, sock_listen_replaces_stale_socket);
	tcase_add_test(tc, sock_listen_leaves_regular_file_alone);
	tcase_add_test(tc, sock_refuses_path_too_long);
	tcase_add_test(tc, sock_connect_refuses_missing_path);
	tcase_add_test(tc, sock_accept_reads_peer_credentials);
	tcase_add_test(tc, sock_peer_allowed_root);
	tcase_add_test(tc, sock_group_gid_resolves_names);
	tcase_add_test(tc, sock_peer_allowed_refuses_other_uid);
	tcase_add_test(tc, sock_peer_allowed_accepts_supplementary_group);
	tcase_add_test(tc, sock_peer_refusal_names_uid_in_denied_reply);
	suite_add_tcase(s, tc);
	return s;
}
