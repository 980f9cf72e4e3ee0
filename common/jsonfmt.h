/*
 * A JSON text as json-c writes it (the daemons' reply lines), read without building a
 * tree: checked, searched for a top-level member, and printed pretty. labctl prints a
 * 1000-student `list --json` this way; parsing it into json-c objects costs megabytes
 * of memory and most of labctl's time.
 */
#ifndef VLAB_JSONFMT_H
#define VLAB_JSONFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether TEXT (LEN bytes) is exactly one JSON value, blanks around it allowed, nested at
 * most JSONFMT_MAX_DEPTH deep. */
#define JSONFMT_MAX_DEPTH 16
bool jsonfmt_valid(const char *text, size_t len);

/* The value of member KEY (plain ASCII) of the object TEXT, as text: 0 with *VAL and
 * *VLEN, -ENOENT when TEXT has no such member, -EINVAL when TEXT is not a JSON object
 * (read only up to KEY when it is there: jsonfmt_valid says whether all of it is). */
int jsonfmt_member(const char *text, size_t len, const char *key, const char **val,
		   size_t *vlen);

/*
 * Writes the JSON text TEXT to F pretty, byte for byte as json-c 0.16's
 * json_object_to_json_string_ext(PRETTY | SPACED | NOSLASHESCAPE) writes what it parses
 * from TEXT, provided TEXT's strings and numbers are in json-c's own form (they are copied
 * as they are), and leaving out the top-level members whose keys are in DROP
 * (NULL-terminated; may be NULL). Then a newline. 0, -EINVAL (TEXT is not valid JSON:
 * nothing was written) or -EIO.
 */
int jsonfmt_print_pretty(FILE *f, const char *text, size_t len, const char *const *drop);

#endif
