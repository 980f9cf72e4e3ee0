/*
 * The gate's command parser (gate/command.c), written as an attacker: a table of what a
 * student might send after `ssh -p 2222 lab@HOST` or type in the menu, each with the
 * only outcome allowed. Nothing may name a student, and no refusal may echo a byte that
 * a terminal would act on.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/command.h"

#define L(s) s, sizeof(s) - 1     /* a literal and its length, NULs included */

static const struct hostile_row {
	const char *in;
	size_t len;
	int ret;                 /* 0 or -EINVAL */
	enum gate_op op;         /* when ret is 0 */
	bool yes;
	const char *says;        /* a piece of the refusal */
} rows[] = {
	/* what a student means */
	{ L("status"), 0, GATE_OP_STATUS, false, NULL },
	{ L("console"), 0, GATE_OP_CONSOLE, false, NULL },
	{ L("start"), 0, GATE_OP_START, false, NULL },
	{ L("reboot"), 0, GATE_OP_REBOOT, false, NULL },
	{ L("reset"), 0, GATE_OP_RESET, false, NULL },
	{ L("reset --yes"), 0, GATE_OP_RESET, true, NULL },
	{ L("help"), 0, GATE_OP_HELP, false, NULL },
	{ L("quit"), 0, GATE_OP_QUIT, false, NULL },
	{ L("exit"), 0, GATE_OP_QUIT, false, NULL },
	{ L(""), 0, GATE_OP_NONE, false, NULL },
	{ L("   \t "), 0, GATE_OP_NONE, false, NULL },
	{ L("  status  "), 0, GATE_OP_STATUS, false, NULL },
	{ L("\treset\t--yes\t"), 0, GATE_OP_RESET, true, NULL },
	/* naming another student, whatever the spelling */
	{ L("status alice"), -EINVAL, 0, false, "'status' takes no arguments" },
	{ L("console alice"), -EINVAL, 0, false, "'console' takes no arguments" },
	{ L("console ../alice"), -EINVAL, 0, false, "always acts on your own VM" },
	{ L("start alice"), -EINVAL, 0, false, "'start' takes no arguments" },
	{ L("reboot alice"), -EINVAL, 0, false, "'reboot' takes no arguments" },
	{ L("reset alice"), -EINVAL, 0, false, "'reset' takes nothing but --yes" },
	{ L("reset --yes alice"), -EINVAL, 0, false, "'reset' takes nothing but --yes" },
	{ L("reset alice --yes"), -EINVAL, 0, false, "'reset' takes nothing but --yes" },
	{ L("reset --yes --yes"), -EINVAL, 0, false, "'reset' takes nothing but --yes" },
	{ L("reset --student=alice"), -EINVAL, 0, false, "takes nothing but --yes" },
	{ L("--student=alice status"), -EINVAL, 0, false, "unknown command '--student=alice'" },
	{ L("status --student alice"), -EINVAL, 0, false, "takes no arguments" },
	{ L("alice"), -EINVAL, 0, false, "unknown command 'alice'" },
	{ L("session alice"), -EINVAL, 0, false, "unknown command 'session'" },
	{ L("help alice"), -EINVAL, 0, false, "'help' takes no arguments" },
	/* shell syntax is just an unknown word: nothing here runs a shell */
	{ L("; reset alice"), -EINVAL, 0, false, "unknown command ';'" },
	{ L("status;reset"), -EINVAL, 0, false, "unknown command 'status;reset'" },
	{ L("status && reset"), -EINVAL, 0, false, "'status' takes no arguments" },
	{ L("status|reset"), -EINVAL, 0, false, "unknown command" },
	{ L("$(reset alice)"), -EINVAL, 0, false, "unknown command '$(reset'" },
	{ L("`reset`"), -EINVAL, 0, false, "unknown command '`reset`'" },
	{ L("status > /tmp/x"), -EINVAL, 0, false, "takes no arguments" },
	{ L("'status'"), -EINVAL, 0, false, "unknown command" },
	{ L("\"status\""), -EINVAL, 0, false, "unknown command" },
	{ L("status\\ alice"), -EINVAL, 0, false, "unknown command" },
	/* other programs a client may ask for */
	{ L("sftp"), -EINVAL, 0, false, "unknown command 'sftp'" },
	{ L("internal-sftp"), -EINVAL, 0, false, "unknown command" },
	{ L("/usr/lib/openssh/sftp-server"), -EINVAL, 0, false, "unknown command" },
	{ L("scp -t /tmp"), -EINVAL, 0, false, "unknown command 'scp'" },
	{ L("rsync --server -e.L . /"), -EINVAL, 0, false, "unknown command 'rsync'" },
	{ L("git-upload-pack '/x'"), -EINVAL, 0, false, "unknown command" },
	{ L("bash"), -EINVAL, 0, false, "unknown command 'bash'" },
	{ L("sh -i"), -EINVAL, 0, false, "unknown command 'sh'" },
	{ L("/bin/sh"), -EINVAL, 0, false, "unknown command" },
	{ L("exec status"), -EINVAL, 0, false, "unknown command 'exec'" },
	{ L("Status"), -EINVAL, 0, false, "unknown command 'Status'" },
	{ L("STATUS"), -EINVAL, 0, false, "unknown command 'STATUS'" },
	{ L("stat"), -EINVAL, 0, false, "unknown command 'stat'" },
	{ L("statuss"), -EINVAL, 0, false, "unknown command 'statuss'" },
	{ L("reset -y"), -EINVAL, 0, false, "takes nothing but --yes" },
	{ L("reset --YES"), -EINVAL, 0, false, "takes nothing but --yes" },
	{ L("reset --yes=1"), -EINVAL, 0, false, "takes nothing but --yes" },
	{ L("console --student alice"), -EINVAL, 0, false, "takes no arguments" },
	/* bytes a terminal or a parser could trip on */
	{ L("status\nreset alice"), -EINVAL, 0, false, "control character" },
	{ L("status\r"), -EINVAL, 0, false, "control character" },
	{ L("status\0alice"), -EINVAL, 0, false, "at position 7" },
	{ L("\0"), -EINVAL, 0, false, "control character" },
	{ L("\x1b[2Jstatus"), -EINVAL, 0, false, "at position 1" },
	{ L("status\x1b]0;pwned\x07"), -EINVAL, 0, false, "control character" },
	{ L("stat\x7fus"), -EINVAL, 0, false, "control character" },
	{ L("st\xc3\xa4tus"), -EINVAL, 0, false, "non-ASCII" },
	{ L("status\xc2\x9b" "31m"), -EINVAL, 0, false, "non-ASCII" },
	{ L("\xff\xfe"), -EINVAL, 0, false, "non-ASCII" },
	{ L("\x1d"), -EINVAL, 0, false, "control character" },
	{ L("\x04"), -EINVAL, 0, false, "control character" },
	{ L("status\v"), -EINVAL, 0, false, "control character" },
	{ L("status\f"), -EINVAL, 0, false, "control character" },
};

