/*
 * netd's view of the mappings: one entry per student, indexed by student, public
 * endpoint, MAC, IP and port so every conflict is found in O(1). The kernel's sets and
 * the dnsmasq hosts file are all derived from it.
 */
#ifndef VLAB_STORE_H
#define VLAB_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/mapping.h"
#include "common/proto.h"

struct store;

int store_new(struct store **out);
void store_free(struct store *s);
size_t store_count(const struct store *s);
/* How many mappings are asleep. */
size_t store_count_asleep(const struct store *s);
const struct mapping *store_get(const struct store *s, const char *student);
/* The mapping whose VM has address IP, or NULL. */
const struct mapping *store_get_by_ip(const struct store *s, struct in_addr ip);

/* Would putting M clash with ANOTHER student's public endpoint, MAC, IP or (known)
 * port? 0 or -EEXIST with E filled (code conflict). */
int store_check_put(const struct store *s, const struct mapping *m, struct proto_error *e);
/* Inserts or replaces M (call store_check_put first). */
int store_put(struct store *s, const struct mapping *m);
/* Removes STUDENT; -ENOENT if absent. */
int store_del(struct store *s, const char *student);

/* Checks a full list on its own: no two entries with the same student, public endpoint,
 * MAC, IP or port. 0 or -EINVAL with E naming both positions. */
int store_check_list(const struct mapping *maps, size_t n, struct proto_error *e);
/* Replaces the whole content with MAPS (checked with store_check_list first). */
int store_replace(struct store *s, const struct mapping *maps, size_t n);

/* store_check_list and store_replace in one pass: a new store holding MAPS, or -EINVAL
 * with E filled (-ENOMEM with E saying "out of memory"). Swap it in with store_swap once
 * the kernel took the list. */
int store_build(const struct mapping *maps, size_t n, struct store **out, struct proto_error *e);
/* Exchanges the contents of A and B. */
void store_swap(struct store *a, struct store *b);

/* A new array (sorted by student) of every mapping; caller frees. NULL only if n is 0
 * or on ENOMEM (then *N is set to 0 and errno to ENOMEM). */
struct mapping *store_snapshot(const struct store *s, size_t *n);
/* The same in no particular order, without the sort's cost (for nft_sync's delta). */
struct mapping *store_list(const struct store *s, size_t *n);

#endif
