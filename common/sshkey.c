#include "common/sshkey.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libssh/libssh.h>

static const struct {
	const char *name;
	enum ssh_keytypes_e type;
	const char *curve;	/* ssh_pki_key_ecdsa_name() the key must have, if ECDSA */
} key_types[] = {
	{ "ssh-ed25519", SSH_KEYTYPE_ED25519, NULL },
	{ "ssh-rsa", SSH_KEYTYPE_RSA, NULL },
	{ "ecdsa-sha2-nistp256", SSH_KEYTYPE_ECDSA_P256, "ecdsa-sha2-nistp256" },
	{ "ecdsa-sha2-nistp384", SSH_KEYTYPE_ECDSA_P384, "ecdsa-sha2-nistp384" },
	{ "ecdsa-sha2-nistp521", SSH_KEYTYPE_ECDSA_P521, "ecdsa-sha2-nistp521" },
	{ "sk-ssh-ed25519@openssh.com", SSH_KEYTYPE_SK_ED25519, NULL },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", SSH_KEYTYPE_SK_ECDSA, "ecdsa-sha2-nistp256" },
};
#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/* authorized_keys options that take no '=' (the others always contain one). */
static const char *const bare_options[] = {
	"restrict", "cert-authority", "no-pty", "no-port-forwarding",
	"no-agent-forwarding", "no-x11-forwarding", "no-user-rc", "no-touch-required",
	"verify-required", "pty", "port-forwarding", "agent-forwarding",
	"x11-forwarding", "user-rc",
};

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;

