/* Unix stream control sockets: listen safely, accept with credentials, check peers. */
#include "common/sock.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proto.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59         /* Linux 4.13; older libc headers lack it */
#endif

#define LISTEN_BACKLOG 64

static int sock_fill_addr(const char *path, struct sockaddr_un *sun)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

int sock_group_gid(const char *group, gid_t *gid)
{
	struct group gr, *res = NULL;
	long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 1024;
	char *buf = NULL;
	int r, ret;

	for (;;) {
		char *nbuf = realloc(buf, size);

		if (nbuf == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		buf = nbuf;
		r = getgrnam_r(group, &gr, buf, size, &res);
		if (r != ERANGE)
			break;
		size *= 2;
	}
	/* "Not found" comes back as 0 with no result, or (some NSS modules) as these. */
	if (res == NULL && (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)) {
		ret = -ENOENT;
		goto out;
	}
	if (res == NULL) {
		ret = -r;
		goto out;
	}
	*gid = gr.gr_gid;
	ret = 0;
out:
	free(buf);
	return ret;
}

/* mkdir -p for the directory that holds PATH. */
static int sock_make_parent(const char *path)
{
	char *dir = strdup(path), *slash, *p;
	struct stat st;
	int ret = 0;

	if (dir == NULL)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		goto out;                    /* relative name in cwd, or in "/" */
	*slash = '\0';
	for (p = dir + 1; ; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			ret = -errno;
			goto out;
		}
		if (last)
			break;
		*p = '/';
	}
	if (stat(dir, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		ret = -ENOTDIR;
out:
	free(dir);
	return ret;
}

/* What sits at PATH: 0 nothing (or a stale socket, now removed), or -errno. */
static int sock_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (r == 0 || errno == EAGAIN) {
		/* Something answers (EAGAIN: it is alive, its backlog is full). */
		close(fd);
		return -EADDRINUSE;
	}
	r = errno;
	close(fd);
	if (r != ECONNREFUSED && r != ENOENT)
		return -r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_debug("%s: removed a stale socket", path);
	return 0;
}

int sock_listen(const char *path, mode_t mode, const char *group)
{
	struct sockaddr_un sun;
	gid_t gid = 0;
	mode_t old_umask;
	bool bound = false;
	int fd = -1, ret;

	ret = sock_fill_addr(path, &sun);
	if (ret < 0)
		return ret;
	/* Resolve the group before anything is created: a typo leaves nothing behind. */
	if (group != NULL) {
		ret = sock_group_gid(group, &gid);
		if (ret < 0)
			return ret;
	}
	ret = sock_make_parent(path);
	if (ret < 0)
		return ret;
	ret = sock_clear_stale(path, &sun);
	if (ret < 0)
		return ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* The socket file is created owner-only and opened up only after chown, so it is
	 * never briefly reachable by others. umask is per process: call this before
	 * starting threads. */
	old_umask = umask(0177);
	ret = bind(fd, (const struct sockaddr *)&sun, sizeof(sun));
	if (ret < 0)
		ret = -errno;
	umask(old_umask);
	if (ret < 0)
		goto out;
	bound = true;
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		ret = -errno;
		goto out;
	}
	if (group != NULL && chown(path, 0, gid) < 0) {
		ret = -errno;
		goto out;
	}
	if (chmod(path, mode) < 0) {
		ret = -errno;
		goto out;
	}
	ret = fd;
	fd = -1;
out:
	if (fd >= 0) {
		if (bound)
			unlink(path);
		close(fd);
	}
	return ret;
}

static int sock_read_cred(int fd, struct sock_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	return 0;
}

int sock_accept(int lfd, struct sock_peer *peer)
{
	int fd, r;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	if (peer != NULL) {
		r = sock_read_cred(fd, peer);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	return fd;
}

/* Whether GID is among the peer's supplementary groups (as of its connect()). */
static bool sock_peer_in_group(int fd, gid_t gid)
{
	socklen_t len = 16 * sizeof(gid_t);
	gid_t *groups = NULL;
	bool found = false;
	size_t i;

	for (;;) {
		gid_t *ng = realloc(groups, len ? len : sizeof(gid_t));

		if (ng == NULL)
			goto out;
		groups = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			break;
		/* ERANGE: LEN now holds the size the kernel needs. */
		if (errno != ERANGE) {
			log_debug("SO_PEERGROUPS: %s", strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < len / sizeof(gid_t); i++) {
		if (groups[i] == gid) {
			found = true;
			break;
		}
	}
out:
	free(groups);
	return found;
}

bool sock_peer_allowed(int fd, const struct sock_peer *peer, gid_t gid)
{
	struct sock_peer p = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };

	if (peer == NULL) {
		if (sock_read_cred(fd, &p) < 0)
			return false;
		peer = &p;
	}
	if (peer->uid == 0)
		return true;
	if (gid == (gid_t)-1)
		return false;
	if (peer->gid == gid)
		return true;
	return sock_peer_in_group(fd, gid);
}

char *sock_peer_refusal(const struct sock_peer *peer, size_t *len)
{
	struct proto_error e;
	json_object *r;
	char *s;

	/* The operator guide quotes this text (labctl prints it as it is): keep it. */
	proto_error_set(&e, PROTO_E_DENIED, "permission denied: uid %u is neither root nor in "
			"the lab's socket group", (unsigned)peer->uid);
	r = proto_new_error(-1, &e);
	s = proto_serialize(r, len);
	json_object_put(r);
	return s;
}

/* Answers a refused peer and says so in the log. */
static void sock_refuse(int fd, const struct sock_peer *peer, const char *group)
{
	size_t len;
	char *s;

	log_warnx("control: refused uid %u gid %u (pid %d): neither root nor in group %s",
		  (unsigned)peer->uid, (unsigned)peer->gid, (int)peer->pid,
		  group ? group : "(none configured)");
	s = sock_peer_refusal(peer, &len);
	if (s && send(fd, s, len, MSG_NOSIGNAL) < 0)
		log_debug("control: reply to refused peer: %s", strerror(errno));
	free(s);
}

struct sock_client *sock_client_accept(int lfd, gid_t gid, const char *group, void *slots,
				       size_t n, size_t size)
{
	struct sock_peer peer;
	size_t i;
	int fd;

	fd = sock_accept(lfd, &peer);
	if (fd < 0)
		return NULL;
	if (!sock_peer_allowed(fd, &peer, gid)) {
		sock_refuse(fd, &peer, group);
		close(fd);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct sock_client *c = (struct sock_client *)((char *)slots + i * size);

		if (c->fd >= 0)
			continue;
		c->fd = fd;
		c->peer = peer;
		linebuf_init(&c->in, PROTO_MAX_LINE);
		return c;
	}
	log_warnx("control: %zu clients already connected; refusing pid %d", n, (int)peer.pid);
	close(fd);
	return NULL;
}

void sock_client_close(struct sock_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	linebuf_free(&c->in);
	outbuf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int sock_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, ret;

	ret = sock_fill_addr(path, &sun);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}
