/*
 * The cloud-init NoCloud seed of one student: meta-data and user-data as YAML built with
 * libyaml's emitter (never pasted), and the ISO 9660 image (volume id "cidata", Rock Ridge
 * and Joliet, like `genisoimage -V cidata -J -r`) built in memory with libisofs, ready for
 * virStorageVolUpload().
 *
 * The image is reproducible: fixed timestamps, modes and owners, so the same parameters
 * always give the same bytes.
 *
 * Every function returns 0 or a negative errno:
 *   -EINVAL  a NULL or empty field, a hostname that is not a student ID, a string that
 *            is not valid UTF-8 (libyaml refuses it)
 *   -ENOMEM  out of memory
 *   -EIO     libyaml or libisofs failed otherwise (logged)
 * On success the caller frees *out with free(); on failure *out is NULL and *len 0.
 *
 * seed_build_iso() is not thread-safe: libisofs keeps global state (iso_init/iso_finish).
 */
#ifndef VLAB_SEED_H
#define VLAB_SEED_H

#include <stddef.h>
#include <stdint.h>

#define SEED_VOLUME_ID "cidata"

struct seed_params {
	const char *instance_id;   /* e.g. "vlab-net101-alice-3": changes on reset/set-keys
	                              so cloud-init runs again */
	const char *hostname;      /* the student id, [a-z0-9][a-z0-9_-]{0,31}; '_' becomes
	                              '-' in the hostname */
	const char *user;          /* the guest account */
	const char *const *keys;   /* canonical "TYPE BASE64[ COMMENT]" lines, validated */
	size_t n_keys;             /* 0 is allowed: an empty ssh_authorized_keys list */
};

/* "instance-id: \"...\"\nlocal-hostname: \"...\"\n" */
int seed_build_meta_data(const struct seed_params *p, char **out, size_t *len);

/*
 * "#cloud-config\n" then one block mapping: hostname, manage_etc_hosts: true,
 * ssh_pwauth: false, disable_root: true, users: [{name, shell: /bin/bash,
 * lock_passwd: true, sudo, ssh_authorized_keys}]. Every user-supplied string is a
 * double-quoted scalar, never folded: each key is one line `  - "KEY"`.
 */
int seed_build_user_data(const struct seed_params *p, char **out, size_t *len);

/* The ISO image holding /meta-data and /user-data; *len is a multiple of 2048. */
int seed_build_iso(const struct seed_params *p, uint8_t **out, size_t *len);

#endif
