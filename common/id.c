#include "common/id.h"

#include <stddef.h>

/* Byte by byte rather than isalnum(): the locale must not widen what an ID may hold. */
static bool id_char_ok(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '-');
}

bool id_valid(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		if (i >= ID_MAX_LEN || !id_char_ok(s[i], i == 0))
			return false;
	}
	return true;
}
