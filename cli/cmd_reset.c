/* labctl reset: give students a fresh disk from the class's base image. */
#include "cli/client.h"

static const struct cli_bulk reset_cmd = {
	.op = "reset",
	.usage = "usage: labctl reset ID... [--class C]\n"
		 "       labctl reset --all [--class C] [--yes]\n",
	.has_force = false,
	.confirm = "Their disks are wiped and rebuilt from the base image; their work is lost.",
};

int reset_main(int argc, char **argv)
{
	return cli_bulk_main(&reset_cmd, argc, argv);
}
