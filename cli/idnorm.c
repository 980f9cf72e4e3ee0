#include "cli/idnorm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utrans.h>

/* Usernames, e-mails and labels are short; anything longer is not one of them. */
#define IDNORM_MAX_IN 1024

struct idnorm {
	UTransliterator *t;
};

int idnorm_open(struct idnorm **out)
{
	static const char rules[] = "NFKC; Latin-ASCII; Lower";
	UChar id[sizeof(rules)];
	UErrorCode st = U_ZERO_ERROR;
	struct idnorm *n;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	u_uastrcpy(id, rules);
	n->t = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
	if (U_FAILURE(st)) {
		free(n);
		return st == U_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EIO;
	}
	*out = n;
	return 0;
}

void idnorm_close(struct idnorm *n)
{
	if (!n)
		return;
	utrans_close(n->t);
	free(n);
}

/*
 * IN folded into *OUT (malloc'd UTF-16, *LEN code units). A transliteration may grow
 * the text (U+FDFA becomes 18 letters), so the buffer grows until it fits.
 */
static int fold(struct idnorm *n, const char *in, UChar **out, int32_t *len)
{
	size_t inlen = strlen(in);
	UErrorCode st = U_ZERO_ERROR;
	int32_t ulen = 0, cap, limit, tlen;
	UChar *buf = NULL, *nb;
	int tries;

	*out = NULL;
	*len = 0;
	if (inlen > IDNORM_MAX_IN)
		return -EINVAL;
	/* Preflight: the UTF-16 length, and whether IN is UTF-8 at all. */
	u_strFromUTF8(NULL, 0, &ulen, in, (int32_t)inlen, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		return -EINVAL;
	cap = ulen * 4 + 16;
	for (tries = 0; tries < 4; tries++, cap *= 4) {
		nb = realloc(buf, (size_t)cap * sizeof(*buf));
		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		st = U_ZERO_ERROR;
		u_strFromUTF8(buf, cap, &tlen, in, (int32_t)inlen, &st);
		if (U_FAILURE(st))
			break;
		limit = tlen;
		utrans_transUChars(n->t, buf, &tlen, cap, 0, &limit, &st);
		if (st == U_BUFFER_OVERFLOW_ERROR)
			continue;
		if (U_FAILURE(st))
			break;
		*out = buf;
		*len = tlen;
		return 0;
	}
	free(buf);
	return st == U_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EINVAL;
}

static bool ascii_alnum(UChar32 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int idnorm_id(struct idnorm *n, const char *in, char out[ID_MAX_LEN + 1])
{
	size_t o = 0;
	int32_t len, i = 0;
	UChar *u;
	UChar32 c;
	int r;

	out[0] = '\0';
	r = fold(n, in, &u, &len);
	if (r < 0)
		return r;
	while (i < len && o < ID_MAX_LEN) {
		U16_NEXT(u, i, len, c);
		if (!ascii_alnum(c) && c != '_' && c != '-')
			c = '-';
		/* An ID starts with a letter or a digit: what comes before one is dropped. */
		if (o == 0 && !ascii_alnum(c))
			continue;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	free(u);
	return o > 0 ? 0 : -EINVAL;
}

int idnorm_label(struct idnorm *n, const char *in, char **out)
{
	bool gap = false;
	int32_t len, i = 0;
	size_t o = 0;
	char *s;
	UChar *u;
	UChar32 c;
	int r;

	*out = NULL;
	r = fold(n, in, &u, &len);
	if (r < 0)
		return r;
	s = malloc((size_t)len + 1);
	if (!s) {
		free(u);
		return -ENOMEM;
	}
	while (i < len) {
		U16_NEXT(u, i, len, c);
		if (!ascii_alnum(c)) {
			gap = true;
			continue;
		}
		if (gap && o > 0)
			s[o++] = ' ';
		gap = false;
		s[o++] = (char)c;
	}
	s[o] = '\0';
	free(u);
	*out = s;
	return 0;
}
