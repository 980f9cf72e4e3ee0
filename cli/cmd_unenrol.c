/* labctl unenrol: remove students: their VMs, disks and network mappings. */
#include "cli/client.h"

static const struct cli_bulk unenrol_cmd = {
	.op = "unenrol",
	.usage = "usage: labctl unenrol ID... [--class C]\n"
		 "       labctl unenrol --all [--class C] [--yes]\n",
	.has_force = false,
	.confirm = "Their VMs and disks are deleted and their ports freed.",
};

int unenrol_main(int argc, char **argv)
{
	return cli_bulk_main(&unenrol_cmd, argc, argv);
}
