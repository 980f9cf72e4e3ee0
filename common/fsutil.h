/* Small file-system helpers shared by the daemons. */
#ifndef VLAB_FSUTIL_H
#define VLAB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p PATH with MODE for the directories it creates. 0, -ENOTDIR if PATH exists
 * and is not a directory, or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

/* Writes all LEN bytes of DATA at offset OFF of FD (short writes and EINTR retried).
 * 0 or -errno, not logged. */
int fs_pwrite_all(int fd, const void *data, size_t len, off_t off);
/* The same at FD's current position, for pipes, terminals and sockets (a blocking FD). */
int fs_write_all(int fd, const void *data, size_t len);

/* Replaces PATH with DATA: PATH.tmp written, chmod MODE (whatever the umask), fsync,
 * rename. A reader sees the old file or the new one, never a part. 0 or -errno (logged);
 * on failure PATH is untouched and PATH.tmp removed. */
int fs_replace_file(const char *path, const void *data, size_t len, mode_t mode);

#endif
