/*
 * netd's requests read and checked: a parsed request object in, typed values that fit
 * the lab out, or a refusal in a proto_error. Nothing here touches the kernel, the
 * files or netd's store, so netd/control.c and fuzz/fuzz_proto_netd.c run the same
 * checks; control.c then checks against the store and makes the change.
 */
#ifndef VLAB_NETD_REQUEST_H
#define VLAB_NETD_REQUEST_H

#include <json-c/json.h>
#include <stddef.h>

#include "common/conf.h"
#include "common/id.h"
#include "common/mapping.h"
#include "common/proto.h"
#include "netd/store.h"

/* put: {"mapping": {...}} -> *M, checked against CONF (mapping_check). 0 or -EINVAL
 * with E filled. Whether M clashes with another student is store_check_put's question. */
int netd_request_parse_put(json_object *req, const struct lab_conf *conf, struct mapping *m,
			   struct proto_error *e);

/* del: {"student": ID} -> STUDENT (a copy). 0 or -EINVAL with E filled. */
int netd_request_parse_del(json_object *req, char student[ID_MAX_LEN + 1],
			   struct proto_error *e);
/* The refusal of a del naming STUDENT, who has no mapping (not_found). */
void netd_request_not_found(const char *student, struct proto_error *e);

/* A sync's new content. */
struct netd_sync {
	struct mapping *maps;        /* in the request's order */
	size_t n;                    /* entries in MAPS that passed the entry checks */
	struct store *fresh;         /* a store holding MAPS, to swap in once the kernel
	                                took them; NULL unless the request was accepted */
};

/*
 * sync: {"mappings": [...]} -> OUT: every entry parsed and checked against CONF, then the
 * list as a whole (store_build: no student, endpoint, MAC, IP or port twice). 0, or
 * -EINVAL/-ENOMEM with E filled; then OUT->maps holds the OUT->n entries that passed (all
 * of them when the list check refused). Clear OUT with netd_sync_clear either way.
 */
int netd_request_parse_sync(json_object *req, const struct lab_conf *conf, struct netd_sync *out,
			    struct proto_error *e);
void netd_sync_clear(struct netd_sync *s);

#endif
