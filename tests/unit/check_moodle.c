/*
 * Rosters as schools have them (cli/roster.c, cli/moodle.c): Moodle's Participants
 * download and its admin bulk download, in English and French, as Moodle writes them
 * and as Excel saves them again; --id-column and --name-columns; IDs that collide.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/roster.h"
#include "testdata.h"

static const struct roster_opts keys_elsewhere = { .keys_elsewhere = true };

struct result {
	int ret;
	struct roster r;
	struct student_errors errs;
};

static struct result load_opts(const char *name, const struct roster_opts *o)
{
	struct result res = { .errs = STUDENT_ERRORS_INIT };
	char path[512];

	snprintf(path, sizeof(path), "%s/roster/%s", testdata_dir(), name);
	res.ret = roster_load(path, o, &res.r, &res.errs);
	if (res.ret == 0)
		ck_assert_uint_eq(res.errs.n, 0);
	else
		ck_assert_uint_eq(res.r.n, 0);
	return res;
}

static struct result load(const char *name)
{
	return load_opts(name, &keys_elsewhere);
}

static struct result read_text(const char *text, const struct roster_opts *o)
{
	struct result res = { .errs = STUDENT_ERRORS_INIT };

	res.ret = roster_read(text, strlen(text), o, &res.r, &res.errs);
	if (res.ret != 0)
		ck_assert_uint_eq(res.r.n, 0);
	return res;
}

static void result_free(struct result *res)
{
	roster_free(&res->r);
	student_errors_free(&res->errs);
}

static void expect_ok(const struct result *res, size_t n)
{
	ck_assert_msg(res->ret == 0, "ret %d, first error: line %u: %s", res->ret,
		      res->errs.n ? res->errs.v[0].line : 0,
		      res->errs.n ? res->errs.v[0].message : "-");
	ck_assert_uint_eq(res->r.n, n);
}

static void expect_student(const struct result *res, size_t i, unsigned line,
			   const char *id, const char *name, const char *email)
{
	const struct student_rec *s = &res->r.recs[i];

	ck_assert_uint_eq(s->line, line);
	ck_assert_str_eq(s->id, id);
	ck_assert_str_eq(s->name, name);
	if (email)
		ck_assert_str_eq(s->email, email);
	else
		ck_assert_ptr_null(s->email);
	ck_assert_uint_eq(s->n_keys, 0);
}

static void expect_single_error(const struct result *res, unsigned line, const char *needle)
{
	ck_assert_int_eq(res->ret, -EINVAL);
	ck_assert_msg(res->errs.n == 1, "%zu errors, first: %s", res->errs.n,
		      res->errs.n ? res->errs.v[0].message : "-");
	ck_assert_uint_eq(res->errs.v[0].line, line);
	ck_assert_msg(strstr(res->errs.v[0].message, needle) != NULL, "'%s' lacks '%s'",
		      res->errs.v[0].message, needle);
}

START_TEST(moodle_participants_in_english_give_ids_from_usernames)
{
	struct result res = load("moodle-participants-en.csv");

	expect_ok(&res, 4);
	ck_assert_str_eq(res.r.format, "Moodle");
	ck_assert_str_eq(res.r.moodle.language, "English");
	ck_assert_str_eq(res.r.id_from, "column 'Username', normalised");
	ck_assert_str_eq(res.r.name_from, "'First name' + 'Last name'");
	expect_student(&res, 0, 2, "zangstrom", "Zoë Ångström", "zoe.angstrom@school.example");
	expect_student(&res, 1, 3, "jean-dupont", "Jean Dupont Moreau",
		       "jean.dupont@school.example");
	/* A username that is an e-mail address gives its local part. */
	expect_student(&res, 2, 4, "maryann-oneil", "Mary Ann O'Neil",
		       "maryann.oneil@school.example");
	expect_student(&res, 3, 5, "lwasik", "Łukasz Wąsik", "lukasz.wasik@school.example");
	result_free(&res);
}
END_TEST

START_TEST(moodle_participants_saved_by_french_excel_are_read)
{
	/* BOM, ';', CRLF, a quoted field holding ';' and doubled quotes. */
	struct result res = load("moodle-participants-fr-excel.csv");

	expect_ok(&res, 3);
	ck_assert_int_eq(res.r.tab.sep, ';');
	ck_assert_str_eq(res.r.moodle.language, "French");
	ck_assert_str_eq(res.r.id_from, "column 'Nom d’utilisateur', normalised");
	expect_student(&res, 0, 2, "ebrechet", "Élodie Bréchet", "elodie.brechet@lycee.example");
	expect_student(&res, 1, 3, "flefevre", "François Lefèvre; dit \"Fanfan\"",
		       "francois.lefevre@lycee.example");
	expect_student(&res, 2, 4, "aoeuvray", "Anaïs Œuvray", "anais.oeuvray@lycee.example");
	result_free(&res);
}
END_TEST

