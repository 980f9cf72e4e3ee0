/*
 * The names labd gives a student's things: the libvirt domain "vlab-ID", and in its
 * storage pool the overlay "vlab-ID.qcow2" and the seed "vlab-ID-seed.iso". They are
 * built and read back here only, from one table in names.c: a new per-student file (a
 * save image, host keys) is a new kind and one more line in that table.
 */
#ifndef VLAB_LABD_NAMES_H
#define VLAB_LABD_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/id.h"

enum name_kind {
	NAME_DOMAIN,        /* "vlab-ID": the domain */
	NAME_OVERLAY,       /* "vlab-ID.qcow2": the student's disk, a volume of the pool */
	NAME_SEED,          /* "vlab-ID-seed.iso": the NoCloud seed, a volume of the pool */
	NAME_KINDS
};

/* Long enough for every name of a valid id. */
#define NAMES_LEN 64

/* KIND's name for STUDENT in BUF. 0, or -ENAMETOOLONG (BUF too small: nothing usable). */
int names_build(enum name_kind kind, const char *student, char *buf, size_t len);

/* Whether NAME is KIND's name of a valid student id; that id goes to STUDENT (LEN bytes,
 * ID_MAX_LEN + 1 is enough). */
bool names_parse(enum name_kind kind, const char *name, char *student, size_t len);

/* Whether NAME is one of labd's volume names (any kind that lives in the pool); the
 * student's id goes to STUDENT and the kind to *KIND (may be NULL). Anything else in the
 * pool (the overlay template, a file someone put there) is not ours. */
bool names_parse_volume(const char *name, char *student, size_t len, enum name_kind *kind);

#endif
