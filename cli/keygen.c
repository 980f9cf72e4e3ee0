#include "cli/keygen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "common/sshkey.h"

#define KEYGEN_FILE_MAX (16 * 1024)	/* an ed25519 key file is ~400 bytes */

int keygen_dir_open(const char *path, struct keygen_dir *d, char *err, size_t errlen)
{
	d->fd = -1;
	d->path = NULL;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot make the directory: %s", path, strerror(errno));
		return -errno;
	}
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, e == ENOTDIR ? "not a directory"
								  : strerror(e));
		return -e;
	}
	d->path = strdup(path);
	if (!d->path) {
		keygen_dir_close(d);
		return -ENOMEM;
	}
	return 0;
}

void keygen_dir_close(struct keygen_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	d->fd = -1;
	d->path = NULL;
}

/* NAME in D, read whole (at most KEYGEN_FILE_MAX bytes) into *OUT. 0 or -errno. */
static int read_small(const struct keygen_dir *d, const char *name, char **out)
{
	int fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf = NULL;
	size_t len = 0;
	ssize_t got;
	int ret;

	*out = NULL;
	if (fd < 0)
		return -errno;
	buf = malloc(KEYGEN_FILE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while ((got = read(fd, buf + len, KEYGEN_FILE_MAX + 1 - len)) > 0) {
		len += (size_t)got;
		if (len > KEYGEN_FILE_MAX)
			break;
	}
	if (got < 0) {
		ret = -errno;
		goto out;
	}
	if (len > KEYGEN_FILE_MAX) {
		ret = -EFBIG;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	ret = 0;
out:
	if (buf)
		explicit_bzero(buf, KEYGEN_FILE_MAX + 1);
	free(buf);
	close(fd);
	return ret;
}

/* The public half of the private key in PRIV_TEXT as "TYPE BASE64". 0, -EINVAL, -ENOMEM. */
static int private_to_public(const char *priv_text, char **out)
{
	ssh_key priv = NULL, pub = NULL;
	char *b64 = NULL;
	int ret = -EINVAL;

	*out = NULL;
	if (ssh_pki_import_privkey_base64(priv_text, NULL, NULL, NULL, &priv) != SSH_OK ||
	    ssh_pki_export_privkey_to_pubkey(priv, &pub) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(pub, &b64) != SSH_OK)
		goto out;
	ret = asprintf(out, "%s %s", ssh_key_type_to_char(ssh_key_type(pub)), b64) < 0
		      ? -ENOMEM : 0;
	if (ret < 0)
		*out = NULL;
out:
	ssh_string_free_char(b64);
	ssh_key_free(pub);
	ssh_key_free(priv);
	return ret;
}

/* DERIVED ("TYPE BASE64") is KEY. */
static bool same_public(const char *derived, const struct sshkey *key)
{
	size_t tl = strlen(key->type);

	return !strncmp(derived, key->type, tl) && derived[tl] == ' ' &&
	       !strcmp(derived + tl + 1, key->base64);
}

int keygen_probe(const struct keygen_dir *d, const char *id, char **pub_line, char *err,
		 size_t errlen)
{
	char pubname[NAME_MAX + 1], kmsg[SSHKEY_ERR_LEN], *priv = NULL, *pub = NULL;
	char *derived = NULL, *line = NULL;
	struct sshkey *keys = NULL;
	struct stat sp, sq;
	bool has_priv, has_pub;
	size_t n = 0;
	int ret;

	*pub_line = NULL;
	snprintf(pubname, sizeof(pubname), "%s.pub", id);
	has_priv = fstatat(d->fd, id, &sp, AT_SYMLINK_NOFOLLOW) == 0;
	if (!has_priv && errno != ENOENT)
		return -errno;
	has_pub = fstatat(d->fd, pubname, &sq, AT_SYMLINK_NOFOLLOW) == 0;
	if (!has_pub && errno != ENOENT)
		return -errno;
	if (!has_priv && !has_pub)
		return KEYGEN_NONE;
	ret = -EEXIST;
	if (has_priv != has_pub) {
		snprintf(err, errlen, "%s/%s exists but %s/%s does not: not a pair labctl made; "
			 "move it away, or give the student a key", d->path,
			 has_priv ? id : pubname, d->path, has_priv ? pubname : id);
		goto out;
	}
	if (!S_ISREG(sp.st_mode) || !S_ISREG(sq.st_mode)) {
		snprintf(err, errlen, "%s/%s or %s/%s is not a regular file; move it away",
			 d->path, id, d->path, pubname);
		goto out;
	}
	ret = read_small(d, id, &priv);
	if (ret == 0)
		ret = read_small(d, pubname, &pub);
	if (ret == -ENOMEM)
		goto out;
	if (ret == 0)
		ret = sshkey_parse_list(pub, strlen(pub), &keys, &n, kmsg, sizeof(kmsg));
	if (ret == 0 && n == 1)
		ret = private_to_public(priv, &derived);
	if (ret == 0 && n == 1 && same_public(derived, &keys[0]))
		ret = sshkey_format(&keys[0], &line);
	else if (ret != -ENOMEM)
		ret = -EEXIST;
	if (ret == -EEXIST)
		snprintf(err, errlen, "%s/%s and %s/%s are there but are not a key pair labctl "
			 "made (unreadable, a passphrase, or two keys that do not match); move "
			 "them away, or give the student a key", d->path, id, d->path, pubname);
	if (ret == 0) {
		*pub_line = line;
		line = NULL;
		ret = KEYGEN_PAIR;
	}
out:
	if (priv)
		explicit_bzero(priv, strlen(priv));
	free(priv);
	free(pub);
	free(derived);
	free(line);
	sshkey_free_list(keys, n);
	return ret;
}

/*
 * DATA written as NAME in D, whole or not at all: under a temporary name first, synced,
 * then linked to NAME, which fails with -EEXIST rather than replace a file.
 */
static int write_new(const struct keygen_dir *d, const char *name, const char *data,
		     mode_t mode)
{
	char tmp[NAME_MAX + 1];
	size_t len = strlen(data), done = 0;
	unsigned rnd;
	ssize_t w;
	int fd = -1, tries, ret;

	for (tries = 0; tries < 16 && fd < 0; tries++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		snprintf(tmp, sizeof(tmp), ".%s.%08x.tmp", name, rnd);
		fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    mode);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	/* Exactly MODE, whatever the umask left. */
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (done < len) {
		w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (linkat(d->fd, tmp, d->fd, name, 0) < 0)
		goto fail;
	unlinkat(d->fd, tmp, 0);
	return 0;
fail:
	ret = -errno;
	if (fd >= 0)
		close(fd);
	unlinkat(d->fd, tmp, 0);
	return ret;
}

int keygen_make(const struct keygen_dir *d, const char *id, char **pub_line, char *err,
		size_t errlen)
{
	char pubname[NAME_MAX + 1], *priv = NULL, *b64 = NULL, *line = NULL, *file = NULL;
	const char *failed;
	ssh_key key = NULL;
	int ret = -EIO;

	*pub_line = NULL;
	snprintf(pubname, sizeof(pubname), "%s.pub", id);
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK ||
	    ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &priv) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(err, errlen, "libssh could not make an ed25519 key pair for %s", id);
		goto out;
	}
	if (asprintf(&line, "ssh-ed25519 %s %s@vlab", b64, id) < 0 ||
	    asprintf(&file, "%s\n", line) < 0) {
		line = file = NULL;
		ret = -ENOMEM;
		goto out;
	}
	failed = id;
	ret = write_new(d, id, priv, 0600);
	if (ret == 0) {
		failed = pubname;
		ret = write_new(d, pubname, file, 0644);
		if (ret < 0)
			unlinkat(d->fd, id, 0);
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s/%s: %s", d->path, failed,
			 ret == -EEXIST ? "exists; it is not replaced" : strerror(-ret));
		goto out;
	}
	(void)fsync(d->fd);
	*pub_line = line;
	line = NULL;
out:
	if (priv)
		explicit_bzero(priv, strlen(priv));
	ssh_string_free_char(priv);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	free(line);
	free(file);
	return ret;
}

int keygen_remove(const struct keygen_dir *d, const char *id)
{
	char pubname[NAME_MAX + 1];
	int ret = 0;

	snprintf(pubname, sizeof(pubname), "%s.pub", id);
	if (unlinkat(d->fd, pubname, 0) < 0 && errno != ENOENT)
		ret = -errno;
	if (unlinkat(d->fd, id, 0) < 0 && errno != ENOENT)
		ret = -errno;
	(void)fsync(d->fd);
	return ret;
}
