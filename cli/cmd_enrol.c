/*
 * labctl enrol: one student from the command line, or a whole roster CSV. Everything
 * is validated here first (labd checks again); a roster with any error sends nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/output.h"
#include "cli/roster.h"
#include "common/id.h"
#include "common/student.h"

static const char usage[] =
	"usage: labctl enrol --csv FILE [--class C] [--no-start]\n"
	"                   [--id-column NAME] [--name-columns A,B]\n"
	"       labctl enrol ID --name NAME --key FILE [--key FILE...] [--email E] [--class C]\n"
	"                   [--no-start]\n";

/* --no-start: create and define the VMs but leave them off (start them later). */
static bool enrol_no_start;

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

static int send_rows(const char *path, const char *cls, const struct student_rec *rows,
		     size_t n)
{
	json_object *req, *arr, *reply = NULL, *row;
	size_t i;
	int ret = CLI_EXIT_FAIL;

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
	if (enrol_no_start && cli_add(req, "start", json_object_new_boolean(0)) < 0)
		goto nomem;
	if (cls != NULL && cli_add_string(req, "class", cls) < 0)
		goto nomem;
	ret = cli_request(req, &reply, true);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (!cli_reply_ok(reply))
		ret = report_remote_errors(path, reply);
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

static int enrol_csv(const char *path, const char *cls, const struct roster_opts *o)
{
	struct student_errors errs = STUDENT_ERRORS_INIT;
	struct roster roster;
	int r, ret;

	r = roster_load(path, o, &roster, &errs);
	if (r == -ENOMEM && errs.n == 0) {
		cli_err("out of memory");
		ret = CLI_EXIT_FAIL;
	} else if (r < 0 || errs.n > 0) {
		ret = report_local_errors(path, NULL, &errs);
	} else {
		/* Say how a file that is not vlab's own was read, so a wrong guess shows. */
		if (strcmp(roster.format, "vlab") != 0)
			cli_err("%s: %s export%s%s%s: IDs from %s%s%s", path, roster.format,
				roster.moodle.language ? " (" : "",
				roster.moodle.language ? roster.moodle.language : "",
				roster.moodle.language ? " labels)" : "", roster.id_from,
				roster.name_from ? ", names from " : "",
				roster.name_from ? roster.name_from : "");
		ret = send_rows(path, cls, roster.recs, roster.n);
	}
	roster_free(&roster);
	student_errors_free(&errs);
	return ret;
}

static int enrol_one(const char *id, const char *name, const char *email,
		     char *const *key_files, size_t n_key_files, const char *cls)
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
		ret = send_rows(NULL, cls, &rec, 1);
	}
out:
	student_rec_clear(&rec);
	student_errors_free(&errs);
	free(keys);
	return ret;
}

int enrol_main(int argc, char **argv)
{
	enrol_no_start = false;
	static const struct option opts[] = {
		{ "csv", required_argument, NULL, 'r' },
		{ "class", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'n' },
		{ "email", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "no-start", no_argument, NULL, 'S' },
		{ "id-column", required_argument, NULL, 'I' },
		{ "name-columns", required_argument, NULL, 'N' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *csv = NULL, *cls = NULL, *name = NULL, *email = NULL;
	struct roster_opts ro = { 0 };
	char *key_files[MAX_KEY_FILES];
	size_t n_keys = 0;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		switch (ch) {
		case 'r':
			csv = optarg;
			break;
		case 'C':
			cls = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case 'S':
			enrol_no_start = true;
			break;
		case 'I':
			ro.id_column = optarg;
			break;
		case 'N':
			ro.name_columns = optarg;
			break;
		case 'k':
			if (n_keys == MAX_KEY_FILES) {
				cli_err("enrol: at most %d --key files", MAX_KEY_FILES);
				return CLI_EXIT_USAGE;
			}
			key_files[n_keys++] = optarg;
			break;
		default:
			return cli_usage(usage, ch == 'h');
		}
	}
	if (cls != NULL && !id_valid(cls)) {
		cli_err("enrol: '%s' is not a class name ([a-z0-9][a-z0-9_-]{0,31})", cls);
		return CLI_EXIT_USAGE;
	}
	if (csv != NULL) {
		if (optind < argc || name || email || n_keys) {
			cli_err("enrol: --csv takes the students from the file; no ID, --name, "
				"--email or --key with it");
			return CLI_EXIT_USAGE;
		}
		return enrol_csv(csv, cls, &ro);
	}
	if (ro.id_column || ro.name_columns) {
		cli_err("enrol: --id-column and --name-columns are for --csv");
		return CLI_EXIT_USAGE;
	}
	if (argc - optind != 1 || name == NULL || n_keys == 0) {
		if (argc - optind > 1)
			cli_err("enrol: one student at a time on the command line; use --csv "
				"for several");
		else if (argc - optind == 1)
			cli_err("enrol: %s needs --name NAME and --key FILE", argv[optind]);
		return cli_usage(usage, false);
	}
	return enrol_one(argv[optind], name, email, key_files, n_keys, cls);
}
