/* labctl stop: shut the students' VMs down (--force: pull the plug). */
#include "cli/client.h"

static const struct cli_bulk stop_cmd = {
	.op = "stop",
	.usage = "usage: labctl stop ID... [--class C] [--force]\n"
		 "       labctl stop --all [--class C] [--force]\n",
	.has_force = true,
	.confirm = NULL,
};

int stop_main(int argc, char **argv)
{
	return cli_bulk_main(&stop_cmd, argc, argv);
}
