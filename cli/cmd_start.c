/* labctl start: start the students' VMs (already running is success). */
#include "cli/client.h"

static const struct cli_bulk start_cmd = {
	.op = "start",
	.usage = "usage: labctl start ID... [--class C]\n"
		 "       labctl start --all [--class C]\n",
	.has_force = false,
	.confirm = NULL,
};

int start_main(int argc, char **argv)
{
	return cli_bulk_main(&start_cmd, argc, argv);
}
