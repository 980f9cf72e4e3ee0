/*
 * libFuzzer target: cli/roster.c (roster_parse on the raw bytes, as labctl reads a
 * file, and roster_read as it does with --keys-from or --generate-keys, where Moodle's
 * exports and keyless rows are taken). Checks the contract of roster.h: all or
 * nothing, errors always explained, every row accepted holds a valid id and
 * 1..SSHKEY_LIST_MAX keys (0 allowed when the keys come from elsewhere).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/roster.h"
#include "common/id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_keys_elsewhere(const uint8_t *data, size_t size)
{
	static const struct roster_opts o = { .keys_elsewhere = true };
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct roster r;
	const char *v;
	size_t i;
	int ret;

	ret = roster_read((const char *)data, size, &o, &r, &errs);
	if (ret == 0 && (r.n < 1 || errs.n))
		abort();
	if (ret != 0 && (r.n || (ret == -EINVAL && errs.n == 0)))
		abort();
	for (i = 0; i < r.n; i++) {
		if (!id_valid(r.recs[i].id) || !r.recs[i].name ||
		    r.recs[i].n_keys > SSHKEY_LIST_MAX) {
			fprintf(stderr, "roster_read: row %zu accepted but invalid\n", i);
			abort();
		}
		if (roster_value(&r, i, "id", &v) != 0 || strcmp(v, r.recs[i].id) != 0)
			abort();
		(void)roster_value(&r, i, "username", &v);
	}
	roster_free(&r);
	student_errors_free(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec *rows = NULL;
	size_t n = 0, i;
	int r;

	r = roster_parse((const char *)data, size, &rows, &n, &errs);
	if (r == 0) {
		if (!rows || n < 1 || n > ROSTER_MAX_ROWS || errs.n) {
			fprintf(stderr, "roster_parse: 0 with rows %p, n %zu, %zu errors\n",
				(void *)rows, n, errs.n);
			abort();
		}
		for (i = 0; i < n; i++) {
			if (!rows[i].id || !id_valid(rows[i].id) || !rows[i].name ||
			    rows[i].n_keys < 1 || rows[i].n_keys > SSHKEY_LIST_MAX) {
				fprintf(stderr, "roster_parse: row %zu accepted but invalid\n", i);
				abort();
			}
		}
		student_recs_free(rows, n);
	} else {
		if (rows || (r == -EINVAL && errs.n == 0) || (r != -EINVAL && r != -ENOMEM)) {
			fprintf(stderr, "roster_parse: %d with rows %p and %zu errors\n", r,
				(void *)rows, errs.n);
			abort();
		}
		for (i = 0; i < errs.n; i++)
			if (!errs.v[i].message || !errs.v[i].message[0])
				abort();
	}
	student_errors_free(&errs);
	check_keys_elsewhere(data, size);
	return 0;
}
