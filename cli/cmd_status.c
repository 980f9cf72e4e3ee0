/* labctl status: is labd up, and can it reach netd and libvirt. */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"

static const char usage[] = "usage: labctl status\n";

static const char *connected(json_object *reply, const char *key)
{
	bool b = false;

	if (proto_get_bool(reply, key, true, &b, NULL) < 0)
		return "unknown";
	return b ? "connected" : "NOT connected";
}

/* "classes" as labd sends it: a count, or a list of names. */
static void print_value(const char *label, json_object *reply, const char *key)
{
	char buf[1024];
	const char *s = cli_field_text(reply, key, buf, sizeof(buf));
	json_object *arr = NULL;
	size_t i, n;

	if (proto_get_array(reply, key, true, &arr, NULL) == 0) {
		n = json_object_array_length(arr);
		printf("%-10s", label);
		for (i = 0; i < n; i++) {
			json_object *v = json_object_array_get_idx(arr, i);
			const char *name = NULL;

			/* A class may come as a name or as an object with one. */
			if (json_object_is_type(v, json_type_string))
				name = json_object_get_string(v);
			else
				(void)proto_get_string(v, "name", false, &name, NULL);
			printf("%s%s", i ? ", " : "", name ? name : "?");
		}
		printf("%s\n", n ? "" : "(none)");
		return;
	}
	printf("%-10s%s\n", label, s ? s : "-");
}

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	json_object *req = NULL, *reply = NULL;
	char b1[64], b2[64], b3[64];
	const char *version, *pid, *running;
	int ch, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (!cli_common_option(ch, optarg))
			return cli_usage(usage, ch == 'h');
	}
	if (optind < argc)
		return cli_usage(usage, false);

	req = proto_new_request("status", -1);
	if (req == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_FAIL;
	}
	ret = cli_request(req, &reply, false);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (cli_opts.json)
		(void)cli_print_json_reply(reply);
	if (!cli_reply_ok(reply)) {
		cli_err("status: %s", cli_reply_error(reply, NULL));
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (cli_opts.json)
		goto out;
	version = cli_field_text(reply, "version", b1, sizeof(b1));
	pid = cli_field_text(reply, "pid", b2, sizeof(b2));
	running = cli_field_text(reply, "running", b3, sizeof(b3));
	printf("%-10s%s%s%s%s%s\n", "labd", "running", version ? ", version " : "",
	       version ? version : "", pid ? ", pid " : "", pid ? pid : "");
	print_value("classes", reply, "classes");
	print_value("students", reply, "students");
	printf("%-10s%s\n", "running", running ? running : "-");
	printf("%-10s%s\n", "netd", connected(reply, "netd"));
	printf("%-10s%s\n", "libvirt", connected(reply, "libvirt"));
out:
	json_object_put(reply);
	json_object_put(req);
	return ret;
}