/* libssh 0.10 runs ssh_init() from a constructor too; a second call only counts up. */
static void sshkey_lib_init(void)
{
	ssh_init();
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A user's token, made safe to print: at most 40 bytes, non-ASCII as \xNN. */
static const char *quote_token(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 40) {
			o += (size_t)snprintf(buf + o, buflen - o, "...");
			break;
		}
		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static const char *control_name(unsigned char c, char *buf, size_t buflen)
{
	switch (c) {
	case '\0': return "a NUL byte";
	case '\r': return "a carriage return (CR)";
	case '\n': return "a line feed (LF)";
	case '\t': return "a tab";
	default:
		snprintf(buf, buflen, "control character 0x%02x", c);
		return buf;
	}
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

#if LIBSSH_VERSION_INT >= SSH_VERSION_INT(0, 11, 0)
static int rsa_bits(ssh_key key, const char *b64)
{
	(void)b64;
	return ssh_key_size(key);
}
#else
/*
 * libssh 0.10 has no ssh_key_size(). Measure the modulus in the blob libssh itself
 * re-encoded (so already validated): string "ssh-rsa", mpint e, mpint n.
 */
static int rsa_bits(ssh_key key, const char *b64)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(b64), i, n = 0, pos = 0, f;
	unsigned char *blob;
	uint32_t acc = 0, flen = 0;
	int bits = -1, nacc = 0;

	(void)key;
	blob = malloc(len / 4 * 3 + 3);
	if (!blob)
		return -1;
	for (i = 0; i < len && b64[i] != '='; i++) {
		const char *p = strchr(alphabet, b64[i]);

		if (!p || !*p)
			goto out;
		acc = (acc << 6) | (uint32_t)(p - alphabet);
		if (++nacc == 4) {
			blob[n++] = (unsigned char)(acc >> 16);
			blob[n++] = (unsigned char)(acc >> 8);
			blob[n++] = (unsigned char)acc;
			acc = 0;
			nacc = 0;
		}
	}
	if (nacc == 3) {
		blob[n++] = (unsigned char)(acc >> 10);
		blob[n++] = (unsigned char)(acc >> 2);
	} else if (nacc == 2) {
		blob[n++] = (unsigned char)(acc >> 4);
	}
	for (f = 0; f < 3; f++) {
		if (n - pos < 4)
			goto out;
		flen = (uint32_t)blob[pos] << 24 | (uint32_t)blob[pos + 1] << 16 |
		       (uint32_t)blob[pos + 2] << 8 | blob[pos + 3];
		pos += 4;
		if (flen > n - pos)
			goto out;
		if (f < 2)
			pos += flen;
	}
	/* pos: start of n, flen: its length; skip the mpint's sign byte(s). */
	while (flen > 0 && blob[pos] == 0) {
		pos++;
		flen--;
	}
	bits = (int)flen * 8;
	if (flen > 0) {
		unsigned char top = blob[pos];

		while (!(top & 0x80)) {
			top <<= 1;
			bits--;
		}
	}
out:
	free(blob);
	return bits;
}
#endif

/*
 * libssh's import trusts the type we pass and ignores both the name inside the blob
 * and any bytes after the key, so only an exact round trip proves the blob is a
 * complete key of that type. ECDSA keys take their curve from the blob and keep the
 * type we passed, so the curve is compared as well.
 */
static int import_exact(const char *b64, int t, ssh_key *out)
{
	ssh_key key = NULL;
	char *again = NULL;
	const char *curve;
	int ret = -EINVAL;

	if (ssh_pki_import_pubkey_base64(b64, key_types[t].type, &key) != SSH_OK)
		goto out;
	if (ssh_key_type(key) != key_types[t].type)
		goto out;
	if (key_types[t].curve) {
		curve = ssh_pki_key_ecdsa_name(key);
		if (!curve || strcmp(curve, key_types[t].curve) != 0)
			goto out;
	}
	if (ssh_pki_export_pubkey_base64(key, &again) != SSH_OK || !again)
		goto out;
	if (strcmp(again, b64) != 0)
		goto out;
	*out = key;
	key = NULL;
	ret = 0;
out:
	if (again)
		ssh_string_free_char(again);
	if (key)
		ssh_key_free(key);
	return ret;
}

static bool looks_like_options(const char *tok, size_t len)
{
	size_t i;

	if (memchr(tok, '=', len) || memchr(tok, ',', len) || memchr(tok, '"', len))
		return true;
	for (i = 0; i < sizeof(bare_options) / sizeof(bare_options[0]); i++) {
		if (strlen(bare_options[i]) == len && !strncasecmp(tok, bare_options[i], len))
			return true;
	}
	return false;
}

static int type_refusal(const char *tok, size_t len, char *err, size_t errlen)
{
	char q[200], *name;
	enum ssh_keytypes_e t;

	quote_token(tok, len, q, sizeof(q));
	if (looks_like_options(tok, len)) {
		seterr(err, errlen, "authorized_keys options ('%s') are not allowed; give only "
		       "'TYPE KEY [COMMENT]'", q);
		return -EINVAL;
	}
	name = strndup(tok, len);
	if (!name)
		return -ENOMEM;
	t = ssh_key_type_from_name(name);
	free(name);
	if (strstr(q, "-cert-v01@openssh.com"))
		seterr(err, errlen, "certificates ('%s') are not accepted, only plain keys", q);
	else if (t != SSH_KEYTYPE_UNKNOWN)
		seterr(err, errlen, "key type '%s' is not accepted (use ssh-ed25519, ecdsa or "
		       "ssh-rsa of %d bits or more)", q, SSHKEY_RSA_MIN_BITS);
	else
		seterr(err, errlen, "unknown key type '%s'", q);
	return -EINVAL;
}

static int check_base64(const char *b, size_t len, char *err, size_t errlen)
{
	size_t i, pad = 0;
	char q[16];

	for (i = 0; i < len; i++) {
		if (b[i] == '=') {
			pad++;
			continue;
		}
		if (!is_b64_char(b[i]) || pad) {
			seterr(err, errlen, "key data is not valid base64 ('%s' at offset %zu)",
			       quote_token(b + i, 1, q, sizeof(q)), i);
			return -EINVAL;
		}
	}
	if (pad > 2 || len % 4 != 0) {
		seterr(err, errlen, "key data is not valid base64 (cut short: %zu characters)",
		       len);
		return -EINVAL;
	}
	return 0;
}

/* A line that may be a key at all: not too long, no control characters. */
static int check_line(const char *line, size_t len, char *err, size_t errlen)
{
	char cbuf[40];
	size_t i;

	if (len > SSHKEY_LINE_MAX) {
		seterr(err, errlen, "key line is %zu bytes long, at most %d are allowed", len,
		       SSHKEY_LINE_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f) {
			seterr(err, errlen, "key contains %s at byte %zu",
			       control_name(c, cbuf, sizeof(cbuf)), i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* The three space-separated fields of a key line (each may be empty but the type). */
struct key_fields {
	const char *type, *b64, *comment;
	size_t type_len, b64_len, comment_len;
};

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static const char *skip_word(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	return p;
}

static int split_fields(const char *line, size_t len, struct key_fields *f, char *err,
			size_t errlen)
{
	const char *p = skip_spaces(line, line + len), *end = line + len;

	while (end > p && end[-1] == ' ')
		end--;
	if (p == end) {
		seterr(err, errlen, "empty key");
		return -EINVAL;
	}
	f->type = p;
	p = skip_word(p, end);
	f->type_len = (size_t)(p - f->type);
	f->b64 = p = skip_spaces(p, end);
	p = skip_word(p, end);
	f->b64_len = (size_t)(p - f->b64);
	f->comment = p = skip_spaces(p, end);
	f->comment_len = (size_t)(end - p);
	return 0;
}

/* B64 imported as key type T, refused with a message when it is another type, damaged
 * or (RSA) too short. */
static int import_checked(const char *b64, int t, ssh_key *skey, char *err, size_t errlen)
{
	int inner, bits;

	if (import_exact(b64, t, skey) < 0) {
		for (inner = 0; inner < (int)N_KEY_TYPES; inner++) {
			if (inner != t && import_exact(b64, inner, skey) == 0)
				break;
		}
		if (inner < (int)N_KEY_TYPES)
			seterr(err, errlen, "type says %s but the key inside is %s",
			       key_types[t].name, key_types[inner].name);
		else
			seterr(err, errlen, "key data is not a valid %s key (truncated, corrupt "
			       "or with trailing bytes)", key_types[t].name);
		return -EINVAL;
	}
	if (key_types[t].type != SSH_KEYTYPE_RSA)
		return 0;
	bits = rsa_bits(*skey, b64);
	if (bits < 0) {
		seterr(err, errlen, "cannot tell the size of this ssh-rsa key");
		return -EINVAL;
	}
	if (bits < SSHKEY_RSA_MIN_BITS) {
		seterr(err, errlen, "ssh-rsa key has %d bits, at least %d are needed",
		       bits, SSHKEY_RSA_MIN_BITS);
		return -EINVAL;
	}
	return 0;
}

/* A comment is a label, nothing depends on it: what we would not re-emit is dropped. */
static int keep_comment(struct sshkey *key, const char *s, size_t len)
{
	bool printable = len > 0 && len <= SSHKEY_COMMENT_MAX;
	size_t i;

	for (i = 0; printable && i < len; i++)
		printable = (unsigned char)s[i] < 0x7f;
	if (!printable)
		return 0;
	key->comment = strndup(s, len);
	return key->comment ? 0 : -ENOMEM;
}

int sshkey_parse(const char *line, size_t len, struct sshkey *key, char *err, size_t errlen)
{
	struct key_fields f;
	char *b64 = NULL;
	ssh_key skey = NULL;
	int ret = -EINVAL, t;

	memset(key, 0, sizeof(*key));
	pthread_once(&ssh_once, sshkey_lib_init);

	if (check_line(line, len, err, errlen) < 0 ||
	    split_fields(line, len, &f, err, errlen) < 0)
		goto out;
	for (t = 0; t < (int)N_KEY_TYPES; t++) {
		if (strlen(key_types[t].name) == f.type_len &&
		    !memcmp(key_types[t].name, f.type, f.type_len))
			break;
	}
	if (t == (int)N_KEY_TYPES) {
		ret = type_refusal(f.type, f.type_len, err, errlen);
		goto out;
	}
	if (f.b64_len == 0) {
		seterr(err, errlen, "%s key has no key data after the type", key_types[t].name);
		goto out;
	}
	if (check_base64(f.b64, f.b64_len, err, errlen) < 0)
		goto out;
	b64 = strndup(f.b64, f.b64_len);
	if (!b64) {
		ret = -ENOMEM;
		goto out;
	}
	if (import_checked(b64, t, &skey, err, errlen) < 0)
		goto out;
	if ((ret = keep_comment(key, f.comment, f.comment_len)) < 0)
		goto out;
	key->type = strdup(key_types[t].name);
	if (!key->type) {
		ret = -ENOMEM;
		goto out;
	}
	key->base64 = b64;
	b64 = NULL;
	ret = 0;
out:
	if (ret < 0) {
		sshkey_clear(key);
		if (ret == -ENOMEM)
			seterr(err, errlen, "out of memory");
	}
	if (skey)
		ssh_key_free(skey);
	free(b64);
	return ret;
}

static bool blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ')
			return false;
	}
	return true;
}

/* Calls fn for each non-blank line (trailing CR cut); stops at fn's first error. */
static int for_each_line(const char *s, size_t len,
			 int (*fn)(const char *, size_t, size_t, void *), void *arg)
{
	size_t pos = 0, idx = 0;
	int ret;

	while (pos < len) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (s + pos)) : len - pos;
		size_t ll = l;

		if (ll > 0 && s[pos + ll - 1] == '\r')
			ll--;
		if (!blank(s + pos, ll)) {
			ret = fn(s + pos, ll, idx++, arg);
			if (ret < 0)
				return ret;
		}
		pos += l + (nl ? 1 : 0);
	}
	return (int)idx;
}

static int count_line(const char *s, size_t len, size_t idx, void *arg)
{
	return 0;
}

struct list_ctx {
	struct sshkey *keys;
	size_t n;
	char *err;
	size_t errlen;
};

static int parse_line(const char *s, size_t len, size_t idx, void *arg)
{
	struct list_ctx *c = arg;
	char msg[SSHKEY_ERR_LEN];
	size_t j;
	int ret;

	ret = sshkey_parse(s, len, &c->keys[idx], msg, sizeof(msg));
	if (ret < 0) {
		seterr(c->err, c->errlen, "key %zu: %s", idx + 1, msg);
		return ret;
	}
	c->n = idx + 1;
	for (j = 0; j < idx; j++) {
		if (!strcmp(c->keys[j].type, c->keys[idx].type) &&
		    !strcmp(c->keys[j].base64, c->keys[idx].base64)) {
			seterr(c->err, c->errlen, "key %zu: same key as key %zu", idx + 1, j + 1);
			return -EINVAL;
		}
	}
	return 0;
}

int sshkey_parse_list(const char *field, size_t len, struct sshkey **keys, size_t *n,
		      char *err, size_t errlen)
{
	struct list_ctx c = { .err = err, .errlen = errlen };
	int count, ret;

	*keys = NULL;
	*n = 0;
	count = for_each_line(field, len, count_line, NULL);
	if (count == 0) {
		seterr(err, errlen, "no SSH key given");
		return -EINVAL;
	}
	if (count > SSHKEY_LIST_MAX) {
		seterr(err, errlen, "%d SSH keys given, at most %d are allowed", count,
		       SSHKEY_LIST_MAX);
		return -EINVAL;
	}
	c.keys = calloc((size_t)count, sizeof(*c.keys));
	if (!c.keys) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = for_each_line(field, len, parse_line, &c);
	if (ret < 0) {
		/* Slots never reached are still zeroed by calloc: freeing all is safe. */
		sshkey_free_list(c.keys, (size_t)count);
		return ret;
	}
	*keys = c.keys;
	*n = c.n;
	return 0;
}

int sshkey_format(const struct sshkey *key, char **out)
{
	*out = NULL;
	if (!key || !key->type || !key->base64)
		return -EINVAL;
	if (asprintf(out, "%s %s%s%s", key->type, key->base64, key->comment ? " " : "",
		     key->comment ? key->comment : "") < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int sshkey_join(const struct sshkey *keys, size_t n, char **out)
{
	char *joined = NULL, *line = NULL;
	size_t len = 0, i, l;
	int r;

	*out = NULL;
	for (i = 0; i < n; i++) {
		char *nj;

		r = sshkey_format(&keys[i], &line);
		if (r < 0)
			goto fail;
		l = strlen(line);
		nj = realloc(joined, len + l + 2);
		if (nj == NULL) {
			r = -ENOMEM;
			goto fail;
		}
		joined = nj;
		if (len > 0)
			joined[len++] = '\n';
		memcpy(joined + len, line, l + 1);
		len += l;
		free(line);
		line = NULL;
	}
	*out = joined ? joined : strdup("");
	return *out ? 0 : -ENOMEM;
fail:
	free(line);
	free(joined);
	return r;
}

void sshkey_clear(struct sshkey *key)
{
	if (!key)
		return;
	free(key->type);
	free(key->base64);
	free(key->comment);
	memset(key, 0, sizeof(*key));
}

void sshkey_free_list(struct sshkey *keys, size_t n)
{
	size_t i;

	if (!keys)
		return;
	for (i = 0; i < n; i++)
		sshkey_clear(&keys[i]);
	free(keys);
}
