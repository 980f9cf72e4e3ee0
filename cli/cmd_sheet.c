/*
 * labctl sheet: the connection sheet a teacher hands out, one line per student with
 * the exact command to type: ssh -p PORT USER@PUBLIC_IP.
 */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/output.h"

static const char usage[] =
	"usage: labctl sheet [--class C] [--format table|csv|json] [ID...]\n";

enum format { FMT_TABLE, FMT_CSV, FMT_JSON };

struct entry {
	const char *id, *name, *user, *ip, *port;
	char port_buf[32];
	char command[512];
};

/* One entry's fields as text. The command is built here from its parts, so that the
 * sheet says exactly what the table says; labd's own is the fallback. */
static void entry_read(json_object *o, struct entry *e)
{
	const char *cmd = NULL;
	int64_t port = 0;

	memset(e, 0, sizeof(*e));
	(void)proto_get_string(o, "id", false, &e->id, NULL);
	(void)proto_get_string(o, "name", false, &e->name, NULL);
	(void)proto_get_string(o, "user", false, &e->user, NULL);
	(void)proto_get_string(o, "public_ip", false, &e->ip, NULL);
	e->port = cli_field_text(o, "public_port", e->port_buf, sizeof(e->port_buf));
	(void)proto_get_int(o, "public_port", false, 0, 65535, &port, NULL);
	if (output_ssh_command(e->command, sizeof(e->command), e->user, e->ip, port) < 0) {
		(void)proto_get_string(o, "command", false, &cmd, NULL);
		snprintf(e->command, sizeof(e->command), "%s", cmd ? cmd : "-");
	}
}

static int print_table(json_object *entries)
{
	static const char *const header[] = { "ID", "NAME", "COMMAND" };
	const char *cells[3];
	struct entry e;
	struct table t;
	size_t i, n = json_object_array_length(entries);
	int ret;

	if (table_init(&t, 3, header) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		entry_read(json_object_array_get_idx(entries, i), &e);
		cells[0] = e.id;
		cells[1] = e.name;
		cells[2] = e.command;
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

static int print_csv(json_object *entries)
{
	static const char *const header[] = {
		"id", "name", "user", "public_ip", "public_port", "command",
	};
	const char *fields[6];
	struct entry e;
	size_t i, n = json_object_array_length(entries);

	if (output_csv_row(stdout, header, 6) < 0)
		return CLI_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		entry_read(json_object_array_get_idx(entries, i), &e);
		fields[0] = e.id;
		fields[1] = e.name;
		fields[2] = e.user;
		fields[3] = e.ip;
		fields[4] = e.port;
		fields[5] = e.command;
		if (output_csv_row(stdout, fields, 6) < 0)
			return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

int sheet_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "class", required_argument, NULL, 'C' },
		{ "format", required_argument, NULL, 'F' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	json_object *req = NULL, *reply = NULL, *entries = NULL;
	const char *cls = NULL;
	enum format fmt = FMT_TABLE;
	bool fmt_given = false;
	int ch, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		switch (ch) {
		case 'C':
			cls = optarg;
			break;
		case 'F':
			fmt_given = true;
			if (strcmp(optarg, "table") == 0) {
				fmt = FMT_TABLE;
			} else if (strcmp(optarg, "csv") == 0) {
				fmt = FMT_CSV;
			} else if (strcmp(optarg, "json") == 0) {
				fmt = FMT_JSON;
			} else {
				cli_err("sheet: unknown format '%s' (expected table, csv or json)",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		default:
			return cli_usage(usage, ch == 'h');
		}
	}
	/* --format says what the sheet looks like; --json alone means JSON. */
	if (!fmt_given && cli_opts.json)
		fmt = FMT_JSON;

	req = proto_new_request("sheet", -1);
	if (req == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	ret = cli_add_selection(req, "sheet", argv + optind, argc - optind, cls);
	if (ret != CLI_EXIT_OK)
		goto out;
	ret = cli_request(req, &reply, false);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (fmt == FMT_JSON)
		(void)cli_print_json_reply(reply);
	if (!cli_reply_ok(reply)) {
		cli_err("sheet: %s", cli_reply_error(reply, NULL));
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (fmt == FMT_JSON)
		goto out;
	if (proto_get_array(reply, "entries", true, &entries, NULL) < 0) {
		cli_err("sheet: labd's reply has no 'entries' array");
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	ret = fmt == FMT_CSV ? print_csv(entries) : print_table(entries);
out:
	json_object_put(reply);
	json_object_put(req);
	return ret;
}
