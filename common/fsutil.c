#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

int fs_mkdir_p(const char *path, mode_t mode)
{
	struct stat st;
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_warnx("%s is not a directory", path);
		return -ENOTDIR;
	}
	return 0;
}

/* OFF < 0: write() at the current position, for what cannot seek. */
static int fs_write_loop(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

int fs_pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	return off < 0 ? -EINVAL : fs_write_loop(fd, data, len, off);
}

int fs_write_all(int fd, const void *data, size_t len)
{
	return fs_write_loop(fd, data, len, -1);
}

int fs_replace_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL;
	int fd = -1, r;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		r = -errno;
		log_warn("%s", tmp);
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		log_warn("chmod %s", tmp);
		goto out;
	}
	if ((r = fs_pwrite_all(fd, data, len, 0)) < 0) {
		errno = -r;
		log_warn("writing %s", tmp);
		goto out;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		log_warn("fsync %s", tmp);
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		r = -errno;
		log_warn("closing %s", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		log_warn("renaming %s", tmp);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}
