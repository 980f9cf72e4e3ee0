/*
 * What every labctl subcommand shares: the global options, the exit statuses, the
 * connection to labd (connect, send one request, stream its progress events, wait for
 * the final reply), target lists, and the report of a bulk operation's results.
 */
#ifndef VLAB_CLI_CLIENT_H
#define VLAB_CLI_CLIENT_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/proto.h"
#include "common/sshkey.h"

/* Exit statuses scripts can rely on. */
#define CLI_EXIT_OK      0   /* labd said ok and every requested student succeeded */
#define CLI_EXIT_FAIL    1   /* labd refused, or a student failed, or bad input data */
#define CLI_EXIT_USAGE   2   /* bad command line, or the config cannot be loaded */
#define CLI_EXIT_NOCONN  3   /* labd cannot be reached */

#define CLI_DEFAULT_SOCKET "/run/vlab/labd.sock"

/* Options accepted before the command and after it. */
struct cli_options {
	const char *config;      /* --config; NULL = CONF_DEFAULT_PATH */
	const char *socket;      /* --socket; NULL = from the config */
	bool json;               /* --json */
};

extern struct cli_options cli_opts;

enum {
	CLI_OPT_CONFIG = 0x100,
	CLI_OPT_SOCKET,
	CLI_OPT_JSON,
};

/* Put these in every subcommand's getopt_long table (before its terminator). */
#define CLI_COMMON_LONGOPTS \
	{ "config", required_argument, NULL, CLI_OPT_CONFIG }, \
	{ "socket", required_argument, NULL, CLI_OPT_SOCKET }, \
	{ "json", no_argument, NULL, CLI_OPT_JSON }, \
	{ "help", no_argument, NULL, 'h' }

/* Handles one of the CLI_COMMON_LONGOPTS values (not 'h'): true if it was one. */
bool cli_common_option(int c, const char *arg);

/* "labctl: " + message + newline on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The socket path: --socket, else labd.socket from the config (--config, default
 * /etc/vlab/lab.conf), else /run/vlab/labd.sock when the default config does not exist.
 * Returns CLI_EXIT_OK with *PATH (valid until exit), or CLI_EXIT_USAGE after printing
 * the config error.
 */
int cli_socket_path(const char **path);

/* One connection to labd. */
struct client {
	int fd;
	const char *path;
	struct linebuf lb;
	int64_t next_id;
};

typedef void (*client_event_fn)(json_object *ev, void *arg);

/* Connects to PATH. 0 or -errno. */
int client_open(struct client *c, const char *path);
/*
 * Sends REQ (an "id" is added) and waits for the final reply, handing every event to
 * ON_EVENT. 0 with *REPLY (caller puts it), -EPROTO when labd sent something that is
 * not the protocol or a reply to another request, or another -errno (connection lost).
 */
int client_call(struct client *c, json_object *req, json_object **reply,
		client_event_fn on_event, void *arg);
/* The same for a request without events, the reply left as its text: 0 with *TEXT
 * (*LEN bytes, valid until C's next call or close) and *OK its "ok", checked as
 * client_call checks it but not parsed (printing a large reply from its text takes a
 * fraction of the memory and time). */
int client_call_text(struct client *c, json_object *req, const char **text, size_t *len,
		     bool *ok);
void client_close(struct client *c);

/* cli_socket_path() + client_open(), with the messages: CLI_EXIT_OK, _USAGE or _NOCONN. */
int cli_connect(struct client *c);
/* client_call() with the messages for a lost connection or garbage. When PROGRESS, a
 * bar on stderr follows the events (on a terminal). CLI_EXIT_OK with *REPLY, or
 * CLI_EXIT_NOCONN / CLI_EXIT_FAIL. */
int cli_call(struct client *c, json_object *req, json_object **reply, bool progress);
/* cli_connect + cli_call + close, for a single request. */
int cli_request(json_object *req, json_object **reply, bool progress);
/* The same with client_call_text: FN gets the reply's text while it is valid and its
 * return is ours; else CLI_EXIT_NOCONN / CLI_EXIT_FAIL with the message printed. */
typedef int (*cli_text_fn)(const char *text, size_t len, bool ok, void *arg);
int cli_request_text(json_object *req, cli_text_fn fn, void *arg);
/* A reply's text as client_call would have returned it, or NULL. */
json_object *cli_parse_reply(const char *text, size_t len);

