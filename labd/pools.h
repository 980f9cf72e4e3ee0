/*
 * labd's two allocation pools (labd/alloc.h: student indexes, public endpoints), loaded
 * once at start from the database's history and from then on kept in step with it: a
 * take is written in the same transaction that inserts the allocation, a release
 * happens when the row is gone.
 */
#ifndef VLAB_LABD_POOLS_H
#define VLAB_LABD_POOLS_H

#include <stdint.h>

#include "common/conf.h"
#include "labd/alloc.h"
#include "labd/db.h"

struct pools {
	struct alloc_index *index;
	struct alloc_endpoint_pool *endpoint;
};

/* Both pools from CONF and DB's history (held rows held, freed rows freed in their
 * order). 0, or -errno (logged) with P unchanged. */
int pools_load(struct pools *p, const struct lab_conf *conf, struct db *db);
void pools_free(struct pools *p);

/* Gives back INDEX and EP, freed after everything released so far: what the database's
 * trigger records when an allocation row goes, and the undo of a take whose
 * transaction was rolled back (the database never saw it: the slot is reused last,
 * which is safe; the next start reads it as never used again). */
void pools_release(struct pools *p, uint32_t index, struct alloc_endpoint ep);
/* The same for A's index and endpoint. */
void pools_release_alloc(struct pools *p, const struct db_alloc *a);

#endif