START_TEST(moodle_participants_without_username_take_the_email_local_part)
{
	/* Older French labels ("Nom", ASCII apostrophes), e-mail the only identity field. */
	struct result res = load("moodle-participants-fr-old.csv");

	expect_ok(&res, 3);
	ck_assert_str_eq(res.r.moodle.language, "French");
	ck_assert_str_eq(res.r.id_from, "column 'Adresse de courriel', normalised");
	expect_student(&res, 0, 2, "helene-durand", "Hélène Durand",
		       "helene.durand@lycee.example");
	expect_student(&res, 1, 3, "gaetan-le-gall", "Gaëtan Le Gall",
		       "gaetan.le-gall@lycee.example");
	expect_student(&res, 2, 4, "soren-k-info", "Søren Kierkegaard",
		       "Soren.K+info@lycee.example");
	result_free(&res);
}
END_TEST

START_TEST(moodle_bulk_download_ignores_moodles_numeric_user_id)
{
	struct result res = load("moodle-bulk-download.csv");

	expect_ok(&res, 3);
	ck_assert_str_eq(res.r.moodle.language, "field names");
	ck_assert_str_eq(res.r.id_from, "column 'username', normalised");
	expect_student(&res, 0, 2, "amartin", "Alice Martin", "alice.martin@school.example");
	expect_student(&res, 1, 3, "b-nguyen", "Bảo Nguyễn", "bao.nguyen@school.example");
	expect_student(&res, 2, 4, "c-oconnor", "Ciarán O'Connor", "c.oconnor@school.example");
	result_free(&res);
}
END_TEST

START_TEST(moodle_2x_french_bulk_download_with_semicolons_is_read)
{
	struct result res = load("moodle-bulk-download-fr-2x.csv");

	expect_ok(&res, 2);
	ck_assert_int_eq(res.r.tab.sep, ';');
	expect_student(&res, 0, 2, "dmoreau", "Denis Moreau", "d.moreau@college.example");
	expect_student(&res, 1, 3, "eleroux", "Émilie Le Roux", "e.leroux@college.example");
	result_free(&res);
}
END_TEST

START_TEST(moodle_ids_that_collide_name_both_lines_and_nothing_is_taken)
{
	struct result res = load("moodle-collision.csv");

	expect_single_error(&res, 4, "Email address 'JDupont@lycee-b.example' gives the ID "
			    "'jdupont', as 'jdupont@lycee-a.example' on line 2 does");
	result_free(&res);
}
END_TEST

START_TEST(moodle_export_without_username_or_email_needs_id_column)
{
	struct result res = load("moodle-names-only.csv");

	expect_single_error(&res, 1, "no username and no e-mail column");
	ck_assert_ptr_nonnull(strstr(res.errs.v[0].message, "--id-column"));
	result_free(&res);
}
END_TEST

START_TEST(moodle_export_without_keys_needs_keys_from_somewhere)
{
	struct result res = load_opts("moodle-participants-en.csv", NULL);

	expect_single_error(&res, 1, "missing required column 'ssh_key'");
	ck_assert_ptr_nonnull(strstr(res.errs.v[0].message, "--keys-from"));
	ck_assert_ptr_nonnull(strstr(res.errs.v[0].message, "--generate-keys"));
	result_free(&res);
}
END_TEST

START_TEST(moodle_export_with_an_added_key_column_takes_the_keys)
{
	char *key, *text = NULL;
	struct result res;

	key = testdata_key_line("ed25519");
	ck_assert_int_ge(asprintf(&text, "Username,First name,Last name,ssh_key\n"
				  "j.doe,Jane,Doe,%s\n", key), 0);
	res = read_text(text, NULL);
	ck_assert_msg(res.ret == 0, "%s", res.errs.n ? res.errs.v[0].message : "?");
	ck_assert_str_eq(res.r.recs[0].id, "j-doe");
	ck_assert_uint_eq(res.r.recs[0].n_keys, 1);
	result_free(&res);
	free(text);
	free(key);
}
END_TEST

