#include "cli/keyurl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/student.h"

#define KEYURL_NAME_MAX 128

int keyurl_check(const char *template, char *err, size_t errlen)
{
	const char *p, *close;
	size_t host_len;

	if (strncasecmp(template, "https://", 8) != 0) {
		snprintf(err, errlen, "it must start with https:// (keys are fetched over "
			 "verified TLS only)");
		return -EINVAL;
	}
	/* The server is the teacher's choice, never a roster value's. */
	host_len = strcspn(template + 8, "/?#");
	if (host_len == 0 || memchr(template + 8, '{', host_len) ||
	    memchr(template + 8, '}', host_len)) {
		snprintf(err, errlen, "the server after https:// must be written out, "
			 "without {...} (e.g. https://gitlab.school.example/{username}.keys)");
		return -EINVAL;
	}
	for (p = template; *p; p++) {
		if (*p == '}') {
			snprintf(err, errlen, "a '}' with no '{' before it (at character %zu)",
				 (size_t)(p - template) + 1);
			return -EINVAL;
		}
		if (*p != '{')
			continue;
		close = strpbrk(p + 1, "{}");
		if (!close || *close == '{') {
			snprintf(err, errlen, "the '{' at character %zu is not closed by a '}'",
				 (size_t)(p - template) + 1);
			return -EINVAL;
		}
		if (close == p + 1 || close - p - 1 > KEYURL_NAME_MAX) {
			snprintf(err, errlen, "the '{...}' at character %zu needs a column name, "
				 "e.g. {username}", (size_t)(p - template) + 1);
			return -EINVAL;
		}
		p = close;
	}
	return 0;
}

/* The expanded URL must still be https with a host: a value cannot change that, but
 * a template can be wrong in ways keyurl_check() does not see ("https:///x"). */
static int url_sane(const char *url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	CURLUcode rc;
	int ret = -EINVAL;

	if (!u)
		return -ENOMEM;
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_OUT_OF_MEMORY) {
		ret = -ENOMEM;
	} else if (rc != CURLUE_OK) {
		snprintf(err, errlen, "'%s' is not a URL: %s", url, curl_url_strerror(rc));
	} else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		   strcasecmp(scheme, "https") != 0 ||
		   curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		snprintf(err, errlen, "'%s' is not an https URL with a host", url);
	} else {
		ret = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

int keyurl_expand(const char *template, keyurl_lookup_fn lookup, void *arg, char **url,
		  char *err, size_t errlen)
{
	char name[KEYURL_NAME_MAX + 1], q[200], *out = NULL, *enc;
	const char *p = template, *open, *close, *value;
	size_t len = 0;
	FILE *f;
	int ret;

	*url = NULL;
	f = open_memstream(&out, &len);
	if (!f)
		return -ENOMEM;
	while ((open = strchr(p, '{')) != NULL) {
		close = strchr(open, '}');
		if (!close || close - open - 1 > KEYURL_NAME_MAX) {
			snprintf(err, errlen, "the template is not closed (keyurl_check it)");
			ret = -EINVAL;
			goto out;
		}
		fwrite(p, 1, (size_t)(open - p), f);
		memcpy(name, open + 1, (size_t)(close - open - 1));
		name[close - open - 1] = '\0';
		ret = lookup(arg, name, &value);
		if (ret == -ENOENT || ret == -EEXIST)
			snprintf(err, errlen, ret == -ENOENT ? "{%s}: the roster has no such "
				 "column" : "{%s}: more than one roster column has that name",
				 student_quote_value(name, q, sizeof(q)));
		if (ret == 0 && !*value) {
			snprintf(err, errlen, "{%s} is empty for this student",
				 student_quote_value(name, q, sizeof(q)));
			ret = -EINVAL;
		}
		if (ret < 0)
			goto out;
		/* curl's handle argument is unused since 7.82. */
		enc = curl_easy_escape(NULL, value, 0);
		if (!enc) {
			ret = -ENOMEM;
			goto out;
		}
		fputs(enc, f);
		curl_free(enc);
		p = close + 1;
	}
	fputs(p, f);
	ret = 0;
out:
	if (fclose(f) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret == 0)
		ret = url_sane(out, err, errlen);
	if (ret == 0)
		*url = out;
	else
		free(out);
	return ret;
}
