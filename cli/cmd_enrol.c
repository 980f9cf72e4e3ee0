/*
 * labctl enrol: one student from the command line, or a whole roster: vlab's CSV or a
 * Moodle export (cli/roster.h), with the keys in it, fetched from where the students
 * keep them, or made for them (cli/enrolkeys.h). Everything is validated here first
 * (labd checks again); a roster with any error sends nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cli/client.h"
#include "cli/enrolkeys.h"
#include "cli/keyurl.h"
#include "cli/output.h"
#include "cli/roster.h"
#include "common/id.h"
#include "common/student.h"

static const char usage[] =
	"usage: labctl enrol --csv FILE [--class C] [--no-start]\n"
	"                   [--id-column NAME] [--name-columns A,B]\n"
	"                   [--keys-from URL [--ca-file FILE] [--keys-timeout SECONDS]]\n"
	"                   [--generate-keys DIR]\n"
	"       labctl enrol ID --name NAME --key FILE [--key FILE...] [--email E] [--class C]\n"
	"                   [--no-start]\n";

/* One enrol request: where its rows come from and how labd is to take them. */
struct enrol_req {
	const char *path;		/* the roster; NULL for one student */
	const char *cls;
	bool no_start;			/* --no-start: define the VMs, leave them off */
	json_object *keys;		/* where the keys came from, for --json; not owned */
	bool taken;			/* out: labd took at least part of the batch */
};

#define MAX_KEY_FILES SSHKEY_LIST_MAX

/* {"line":N,"id":...,"name":...,"email":...,"ssh_keys":"k1\nk2"}; NULL when out of memory. */
static json_object *row_json(const struct student_rec *r)
{
	json_object *o = json_object_new_object();
	char *keys = NULL;

	if (o == NULL)
		return NULL;
	if ((r->line > 0 && cli_add(o, "line", json_object_new_int64(r->line)) < 0) ||
	    cli_add_string(o, "id", r->id) < 0 || cli_add_string(o, "name", r->name) < 0 ||
	    (r->email != NULL && cli_add_string(o, "email", r->email) < 0) ||
	    cli_keys_join(r->keys, r->n_keys, &keys) < 0 ||
	    cli_add_string(o, "ssh_keys", keys) < 0) {
		free(keys);
		json_object_put(o);
		return NULL;
	}
	free(keys);
	return o;
}

/*
 * Where an error belongs: "roster.csv:7: msg" (a roster line, shown like a compiler's,
 * so an editor can jump to it), "roster.csv: msg", or "labctl: alice: msg".
 */
static void print_located(const char *path, unsigned line, const char *student,
			  const char *msg)
{
	size_t plen;

	fflush(stdout);
	if (path != NULL && line > 0) {
		fprintf(stderr, "%s:%u: %s\n", path, line, msg);
	} else if (path != NULL) {
		/* roster_load_file's I/O messages already start with the path. */
		plen = strlen(path);
		if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
			fprintf(stderr, "%s\n", msg);
		else if (student != NULL)
			fprintf(stderr, "%s: %s: %s\n", path, student, msg);
		else
			fprintf(stderr, "%s: %s\n", path, msg);
	} else if (student != NULL) {
		cli_err("%s: %s", student, msg);
	} else {
		cli_err("%s", msg);
	}
}