START_TEST(moodle_german_and_spanish_labels_are_recognised)
{
	struct result res = read_text("Vorname;Nachname;E-Mail-Adresse;Anmeldename\n"
				      "Jürgen;Groß;jg@schule.example;jgross\n", &keys_elsewhere);

	expect_ok(&res, 1);
	ck_assert_str_eq(res.r.moodle.language, "German");
	expect_student(&res, 0, 2, "jgross", "Jürgen Groß", "jg@schule.example");
	result_free(&res);
	res = read_text("Nombre,Apellido(s),Dirección de correo\n"
			"Íñigo,Ibáñez,inigo.ibanez@colegio.example\n", &keys_elsewhere);
	expect_ok(&res, 1);
	ck_assert_str_eq(res.r.moodle.language, "Spanish");
	expect_student(&res, 0, 2, "inigo-ibanez", "Íñigo Ibáñez",
		       "inigo.ibanez@colegio.example");
	result_free(&res);
}
END_TEST

START_TEST(moodle_username_without_a_usable_id_is_reported_with_its_line)
{
	struct result res = read_text("Username,First name,Last name\n"
				      "wli,Wei,Li\n"
				      "王小明,Xiaoming,Wang\n"
				      ",Nobody,Here\n", &keys_elsewhere);

	ck_assert_int_eq(res.ret, -EINVAL);
	ck_assert_uint_eq(res.errs.n, 2);
	ck_assert_uint_eq(res.errs.v[0].line, 3);
	ck_assert_ptr_nonnull(strstr(res.errs.v[0].message, "Username '王小明'"));
	ck_assert_ptr_nonnull(strstr(res.errs.v[0].message, "gives no usable ID"));
	ck_assert_uint_eq(res.errs.v[1].line, 4);
	ck_assert_ptr_nonnull(strstr(res.errs.v[1].message, "column 'Username' is empty"));
	result_free(&res);
}
END_TEST

START_TEST(moodle_two_columns_for_one_field_are_refused)
{
	struct result res = read_text("username,Username,firstname\na,b,c\n", &keys_elsewhere);

	expect_single_error(&res, 1, "columns 1 and 2 ('username' and 'Username') both look "
			    "like Moodle's username");
	result_free(&res);
}
END_TEST

START_TEST(id_column_and_name_columns_read_any_export)
{
	static const struct roster_opts o = { .id_column = "matricule",
					      .name_columns = "Nom complet",
					      .keys_elsewhere = true };
	struct result res = read_text("Matricule;Nom complet;Courriel\n"
				      "E-2024.07;Jean Dupont;jd@ecole.example\n", &o);

	expect_ok(&res, 1);
	ck_assert_str_eq(res.r.format, "custom");
	/* Neither 'email' nor a Moodle label: the e-mail is not known. */
	expect_student(&res, 0, 2, "e-2024-07", "Jean Dupont", NULL);
	result_free(&res);
}
END_TEST

START_TEST(id_column_matches_a_label_however_its_apostrophe_is_spelt)
{
	static const struct roster_opts o = { .id_column = "numero d'identification",
					      .keys_elsewhere = true };
	struct result res = load_opts("moodle-participants-fr-excel.csv", &o);

	expect_ok(&res, 3);
	ck_assert_str_eq(res.r.recs[0].id, "2024-031");
	ck_assert_str_eq(res.r.recs[0].name, "Élodie Bréchet");
	result_free(&res);
}
END_TEST

START_TEST(id_column_that_does_not_exist_lists_the_header)
{
	static const struct roster_opts o = { .id_column = "login", .keys_elsewhere = true };
	struct result res = load_opts("moodle-participants-en.csv", &o);

	expect_single_error(&res, 1, "--id-column: no column 'login' (the header has "
			    "'First name', 'Last name', 'Email address', 'ID number', "
			    "'Username')");
	result_free(&res);
}
END_TEST

START_TEST(id_column_empty_never_matches_an_unnamed_column)
{
	static const struct roster_opts o = { .id_column = "", .keys_elsewhere = true };
	struct result res = read_text("id,name,\nalice,Alice,x\n", &o);

	expect_single_error(&res, 1, "--id-column: give a column's name");
	result_free(&res);
}
END_TEST

START_TEST(name_columns_that_do_not_exist_are_reported)
{
	static const struct roster_opts o = { .name_columns = "First name,Surname",
					      .keys_elsewhere = true };
	struct result res = load_opts("moodle-participants-en.csv", &o);

	expect_single_error(&res, 1, "--name-columns: no column 'Surname'");
	result_free(&res);
}
END_TEST

