/*
 * vlab-gate: what sshd runs for the students' gate. Global options, then a mode from
 * the table below; sshd_config names `keys`, the keys line names `session`.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "gate/gate.h"

static const struct {
	const char *name;
	int (*fn)(const struct gate_opts *o, int argc, char **argv);
	const char *usage;
} modes[] = {
	{ "keys", keys_main, "keys USER TYPE BASE64   (sshd's AuthorizedKeysCommand: %u %t %k)" },
	{ "session", session_main, "session STUDENT        (the forced command of a student's key)" },
};

#define N_MODES (sizeof(modes) / sizeof(modes[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vlab-gate [-c FILE] MODE ARGS...\n\n");
	for (i = 0; i < N_MODES; i++)
		fprintf(f, "  vlab-gate [-c FILE] %s\n", modes[i].usage);
	fprintf(f, "\n  -c FILE  lab configuration (default %s): gate.socket is labd's socket\n"
		   "\nsshd runs both; see vlab-gate(8).\n", CONF_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gate_opts o = { NULL };
	size_t i;
	int ch;

	/* A student who hangs up must not kill us half-way through a write to labd. */
	signal(SIGPIPE, SIG_IGN);
	argv[0] = (char *)"vlab-gate";
	/* "+": stop at the mode; sshd passes its arguments after it unchanged. */
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'h':
			usage(stdout);
			return GATE_EXIT_OK;
		default:
			usage(stderr);
			return GATE_EXIT_USAGE;
		}
	}
	if (o.config != NULL && o.config[0] != '/') {
		fprintf(stderr, "vlab-gate: -c %s: give an absolute path\n", o.config);
		return GATE_EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return GATE_EXIT_USAGE;
	}
	for (i = 0; i < N_MODES; i++)
		if (strcmp(argv[optind], modes[i].name) == 0)
			return modes[i].fn(&o, argc - optind, argv + optind);
	fprintf(stderr, "vlab-gate: unknown mode '%s'\n", argv[optind]);
	usage(stderr);
	return GATE_EXIT_USAGE;
}
