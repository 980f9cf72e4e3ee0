#include "cli/enrolkeys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/keyanswer.h"
#include "cli/keyfetch.h"
#include "cli/keyurl.h"

#define add_error(errs, line, ...) \
	(student_errors_add((errs), (line), __VA_ARGS__) < 0 ? -ENOMEM : -EINVAL)

struct lookup_ctx {
	struct roster *r;
	size_t i;
};

static int lookup(void *arg, const char *name, const char **value)
{
	struct lookup_ctx *c = arg;

	return roster_value(c->r, c->i, name, value);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The students still without a key, by index, into *NEED (n_recs entries). */
static size_t keyless(const struct roster *r, size_t *need)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++) {
		if (r->recs[i].n_keys == 0)
			need[n++] = i;
	}
	return n;
}

/* One URL per student in NEED, into URLS. 0, -EINVAL (reported), -ENOMEM. */
static int urls_make(struct roster *r, const struct enrolkeys_opts *o, const size_t *need,
		     size_t n, char **urls, struct student_errors *errs)
{
	char err[512];
	size_t k;
	int ret = 0, e;

	if (keyurl_check(o->keys_from, err, sizeof(err)) < 0)
		return add_error(errs, 0, "--keys-from '%s': %s", o->keys_from, err);
	for (k = 0; k < n; k++) {
		struct lookup_ctx c = { r, need[k] };

		e = keyurl_expand(o->keys_from, lookup, &c, &urls[k], err, sizeof(err));
		if (e == -ENOMEM)
			return e;
		/* A column that is not there is missing for everyone: say it once. */
		if (e == -ENOENT || e == -EEXIST)
			return add_error(errs, 0, "--keys-from: %s", err);
		if (e < 0)
			ret = add_error(errs, r->recs[need[k]].line, "%s: --keys-from: %s",
					r->recs[need[k]].id, err);
		if (ret == -ENOMEM)
			return ret;
	}
	return ret;
}

/* What came back for student I from URL: keys into the record, or why not. */
static int answer_take(struct roster *r, const struct enrolkeys_opts *o, size_t i,
		       const char *url, const struct keyfetch_answer *a,
		       struct enrolkeys_done *done, struct student_errors *errs,
		       struct student_errors *notes)
{
	struct student_rec *rec = &r->recs[i];
	struct keyanswer k;
	int ret;

	ret = keyanswer_read(a, KEYFETCH_MAX_BYTES, &k);
	if (ret < 0)
		return ret;
	switch (k.kind) {
	case KEYANSWER_KEYS:
		rec->keys = k.keys;
		rec->n_keys = k.n_keys;
		k.keys = NULL;
		k.n_keys = 0;
		done->fetched[done->n_fetched++] = i;
		if (k.notes && student_errors_add(notes, rec->line, "%s: %zu key%s from %s; "
						  "left out: %s", rec->id, rec->n_keys,
						  rec->n_keys == 1 ? "" : "s", url, k.notes) < 0)
			ret = -ENOMEM;
		break;
	case KEYANSWER_NONE:
		if (o->generate_dir)
			ret = student_errors_add(notes, rec->line, "%s: no key at %s: %s; a key "
						 "pair will be made", rec->id, url, k.why) < 0
				      ? -ENOMEM : 0;
		else
			ret = add_error(errs, rec->line, "%s: no usable key at %s: %s. Give the "
					"student a key in an ssh_key column, or make pairs with "
					"--generate-keys DIR", rec->id, url, k.why);
		break;
	case KEYANSWER_FAILED:
		ret = add_error(errs, rec->line, "%s: could not get the keys at %s: %s",
				rec->id, url, k.why);
		break;
	}
	keyanswer_clear(&k);
	return ret;
}

static int fetch(struct roster *r, const struct enrolkeys_opts *o, const size_t *need,
		 size_t n, struct enrolkeys_done *done, struct student_errors *errs,
		 struct student_errors *notes)
{
	const struct keyfetch_opts fo = { .ca_file = o->ca_file, .timeout_ms = o->timeout_ms };
	struct keyfetch_job *jobs = calloc(n, sizeof(*jobs));
	char **urls = calloc(n, sizeof(*urls)), err[512];
	size_t before = errs->n;
	int ret = -ENOMEM, e;
	long t0;
	size_t k;