START_TEST(vlab_roster_ids_stay_strict_when_keys_come_from_elsewhere)
{
	struct result res = read_text("id,name\nalice,Alice\nBob,Bob\n", &keys_elsewhere);

	expect_single_error(&res, 3, "id 'Bob' is not valid");
	result_free(&res);
	res = read_text("id,name\nalice,Alice\n", &keys_elsewhere);
	expect_ok(&res, 1);
	ck_assert_str_eq(res.r.format, "vlab");
	expect_student(&res, 0, 2, "alice", "Alice", NULL);
	result_free(&res);
}
END_TEST

START_TEST(roster_in_a_legacy_code_page_is_refused_with_its_line)
{
	struct result res = read_text("id,name\nalice,Alice\nzoe,Zo\xeb\n", &keys_elsewhere);

	expect_single_error(&res, 3, "not UTF-8 (byte 0xEB); save it as \"CSV UTF-8\"");
	result_free(&res);
}
END_TEST

START_TEST(roster_value_finds_columns_by_label_field_or_id)
{
	struct result res = load("moodle-participants-fr-excel.csv");
	const char *v;

	expect_ok(&res, 3);
	ck_assert_int_eq(roster_value(&res.r, 1, "id", &v), 0);
	ck_assert_str_eq(v, "flefevre");
	ck_assert_int_eq(roster_value(&res.r, 1, "username", &v), 0);
	ck_assert_str_eq(v, "flefevre");
	ck_assert_int_eq(roster_value(&res.r, 1, "nom d'utilisateur", &v), 0);
	ck_assert_str_eq(v, "flefevre");
	ck_assert_int_eq(roster_value(&res.r, 1, "ADRESSE DE COURRIEL", &v), 0);
	ck_assert_str_eq(v, "francois.lefevre@lycee.example");
	ck_assert_int_eq(roster_value(&res.r, 0, "idnumber", &v), 0);
	ck_assert_str_eq(v, "2024-031");
	ck_assert_int_eq(roster_value(&res.r, 0, "github", &v), -ENOENT);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(roster_value(&res.r, 3, "id", &v), -ENOENT);
	result_free(&res);
}
END_TEST

START_TEST(roster_with_a_row_left_out_gives_no_student_at_all)
{
	static const char text[] = "Username,First name\nann,Ann\nb\0b,Bob\n";
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct roster r;

	ck_assert_int_eq(roster_read(text, sizeof(text) - 1, &keys_elsewhere, &r, &errs),
			 -EINVAL);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_ptr_null(r.recs);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.v[0].message, "column 'Username' contains a NUL byte");
	roster_free(&r);
	student_errors_free(&errs);
}
END_TEST

Suite *make_moodle_suite(void);	/* called by check_all.c */
Suite *make_moodle_suite(void)
{
	Suite *s = suite_create("moodle");
	TCase *tc = tcase_create("rosters");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, moodle_participants_in_english_give_ids_from_usernames);
	tcase_add_test(tc, moodle_participants_saved_by_french_excel_are_read);
	tcase_add_test(tc, moodle_participants_without_username_take_the_email_local_part);
	tcase_add_test(tc, moodle_bulk_download_ignores_moodles_numeric_user_id);
	tcase_add_test(tc, moodle_2x_french_bulk_download_with_semicolons_is_read);
	tcase_add_test(tc, moodle_ids_that_collide_name_both_lines_and_nothing_is_taken);
	tcase_add_test(tc, moodle_export_without_username_or_email_needs_id_column);
	tcase_add_test(tc, moodle_export_without_keys_needs_keys_from_somewhere);
	tcase_add_test(tc, moodle_export_with_an_added_key_column_takes_the_keys);
	tcase_add_test(tc, moodle_german_and_spanish_labels_are_recognised);
	tcase_add_test(tc, moodle_username_without_a_usable_id_is_reported_with_its_line);
	tcase_add_test(tc, moodle_two_columns_for_one_field_are_refused);
	tcase_add_test(tc, id_column_and_name_columns_read_any_export);
	tcase_add_test(tc, id_column_matches_a_label_however_its_apostrophe_is_spelt);
	tcase_add_test(tc, id_column_that_does_not_exist_lists_the_header);
	tcase_add_test(tc, id_column_empty_never_matches_an_unnamed_column);
	tcase_add_test(tc, name_columns_that_do_not_exist_are_reported);
	tcase_add_test(tc, vlab_roster_ids_stay_strict_when_keys_come_from_elsewhere);
	tcase_add_test(tc, roster_in_a_legacy_code_page_is_refused_with_its_line);
	tcase_add_test(tc, roster_value_finds_columns_by_label_field_or_id);
	tcase_add_test(tc, roster_with_a_row_left_out_gives_no_student_at_all);
	suite_add_tcase(s, tc);
	return s;
}
