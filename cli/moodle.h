/*
 * Moodle's two user lists, recognised by their header rows:
 *
 * - a course's Participants page, "Download table data as": First name, Last name,
 *   then the site's identity fields (Email address, ID number, Username, ...), under
 *   labels in the language of the teacher's session;
 * - the administrator's Bulk user actions -> Download: the raw field names id,
 *   username, email, firstname, lastname, idnumber, institution, ...
 *
 * Labels are compared as idnorm_label() folds them, so case, accents and the
 * apostrophe's spelling do not matter ("Nom d’utilisateur" since 2024, "Nom
 * d'utilisateur" before). Known: raw field names, English, French, German, Spanish.
 */
#ifndef VLAB_CLI_MOODLE_H
#define VLAB_CLI_MOODLE_H

#include <stddef.h>

enum moodle_field {
	MOODLE_USERNAME,
	MOODLE_EMAIL,
	MOODLE_FIRSTNAME,
	MOODLE_LASTNAME,
	MOODLE_IDNUMBER,
	MOODLE_NFIELDS
};

struct moodle_columns {
	long col[MOODLE_NFIELDS];	/* header position, -1 when absent */
	const char *language;		/* of the labels that matched most: "field names",
					   "English", "French", ...; NULL when none did */
};

/* The raw field name of F ("username"), for messages and {username} in URLs. */
const char *moodle_field_name(enum moodle_field f);

/*
 * Finds Moodle's columns among LABELS (N header labels, each already folded with
 * idnorm_label()). Fills *OUT; when two columns carry the same field (a "username"
 * and a "Username" column) *DUP_A and *DUP_B get their positions and -EEXIST is
 * returned, else 0. Finding nothing is not an error: out->language is then NULL.
 */
int moodle_columns_find(char *const *labels, size_t n, struct moodle_columns *out,
			size_t *dup_a, size_t *dup_b);

#endif