/* Local validation failed: every error, then (for --json) the same shape labd uses. */
static int report_local_errors(const char *path, const char *id, struct student_errors *errs)
{
	json_object *o = NULL, *list = NULL, *e;
	size_t i;

	student_errors_sort(errs);
	for (i = 0; i < errs->n; i++)
		print_located(path, errs->v[i].line, path ? NULL : id, errs->v[i].message);
	cli_err("enrol: %zu error%s; nothing was sent to labd", errs->n,
		errs->n == 1 ? "" : "s");
	if (!cli_opts.json)
		return CLI_EXIT_FAIL;

	/* Best effort: scripts reading stdout get the errors too. */
	o = json_object_new_object();
	list = json_object_new_array();
	if (o == NULL || list == NULL)
		goto out;
	for (i = 0; i < errs->n; i++) {
		e = json_object_new_object();
		if (e == NULL || json_object_array_add(list, e) < 0) {
			json_object_put(e);
			goto out;
		}
		if (errs->v[i].line > 0)
			(void)cli_add(e, "line", json_object_new_int64(errs->v[i].line));
		if (id != NULL)
			(void)cli_add_string(e, "student", id);
		(void)cli_add_string(e, "message", errs->v[i].message);
	}
	if (cli_add(o, "ok", json_object_new_boolean(0)) < 0)
		goto out;
	e = json_object_new_object();
	if (cli_add(o, "error", e) < 0)   /* takes e */
		goto out;
	(void)cli_add_string(e, "code", "invalid");
	(void)cli_add_string(e, "message", "the input has errors; nothing was sent to labd");
	if (cli_add(o, "errors", list) == 0) {
		list = NULL;
		(void)output_json(stdout, o);
	}
out:
	json_object_put(list);
	json_object_put(o);
	return CLI_EXIT_FAIL;
}

/* labd's all-or-nothing validation refused the batch: print its list like ours. */
static int report_remote_errors(const char *path, json_object *reply)
{
	json_object *errors = NULL, *e;
	const char *student, *msg;
	int64_t line;
	size_t i, n;

	if (proto_get_array(reply, "errors", false, &errors, NULL) < 0 || errors == NULL)
		return cli_report_bulk("enrol", reply);
	if (cli_opts.json)
		(void)cli_print_json_reply(reply);
	n = json_object_array_length(errors);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(errors, i);
		line = 0;
		student = NULL;
		msg = "(no message)";
		(void)proto_get_int(e, "line", false, 0, UINT32_MAX, &line, NULL);
		(void)proto_get_string(e, "student", false, &student, NULL);
		(void)proto_get_string(e, "message", false, &msg, NULL);
		print_located(path, (unsigned)line, student, msg);
	}
	cli_err("enrol: %s", cli_reply_error(reply, NULL));
	return CLI_EXIT_FAIL;
}

static int send_rows(struct enrol_req *er, const struct student_rec *rows, size_t n)
{
	json_object *req, *arr, *reply = NULL, *row, *results = NULL;
	size_t i;
	int ret = CLI_EXIT_FAIL;

	er->taken = false;
	req = proto_new_request("enrol", -1);
	arr = json_object_new_array();
	if (req == NULL || arr == NULL) {
		json_object_put(arr);
		goto nomem;
	}
	if (cli_add(req, "students", arr) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		row = row_json(&rows[i]);
		if (row == NULL || json_object_array_add(arr, row) < 0) {
			json_object_put(row);
			goto nomem;
		}
	}
	if (er->no_start && cli_add(req, "start", json_object_new_boolean(0)) < 0)
		goto nomem;
	if (er->cls != NULL && cli_add_string(req, "class", er->cls) < 0)
		goto nomem;
	ret = cli_request(req, &reply, true);
	if (ret != CLI_EXIT_OK)
		goto out;
	/* labd refuses a batch whole, or answers for each student. */
	(void)proto_get_array(reply, "results", false, &results, NULL);
	er->taken = cli_reply_ok(reply) || results != NULL;
	if (er->keys != NULL && er->taken && cli_opts.json &&
	    json_object_object_add(reply, "keys", json_object_get(er->keys)) < 0)
		goto nomem;
	if (!cli_reply_ok(reply) && results == NULL)
		ret = report_remote_errors(er->path, reply);
	else
		ret = cli_report_bulk("enrol", reply);
	goto out;
nomem:
	cli_err("out of memory");
	ret = CLI_EXIT_FAIL;
out:
	json_object_put(reply);
	json_object_put(req);
	return ret;
}

/* Warnings that do not stop the enrol, each where it belongs. */
static void print_notes(const char *path, const struct student_errors *notes)
{
	char *msg;
	size_t i;

	for (i = 0; i < notes->n; i++) {
		if (asprintf(&msg, "warning: %s", notes->v[i].message) < 0)
			continue;
		print_located(path, notes->v[i].line, NULL, msg);
		free(msg);
	}
}

