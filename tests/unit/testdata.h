/* The unit tests' data files: tests/unit/data, or $VLAB_TEST_DATA. */
#ifndef VLAB_TESTDATA_H
#define VLAB_TESTDATA_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sshkey.h"

static inline const char *testdata_dir(void)
{
	return getenv("VLAB_TEST_DATA") ? getenv("VLAB_TEST_DATA") : "tests/unit/data";
}

/* The first line of keys/NAME.pub, without its newline (malloc'd). */
static inline char *testdata_key_line(const char *name)
{
	char path[512], buf[SSHKEY_LINE_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys/%s.pub", testdata_dir(), name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the source tree)", path);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

#endif