/*
 * Adds the targets of a bulk operation to REQ: "students" from IDS, or "all": true;
 * and "class" when CLS is set. No IDs without ALL, or IDs with ALL, or an invalid ID,
 * is a usage error: prints why and returns CLI_EXIT_USAGE. CLI_EXIT_OK, or
 * CLI_EXIT_FAIL when out of memory.
 */
int cli_add_targets(json_object *req, const char *cmd, char **ids, int n, bool all,
		    const char *cls);

/* The same for list and sheet, where no IDs means everyone: "students" only when
 * N > 0, "class" when CLS is set. Invalid IDs are CLI_EXIT_USAGE. */
int cli_add_selection(json_object *req, const char *cmd, char **ids, int n,
		      const char *cls);

/* Adds KEY: VAL to O, taking VAL (put on failure; NULL is -ENOMEM). 0 or -ENOMEM. */
int cli_add(json_object *o, const char *key, json_object *val);
/* Adds the string field KEY: VAL to O. 0 or -ENOMEM. */
int cli_add_string(json_object *o, const char *key, const char *val);

/*
 * Reads the key files PATHS ("-" = stdin), joined with newlines, into *OUT (malloc'd).
 * Prints what went wrong ("CMD: PATH: reason"). CLI_EXIT_OK or CLI_EXIT_FAIL.
 */
int cli_read_key_files(const char *cmd, char *const *paths, size_t n, char **out);
/* Canonical keys, one per line (no final newline), into *OUT: sshkey_join, kept under
 * this name for the subcommands. 0 or -errno. */
int cli_keys_join(const struct sshkey *keys, size_t n, char **out);

/*
 * Checks, before anything is sent, that a question could be asked: when stdin is not
 * a terminal and YES was not given, prints why and returns CLI_EXIT_USAGE (a script
 * must say --yes). CLI_EXIT_OK otherwise.
 */
int cli_confirm_possible(const char *cmd, bool yes);
/* Asks QUESTION on the terminal (unless YES): CLI_EXIT_OK when the answer is y or yes,
 * CLI_EXIT_FAIL otherwise. */
int cli_confirm(const char *cmd, const char *question, bool yes);

/* The reply's error message, or a placeholder. Never NULL. */
const char *cli_reply_error(json_object *reply, const char **code);
/* True when the reply says "ok": true. */
bool cli_reply_ok(json_object *reply);
/* The reply without "v" and "id" (dropped from REPLY), pretty, on stdout (--json).
 * 0 or -errno. */
int cli_print_json_reply(json_object *reply);

/*
 * Reports a bulk reply (enrol, unenrol, start, stop, reboot, reset): each failed student
 * on stderr ("labctl: bob: reset failed: ..."), a summary line on stdout (unless --json,
 * which prints the reply instead), and returns the exit status: CLI_EXIT_OK only when
 * the reply is ok and every result is ok.
 */
int cli_report_bulk(const char *verb, json_object *reply);

/* A field of O as text for a table: strings as they are, numbers and booleans
 * written out, NULL when absent or null. BUF holds the text when needed. */
const char *cli_field_text(json_object *o, const char *key, char *buf, size_t len);

/*
 * The bulk commands (start, stop, reboot, reset, unenrol) share their command line:
 * ID...|--all [--class C], plus --force and --yes where the command has them.
 */
struct cli_bulk {
	const char *op;          /* on the wire, and the verb in messages */
	const char *usage;       /* the whole "usage: labctl ..." text */
	bool has_force;          /* --force (stop) */
	const char *confirm;     /* --all asks first, saying this; NULL = no question */
};

int cli_bulk_main(const struct cli_bulk *b, int argc, char **argv);

/* The subcommands, one per cli/cmd_*.c. Each returns an exit status. */
int enrol_main(int argc, char **argv);
int unenrol_main(int argc, char **argv);
int list_main(int argc, char **argv);
int start_main(int argc, char **argv);
int stop_main(int argc, char **argv);
int reboot_main(int argc, char **argv);
int reset_main(int argc, char **argv);
int setkeys_main(int argc, char **argv);
int sheet_main(int argc, char **argv);
int status_main(int argc, char **argv);

/*
 * Each subcommand's getopt loop ends with this for '?', ':' and 'h': the usage on
 * stdout and CLI_EXIT_OK for --help, else on stderr and CLI_EXIT_USAGE.
 */
int cli_usage(const char *usage, bool help);

#endif
