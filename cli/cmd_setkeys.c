/* labctl set-keys: replace a student's SSH keys (validated here, then by labd). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "common/id.h"
#include "common/sshkey.h"

static const char usage[] = "usage: labctl set-keys ID --key FILE [--key FILE...]\n";

int setkeys_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char *key_files[SSHKEY_LIST_MAX], *raw = NULL, *canon = NULL;
	char err[SSHKEY_ERR_LEN], buf[32];
	json_object *req = NULL, *reply = NULL;
	struct sshkey *keys = NULL;
	size_t n_files = 0, n = 0;
	const char *id, *note = NULL, *gen;
	int ch, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		if (ch != 'k')
			return cli_usage(usage, ch == 'h');
		if (n_files == SSHKEY_LIST_MAX) {
			cli_err("set-keys: at most %d --key files", SSHKEY_LIST_MAX);
			return CLI_EXIT_USAGE;
		}
		key_files[n_files++] = optarg;
	}
	if (argc - optind != 1 || n_files == 0)
		return cli_usage(usage, false);
	id = argv[optind];
	if (!id_valid(id)) {
		cli_err("set-keys: '%s' is not a student ID ([a-z0-9][a-z0-9_-]{0,31})", id);
		return CLI_EXIT_USAGE;
	}

	ret = cli_read_key_files("set-keys", key_files, n_files, &raw);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (sshkey_parse_list(raw, strlen(raw), &keys, &n, err, sizeof(err)) < 0) {
		cli_err("set-keys: %s: %s", id, err);
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	req = proto_new_request("set-keys", -1);
	if (req == NULL || cli_keys_join(keys, n, &canon) < 0 ||
	    cli_add_string(req, "student", id) < 0 || cli_add_string(req, "ssh_keys", canon) < 0) {
		cli_err("out of memory");
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	ret = cli_request(req, &reply, false);
	if (ret != CLI_EXIT_OK)
		goto out;
	if (cli_opts.json)
		(void)cli_print_json_reply(reply);
	if (!cli_reply_ok(reply)) {
		cli_err("set-keys: %s: %s", id, cli_reply_error(reply, NULL));
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (!cli_opts.json) {
		gen = cli_field_text(reply, "generation", buf, sizeof(buf));
		(void)proto_get_string(reply, "note", false, &note, NULL);
		printf("%s: %zu key%s set", id, n, n == 1 ? "" : "s");
		if (gen != NULL)
			printf(" (generation %s)", gen);
		printf("\n");
		if (note != NULL && *note != '\0')
			printf("%s: %s\n", id, note);
	}
out:
	json_object_put(reply);
	json_object_put(req);
	sshkey_free_list(keys, n);
	free(canon);
	free(raw);
	return ret;
}