/* Say how a file that is not vlab's own was read, so that a wrong guess shows. */
static void print_format(const char *path, const struct roster *r)
{
	const char *lang = r->moodle.language;

	if (strcmp(r->format, "vlab") == 0)
		return;
	fflush(stdout);
	if (strcmp(r->format, "Moodle") == 0)
		fprintf(stderr, "%s: a Moodle export (%s labels): ", path, lang);
	else
		fprintf(stderr, "%s: ", path);
	fprintf(stderr, "IDs from %s%s%s\n", r->id_from, r->name_from ? ", names from " : "",
		r->name_from ? r->name_from : "");
}

static int enrol_csv(struct enrol_req *er, const struct roster_opts *ro,
		     const struct enrolkeys_opts *ko)
{
	struct student_errors errs = STUDENT_ERRORS_INIT, notes = STUDENT_ERRORS_INIT;
	struct enrolkeys_done done = ENROLKEYS_DONE_INIT;
	struct roster roster;
	int r, ret;

	r = roster_load(er->path, ro, &roster, &errs);
	if (r == 0) {
		print_format(er->path, &roster);
		r = enrolkeys_fill(&roster, ko, &done, &errs, &notes);
		print_notes(er->path, &notes);
	}
	if (r == -ENOMEM && errs.n == 0) {
		cli_err("out of memory");
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (r < 0 || errs.n > 0) {
		ret = report_local_errors(er->path, NULL, &errs);
		goto out;
	}
	er->keys = enrolkeys_json(&roster, &done);
	ret = send_rows(er, roster.recs, roster.n);
	if (!er->taken && done.n_generated > 0) {
		cli_err("enrol: the %zu key pair%s made for this roster %s removed from %s",
			done.n_generated, done.n_generated == 1 ? "" : "s",
			done.n_generated == 1 ? "was" : "were", done.dir.path);
		enrolkeys_undo(&roster, &done);
	} else if (er->taken && !cli_opts.json) {
		enrolkeys_print(stdout, &roster, ko, &done);
	}
	json_object_put(er->keys);
	er->keys = NULL;
out:
	enrolkeys_done_free(&done);
	roster_free(&roster);
	student_errors_free(&errs);
	student_errors_free(&notes);
	return ret;
}

static int enrol_one(struct enrol_req *er, const char *id, const char *name,
		     const char *email, char *const *key_files, size_t n_key_files)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct student_rec rec;
	char *keys = NULL;
	int r, ret;

	memset(&rec, 0, sizeof(rec));
	ret = cli_read_key_files("enrol", key_files, n_key_files, &keys);
	if (ret != CLI_EXIT_OK)
		goto out;
	r = student_validate(0, id, name, email, keys, &rec, &errs);
	if (r == -ENOMEM) {
		cli_err("out of memory");
		ret = CLI_EXIT_FAIL;
	} else if (r < 0) {
		ret = report_local_errors(NULL, id, &errs);
	} else {
		ret = send_rows(er, &rec, 1);
	}
out:
	student_rec_clear(&rec);
	student_errors_free(&errs);
	free(keys);
	return ret;
}

/* --keys-timeout: whole seconds, 1 to 300. */
static int parse_timeout(const char *arg, long *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > 300) {
		cli_err("enrol: --keys-timeout '%s': give whole seconds, 1 to 300", arg);
		return CLI_EXIT_USAGE;
	}
	*ms = v * 1000;
	return CLI_EXIT_OK;
}

