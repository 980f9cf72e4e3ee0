/* Student and class identifiers: [a-z0-9][a-z0-9_-]{0,31}. */
#ifndef VLAB_ID_H
#define VLAB_ID_H

#include <stdbool.h>

#define ID_MAX_LEN 32

bool id_valid(const char *s);

#endif
