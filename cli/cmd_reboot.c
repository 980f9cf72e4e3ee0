/* labctl reboot: reboot the students' VMs. */
#include "cli/client.h"

static const struct cli_bulk reboot_cmd = {
	.op = "reboot",
	.usage = "usage: labctl reboot ID... [--class C]\n"
		 "       labctl reboot --all [--class C]\n",
	.has_force = false,
	.confirm = NULL,
};

int reboot_main(int argc, char **argv)
{
	return cli_bulk_main(&reboot_cmd, argc, argv);
}
