#include "labd/pools.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"

static int pools_index_cb(uint32_t idx, const char *student, int64_t seq, void *arg)
{
	struct alloc_index *p = arg;

	return student ? alloc_index_hold(p, idx) : alloc_index_release(p, idx, seq);
}

static int pools_endpoint_cb(const char *ip, uint16_t port, const char *student, int64_t seq,
			     void *arg)
{
	struct alloc_endpoint_pool *p = arg;
	struct alloc_endpoint ep = { .port = port };

	if (inet_pton(AF_INET, ip, &ep.addr) != 1)
		return 0;
	/* An endpoint outside today's configured ranges is simply not offered again. */
	if (student)
		alloc_endpoint_hold(p, ep);
	else
		alloc_endpoint_release(p, ep, seq);
	return 0;
}

int pools_load(struct pools *p, const struct lab_conf *conf, struct db *db)
{
	struct pools fresh = { 0 };
	int ret;

	if ((ret = alloc_index_new(conf, 0, &fresh.index)) < 0 ||
	    (ret = alloc_endpoint_new(conf, &fresh.endpoint)) < 0 ||
	    (ret = db_history_indexes(db, pools_index_cb, fresh.index)) < 0 ||
	    (ret = db_history_endpoints(db, pools_endpoint_cb, fresh.endpoint)) < 0) {
		log_warnx("allocation pools: cannot load them from the database (%s)",
			  strerror(-ret));
		pools_free(&fresh);
		return ret;
	}
	pools_free(p);
	*p = fresh;
	return 0;
}

void pools_free(struct pools *p)
{
	alloc_index_free(p->index);
	alloc_endpoint_pool_free(p->endpoint);
	p->index = NULL;
	p->endpoint = NULL;
}

void pools_release(struct pools *p, uint32_t index, struct alloc_endpoint ep)
{
	/* Only -ERANGE/-ENOENT (not in today's ranges: nothing to give back) or -ENOMEM
	 * (the heap could not grow: the slot stays held until the next start). */
	if (alloc_index_release(p->index, index, ALLOC_SEQ_NEXT) < 0)
		log_debug("index %u: not given back to the pool", index);
	if (alloc_endpoint_release(p->endpoint, ep, ALLOC_SEQ_NEXT) < 0)
		log_debug("endpoint port %u: not given back to the pool", ep.port);
}

void pools_release_alloc(struct pools *p, const struct db_alloc *a)
{
	struct alloc_endpoint ep = { .port = a->public_port };

	if (!a->student || !a->public_ip || inet_pton(AF_INET, a->public_ip, &ep.addr) != 1)
		return;
	pools_release(p, a->idx, ep);
}
