/* The lab the unit tests check against, built by hand like configs/test.conf: SUBNET/PREFIX
 * with its gateway at .1, public addresses 203.0.113.10 and .11 with ports 20000-20999
 * each, no classes. */
#ifndef VLAB_TESTLAB_H
#define VLAB_TESTLAB_H

#include <arpa/inet.h>
#include <string.h>

#include "common/conf.h"

static inline void testlab_fill(struct lab_conf *conf, struct conf_public publics[2],
				const char *subnet, unsigned prefix)
{
	struct in_addr gw;

	memset(conf, 0, sizeof(*conf));
	memset(publics, 0, 2 * sizeof(*publics));
	inet_pton(AF_INET, subnet, &conf->subnet);
	conf->prefix = prefix;
	gw.s_addr = htonl(ntohl(conf->subnet.s_addr) + 1);
	conf->gateway = gw;
	inet_pton(AF_INET, "203.0.113.10", &publics[0].addr);
	inet_pton(AF_INET, "203.0.113.11", &publics[1].addr);
	for (int i = 0; i < 2; i++) {
		publics[i].port_lo = 20000;
		publics[i].port_hi = 20999;
	}
	conf->publics = publics;
	conf->n_publics = 2;
}

#endif
