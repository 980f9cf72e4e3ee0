/*
 * The --keys-from template: where each student's public keys are served, such as
 * "https://gitlab.school.example/{username}.keys" (GitLab and GitHub serve an
 * account's keys as plain "TYPE BASE64 [COMMENT]" lines there). {NAME} stands for a
 * value of the student's roster row, percent-encoded so that it stays one path
 * segment or query value whatever it holds. Only https URLs.
 */
#ifndef VLAB_CLI_KEYURL_H
#define VLAB_CLI_KEYURL_H

#include <stddef.h>

/* Looks NAME up for one student: 0 with *VALUE, -ENOENT (no such column), -EEXIST
 * (the name is ambiguous), -ENOMEM. */
typedef int (*keyurl_lookup_fn)(void *arg, const char *name, const char **value);

/*
 * Checks TEMPLATE's shape before anything is fetched: it starts with "https://" and
 * a server written out (no {NAME} in it: a roster value never picks the server),
 * every '{' is closed by a '}' on a non-empty name, and no '{' or '}' stands alone.
 * 0, or -EINVAL with the reason in ERR.
 */
int keyurl_check(const char *template, char *err, size_t errlen);

/*
 * TEMPLATE (keyurl_check()ed) with every {NAME} replaced by LOOKUP's value,
 * percent-encoded; the result must still be an https URL with a host. 0 with *URL
 * (malloc'd); -ENOENT, -EEXIST or -EINVAL (an empty value, a URL that does not
 * parse) with the reason in ERR; -ENOMEM.
 */
int keyurl_expand(const char *template, keyurl_lookup_fn lookup, void *arg, char **url,
		  char *err, size_t errlen);

#endif
