/*
 * What a keys URL's answer means for one student. A plain list of key lines gives
 * the student's usable keys, each one validated as a roster's are (common/sshkey.h);
 * a line that is not a usable key is left out with a note. The rest is told apart:
 *
 * - "no keys": the account has none to give. HTTP 404 and other 4xx, an empty
 *   answer, an HTML page (Content-Type text/html, or a body that starts with '<':
 *   a private GitLab redirects to its login page), or lines none of which is usable.
 *   --generate-keys may then make the student a pair.
 * - "failed": the keys could not be learnt: the transfer failed (TLS, DNS, refused,
 *   a time limit, too many redirects), the answer was over the size limit, or the
 *   server answered 5xx or another status. An error even with --generate-keys: the
 *   student may well have keys there.
 */
#ifndef VLAB_CLI_KEYANSWER_H
#define VLAB_CLI_KEYANSWER_H

#include <stddef.h>

#include "cli/keyfetch.h"
#include "common/sshkey.h"

enum keyanswer_kind {
	KEYANSWER_KEYS,
	KEYANSWER_NONE,
	KEYANSWER_FAILED,
};

struct keyanswer {
	enum keyanswer_kind kind;
	struct sshkey *keys;	/* KEYANSWER_KEYS: 1..SSHKEY_LIST_MAX, no key twice */
	size_t n_keys;
	char *why;		/* otherwise: what came back, for the teacher ("HTTP 404, ...") */
	char *notes;		/* lines left out, one per line; NULL when none */
};

/*
 * Reads A (the answer for one URL, fetched with at most MAX_BYTES) into *OUT
 * (keyanswer_clear() it). 0 or -ENOMEM.
 */
int keyanswer_read(const struct keyfetch_answer *a, size_t max_bytes, struct keyanswer *out);

void keyanswer_clear(struct keyanswer *k);

#endif
