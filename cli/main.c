/*
 * labctl: the teacher's command-line tool. Global options, then a command from the
 * table below; each command lives in cli/cmd_NAME.c and parses the rest of the line
 * itself (the global options are accepted there too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"

static int help_main(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} commands[] = {
	{ "enrol", enrol_main, "Add students: one (ID --name --key FILE), or a roster or Moodle export (--csv FILE)" },
	{ "unenrol", unenrol_main, "Remove students, their VMs and disks (ID... or --all)" },
	{ "list", list_main, "Show students, their VM state and their SSH endpoint" },
	{ "start", start_main, "Start students' VMs (ID... or --all)" },
	{ "stop", stop_main, "Shut students' VMs down (ID... or --all; --force)" },
	{ "reboot", reboot_main, "Reboot students' VMs (ID... or --all)" },
	{ "reset", reset_main, "Give students a fresh disk from the base image (ID... or --all)" },
	{ "set-keys", setkeys_main, "Replace a student's SSH keys (ID --key FILE)" },
	{ "sheet", sheet_main, "Print the connection sheet (--format table|csv|json)" },
	{ "status", status_main, "Show whether labd, netd and libvirt are up" },
	{ "help", help_main, "Show this help, or a command's usage (help COMMAND)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void show_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: labctl [--config FILE] [--socket PATH] [--json] COMMAND [ARGS...]\n\n"
		   "Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].description);
	fprintf(f, "\nOptions (before or after the command):\n"
		   "  --config FILE  lab configuration (default /etc/vlab/lab.conf)\n"
		   "  --socket PATH  labd's socket (default: labd.socket from the config)\n"
		   "  --json         print labd's reply as JSON, for scripts\n"
		   "\nExit status: 0 all done, 1 refused or a student failed, 2 usage or config "
		   "error,\n3 labd cannot be reached. See labctl(1).\n");
}

static int find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int help_main(int argc, char **argv)
{
	char *sub_argv[3];
	int i;

	if (argc < 2) {
		show_usage(stdout);
		return CLI_EXIT_OK;
	}
	i = find_command(argv[1]);
	if (i < 0 || commands[i].fn == help_main) {
		if (i < 0)
			cli_err("unknown command '%s'", argv[1]);
		show_usage(i < 0 ? stderr : stdout);
		return i < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub_argv[0] = argv[1];
	sub_argv[1] = (char *)"--help";
	sub_argv[2] = NULL;
	return commands[i].fn(2, sub_argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int ch, i, ret;

	/* "+": stop at the command; what follows is the command's to parse. */
	argv[0] = (char *)"labctl";   /* getopt's messages: "labctl: ..." */
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (cli_common_option(ch, optarg))
			continue;
		if (ch == 'h') {
			show_usage(stdout);
			return CLI_EXIT_OK;
		}
		fprintf(stderr, "usage: labctl [--config FILE] [--socket PATH] [--json] COMMAND "
			"[ARGS...]\n(try 'labctl help')\n");
		return CLI_EXIT_USAGE;
	}
	if (optind >= argc) {
		show_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	i = find_command(argv[optind]);
	if (i < 0) {
		cli_err("unknown command '%s' (try 'labctl help')", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	/* getopt prefixes its complaints with argv[0]: make them "labctl: ...". The
	 * commands know their own name. */
	argv[optind] = (char *)"labctl";
	ret = commands[i].fn(argc - optind, argv + optind);

	/* A full disk or a closed pipe must not look like success to a script. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (ret == CLI_EXIT_OK)
			cli_err("writing the output: %s", strerror(errno));
		if (ret == CLI_EXIT_OK)
			ret = CLI_EXIT_FAIL;
	}
	return ret;
}