#define N_ROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* A refusal is a sentence of printable ASCII: nothing for a terminal to act on.
 * (One ck_assert per call: Check records every assertion, and this runs 50,000 times.) */
static void assert_printable(const char *msg)
{
	size_t i;

	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
			break;
	if (msg[0] == '\0' || msg[i] != '\0')
		ck_abort_msg("refusal '%s': empty, or byte 0x%02x at %zu", msg,
			     (unsigned char)msg[i], i);
}

START_TEST(gate_cmd_hostile_table)
{
	const struct hostile_row *r = &rows[_i];
	struct gate_cmd c = { GATE_OP_STATUS, true };
	char msg[GATE_MSG_LEN];
	int ret;

	ret = gate_cmd_parse(r->in, r->len, &c, msg, sizeof(msg));
	ck_assert_msg(ret == r->ret, "row %d: returned %d, expected %d (%s)", _i, ret, r->ret, msg);
	if (ret == 0) {
		ck_assert_msg(c.op == r->op, "row %d: op %d, expected %d", _i, c.op, r->op);
		ck_assert_msg(c.yes == r->yes, "row %d: yes %d", _i, c.yes);
		return;
	}
	assert_printable(msg);
	ck_assert_msg(strstr(msg, r->says) != NULL, "row %d: '%s' does not say '%s'", _i, msg,
		      r->says);
	ck_assert_msg(c.op == GATE_OP_NONE && !c.yes, "row %d: a refusal left an op", _i);
}
END_TEST

START_TEST(gate_cmd_refuses_long_lines_and_takes_the_longest_allowed)
{
	char buf[GATE_CMD_MAX + 2], msg[GATE_MSG_LEN];
	struct gate_cmd c;

	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "status", 6);
	ck_assert_int_eq(gate_cmd_parse(buf, GATE_CMD_MAX, &c, msg, sizeof(msg)), 0);
	ck_assert_int_eq(c.op, GATE_OP_STATUS);
	ck_assert_int_eq(gate_cmd_parse(buf, GATE_CMD_MAX + 1, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "too long"));
	assert_printable(msg);
}
END_TEST

