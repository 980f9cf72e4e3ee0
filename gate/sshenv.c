/* sshd's session environment, read strictly (see sshenv.h). */
#include "gate/sshenv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sshkey.h"

#define AUTH_PREFIX "publickey "

/* A decimal port 1..65535 without sign or leading zero. */
static bool port_valid(const char *s, size_t len)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= 65535;
}

static bool addr_valid(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
}

int sshenv_client(const char *ssh_connection, char out[SSHENV_CLIENT_MAX])
{
	const char *f[4], *p = ssh_connection, *sp;
	size_t flen[4], i;

	out[0] = '\0';
	if (p == NULL)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		sp = strchr(p, ' ');
		if ((sp == NULL) != (i == 3))
			return -EINVAL;   /* fewer or more than four fields */
		f[i] = p;
		flen[i] = sp ? (size_t)(sp - p) : strlen(p);
		p = sp ? sp + 1 : p;
	}
	if (!addr_valid(f[0], flen[0]) || !port_valid(f[1], flen[1]) ||
	    !addr_valid(f[2], flen[2]) || !port_valid(f[3], flen[3]))
		return -EINVAL;
	if (flen[0] + 1 + flen[1] >= SSHENV_CLIENT_MAX)
		return -EINVAL;
	snprintf(out, SSHENV_CLIENT_MAX, "%.*s %.*s", (int)flen[0], f[0], (int)flen[1], f[1]);
	return 0;
}

int sshenv_auth_key(const char *text, size_t len, char **key)
{
	const char *p = text, *end = text + len, *nl, *found = NULL;
	size_t found_len = 0, n = 0;
	struct sshkey k;
	char err[SSHKEY_ERR_LEN];
	int ret;

	*key = NULL;
	if (memchr(text, '\0', len) != NULL)
		return -EINVAL;
	while (p < end) {
		size_t l;

		nl = memchr(p, '\n', (size_t)(end - p));
		l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l > 0) {
			/* One method, one key: anything else is not what sshd_config asks for. */
			if (l <= strlen(AUTH_PREFIX) || memcmp(p, AUTH_PREFIX, strlen(AUTH_PREFIX)))
				return -EINVAL;
			found = p + strlen(AUTH_PREFIX);
			found_len = l - strlen(AUTH_PREFIX);
			n++;
		}
		p += l + (nl ? 1 : 0);
	}
	if (n != 1)
		return -EINVAL;
	ret = sshkey_parse(found, found_len, &k, err, sizeof(err));
	if (ret < 0)
		return ret;
	if (asprintf(key, "%s %s", k.type, k.base64) < 0) {
		*key = NULL;
		ret = -ENOMEM;
	}
	sshkey_clear(&k);
	return ret;
}

int sshenv_read_auth(const char *path, char **key)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	*key = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* sshd writes a plain file; anything else (a FIFO, a device) is not its. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	buf = malloc(SSHENV_AUTH_MAX + 1);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	while (len <= SSHENV_AUTH_MAX) {
		n = read(fd, buf + len, SSHENV_AUTH_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SSHENV_AUTH_MAX) {
		ret = -EFBIG;
		goto out;
	}
	ret = sshenv_auth_key(buf, len, key);
out:
	free(buf);
	close(fd);
	return ret;
}
