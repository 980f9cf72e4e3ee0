/*
 * Volume files written by labd. Why labd writes them and not libvirt: libvirt makes a
 * qcow2 overlay by running qemu-img from a fork of libvirtd (qemu-img alone: ~8 ms of CPU,
 * most of the cost of enrolling a class), and every stream upload makes it re-read the
 * whole pool. An empty overlay of a given base is the same bytes for every student, so
 * labd has libvirt make one and writes copies (see virt_vol_create_overlay).
 */
#include "labd/volfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"

#define VOLFILE_BLOCK 4096

static bool volfile_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* DATA into the empty file FD, skipping blocks of zeros, then its full length. */
static int volfile_fill(int fd, const uint8_t *data, size_t len)
{
	size_t off, n;
	int ret;

	for (off = 0; off < len; off += n) {
		n = len - off < VOLFILE_BLOCK ? len - off : VOLFILE_BLOCK;
		if (volfile_zero(data + off, n))
			continue;
		ret = fs_pwrite_all(fd, data + off, n, (off_t)off);
		if (ret < 0)
			return ret;
	}
	if (ftruncate(fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

int volfile_create(const char *dir, const char *name, const uint8_t *data, size_t len,
		   mode_t mode, uid_t uid, gid_t gid)
{
	char proc[64];
	bool named = false;
	int dfd, fd = -1, ret;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		log_warn("volume %s: directory %s", name, dir);
		return ret;
	}
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		named = true;
		fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
	}
	if (fd < 0) {
		ret = -errno;
		if (ret != -EEXIST)
			log_warn("volume %s: create in %s", name, dir);
		goto out;
	}
	/* The umask must not decide who may read a student's disk. */
	if (fchmod(fd, mode) < 0 || ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
				     fchown(fd, uid, gid) < 0)) {
		ret = -errno;
		log_warn("volume %s: mode or owner", name);
		goto out;
	}
	if ((ret = volfile_fill(fd, data, len)) < 0) {
		errno = -ret;
		log_warn("volume %s: write", name);
		goto out;
	}
	if (fsync(fd) < 0) {
		ret = -errno;
		log_warn("volume %s: fsync", name);
		goto out;
	}
	if (!named) {
		/* linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH; the /proc link does not. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0) {
			ret = -errno;
			if (ret != -EEXIST)
				log_warn("volume %s: link into %s", name, dir);
			goto out;
		}
	}
	named = false;   /* done: nothing to take back */
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		if (named)   /* ours (O_EXCL), half-made */
			unlinkat(dfd, name, 0);
	}
	close(dfd);
	return ret;
}

int volfile_rewrite(const char *path, const uint8_t *data, size_t len)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		if (ret != -ENOENT)
			log_warn("volume file %s", path);
		return ret;
	}
	ret = fs_pwrite_all(fd, data, len, 0);
	if (ret < 0) {
		errno = -ret;
		log_warn("volume file %s: write", path);
	} else if (fsync(fd) < 0) {
		ret = -errno;
		log_warn("volume file %s: fsync", path);
	}
	close(fd);
	return ret;
}

int volfile_read(const char *path, size_t max, uint8_t **data, size_t *len, struct stat *st)
{
	uint8_t *buf = NULL;
	size_t off = 0;
	int fd, ret;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		log_warn("volume file %s", path);
		return ret;
	}
	if (fstat(fd, st) < 0) {
		ret = -errno;
		log_warn("volume file %s", path);
		goto out;
	}
	ret = -EFBIG;
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size > max) {
		log_warnx("volume file %s: not a regular file of at most %zu bytes", path, max);
		goto out;
	}
	ret = -ENOMEM;
	buf = malloc(st->st_size > 0 ? (size_t)st->st_size : 1);
	if (!buf)
		goto out;
	while (off < (size_t)st->st_size) {
		ssize_t r = pread(fd, buf + off, (size_t)st->st_size - off, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			log_warn("volume file %s: read", path);
			goto out;
		}
		off += (size_t)r;
	}
	*data = buf;
	*len = off;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}
