#include "cli/keyfetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

/* One transfer in flight. */
struct transfer {
	struct keyfetch_job *job;
	CURL *h;
	size_t max, cap;
	char errbuf[CURL_ERROR_SIZE];
};

/* libcurl: a piece of the body. Past the limit the transfer is stopped (returning
 * less than given makes libcurl end it with CURLE_WRITE_ERROR). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	struct keyfetch_answer *a = &t->job->answer;
	size_t n = size * nmemb, cap;
	char *nb;

	if (n > t->max - a->len) {
		a->too_large = true;
		return 0;
	}
	if (a->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 1024;
		while (cap < a->len + n + 1)
			cap *= 2;
		nb = realloc(a->body, cap);
		if (!nb)
			return 0;
		a->body = nb;
		t->cap = cap;
	}
	memcpy(a->body + a->len, data, n);
	a->len += n;
	a->body[a->len] = '\0';
	return n;
}

/* Every option that makes a fetch safe to point at any URL a roster can produce. */
static int transfer_setup(struct transfer *t, const struct keyfetch_opts *o, long timeout,
			  long connect_timeout, size_t max)
{
	CURL *h = curl_easy_init();
	CURLcode rc = CURLE_OK;

	if (!h)
		return -ENOMEM;
	t->h = h;
	t->max = max;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, t->job->url);
	SET(CURLOPT_PRIVATE, t);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	/* https only, also after a redirect: never file://, never plain http. */
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, (long)KEYFETCH_MAX_REDIRECTS);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		SET(CURLOPT_CAINFO, o->ca_file);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
	SET(CURLOPT_TIMEOUT_MS, timeout);
	/* Refused before a byte is read when the server says the size; on_body stops the
	 * others. */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_USERAGENT, "labctl (vlab)");
#undef SET
	if (rc == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	return rc == CURLE_OK ? 0 : -EINVAL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The transfer ended with RC: record what came back. 0 or -ENOMEM. */
static int transfer_finish(struct transfer *t, CURLcode rc)
{
	struct keyfetch_answer *a = &t->job->answer;
	char *ct = NULL, *url = NULL;
	const char *why;

	(void)curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &a->status);
	(void)curl_easy_getinfo(t->h, CURLINFO_REDIRECT_COUNT, &a->redirects);
	(void)curl_easy_getinfo(t->h, CURLINFO_CONTENT_TYPE, &ct);
	(void)curl_easy_getinfo(t->h, CURLINFO_EFFECTIVE_URL, &url);
	a->content_type = dup_or_null(ct);
	a->final_url = dup_or_null(url);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		a->too_large = true;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		a->timed_out = true;
	a->tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
		 rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
	if (rc != CURLE_OK) {
		why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
		if (a->too_large)
			why = "the answer is larger than the limit";
		a->error = strdup(why);
		if (!a->error)
			return -ENOMEM;
	}
	if ((ct && !a->content_type) || (url && !a->final_url))
		return -ENOMEM;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int keyfetch_run(struct keyfetch_job *jobs, size_t n, const struct keyfetch_opts *o,
		 char *err, size_t errlen)
{
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : KEYFETCH_TIMEOUT_MS;
	long connect = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
						 : KEYFETCH_CONNECT_TIMEOUT_MS;
	size_t max = o->max_bytes ? o->max_bytes : KEYFETCH_MAX_BYTES;
	unsigned parallel = o->parallel ? o->parallel : KEYFETCH_PARALLEL;
	struct transfer *t = NULL;
	size_t next = 0, active = 0, i;
	long deadline;
	CURLM *m = NULL;
	CURLMsg *msg;
	int ret = -EIO, left, running;

	if (connect > timeout)
		connect = timeout;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl cannot start (curl_global_init)");
		return -EIO;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	m = curl_multi_init();
	if (!t || !m) {
		ret = -ENOMEM;
		goto out;
	}
	(void)curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)parallel);
	/* Each transfer ends by its own limit; this one only guards the loop itself. */
	deadline = now_ms() + (long)((n + parallel - 1) / parallel + 1) * (timeout + 1000);
	while (next < n || active > 0) {
		while (next < n && active < parallel) {
			t[next].job = &jobs[next];
			ret = transfer_setup(&t[next], o, timeout, connect, max);
			if (ret < 0) {
				snprintf(err, errlen, "libcurl refused an option for %s",
					 jobs[next].url);
				goto out;
			}
			if (curl_multi_add_handle(m, t[next].h) != CURLM_OK) {
				ret = -ENOMEM;
				goto out;
			}
			next++;
			active++;
		}
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			snprintf(err, errlen, "libcurl's transfers failed (curl_multi_perform)");
			ret = -EIO;
			goto out;
		}
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct transfer *done = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&done);
			ret = transfer_finish(done, msg->data.result);
			curl_multi_remove_handle(m, done->h);
			curl_easy_cleanup(done->h);
			done->h = NULL;
			active--;
			if (ret < 0)
				goto out;
		}
		if (active > 0 && now_ms() > deadline) {
			snprintf(err, errlen, "the transfers did not end within their time limits");
			ret = -EIO;
			goto out;
		}
		if (active > 0 && curl_multi_poll(m, NULL, 0, 500, NULL) != CURLM_OK) {
			snprintf(err, errlen, "libcurl's transfers failed (curl_multi_poll)");
			ret = -EIO;
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; t && i < n; i++) {
		if (t[i].h) {
			curl_multi_remove_handle(m, t[i].h);
			curl_easy_cleanup(t[i].h);
		}
	}
	curl_multi_cleanup(m);
	free(t);
	curl_global_cleanup();
	return ret;
}

void keyfetch_answer_clear(struct keyfetch_answer *a)
{
	free(a->error);
	free(a->content_type);
	free(a->final_url);
	free(a->body);
	memset(a, 0, sizeof(*a));
}
