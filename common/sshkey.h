/*
 * OpenSSH public keys: one "TYPE BASE64 [COMMENT]" line, parsed with libssh and
 * re-emitted in canonical form. Nothing a user typed goes into a seed unparsed.
 */
#ifndef VLAB_SSHKEY_H
#define VLAB_SSHKEY_H

#include <stddef.h>

#define SSHKEY_LINE_MAX		(16 * 1024)	/* bytes in one key line */
#define SSHKEY_COMMENT_MAX	128		/* longer comments are dropped */
#define SSHKEY_LIST_MAX		16		/* keys per student */
#define SSHKEY_RSA_MIN_BITS	2048
#define SSHKEY_ERR_LEN		256		/* a good size for err buffers */

struct sshkey {
	char *type;	/* "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ... */
	char *base64;	/* the key blob as libssh re-encodes it */
	char *comment;	/* NULL when absent or dropped (non-ASCII, too long) */
};

/*
 * Parse one key line of len bytes (embedded NULs are refused, so len matters).
 * Accepted: ssh-ed25519, ssh-rsa (>= 2048 bits), ecdsa-sha2-nistp256/384/521,
 * sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com.
 * Returns 0 and fills *key (owned by the caller: sshkey_clear), or -EINVAL with a
 * human message in err ("type says ssh-rsa but the key inside is ssh-ed25519"),
 * or -ENOMEM.
 */
int sshkey_parse(const char *line, size_t len, struct sshkey *key, char *err, size_t errlen);

/*
 * Several keys, one per line (LF or CRLF), blank lines skipped; 1..SSHKEY_LIST_MAX
 * keys, no key twice. Errors name the key by its position: "key 2: ...".
 * On success *keys is an array of *n keys: free with sshkey_free_list.
 */
int sshkey_parse_list(const char *field, size_t len, struct sshkey **keys, size_t *n,
		      char *err, size_t errlen);

/* "TYPE BASE64[ COMMENT]" in *out (malloc'd). 0 or -ENOMEM / -EINVAL. */
int sshkey_format(const struct sshkey *key, char **out);

/* The N keys in canonical form, one per line, no trailing newline ("" for none), in
 * *OUT (malloc'd): what labd stores and labctl sends. 0 or -ENOMEM / -EINVAL. */
int sshkey_join(const struct sshkey *keys, size_t n, char **out);

void sshkey_clear(struct sshkey *key);
void sshkey_free_list(struct sshkey *keys, size_t n);

#endif
