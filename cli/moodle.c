#include "cli/moodle.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char *const field_names[MOODLE_NFIELDS] = {
	"username", "email", "firstname", "lastname", "idnumber",
};

/*
 * Moodle's own strings (lang/LANG/moodle.php: username, email, firstname, lastname,
 * idnumber), folded as idnorm_label() folds a header. Older spellings stay: a school
 * keeps its Moodle for years (English said "Surname" until 4.0, French "Nom" until
 * 4.2). No label may mean two fields in two languages: "Nom" is a last name in French
 * and a first name in Catalan, so Catalan is not here.
 */
static const struct {
	const char *language;
	const char *labels[MOODLE_NFIELDS][2];
} languages[] = {
	{ "field names", { { "username" }, { "email" }, { "firstname" }, { "lastname" },
			   { "idnumber" } } },
	{ "English", { { "username" }, { "email address" }, { "first name" },
		       { "last name", "surname" }, { "id number" } } },
	{ "French", { { "nom d utilisateur" }, { "adresse de courriel" }, { "prenom" },
		      { "nom de famille", "nom" }, { "numero d identification" } } },
	{ "German", { { "anmeldename" }, { "e mail adresse" }, { "vorname" },
		      { "nachname" }, { "id nummer" } } },
	{ "Spanish", { { "nombre de usuario" }, { "direccion de correo" }, { "nombre" },
		       { "apellido s" }, { "numero de id" } } },
};

#define N_LANGUAGES (sizeof(languages) / sizeof(languages[0]))

const char *moodle_field_name(enum moodle_field f)
{
	return f < MOODLE_NFIELDS ? field_names[f] : "?";
}

/* The field LABEL means in language L, or MOODLE_NFIELDS. */
static enum moodle_field field_of(size_t l, const char *label)
{
	int f;
	size_t k;

	for (f = 0; f < MOODLE_NFIELDS; f++) {
		for (k = 0; k < 2 && languages[l].labels[f][k]; k++) {
			if (!strcmp(label, languages[l].labels[f][k]))
				return (enum moodle_field)f;
		}
	}
	return MOODLE_NFIELDS;
}

int moodle_columns_find(char *const *labels, size_t n, struct moodle_columns *out,
			size_t *dup_a, size_t *dup_b)
{
	size_t l, i, score[N_LANGUAGES] = { 0 }, best = 0;
	enum moodle_field f;
	int k;

	for (k = 0; k < MOODLE_NFIELDS; k++)
		out->col[k] = -1;
	out->language = NULL;
	for (i = 0; i < n; i++) {
		bool counted = false;

		for (l = 0; l < N_LANGUAGES; l++) {
			f = field_of(l, labels[i]);
			if (f == MOODLE_NFIELDS)
				continue;
			score[l]++;
			if (counted)
				continue;	/* "username": field names and English agree */
			counted = true;
			if (out->col[f] >= 0) {
				*dup_a = (size_t)out->col[f];
				*dup_b = i;
				return -EEXIST;
			}
			out->col[f] = (long)i;
		}
	}
	for (l = 1; l < N_LANGUAGES; l++) {
		if (score[l] > score[best])
			best = l;
	}
	if (score[best] > 0)
		out->language = languages[best].language;
	return 0;
}
