/* common/jsonfmt.c: what it prints is what json-c prints, byte for byte. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "common/jsonfmt.h"

/* jsonfmt_print_pretty's output for TEXT (malloc'd). */
static char *ours(const char *text, const char *const *drop, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	*ret = jsonfmt_print_pretty(f, text, strlen(text), drop);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* json-c's, after dropping DROP from the top-level object. */
static char *theirs(const char *text, const char *const *drop)
{
	json_object *o = json_tokener_parse(text);
	char *s;

	ck_assert_ptr_nonnull(o);
	for (size_t i = 0; drop && drop[i] && json_object_is_type(o, json_type_object); i++)
		json_object_object_del(o, drop[i]);
	ck_assert_int_ge(asprintf(&s, "%s\n", json_object_to_json_string_ext(o,
			 JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			 JSON_C_TO_STRING_NOSLASHESCAPE)), 0);
	json_object_put(o);
	return s;
}

static const char *const docs[] = {
	"{}", "[]", "\"x\"", "12", "true", "[null]", "{\"a\":[]}", "{\"a\":{}}", "[[],[1],{}]",
	"{\"a\":[1,2,{\"b\":null}],\"c\":\"x/y\\\"z\\u0001\\\\\"}",
	"{\"e\":1.50,\"g\":1e3,\"h\":-7,\"i\":false}",
	"{\"v\":1,\"id\":7,\"ok\":true,\"students\":[{\"id\":\"s01\",\"name\":\"Zoë \\\"Z\\\"\","
	"\"email\":null,\"keys\":1,\"index\":1,\"state\":\"shut off\",\"base_current\":true},"
	"{\"id\":\"s02\",\"name\":\"B\",\"email\":\"b@x\",\"keys\":2}]}",
	"{\"v\":1,\"ok\":false,\"error\":{\"code\":\"invalid\",\"message\":\"no\"},\"errors\":[]}",
	"  {\"a\" : [ 1 , 2 ] }  ",
};

START_TEST(pretty_is_json_c_byte_for_byte)
{
	static const char *const drop[] = { "v", "id", NULL };

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		for (int d = 0; d < 2; d++) {
			int ret;
			char *a = ours(docs[i], d ? drop : NULL, &ret), *b = theirs(docs[i], d ? drop : NULL);

			ck_assert_int_eq(ret, 0);
			ck_assert_msg(strcmp(a, b) == 0, "%s:\nours\n%s\njson-c\n%s", docs[i], a, b);
			free(a);
			free(b);
		}
	}
}
END_TEST

START_TEST(invalid_text_prints_nothing)
{
	static const char *const bad[] = {
		"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "{\"a\":1,}", "\"open", "tru", "{} {}",
		"{\"a\":\"x\ny\"}", "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", "-", "{1:2}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret;
		char *a = ours(bad[i], NULL, &ret);

		ck_assert_msg(ret == -EINVAL, "accepted %s", bad[i]);
		ck_assert_str_eq(a, "");
		free(a);
		ck_assert(!jsonfmt_valid(bad[i], strlen(bad[i])));
	}
}
END_TEST

START_TEST(member_finds_top_level_values_only)
{
	const char *t = "{\"v\":1,\"x\":{\"ok\":false},\"ok\":true,\"s\":\"a,\\\"ok\\\":1\"}";
	const char *v;
	size_t n;

	ck_assert_int_eq(jsonfmt_member(t, strlen(t), "ok", &v, &n), 0);
	ck_assert_int_eq((int)n, 4);
	ck_assert(strncmp(v, "true", 4) == 0);
	ck_assert_int_eq(jsonfmt_member(t, strlen(t), "x", &v, &n), 0);
	ck_assert(strncmp(v, "{\"ok\":false}", n) == 0);
	ck_assert_int_eq(jsonfmt_member(t, strlen(t), "event", &v, &n), -ENOENT);
	ck_assert_int_eq(jsonfmt_member("[1]", 3, "ok", &v, &n), -EINVAL);
	ck_assert_int_eq(jsonfmt_member("{\"ok\":", 6, "ok", &v, &n), -EINVAL);
}
END_TEST

Suite *make_jsonfmt_suite(void);
Suite *make_jsonfmt_suite(void)
{
	Suite *s = suite_create("jsonfmt");
	TCase *tc = tcase_create("jsonfmt");

	tcase_add_test(tc, pretty_is_json_c_byte_for_byte);
	tcase_add_test(tc, invalid_text_prints_nothing);
	tcase_add_test(tc, member_finds_top_level_values_only);
	suite_add_tcase(s, tc);
	return s;
}
