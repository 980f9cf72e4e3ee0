/*
 * Keys for the students a roster gives none: fetched from where they keep them
 * (--keys-from, cli/keyfetch.h and cli/keyanswer.h), then, for those who have none
 * there, a pair made for them (--generate-keys, cli/keygen.h). Everything is checked
 * before anything is written: a pair is made only when every other student has a
 * key, so a roster that fails leaves no files behind.
 */
#ifndef VLAB_CLI_ENROLKEYS_H
#define VLAB_CLI_ENROLKEYS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/keygen.h"
#include "cli/roster.h"

struct enrolkeys_opts {
	const char *keys_from;		/* URL template; NULL: none */
	const char *ca_file;		/* --ca-file; NULL: the system's CAs only */
	long timeout_ms;		/* per transfer; 0: KEYFETCH_TIMEOUT_MS */
	const char *generate_dir;	/* --generate-keys DIR; NULL: none */
};

/* What enrolkeys_fill() did, by index into the roster's records. */
struct enrolkeys_done {
	size_t *fetched, n_fetched;
	size_t *generated, n_generated;	/* new pairs, written in dir */
	size_t *reused, n_reused;	/* pairs an earlier run wrote in dir */
	struct keygen_dir dir;		/* fd -1 when no pair was looked for */
	long fetch_ms;			/* how long the fetching took */
};

#define ENROLKEYS_DONE_INIT { .dir = { .fd = -1 } }

/*
 * Gives every student of R whose record has no key their keys. Who cannot have any is
 * reported in ERRS with their roster line; keys that were fetched but left out (not
 * usable) in NOTES, as warnings. 0 when every student has a key, -EINVAL when ERRS
 * got an entry (no pair was written then), -ENOMEM, -EIO (libcurl or libssh failed:
 * ERRS says so).
 */
int enrolkeys_fill(struct roster *r, const struct enrolkeys_opts *o,
		   struct enrolkeys_done *done, struct student_errors *errs,
		   struct student_errors *notes);

/* Removes the new pairs enrolkeys_fill() wrote: labd took none of the students. */
void enrolkeys_undo(const struct roster *r, struct enrolkeys_done *done);

/*
 * For --json: {"fetched": [ID...], "generated": [{"student", "private_key",
 * "public_key"}...], "reused": [...]}; NULL when out of memory (json_object_put it).
 */
json_object *enrolkeys_json(const struct roster *r, const struct enrolkeys_done *done);

/* For the teacher, after labd took the students: how many keys were fetched, and the
 * private key file of each student who got a pair, to be handed over. */
void enrolkeys_print(FILE *f, const struct roster *r, const struct enrolkeys_opts *o,
		     const struct enrolkeys_done *done);

void enrolkeys_done_free(struct enrolkeys_done *done);

#endif
