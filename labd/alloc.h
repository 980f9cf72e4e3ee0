/*
 * Allocation of student indexes and public endpoints. Pure: no database, no I/O.
 * labd loads the database's rows into a pool at start (alloc_*_hold for held rows,
 * alloc_*_release for rows freed earlier, with their freed sequence), then takes and
 * releases as students come and go, writing the same facts back in its transaction.
 *
 * Reuse policy (both pools): a value that was never used is always preferred, so a
 * student's old address or port is handed to somebody else as late as possible (stale
 * known_hosts entries, cached connection sheets). Only when every value was used at
 * least once is the one freed longest ago (smallest freed sequence) reused. The freed
 * sequence is labd's, monotonically increasing, stored with the row.
 *
 * A pool copies what it needs from the config; it keeps no pointer into it.
 */
#ifndef VLAB_ALLOC_H
#define VLAB_ALLOC_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct lab_conf;

/*
 * Pass as SEQ to a release to mean "freed after everything released so far" (the
 * pool's largest sequence + 1), for a release at run time when the caller does not
 * have the database's counter value at hand. Ordering is all the pool needs.
 */
#define ALLOC_SEQ_NEXT INT64_MIN

/* --- student indexes (-> private IP and MAC through common/addr.h) --- */

struct alloc_index;

/*
 * Indexes 1..capacity, capacity = min(addr_index_capacity(conf->prefix), LIMIT);
 * LIMIT 0 = no limit beyond the subnet. 0, -EINVAL (capacity 0), -ENOMEM.
 */
int alloc_index_new(const struct lab_conf *conf, uint32_t limit, struct alloc_index **out);
void alloc_index_free(struct alloc_index *pool);
uint32_t alloc_index_capacity(const struct alloc_index *pool);
/* Indexes not held (never used + freed). */
uint32_t alloc_index_free_count(const struct alloc_index *pool);

/* Marks INDEX held, whatever it was. 0, or -ERANGE outside 1..capacity. */
int alloc_index_hold(struct alloc_index *pool, uint32_t index);
/*
 * Marks INDEX freed at sequence SEQ (used before, not held now); a freed index gets
 * its sequence replaced. 0, or -ERANGE outside 1..capacity.
 */
int alloc_index_release(struct alloc_index *pool, uint32_t index, int64_t seq);
/*
 * Takes an index and marks it held: the lowest never-used one, else the one freed
 * longest ago. 0, or -ENOSPC with "no free student index: all 253 addresses of
 * 10.77.0.0/24 are in use" in ERR (ERR may be NULL).
 */
int alloc_index_take(struct alloc_index *pool, uint32_t *index, char *err, size_t errlen);

/*
 * The private IP and MAC of INDEX (through addr_ip_for_index / addr_mac_for_index);
 * either output may be NULL. 0, or -ERANGE outside 1..capacity.
 */
int alloc_index_addrs(const struct alloc_index *pool, uint32_t index, struct in_addr *ip,
		      uint8_t mac[6]);

/* --- public endpoints (address, port) over conf->publics --- */

struct alloc_endpoint_pool;

struct alloc_endpoint {
	struct in_addr addr;
	uint16_t port;
};

/*
 * One pool over every conf->publics entry. The same address may appear in several
 * entries; their ranges must not overlap (-EINVAL). 0, -EINVAL, -ENOMEM.
 */
int alloc_endpoint_new(const struct lab_conf *conf, struct alloc_endpoint_pool **out);
void alloc_endpoint_pool_free(struct alloc_endpoint_pool *pool);
uint32_t alloc_endpoint_capacity(const struct alloc_endpoint_pool *pool);
/* Endpoints not held (never used + freed). */
uint32_t alloc_endpoint_free_count(const struct alloc_endpoint_pool *pool);

/* As for indexes. -ENOENT when EP is in no configured range. */
int alloc_endpoint_hold(struct alloc_endpoint_pool *pool, struct alloc_endpoint ep);
int alloc_endpoint_release(struct alloc_endpoint_pool *pool, struct alloc_endpoint ep,
			   int64_t seq);
/*
 * Takes an endpoint and marks it held. Spreads students over the public ADDRESSES:
 * the address with the fewest held endpoints (ties: first in the config) that still
 * has a never-used port gives its lowest never-used port; when no never-used port is
 * left anywhere, the endpoint freed longest ago. 0, or -ENOSPC with "no free public
 * endpoint: all 2000 endpoints (203.0.113.10 ports 20000-20999, ...) are in use".
 */
int alloc_endpoint_take(struct alloc_endpoint_pool *pool, struct alloc_endpoint *ep,
			char *err, size_t errlen);

/*
 * Whether a batch of N new students fits both pools (either may be NULL), so labd can
 * refuse it before creating anything. 0, or -ENOSPC with "too many students: 12
 * requested, 10 endpoints free" (or "... 10 indexes free") in ERR.
 */
int alloc_check_batch(const struct alloc_index *ipool, const struct alloc_endpoint_pool *epool,
		      uint32_t n, char *err, size_t errlen);

#endif
