#include "labd/names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Every name is PREFIX ID SUFFIX. An id has no '.', so "vlab-.template.qcow2" (virt.c's
 * overlay template) and other files never parse as a student's. */
static const struct {
	const char *prefix, *suffix;
	bool volume;               /* lives in labd's storage pool */
} names[NAME_KINDS] = {
	[NAME_DOMAIN] = { "vlab-", "", false },
	[NAME_OVERLAY] = { "vlab-", ".qcow2", true },
	[NAME_SEED] = { "vlab-", "-seed.iso", true },
};

int names_build(enum name_kind kind, const char *student, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s%s", names[kind].prefix, student, names[kind].suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool names_parse(enum name_kind kind, const char *name, char *student, size_t len)
{
	size_t pre = strlen(names[kind].prefix), suf = strlen(names[kind].suffix);
	size_t n = strlen(name), id_len;

	if (n <= pre + suf || strncmp(name, names[kind].prefix, pre) != 0 ||
	    strcmp(name + n - suf, names[kind].suffix) != 0)
		return false;
	id_len = n - pre - suf;
	if (id_len >= len)
		return false;
	memcpy(student, name + pre, id_len);
	student[id_len] = '\0';
	return id_valid(student);
}

bool names_parse_volume(const char *name, char *student, size_t len, enum name_kind *kind)
{
	int k;

	for (k = 0; k < NAME_KINDS; k++) {
		if (!names[k].volume || !names_parse((enum name_kind)k, name, student, len))
			continue;
		if (kind)
			*kind = (enum name_kind)k;
		return true;
	}
	return false;
}
