/*
 * Index and endpoint pools. Each pool is a row of slots (position 0..n-1) with two
 * bitmaps, "used at least once" and "held now", so never-used = !used and
 * freed = used && !held, plus a min-heap of the freed slots ordered by (freed
 * sequence, position). Never-used slots only ever become used, so the lowest never-used
 * position only moves up: a cursor finds it in amortised O(1) words per take.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/conf.h"
#include "labd/alloc.h"

enum slot_state { SLOT_NEVER, SLOT_HELD, SLOT_FREED };

struct freed_item {
	int64_t seq;
	uint32_t pos;
};

struct slots {
	uint32_t n;
	uint64_t *used;
	uint64_t *held;
	uint32_t n_held;
	uint32_t n_never;
	int64_t max_seq;          /* largest sequence seen, for ALLOC_SEQ_NEXT */
	struct freed_item *heap;  /* min-heap on (seq, pos) */
	size_t heap_n, heap_cap;
};

static bool bm_test(const uint64_t *bm, uint32_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

static void bm_set(uint64_t *bm, uint32_t i)
{
	bm[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bm_clear(uint64_t *bm, uint32_t i)
{
	bm[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* First clear bit in [from, to), or TO. */
static uint32_t bm_find_clear(const uint64_t *bm, uint32_t from, uint32_t to)
{
	uint32_t i = from;

	while (i < to) {
		uint64_t w = ~bm[i / 64] >> (i % 64);

		if (w) {
			i += (uint32_t)__builtin_ctzll(w);
			return i < to ? i : to;
		}
		i = (i / 64 + 1) * 64;
	}
	return to;
}

static int slots_init(struct slots *s, uint32_t n)
{
	size_t words = ((size_t)n + 63) / 64;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->n_never = n;
	s->used = calloc(words ? words : 1, sizeof(uint64_t));
	s->held = calloc(words ? words : 1, sizeof(uint64_t));
	if (!s->used || !s->held)
		return -ENOMEM;
	return 0;
}

static void slots_fini(struct slots *s)
{
	free(s->used);
	free(s->held);
	free(s->heap);
	memset(s, 0, sizeof(*s));
}

static enum slot_state slots_state(const struct slots *s, uint32_t pos)
{
	if (!bm_test(s->used, pos))
		return SLOT_NEVER;
	return bm_test(s->held, pos) ? SLOT_HELD : SLOT_FREED;
}

static bool freed_less(const struct freed_item *a, const struct freed_item *b)
{
	return a->seq < b->seq || (a->seq == b->seq && a->pos < b->pos);
}

static void heap_swap(struct slots *s, size_t a, size_t b)
{
	struct freed_item t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
}

static void heap_up(struct slots *s, size_t i)
{
	while (i > 0 && freed_less(&s->heap[i], &s->heap[(i - 1) / 2])) {
		heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct slots *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->heap_n && freed_less(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->heap_n && freed_less(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

static int heap_push(struct slots *s, int64_t seq, uint32_t pos)
{
	if (s->heap_n == s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
		struct freed_item *v = realloc(s->heap, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->heap = v;
		s->heap_cap = cap;
	}
	s->heap[s->heap_n].seq = seq;
	s->heap[s->heap_n].pos = pos;
	heap_up(s, s->heap_n++);
	return 0;
}

/*
 * Linear, but only reached when a freed slot is held or re-released by position (labd
 * loading odd rows), never on the take/release path of normal operation.
 */
static void heap_remove_pos(struct slots *s, uint32_t pos)
{
	size_t i;

	for (i = 0; i < s->heap_n; i++)
		if (s->heap[i].pos == pos)
			break;
	if (i == s->heap_n)
		return;
	s->heap[i] = s->heap[--s->heap_n];
	if (i < s->heap_n) {
		heap_up(s, i);
		heap_down(s, i);
	}
}

static uint32_t heap_pop(struct slots *s)
{
	uint32_t pos = s->heap[0].pos;

	s->heap[0] = s->heap[--s->heap_n];
	if (s->heap_n)
		heap_down(s, 0);
	return pos;
}

/* Marks POS, in state PREV and not in the heap, held. */
static void slots_set_held(struct slots *s, uint32_t pos, enum slot_state prev)
{
	if (prev == SLOT_NEVER)
		s->n_never--;
	if (prev != SLOT_HELD)
		s->n_held++;
	bm_set(s->used, pos);
	bm_set(s->held, pos);
}

/* Marks POS held; returns its previous state. */
static enum slot_state slots_hold(struct slots *s, uint32_t pos)
{
	enum slot_state prev = slots_state(s, pos);

	if (prev == SLOT_FREED)
		heap_remove_pos(s, pos);
	slots_set_held(s, pos, prev);
	return prev;
}

/* Marks POS freed at SEQ; *PREV gets its previous state. 0 or -ENOMEM (unchanged). */
static int slots_release(struct slots *s, uint32_t pos, int64_t seq, enum slot_state *prev)
{
	int r;

	*prev = slots_state(s, pos);
	if (seq == ALLOC_SEQ_NEXT)
		seq = s->max_seq + 1;
	if (*prev == SLOT_FREED)
		heap_remove_pos(s, pos);
	r = heap_push(s, seq, pos);
	if (r < 0)
		return r;   /* only possible when the slot was not in the heap: unchanged */
	if (seq > s->max_seq)
		s->max_seq = seq;
	if (*prev == SLOT_NEVER)
		s->n_never--;
	if (*prev == SLOT_HELD)
		s->n_held--;
	bm_set(s->used, pos);
	bm_clear(s->held, pos);
	return 0;
}

/* snprintf that appends at *OFF and never overruns; truncation is acceptable. */
__attribute__((format(printf, 4, 5)))
static void buf_append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf || *off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

/* ------------------------------------------------------------------ indexes */

struct alloc_index {
	struct slots s;           /* position = index - 1 */
	uint32_t cursor;          /* no never-used position below this */
	uint32_t subnet_cap;      /* addr_index_capacity(prefix) */
	struct in_addr net;
	unsigned prefix;
	uint8_t mac_prefix[3];
};

int alloc_index_new(const struct lab_conf *conf, uint32_t limit, struct alloc_index **out)
{
	struct alloc_index *p;
	uint32_t cap = addr_index_capacity(conf->prefix);

	*out = NULL;
	if (limit && limit < cap)
		cap = limit;
	if (cap == 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (slots_init(&p->s, cap) < 0) {
		slots_fini(&p->s);
		free(p);
		return -ENOMEM;
	}
	p->subnet_cap = addr_index_capacity(conf->prefix);
	p->net = conf->subnet;
	p->prefix = conf->prefix;
	memcpy(p->mac_prefix, conf->mac_prefix, 3);
	*out = p;
	return 0;
}

void alloc_index_free(struct alloc_index *pool)
{
	if (!pool)
		return;
	slots_fini(&pool->s);
	free(pool);
}

uint32_t alloc_index_capacity(const struct alloc_index *pool)
{
	return pool->s.n;
}

uint32_t alloc_index_free_count(const struct alloc_index *pool)
{
	return pool->s.n - pool->s.n_held;
}

int alloc_index_hold(struct alloc_index *pool, uint32_t index)
{
	if (index < 1 || index > pool->s.n)
		return -ERANGE;
	slots_hold(&pool->s, index - 1);
	return 0;
}

int alloc_index_release(struct alloc_index *pool, uint32_t index, int64_t seq)
{
	enum slot_state prev;

	if (index < 1 || index > pool->s.n)
		return -ERANGE;
	return slots_release(&pool->s, index - 1, seq, &prev);
}

int alloc_index_take(struct alloc_index *pool, uint32_t *index, char *err, size_t errlen)
{
	struct slots *s = &pool->s;
	uint32_t pos;

	if (s->n_never > 0) {
		pos = bm_find_clear(s->used, pool->cursor, s->n);
		pool->cursor = pos;
		slots_set_held(s, pos, SLOT_NEVER);
	} else if (s->heap_n > 0) {
		pos = heap_pop(s);
		slots_set_held(s, pos, SLOT_FREED);
	} else {
		char net[INET_ADDRSTRLEN] = "?";

		inet_ntop(AF_INET, &pool->net, net, sizeof(net));
		if (err && errlen) {
			if (s->n < pool->subnet_cap)
				snprintf(err, errlen, "no free student index: all %" PRIu32
					 " allowed indexes (limit %" PRIu32 ", subnet %s/%u) are in use",
					 s->n, s->n, net, pool->prefix);
			else
				snprintf(err, errlen, "no free student index: all %" PRIu32
					 " addresses of %s/%u are in use", s->n, net, pool->prefix);
		}
		return -ENOSPC;
	}
	*index = pos + 1;
	return 0;
}

int alloc_index_addrs(const struct alloc_index *pool, uint32_t index, struct in_addr *ip,
		      uint8_t mac[6])
{
	int r;

	if (index < 1 || index > pool->s.n)
		return -ERANGE;
	if (ip && (r = addr_ip_for_index(pool->net, pool->prefix, index, ip)) < 0)
		return r;
	if (mac && (r = addr_mac_for_index(pool->mac_prefix, index, mac)) < 0)
		return r;
	return 0;
}

/* ---------------------------------------------------------------- endpoints */

struct ep_entry {
	struct in_addr addr;
	uint16_t lo, hi;
	uint32_t base;            /* first position */
	uint32_t size;
	uint32_t cursor;          /* no never-used position in [base, cursor) */
	uint32_t n_never;
	size_t group;
};

/* One per distinct address, in the order of first appearance in the config. */
struct ep_group {
	struct in_addr addr;
	uint32_t n_held;
	uint32_t n_never;
};

struct alloc_endpoint_pool {
	struct slots s;
	struct ep_entry *entries;
	size_t n_entries;
	struct ep_group *groups;
	size_t n_groups;
};

int alloc_endpoint_new(const struct lab_conf *conf, struct alloc_endpoint_pool **out)
{
	struct alloc_endpoint_pool *p = NULL;
	uint32_t total = 0;
	size_t i, j;
	int ret = -EINVAL;

	*out = NULL;
	if (conf->n_publics == 0)
		goto out;
	for (i = 0; i < conf->n_publics; i++) {
		const struct conf_public *a = &conf->publics[i];

		if (a->port_lo == 0 || a->port_lo > a->port_hi)
			goto out;
		for (j = 0; j < i; j++) {
			const struct conf_public *b = &conf->publics[j];

			if (a->addr.s_addr == b->addr.s_addr && a->port_lo <= b->port_hi &&
			    b->port_lo <= a->port_hi)
				goto out;
		}
	}

	ret = -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto out;
	p->entries = calloc(conf->n_publics, sizeof(*p->entries));
	p->groups = calloc(conf->n_publics, sizeof(*p->groups));
	if (!p->entries || !p->groups)
		goto out;
	p->n_entries = conf->n_publics;
	for (i = 0; i < conf->n_publics; i++) {
		const struct conf_public *a = &conf->publics[i];
		struct ep_entry *e = &p->entries[i];

		e->addr = a->addr;
		e->lo = a->port_lo;
		e->hi = a->port_hi;
		e->base = total;
		e->size = (uint32_t)a->port_hi - a->port_lo + 1;
		e->cursor = e->base;
		e->n_never = e->size;
		total += e->size;
		for (j = 0; j < p->n_groups; j++)
			if (p->groups[j].addr.s_addr == a->addr.s_addr)
				break;
		if (j == p->n_groups)
			p->groups[p->n_groups++].addr = a->addr;
		e->group = j;
		p->groups[j].n_never += e->size;
	}
	if (slots_init(&p->s, total) < 0)
		goto out;

	*out = p;
	p = NULL;
	ret = 0;
out:
	alloc_endpoint_pool_free(p);
	return ret;
}

void alloc_endpoint_pool_free(struct alloc_endpoint_pool *pool)
{
	if (!pool)
		return;
	slots_fini(&pool->s);
	free(pool->entries);
	free(pool->groups);
	free(pool);
}

uint32_t alloc_endpoint_capacity(const struct alloc_endpoint_pool *pool)
{
	return pool->s.n;
}

uint32_t alloc_endpoint_free_count(const struct alloc_endpoint_pool *pool)
{
	return pool->s.n - pool->s.n_held;
}

static struct ep_entry *ep_entry_of(struct alloc_endpoint_pool *pool, struct alloc_endpoint ep)
{
	size_t i;

	for (i = 0; i < pool->n_entries; i++) {
		struct ep_entry *e = &pool->entries[i];

		if (e->addr.s_addr == ep.addr.s_addr && ep.port >= e->lo && ep.port <= e->hi)
			return e;
	}
	return NULL;
}

static struct ep_entry *ep_entry_at(struct alloc_endpoint_pool *pool, uint32_t pos)
{
	size_t i;

	for (i = 0; i < pool->n_entries; i++)
		if (pos >= pool->entries[i].base && pos - pool->entries[i].base < pool->entries[i].size)
			return &pool->entries[i];
	return NULL;
}

/* Keeps the per-entry and per-address counters in step with a slot's change. */
static void ep_account(struct alloc_endpoint_pool *pool, struct ep_entry *e,
		       enum slot_state prev, enum slot_state now)
{
	struct ep_group *g = &pool->groups[e->group];

	if (prev == now)
		return;
	if (prev == SLOT_NEVER) {
		e->n_never--;
		g->n_never--;
	}
	if (prev == SLOT_HELD)
		g->n_held--;
	if (now == SLOT_HELD)
		g->n_held++;
}

int alloc_endpoint_hold(struct alloc_endpoint_pool *pool, struct alloc_endpoint ep)
{
	struct ep_entry *e = ep_entry_of(pool, ep);
	enum slot_state prev;

	if (!e)
		return -ENOENT;
	prev = slots_hold(&pool->s, e->base + (ep.port - e->lo));
	ep_account(pool, e, prev, SLOT_HELD);
	return 0;
}

int alloc_endpoint_release(struct alloc_endpoint_pool *pool, struct alloc_endpoint ep,
			   int64_t seq)
{
	struct ep_entry *e = ep_entry_of(pool, ep);
	enum slot_state prev;
	int r;

	if (!e)
		return -ENOENT;
	r = slots_release(&pool->s, e->base + (ep.port - e->lo), seq, &prev);
	if (r < 0)
		return r;
	ep_account(pool, e, prev, SLOT_FREED);
	return 0;
}

/* The lowest never-used position of E (E must have one). */
static uint32_t ep_entry_lowest_never(const struct alloc_endpoint_pool *pool, struct ep_entry *e)
{
	e->cursor = bm_find_clear(pool->s.used, e->cursor, e->base + e->size);
	return e->cursor;
}

static void ep_format_full(const struct alloc_endpoint_pool *pool, char *err, size_t errlen)
{
	size_t off = 0, i;

	buf_append(err, errlen, &off, "no free public endpoint: all %" PRIu32 " endpoints (",
		   pool->s.n);
	for (i = 0; i < pool->n_entries; i++) {
		char a[INET_ADDRSTRLEN] = "?";

		inet_ntop(AF_INET, &pool->entries[i].addr, a, sizeof(a));
		buf_append(err, errlen, &off, "%s%s ports %u-%u", i ? ", " : "", a,
			   pool->entries[i].lo, pool->entries[i].hi);
	}
	buf_append(err, errlen, &off, ") are in use");
}

int alloc_endpoint_take(struct alloc_endpoint_pool *pool, struct alloc_endpoint *ep,
			char *err, size_t errlen)
{
	struct ep_group *best = NULL;
	struct ep_entry *e = NULL;
	enum slot_state prev = SLOT_NEVER;
	uint32_t pos = 0;
	size_t i;

	for (i = 0; i < pool->n_groups; i++) {
		struct ep_group *g = &pool->groups[i];

		if (g->n_never > 0 && (!best || g->n_held < best->n_held))
			best = g;
	}
	if (best) {
		/* Lowest port of that address, whichever of its ranges holds it. */
		for (i = 0; i < pool->n_entries; i++) {
			struct ep_entry *c = &pool->entries[i];
			uint32_t cpos;

			if (&pool->groups[c->group] != best || c->n_never == 0)
				continue;
			cpos = ep_entry_lowest_never(pool, c);
			if (!e || c->lo + (cpos - c->base) < e->lo + (pos - e->base)) {
				e = c;
				pos = cpos;
			}
		}
	} else if (pool->s.heap_n > 0) {
		pos = heap_pop(&pool->s);
		e = ep_entry_at(pool, pos);
		prev = SLOT_FREED;
	}
	if (!e) {
		if (err && errlen)
			ep_format_full(pool, err, errlen);
		return -ENOSPC;
	}
	slots_set_held(&pool->s, pos, prev);   /* a popped slot is out of the heap already */
	ep_account(pool, e, prev, SLOT_HELD);
	ep->addr = e->addr;
	ep->port = (uint16_t)(e->lo + (pos - e->base));
	return 0;
}

int alloc_check_batch(const struct alloc_index *ipool, const struct alloc_endpoint_pool *epool,
		      uint32_t n, char *err, size_t errlen)
{
	uint32_t efree = epool ? alloc_endpoint_free_count(epool) : UINT32_MAX;
	uint32_t ifree = ipool ? alloc_index_free_count(ipool) : UINT32_MAX;

	if (n <= efree && n <= ifree)
		return 0;
	if (err && errlen) {
		if (efree <= ifree)
			snprintf(err, errlen, "too many students: %" PRIu32 " requested, %" PRIu32
				 " endpoints free", n, efree);
		else
			snprintf(err, errlen, "too many students: %" PRIu32 " requested, %" PRIu32
				 " student indexes free", n, ifree);
	}
	return -ENOSPC;
}
