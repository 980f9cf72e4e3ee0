/*
 * libFuzzer target: common/conf.c. The input is written to a memfd and loaded by path
 * (/proc/self/fd/N), exactly as a daemon loads /etc/vlab/lab.conf. Checks the contract
 * of conf.h: an error always has a message; an accepted config holds what conf_load
 * promised to validate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

static void check_accepted(const struct lab_conf *c)
{
	size_t i;

	if (!c->path || !c->state_dir || !c->run_dir || !c->bridge || !c->nft_table ||
	    !c->netd_socket || !c->labd_socket || !c->database || !c->libvirt_uri ||
	    !c->pool_name || !c->pool_dir || !c->domain_type)
		abort();
	if (c->prefix < 8 || c->prefix > 30 || c->n_publics < 1 || !c->publics ||
	    c->n_classes < 1 || !c->classes)
		abort();
	if (c->mac_prefix[0] & 1)     /* must be unicast */
		abort();
	for (i = 0; i < c->n_publics; i++) {
		const struct conf_public *p = &c->publics[i];

		if (p->port_lo == 0 || p->port_lo > p->port_hi)
			abort();
		if (conf_public_find(c, p->addr, p->port_lo) == NULL ||
		    conf_public_find(c, p->addr, p->port_hi) == NULL)
			abort();
	}
	for (i = 0; i < c->n_classes; i++) {
		const struct conf_class *k = &c->classes[i];

		if (!k->name || !id_valid(k->name) || !k->base_image || !k->user)
			abort();
		if (conf_class_find(c, k->name) != k)   /* names are unique */
			abort();
		if ((k->initrd || k->cmdline) && !k->kernel)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lab_conf conf;
	char err[512];
	int r;

	/*
	 * libconfig 1.5's scanner exit()s the whole process when an @include names a
	 * directory ("input in flex scanner failed"; reported, pinned by check_hostile's
	 * conf_refuses_include_of_a_directory). VLAB_FUZZ_KNOWN=1 lets long runs look past it.
	 */
	if (getenv("VLAB_FUZZ_KNOWN") && memmem(data, size, "@include", 8))
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("fuzz-conf", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();

	err[0] = '\0';
	r = conf_load(path, &conf, err, sizeof(err));
	if (r == 0) {
		check_accepted(&conf);
		conf_free(&conf);
	} else if (err[0] == '\0') {
		fprintf(stderr, "conf_load returned %d with no message\n", r);
		abort();
	}
	return 0;
}
