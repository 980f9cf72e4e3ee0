/*
 * Fetching many small files over HTTPS at once (libcurl's multi interface), for the
 * students' public keys: a bounded number of transfers in parallel, TLS verified
 * (the system's CAs, plus a school's with ca_file), https only, redirects followed a
 * few times and only to https, a time limit for connecting and one for the whole
 * transfer, and a size limit past which the transfer is stopped. What each answer
 * means is cli/keyanswer.h's business: this only records what came back.
 */
#ifndef VLAB_CLI_KEYFETCH_H
#define VLAB_CLI_KEYFETCH_H

#include <stdbool.h>
#include <stddef.h>

#define KEYFETCH_PARALLEL		8
#define KEYFETCH_MAX_BYTES		(64 * 1024)
#define KEYFETCH_MAX_REDIRECTS		3
#define KEYFETCH_CONNECT_TIMEOUT_MS	5000
#define KEYFETCH_TIMEOUT_MS		15000

struct keyfetch_opts {
	const char *ca_file;		/* PEM CA certificates to trust too; NULL: none */
	long timeout_ms;		/* whole transfer; 0: KEYFETCH_TIMEOUT_MS */
	long connect_timeout_ms;	/* 0: KEYFETCH_CONNECT_TIMEOUT_MS (at most timeout_ms) */
	size_t max_bytes;		/* 0: KEYFETCH_MAX_BYTES */
	unsigned parallel;		/* 0: KEYFETCH_PARALLEL */
};

/* What came back for one URL. */
struct keyfetch_answer {
	char *error;		/* the transfer failed: curl's words; NULL when it completed */
	bool timed_out;		/* a time limit stopped it */
	bool too_large;		/* the size limit stopped it */
	bool tls;		/* it failed in TLS: the certificate, most often */
	long status;		/* HTTP status of the last response; 0 when there was none */
	char *content_type;	/* of the last response; NULL when it had none */
	char *final_url;	/* where the last response came from */
	long redirects;		/* how many were followed */
	char *body;		/* NUL-terminated; at most max_bytes bytes */
	size_t len;
};

struct keyfetch_job {
	const char *url;		/* in: an https URL */
	struct keyfetch_answer answer;	/* out: keyfetch_answer_clear() it */
};

/*
 * Fetches every job's URL, at most o->parallel at a time, and fills its answer. Each
 * transfer ends by its own time limit, so this returns after about
 * ceil(n / parallel) * timeout at the worst. 0 (every answer filled, failures
 * included), -ENOMEM, or -EIO when libcurl cannot start (the reason in ERR).
 */
int keyfetch_run(struct keyfetch_job *jobs, size_t n, const struct keyfetch_opts *o,
		 char *err, size_t errlen);

void keyfetch_answer_clear(struct keyfetch_answer *a);

#endif
