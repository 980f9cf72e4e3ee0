/*
 * The files behind labd's volumes, written by labd into the pool directory itself:
 * libvirt learns of a new one at its next pool refresh (virt_pool_sync). A new file
 * appears whole, under its name, or not at all.
 */
#ifndef VLAB_VOLFILE_H
#define VLAB_VOLFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Creates DIR/NAME holding DATA: written as an unnamed file (O_TMPFILE) and linked in
 * when complete, or, where the file system has no O_TMPFILE, created with O_EXCL and
 * removed again on failure. Blocks of zeros are left as holes. MODE whatever the
 * umask; owner UID:GID unless they are -1. The content is fsync'd before the name
 * appears (the name itself may be lost in a crash: labd's repair makes what is
 * missing). 0, -EEXIST if NAME exists, or -errno (logged). */
int volfile_create(const char *dir, const char *name, const uint8_t *data, size_t len,
		   mode_t mode, uid_t uid, gid_t gid);

/* Overwrites the existing PATH with DATA in place, every byte, and fsyncs it: the same
 * inode, so a VM that holds it open reads the new content. -ENOENT if it is missing. */
int volfile_rewrite(const char *path, const uint8_t *data, size_t len);

/* Reads PATH whole (at most MAX bytes, else -EFBIG) into *DATA (malloc'd) and its
 * stat into *ST. */
int volfile_read(const char *path, size_t max, uint8_t **data, size_t *len, struct stat *st);

#endif
