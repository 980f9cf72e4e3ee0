/* IDs from usernames and e-mails, and header labels made comparable (cli/idnorm.c). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/idnorm.h"

static struct idnorm *norm;

static void norm_open(void)
{
	ck_assert_int_eq(idnorm_open(&norm), 0);
}

static void norm_close(void)
{
	idnorm_close(norm);
	norm = NULL;
}

static void expect_id(const char *in, const char *want)
{
	char out[ID_MAX_LEN + 1];
	int r = idnorm_id(norm, in, out);

	ck_assert_msg(r == 0, "'%s': %d", in, r);
	ck_assert_msg(!strcmp(out, want), "'%s' gave '%s', want '%s'", in, out, want);
	ck_assert_msg(id_valid(out), "'%s' is not a valid ID", out);
}

static void expect_no_id(const char *in)
{
	char out[ID_MAX_LEN + 1];

	ck_assert_msg(idnorm_id(norm, in, out) == -EINVAL, "'%s' gave '%s'", in, out);
}

static void expect_label(const char *in, const char *want)
{
	char *out = NULL;

	ck_assert_int_eq(idnorm_label(norm, in, &out), 0);
	ck_assert_msg(!strcmp(out, want), "'%s' gave '%s', want '%s'", in, out, want);
	free(out);
}

START_TEST(idnorm_folds_accents_and_latin_letters)
{
	expect_id("Zoë", "zoe");
	expect_id("Ångström", "angstrom");
	expect_id("ßøæŁđþŒ", "ssoaeldthoe");
	expect_id("łwąsik", "lwasik");
	expect_id("Nguyễn", "nguyen");
	/* Decomposed "é" (e + U+0301) as a Mac writes it, and the composed one. */
	expect_id("e\xcc\x81lodie", "elodie");
	expect_id("\xc3\xa9lodie", "elodie");
}
END_TEST

START_TEST(idnorm_composes_compatibility_forms)
{
	expect_id("Ｊｅａｎ", "jean");	/* full-width */
	expect_id("ﬁlou", "filou");	/* ligature */
	expect_id("ǅuro", "dzuro");
}
END_TEST

START_TEST(idnorm_turns_other_characters_into_dashes)
{
	expect_id("jean.dupont", "jean-dupont");
	expect_id("soren.k+info", "soren-k-info");
	expect_id("o'neil", "o-neil");
	expect_id("Mary Ann", "mary-ann");
	expect_id("ab王", "ab-");		/* one dash per character, not per byte */
	expect_id("a\xf0\x9f\x98\x80" "b", "a-b");	/* outside the BMP: still one */
	expect_id("x\ty", "x-y");
}
END_TEST

START_TEST(idnorm_drops_what_comes_before_a_letter_or_digit)
{
	expect_id("_bob", "bob");
	expect_id(".-x", "x");
	expect_id("王x", "x");
	expect_no_id("王小明");
	expect_no_id("...");
	expect_no_id("");
	expect_no_id("Дмитрий");	/* no guess at a transliteration */
}
END_TEST

START_TEST(idnorm_cuts_at_32_characters)
{
	expect_id("abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz012345");
	/* Folding may lengthen: "ß" is two letters, the cut counts the result. */
	expect_id("ßßßßßßßßßßßßßßßßßß", "ssssssssssssssssssssssssssssssss");
}
END_TEST

START_TEST(idnorm_leaves_a_valid_id_as_it_is)
{
	static const char *const ids[] = { "alice", "a_b-c", "x-", "0abc", "bob_",
					   "abcdefghijklmnopqrstuvwxyz012345" };
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		expect_id(ids[i], ids[i]);
}
END_TEST

START_TEST(idnorm_refuses_text_that_is_not_utf8)
{
	expect_no_id("\xe9l\xe8ve");	/* Latin-1 */
	expect_no_id("a\xc3");
	char *out = (char *)"x";

	ck_assert_int_eq(idnorm_label(norm, "Pr\xe9nom", &out), -EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(idnorm_refuses_an_overlong_value)
{
	char *big = malloc(4001);

	memset(big, 'a', 4000);
	big[4000] = '\0';
	expect_no_id(big);
	free(big);
}
END_TEST

START_TEST(idnorm_label_ignores_case_accents_and_apostrophe_spelling)
{
	expect_label("Nom d’utilisateur", "nom d utilisateur");
	expect_label("Nom d'utilisateur", "nom d utilisateur");
	expect_label("  NOM D'UTILISATEUR ", "nom d utilisateur");
	expect_label("Numéro d’identification", "numero d identification");
	expect_label("E-Mail-Adresse", "e mail adresse");
	expect_label("Apellido(s)", "apellido s");
	expect_label("Prénom", "prenom");
	expect_label("", "");
}
END_TEST

Suite *make_idnorm_suite(void);	/* called by check_all.c */
Suite *make_idnorm_suite(void)
{
	Suite *s = suite_create("idnorm");
	TCase *tc = tcase_create("fold");

	tcase_add_checked_fixture(tc, norm_open, norm_close);
	tcase_add_test(tc, idnorm_folds_accents_and_latin_letters);
	tcase_add_test(tc, idnorm_composes_compatibility_forms);
	tcase_add_test(tc, idnorm_turns_other_characters_into_dashes);
	tcase_add_test(tc, idnorm_drops_what_comes_before_a_letter_or_digit);
	tcase_add_test(tc, idnorm_cuts_at_32_characters);
	tcase_add_test(tc, idnorm_leaves_a_valid_id_as_it_is);
	tcase_add_test(tc, idnorm_refuses_text_that_is_not_utf8);
	tcase_add_test(tc, idnorm_refuses_an_overlong_value);
	tcase_add_test(tc, idnorm_label_ignores_case_accents_and_apostrophe_spelling);
	suite_add_tcase(s, tc);
	return s;
}
