/*
 * Key pairs for students who have no key, made on the teacher's machine (libssh,
 * ed25519) and written where the teacher hands them out: DIR/ID, the private key in
 * OpenSSH's format, mode 0600, and DIR/ID.pub. Only the public key goes to labd.
 *
 * A file is written under a temporary name, synced, then linked to its own name,
 * which fails rather than replace anything: no half-written key is ever seen under a
 * student's name, and no existing file is overwritten. A complete pair that an
 * earlier run wrote (the private key matching ID.pub) is used again, so that enrolling
 * the same roster twice gives the students the keys they were handed the first time.
 */
#ifndef VLAB_CLI_KEYGEN_H
#define VLAB_CLI_KEYGEN_H

#include <stdbool.h>
#include <stddef.h>

#define KEYGEN_ERR_LEN 512

struct keygen_dir {
	int fd;
	char *path;
};

/*
 * Opens PATH, making it (mode 0700) when it does not exist. 0, or -errno with the
 * reason in ERR (not a directory, no permission...).
 */
int keygen_dir_open(const char *path, struct keygen_dir *d, char *err, size_t errlen);
void keygen_dir_close(struct keygen_dir *d);

enum keygen_state {
	KEYGEN_NONE,		/* neither DIR/ID nor DIR/ID.pub: a pair can be made */
	KEYGEN_PAIR,		/* both, and they are a pair: *pub_line is its public key */
};

/*
 * What DIR holds for ID, before anything is written. KEYGEN_NONE, KEYGEN_PAIR (then
 * *PUB_LINE, malloc'd), -EEXIST with the reason in ERR (only one of the two files, or
 * two that are not a pair, or not regular files: the teacher must look), -ENOMEM or
 * another -errno.
 */
int keygen_probe(const struct keygen_dir *d, const char *id, char **pub_line, char *err,
		 size_t errlen);

/*
 * Makes a new pair for ID and writes DIR/ID (0600) and DIR/ID.pub (0644), or neither.
 * 0 with *PUB_LINE ("ssh-ed25519 BASE64 ID@vlab", malloc'd), -EEXIST when a file of
 * that name appeared meanwhile, -ENOMEM, -EIO (libssh failed), or another -errno;
 * the reason in ERR.
 */
int keygen_make(const struct keygen_dir *d, const char *id, char **pub_line, char *err,
		size_t errlen);

/* Removes the pair keygen_make() wrote for ID (when labd refused the batch). 0 or -errno. */
int keygen_remove(const struct keygen_dir *d, const char *id);

#endif
