/*
 * netd's requests read and checked, before anything changes (netd/request.h). The
 * messages are the ones clients see: tests/netns/netd.sh pins them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/request.h"

int netd_request_parse_put(json_object *req, const struct lab_conf *conf, struct mapping *m,
			   struct proto_error *e)
{
	json_object *jm;

	if (proto_get_object(req, "mapping", true, &jm, e) < 0)
		return -EINVAL;
	if (mapping_from_json(jm, m, e) < 0 || mapping_check(m, conf, e) < 0)
		return -EINVAL;
	return 0;
}

int netd_request_parse_del(json_object *req, char student[ID_MAX_LEN + 1],
			   struct proto_error *e)
{
	const char *s;

	if (proto_get_string(req, "student", true, &s, e) < 0)
		return -EINVAL;
	if (!id_valid(s)) {
		char q[PROTO_QUOTE_BUF];

		proto_error_set(e, PROTO_E_INVALID,
				"field 'student': '%s' is not a student id ([a-z0-9][a-z0-9_-]{0,31})",
				proto_quote(s, q));
		return -EINVAL;
	}
	snprintf(student, ID_MAX_LEN + 1, "%s", s);
	return 0;
}

void netd_request_not_found(const char *student, struct proto_error *e)
{
	proto_error_set(e, PROTO_E_NOTFOUND, "no mapping for student '%s'", student);
}

int netd_request_parse_sync(json_object *req, const struct lab_conf *conf, struct netd_sync *out,
			    struct proto_error *e)
{
	json_object *arr;
	size_t n, i;

	*out = (struct netd_sync){ 0 };
	if (proto_get_array(req, "mappings", true, &arr, e) < 0)
		return -EINVAL;
	n = json_object_array_length(arr);
	out->maps = calloc(n ? n : 1, sizeof(*out->maps));
	if (!out->maps) {
		proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (mapping_from_json(json_object_array_get_idx(arr, i), &out->maps[i], e) < 0 ||
		    mapping_check(&out->maps[i], conf, e) < 0) {
			char msg[sizeof(e->message)];

			snprintf(msg, sizeof(msg), "%s", e->message);
			proto_error_set(e, PROTO_E_INVALID, "mappings[%zu]: %s", i, msg);
			return -EINVAL;
		}
		out->n = i + 1;
	}
	/* Then the list as a whole: two entries must not claim the same thing. */
	return store_build(out->maps, out->n, &out->fresh, e);
}

void netd_sync_clear(struct netd_sync *s)
{
	store_free(s->fresh);
	free(s->maps);
	*s = (struct netd_sync){ 0 };
}