	done->fetched = calloc(n, sizeof(*done->fetched));
	if (!jobs || !urls || !done->fetched)
		goto out;
	ret = urls_make(r, o, need, n, urls, errs);
	if (ret < 0)
		goto out;
	for (k = 0; k < n; k++)
		jobs[k].url = urls[k];
	t0 = now_ms();
	ret = keyfetch_run(jobs, n, &fo, err, sizeof(err));
	done->fetch_ms = now_ms() - t0;
	if (ret == -EIO && add_error(errs, 0, "--keys-from: %s", err) == -ENOMEM)
		ret = -ENOMEM;
	for (k = 0; ret == 0 && k < n; k++) {
		e = answer_take(r, o, need[k], urls[k], &jobs[k].answer, done, errs, notes);
		if (e == -ENOMEM)
			ret = e;
	}
	if (ret == 0 && errs->n > before)
		ret = -EINVAL;
out:
	for (k = 0; k < n; k++) {
		if (jobs)
			keyfetch_answer_clear(&jobs[k].answer);
		if (urls)
			free(urls[k]);
	}
	free(jobs);
	free(urls);
	return ret;
}

/* PUB_LINE becomes student I's only key. 0, -ENOMEM, -EINVAL (reported). */
static int key_set(struct roster *r, size_t i, const char *pub_line,
		   struct student_errors *errs)
{
	struct student_rec *rec = &r->recs[i];
	char msg[SSHKEY_ERR_LEN];
	int ret;

	ret = sshkey_parse_list(pub_line, strlen(pub_line), &rec->keys, &rec->n_keys, msg,
				sizeof(msg));
	if (ret == -EINVAL)
		ret = add_error(errs, rec->line, "%s: the key pair's public key: %s", rec->id,
				msg);
	return ret;
}

static int generate(struct roster *r, const struct enrolkeys_opts *o, const size_t *need,
		    size_t n, struct enrolkeys_done *done, struct student_errors *errs)
{
	char err[KEYGEN_ERR_LEN], *line;
	size_t k, *make = calloc(n, sizeof(*make)), n_make = 0;
	int ret, e;

	done->generated = calloc(n, sizeof(*done->generated));
	done->reused = calloc(n, sizeof(*done->reused));
	if (!make || !done->generated || !done->reused) {
		free(make);
		return -ENOMEM;
	}
	ret = keygen_dir_open(o->generate_dir, &done->dir, err, sizeof(err));
	if (ret < 0) {
		free(make);
		return ret == -ENOMEM ? ret : add_error(errs, 0, "--generate-keys: %s", err);
	}
	/* Every student's files are looked at before any is written. */
	for (k = 0, ret = 0; k < n; k++) {
		const struct student_rec *rec = &r->recs[need[k]];

		err[0] = '\0';
		e = keygen_probe(&done->dir, rec->id, &line, err, sizeof(err));
		if (e == KEYGEN_NONE) {
			make[n_make++] = need[k];
		} else if (e == KEYGEN_PAIR) {
			e = key_set(r, need[k], line, errs);
			free(line);
			done->reused[done->n_reused++] = need[k];
		} else if (e != -ENOMEM) {
			e = add_error(errs, rec->line, "%s: --generate-keys: %s", rec->id,
				      err[0] ? err : strerror(-e));
		}
		if (e == -ENOMEM) {
			ret = e;
			goto out;
		}
		if (e < 0)
			ret = e;
	}
	for (k = 0; ret == 0 && k < n_make; k++) {
		const struct student_rec *rec = &r->recs[make[k]];

		ret = keygen_make(&done->dir, rec->id, &line, err, sizeof(err));
		if (ret < 0) {
			if (ret != -ENOMEM)
				ret = add_error(errs, rec->line, "%s: --generate-keys: %s", rec->id,
						err);
			break;
		}
		done->generated[done->n_generated++] = make[k];
		ret = key_set(r, make[k], line, errs);
		free(line);
	}
	if (ret < 0)
		enrolkeys_undo(r, done);
out:
	free(make);
	return ret;
}

int enrolkeys_fill(struct roster *r, const struct enrolkeys_opts *o,
		   struct enrolkeys_done *done, struct student_errors *errs,
		   struct student_errors *notes)
{
	size_t *need = calloc(r->n ? r->n : 1, sizeof(*need)), n, k, before = errs->n;
	int ret = 0;

