/* labctl list: the students, their VMs and their endpoints, as a table or JSON. */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/output.h"
#include "common/jsonfmt.h"

static const char usage[] = "usage: labctl list [--class C] [ID...]\n";

enum { COL_ID, COL_CLASS, COL_NAME, COL_STATE, COL_IP, COL_PUBLIC, COL_PORT, COL_BASE, NCOLS };

static int print_students(json_object *reply)
{
	static const char *const header[NCOLS] = {
		"ID", "CLASS", "NAME", "STATE", "IP", "PUBLIC", "PORT", "BASE",
	};
	static const char *const keys[COL_BASE] = {
		"id", "class", "name", "state", "ip", "public_ip", "public_port",
	};
	char bufs[COL_BASE][64];
	const char *cells[NCOLS];
	json_object *students = NULL, *s;
	struct table t;
	size_t i, n;
	bool current;
	int c, ret;

	if (proto_get_array(reply, "students", true, &students, NULL) < 0) {
		cli_err("list: labd's reply has no 'students' array");
		return CLI_EXIT_FAIL;
	}
	if (table_init(&t, NCOLS, header) < 0)
		goto nomem;
	n = json_object_array_length(students);
	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(students, i);
		for (c = 0; c < COL_BASE; c++)
			cells[c] = cli_field_text(s, keys[c], bufs[c], sizeof(bufs[c]));
		/* Only the exception is marked: an overlay on a replaced base image. */
		current = true;
		(void)proto_get_bool(s, "base_current", false, &current, NULL);
		cells[COL_BASE] = current ? "" : "old";
		if (table_add_row(&t, cells) < 0) {
			table_free(&t);
			goto nomem;
		}
	}
	ret = table_print(&t, stdout) < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	table_free(&t);
	return ret;
nomem:
	cli_err("out of memory");
	return CLI_EXIT_FAIL;
}

/*
 * --json: the reply printed from its text, never parsed into objects (with a class of
 * 1000 that is most of labctl's time: docs/performance.md, P9). A refusal is parsed into
 * *ARG for the caller's message.
 */
static int print_json(const char *text, size_t len, bool ok, void *arg)
{
	static const char *const envelope[] = { "v", "id", NULL };
	json_object **reply = arg;

	if (ok)
		return jsonfmt_print_pretty(stdout, text, len, envelope) < 0 ? CLI_EXIT_FAIL
									      : CLI_EXIT_OK;
	*reply = cli_parse_reply(text, len);
	if (*reply == NULL) {
		cli_err("list: labd's reply is not the vlab protocol");
		return CLI_EXIT_FAIL;
	}
	(void)cli_print_json_reply(*reply);
	return CLI_EXIT_OK;
}

int list_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'C' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	json_object *req = NULL, *reply = NULL;
	const char *cls = NULL;
	int ch, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		if (ch == 'C')
			cls = optarg;
		else
			return cli_usage(usage, ch == 'h');
	}
	req = proto_new_request("list", -1);
	if (req == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	/* Listing is harmless: no IDs means everyone, no --all needed. */
	ret = cli_add_selection(req, "list", argv + optind, argc - optind, cls);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (cli_opts.json) {
		ret = cli_request_text(req, print_json, &reply);
		if (ret != CLI_EXIT_OK || reply == NULL)
			goto out;
	} else if ((ret = cli_request(req, &reply, false)) != CLI_EXIT_OK) {
		goto out;
	}
	if (!cli_reply_ok(reply)) {
		cli_err("list: %s", cli_reply_error(reply, NULL));
		ret = CLI_EXIT_FAIL;
	} else if (!cli_opts.json) {
		ret = print_students(reply);
	}
out:
	json_object_put(reply);
	json_object_put(req);
	return ret;
}