START_TEST(gate_cmd_refuses_a_100k_line_without_reading_it_all)
{
	size_t n = 100 * 1024;
	char *buf = malloc(n), msg[GATE_MSG_LEN];
	struct gate_cmd c;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'a', n);
	ck_assert_int_eq(gate_cmd_parse(buf, n, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "too long"));
	free(buf);
}
END_TEST

START_TEST(gate_cmd_quotes_at_most_32_bytes_of_an_unknown_word)
{
	char word[100], msg[GATE_MSG_LEN];
	struct gate_cmd c;

	memset(word, 'x', sizeof(word));
	ck_assert_int_eq(gate_cmd_parse(word, sizeof(word), &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"));   /* 32 */
	ck_assert_ptr_null(strstr(msg, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));      /* 33 */
}
END_TEST

START_TEST(gate_cmd_tolerates_a_small_or_missing_message_buffer)
{
	struct gate_cmd c;
	char tiny[8];

	ck_assert_int_eq(gate_cmd_parse(L("status alice"), &c, NULL, 0), -EINVAL);
	ck_assert_int_eq(gate_cmd_parse(L("status alice"), &c, tiny, sizeof(tiny)), -EINVAL);
	ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 1);
}
END_TEST

/* xorshift: the same inputs on every run. */
static unsigned rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Random lines, many built from the table's own words, spaces and a student's name:
 * either a refusal in printable ASCII, or exactly one known command whose words are
 * all in the table (so no accepted line carries a name).
 */
START_TEST(gate_cmd_random_lines_are_refused_or_exactly_a_command)
{
	static const char *const words[] = { "status", "console", "start", "reboot", "reset",
					     "--yes", "help", "quit", "alice", " ", "\t", ";",
					     "../", "\n", "-" };
	static const char *const known[] = { "status", "console", "start", "reboot", "reset",
					     "--yes", "help", "quit", "exit" };
	unsigned seed = 0x9e3779b9u, i, j, k;
	char line[200], msg[GATE_MSG_LEN], *save, *tok;
	struct gate_cmd c;
	size_t len, accepted = 0;

	for (i = 0; i < 50000; i++) {
		len = 0;
		for (j = rnd(&seed) % 5; j > 0; j--) {
			const char *w;

			if (rnd(&seed) % 4 == 0) {
				line[len++] = (char)(rnd(&seed) & 0xff);
				continue;
			}
			w = words[rnd(&seed) % (sizeof(words) / sizeof(words[0]))];
			memcpy(line + len, w, strlen(w));
			len += strlen(w);
		}
		if (gate_cmd_parse(line, len, &c, msg, sizeof(msg)) < 0) {
			assert_printable(msg);
			continue;
		}
		accepted++;
		line[len] = '\0';
		for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
			for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				if (!strcmp(tok, known[k]))
					break;
			if (k == sizeof(known) / sizeof(known[0]))
				ck_abort_msg("accepted a line with the word '%s'", tok);
		}
	}
	ck_assert_uint_gt(accepted, 100);   /* the test reached the accepting side too */
}
END_TEST

START_TEST(gate_cmd_help_lists_every_command_once)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	gate_cmd_help(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "  status "));
	ck_assert_ptr_nonnull(strstr(buf, "  console "));
	ck_assert_ptr_nonnull(strstr(buf, "Ctrl-]"));
	ck_assert_ptr_nonnull(strstr(buf, "  reset [--yes] "));
	ck_assert_ptr_null(strstr(buf, "exit"));   /* an alias, not advertised */
	free(buf);
	ck_assert_str_eq(gate_cmd_name(GATE_OP_RESET), "reset");
	ck_assert_str_eq(gate_cmd_name(GATE_OP_QUIT), "quit");
}
END_TEST

Suite *make_gate_cmd_suite(void);  /* called by check_all.c */

Suite *make_gate_cmd_suite(void)
{
	Suite *s = suite_create("gate_cmd");
	TCase *t = tcase_create("parse");

	tcase_add_loop_test(t, gate_cmd_hostile_table, 0, N_ROWS);
	tcase_add_test(t, gate_cmd_refuses_long_lines_and_takes_the_longest_allowed);
	tcase_add_test(t, gate_cmd_refuses_a_100k_line_without_reading_it_all);
	tcase_add_test(t, gate_cmd_quotes_at_most_32_bytes_of_an_unknown_word);
	tcase_add_test(t, gate_cmd_tolerates_a_small_or_missing_message_buffer);
	tcase_add_test(t, gate_cmd_random_lines_are_refused_or_exactly_a_command);
	tcase_add_test(t, gate_cmd_help_lists_every_command_once);
	suite_add_tcase(s, t);
	return s;
}