	if (!need)
		return -ENOMEM;
	n = keyless(r, need);
	if (n > 0 && o->keys_from) {
		ret = fetch(r, o, need, n, done, errs, notes);
		n = ret == 0 ? keyless(r, need) : 0;
	}
	if (n > 0 && o->generate_dir) {
		ret = generate(r, o, need, n, done, errs);
		n = 0;
	}
	/* roster_read() lets a student come without a key only when one of the two is
	 * given; this is the last guard before labd. */
	for (k = 0; ret == 0 && k < n; k++) {
		if (add_error(errs, r->recs[need[k]].line, "%s: no SSH key given",
			      r->recs[need[k]].id) == -ENOMEM)
			ret = -ENOMEM;
	}
	if (ret == 0 && errs->n > before)
		ret = -EINVAL;
	free(need);
	return ret;
}

void enrolkeys_undo(const struct roster *r, struct enrolkeys_done *done)
{
	size_t k;

	for (k = 0; k < done->n_generated; k++)
		(void)keygen_remove(&done->dir, r->recs[done->generated[k]].id);
	done->n_generated = 0;
}

/* {"student": ID, "private_key": DIR/ID, "public_key": DIR/ID.pub}; NULL: no memory. */
static json_object *pair_json(const char *dir, const char *id)
{
	json_object *o = json_object_new_object();
	char path[PATH_MAX];

	if (!o || cli_add_string(o, "student", id) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (cli_add_string(o, "private_key", path) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s.pub", dir, id);
	if (cli_add_string(o, "public_key", path) < 0)
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* [ID...] of the students at IDX, or their pairs in DIR; NULL: no memory. */
static json_object *students_json(const struct roster *r, const size_t *idx, size_t n,
				  const char *dir)
{
	json_object *arr = json_object_new_array(), *v;
	size_t k;

	for (k = 0; arr && k < n; k++) {
		const char *id = r->recs[idx[k]].id;

		v = dir ? pair_json(dir, id) : json_object_new_string(id);
		if (!v || json_object_array_add(arr, v) < 0) {
			json_object_put(v);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

json_object *enrolkeys_json(const struct roster *r, const struct enrolkeys_done *done)
{
	json_object *o = json_object_new_object();
	const char *dir = done->dir.path ? done->dir.path : "";

	if (!o || cli_add(o, "fetched", students_json(r, done->fetched, done->n_fetched,
						      NULL)) < 0 ||
	    cli_add(o, "generated", students_json(r, done->generated, done->n_generated,
						  dir)) < 0 ||
	    cli_add(o, "reused", students_json(r, done->reused, done->n_reused, dir)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void print_pairs(FILE *f, const struct roster *r, const size_t *idx, size_t n,
			const char *dir)
{
	size_t k;

	for (k = 0; k < n; k++)
		fprintf(f, "  %-32s %s/%s\n", r->recs[idx[k]].id, dir, r->recs[idx[k]].id);
}

void enrolkeys_print(FILE *f, const struct roster *r, const struct enrolkeys_opts *o,
		     const struct enrolkeys_done *done)
{
	if (done->n_fetched > 0)
		fprintf(f, "keys: %zu student%s' keys fetched from %s in %.1f s\n",
			done->n_fetched, done->n_fetched == 1 ? "" : "s", o->keys_from,
			(double)done->fetch_ms / 1000.0);
	if (done->n_generated > 0) {
		fprintf(f, "keys: a new key pair for %zu student%s; hand each student their "
			"private key file:\n", done->n_generated,
			done->n_generated == 1 ? "" : "s");
		print_pairs(f, r, done->generated, done->n_generated, done->dir.path);
	}
	if (done->n_reused > 0) {
		fprintf(f, "keys: the key pair made by an earlier run for %zu student%s:\n",
			done->n_reused, done->n_reused == 1 ? "" : "s");
		print_pairs(f, r, done->reused, done->n_reused, done->dir.path);
	}
}

void enrolkeys_done_free(struct enrolkeys_done *done)
{
	free(done->fetched);
	free(done->generated);
	free(done->reused);
	if (done->dir.fd >= 0)
		keygen_dir_close(&done->dir);
	memset(done, 0, sizeof(*done));
	done->dir.fd = -1;
}
