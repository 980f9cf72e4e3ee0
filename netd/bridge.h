/* The lab bridge, over rtnetlink (libnl-route-3). */
#ifndef VLAB_BRIDGE_H
#define VLAB_BRIDGE_H

#include <netinet/in.h>
#include <stdbool.h>

/*
 * Idempotent: creates bridge NAME if missing (*CREATED = true then), keeps it otherwise;
 * adds GATEWAY/PREFIX if not there; brings it up; enables IPv4 forwarding (and turns off
 * IPv6 on the bridge so the lab stays IPv4-only). Fails with -EEXIST if NAME exists and
 * is not a bridge. Returns 0 or -errno; logs the cause.
 */
int bridge_ensure(const char *name, struct in_addr gateway, unsigned prefix, bool *created);

/* Deletes bridge NAME (0 if it was not there). Only call it for a bridge we created. */
int bridge_remove(const char *name);

/* ifindex of NAME, or -ENODEV. */
int bridge_ifindex(const char *name);

#endif
