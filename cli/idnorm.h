/*
 * What schools call people, folded into what vlab can use: a student ID made from a
 * Moodle username or an e-mail's local part, and a header label made comparable
 * across spellings ("Nom d’utilisateur", "nom d'utilisateur", "NOM D'UTILISATEUR").
 *
 * Folding is ICU's transliterator "NFKC; Latin-ASCII; Lower": compatibility forms
 * composed (full-width letters, ligatures), Latin letters to ASCII (é -> e, ß -> ss,
 * æ -> ae, ø -> o, ł -> l), then lower case. Letters of other scripts are not guessed
 * at: they are left as they are, and the callers below turn them into separators.
 */
#ifndef VLAB_CLI_IDNORM_H
#define VLAB_CLI_IDNORM_H

#include "common/id.h"

/* One ICU transliterator, opened once for a whole roster. */
struct idnorm;

/* 0 with *out (idnorm_close it), -ENOMEM, or -EIO when ICU cannot build the
 * transliterator (its data is missing). */
int idnorm_open(struct idnorm **out);
void idnorm_close(struct idnorm *n);

/*
 * The vlab ID for IN (UTF-8): folded; a-z, 0-9, '_' and '-' kept; every other
 * character (one per code point: '.', '+', a space, a letter of another script) '-';
 * leading characters that are not a letter or digit dropped; cut at ID_MAX_LEN. A
 * valid ID comes out unchanged. 0 with OUT set (id_valid), -EINVAL when IN is not
 * UTF-8 or nothing usable is left ("王小明", "..."), -ENOMEM.
 */
int idnorm_id(struct idnorm *n, const char *in, char out[ID_MAX_LEN + 1]);

/*
 * IN as a key for comparing header labels: folded, every run of characters that are
 * not a-z or 0-9 one space, no space at either end ("E-Mail-Adresse" -> "e mail
 * adresse"). 0 with *OUT (malloc'd), -EINVAL when IN is not UTF-8, -ENOMEM.
 */
int idnorm_label(struct idnorm *n, const char *in, char **out);

#endif