/* The options that only a roster takes, checked together. */
static int check_csv_options(const char *csv, const struct roster_opts *ro,
			     const struct enrolkeys_opts *ko)
{
	char err[256];

	if (!csv && (ro->id_column || ro->name_columns || ko->keys_from || ko->generate_dir)) {
		cli_err("enrol: --id-column, --name-columns, --keys-from and --generate-keys "
			"are for a roster (--csv FILE)");
		return CLI_EXIT_USAGE;
	}
	if (!ko->keys_from && (ko->ca_file || ko->timeout_ms)) {
		cli_err("enrol: --ca-file and --keys-timeout go with --keys-from URL");
		return CLI_EXIT_USAGE;
	}
	if (ko->keys_from && keyurl_check(ko->keys_from, err, sizeof(err)) < 0) {
		cli_err("enrol: --keys-from '%s': %s", ko->keys_from, err);
		return CLI_EXIT_USAGE;
	}
	if (ko->ca_file && access(ko->ca_file, R_OK) < 0) {
		cli_err("enrol: --ca-file %s: %s", ko->ca_file, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* Everything enrol's command line says. */
struct enrol_args {
	const char *csv, *name, *email;
	struct enrol_req er;
	struct roster_opts ro;
	struct enrolkeys_opts ko;
	char *key_files[MAX_KEY_FILES];
	size_t n_keys;
};

static int enrol_options(int argc, char **argv, struct enrol_args *a)
{
	static const struct option opts[] = {
		{ "csv", required_argument, NULL, 'r' },
		{ "class", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'n' },
		{ "email", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "no-start", no_argument, NULL, 'S' },
		{ "id-column", required_argument, NULL, 'I' },
		{ "name-columns", required_argument, NULL, 'N' },
		{ "keys-from", required_argument, NULL, 'K' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "keys-timeout", required_argument, NULL, 'T' },
		{ "generate-keys", required_argument, NULL, 'G' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int ch, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		switch (ch) {
		case 'r': a->csv = optarg; break;
		case 'C': a->er.cls = optarg; break;
		case 'n': a->name = optarg; break;
		case 'e': a->email = optarg; break;
		case 'S': a->er.no_start = true; break;
		case 'I': a->ro.id_column = optarg; break;
		case 'N': a->ro.name_columns = optarg; break;
		case 'K': a->ko.keys_from = optarg; break;
		case 'A': a->ko.ca_file = optarg; break;
		case 'G': a->ko.generate_dir = optarg; break;
		case 'T':
			ret = parse_timeout(optarg, &a->ko.timeout_ms);
			if (ret != CLI_EXIT_OK)
				return ret;
			break;
		case 'k':
			if (a->n_keys == MAX_KEY_FILES) {
				cli_err("enrol: at most %d --key files", MAX_KEY_FILES);
				return CLI_EXIT_USAGE;
			}
			a->key_files[a->n_keys++] = optarg;
			break;
		default:
			return cli_usage(usage, ch == 'h');
		}
	}
	if (a->er.cls != NULL && !id_valid(a->er.cls)) {
		cli_err("enrol: '%s' is not a class name ([a-z0-9][a-z0-9_-]{0,31})", a->er.cls);
		return CLI_EXIT_USAGE;
	}
	return check_csv_options(a->csv, &a->ro, &a->ko);
}

int enrol_main(int argc, char **argv)
{
	struct enrol_args a = { 0 };
	int ret = enrol_options(argc, argv, &a);

	if (ret != CLI_EXIT_OK)
		return ret;
	if (a.csv != NULL) {
		if (optind < argc || a.name || a.email || a.n_keys) {
			cli_err("enrol: --csv takes the students from the file; no ID, --name, "
				"--email or --key with it");
			return CLI_EXIT_USAGE;
		}
		a.ro.keys_elsewhere = a.ko.keys_from || a.ko.generate_dir;
		a.er.path = a.csv;
		return enrol_csv(&a.er, &a.ro, &a.ko);
	}
	if (argc - optind != 1 || a.name == NULL || a.n_keys == 0) {
		if (argc - optind > 1)
			cli_err("enrol: one student at a time on the command line; use --csv "
				"for several");
		else if (argc - optind == 1)
			cli_err("enrol: %s needs --name NAME and --key FILE", argv[optind]);
		return cli_usage(usage, false);
	}
	return enrol_one(&a.er, argv[optind], a.name, a.email, a.key_files, a.n_keys);
}
