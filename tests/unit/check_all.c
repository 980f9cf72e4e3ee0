/*
 * The one Check runner. Every tests/unit/check_NAME.c defines make_NAME_suite(); the
 * Makefile lists them in suites.h. CK_RUN_SUITE=NAME runs one suite (Check's own).
 */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *make_##name##_suite(void);
#include "suites.h"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SUITE(name) srunner_add_suite(sr, make_##name##_suite());
#include "suites.h"
#undef SUITE

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
