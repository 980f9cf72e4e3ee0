/*
 * netd's memory across restarts: the mappings it had, so that a netd started after a
 * crash rebuilds exactly the table it left, before labd resyncs it. labd stays the source
 * of truth; this file is a cache written shortly after each change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "netd/netd.h"

int persist_save(const char *path, const struct mapping *maps, size_t n)
{
	json_object *arr = json_object_new_array_ext((int)n);
	char *text = NULL;
	size_t len = 0;
	int ret = -ENOMEM;
	size_t i;

	if (!arr)
		goto out;
	for (i = 0; i < n; i++) {
		json_object *o = mapping_to_json(&maps[i]);

		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			goto out;
		}
	}
	text = proto_serialize(arr, &len);
	if (!text)
		goto out;
	ret = fs_replace_file(path, text, len, 0600);
out:
	free(text);
	json_object_put(arr);
	return ret;
}

int persist_load(const char *path, const struct lab_conf *conf, struct mapping **out, size_t *n_out)
{
	json_object *arr = NULL;
	struct mapping *maps = NULL;
	size_t n = 0, i, len;
	int ret = -EINVAL;

	*out = NULL;
	*n_out = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	arr = json_object_from_file(path);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		log_warnx("state file %s: not a JSON array (%s); starting with no mappings until "
			  "labd resyncs", path, json_util_get_last_err());
		ret = 0;
		goto out;
	}
	len = json_object_array_length(arr);
	maps = calloc(len ? len : 1, sizeof(*maps));
	if (!maps) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < len; i++) {
		struct proto_error e = { 0 };
		struct mapping m;

		if (mapping_from_json(json_object_array_get_idx(arr, i), &m, &e) < 0 ||
		    mapping_check(&m, conf, &e) < 0) {
			log_warnx("state file %s: entry %zu dropped: %s", path, i, e.message);
			continue;
		}
		maps[n++] = m;
	}
	{
		struct proto_error e = { 0 };

		if (store_check_list(maps, n, &e) < 0) {
			log_warnx("state file %s: %s; starting with no mappings until labd resyncs",
				  path, e.message);
			n = 0;
		}
	}
	*out = maps;
	*n_out = n;
	maps = NULL;
	ret = 0;
out:
	free(maps);
	json_object_put(arr);
	return ret;
}
