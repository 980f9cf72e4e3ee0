/*
 * One student's forwarding: public endpoint -> VM endpoint, plus the VM's MAC and IP
 * for DHCP, the VM's bridge port for anti-spoofing, and how the VM sleeps (after how
 * long without traffic labd wants to hear of it, and whether it sleeps now). The unit
 * labd sends to netd ("sync", "put", "del", "dump").
 */
#ifndef VLAB_MAPPING_H
#define VLAB_MAPPING_H

#include <json-c/json.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "common/id.h"
#include "common/proto.h"

/* Every tap labd creates is named MAPPING_TAP_PREFIX + index ("vl7"); netd treats every
 * bridge port whose name starts with it as a student's port (see netd/nft.h). */
#define MAPPING_TAP_PREFIX "vl"
/* A port name's longest length (IFNAMSIZ - 1). */
#define MAPPING_PORT_MAX 15
/* The longest idle_sleep (7 days): netd's activity set keeps an element that long. */
#define MAPPING_IDLE_SLEEP_MAX CONF_IDLE_SLEEP_MAX

struct mapping {
	char student[ID_MAX_LEN + 1];
	uint8_t mac[6];
	struct in_addr ip;           /* the VM's private address */
	uint16_t vm_port;            /* the VM's port (22 for SSH); never assumed */
	struct in_addr public_ip;
	uint16_t public_port;
	char port[MAPPING_PORT_MAX + 1]; /* the VM's tap ("vl7"); "" = unknown (optional) */
	uint32_t idle_sleep;         /* seconds without traffic before netd says "idle";
	                                0 = never (optional) */
	bool asleep;                 /* the VM is saved, not running: its packets are
	                                dropped and wake it (optional, default false) */
};

/* JSON {student, mac, ip, vm_port, public_ip, public_port[, port][, idle_sleep][, asleep]}
 * <-> struct. from_json checks syntax only (types, ID, MAC, dotted quads, port
 * 1..65535, a port name of 1..15 [a-z0-9_-] starting with MAPPING_TAP_PREFIX,
 * idle_sleep 0..MAPPING_IDLE_SLEEP_MAX, asleep a boolean), filling E. to_json writes
 * "port" only when it is known, "idle_sleep" only when not 0 and "asleep" only when
 * true, so a mapping without them reads and writes as before. */
int mapping_from_json(json_object *o, struct mapping *m, struct proto_error *e);
json_object *mapping_to_json(const struct mapping *m);

/* Checks M against the lab: IP a VM host address in the subnet, MAC unicast, public IP
 * configured and the port inside its range. 0 or -EINVAL with E filled. */
int mapping_check(const struct mapping *m, const struct lab_conf *conf, struct proto_error *e);

/* M is awake and was not, as far as OLD tells: a new mapping (OLD NULL), one that was
 * asleep, or one that moved to another IP. Its VM has just started: its idle time starts
 * from zero. (Inline: netd/nft.c uses it without the JSON side of this module.) */
static inline bool mapping_wakes_up(const struct mapping *old, const struct mapping *m)
{
	return !m->asleep && (!old || old->asleep || old->ip.s_addr != m->ip.s_addr);
}

/* NAME is a valid port name: 1..MAPPING_PORT_MAX of [a-z0-9_-], starting with
 * MAPPING_TAP_PREFIX. */
bool mapping_port_valid(const char *name);

#endif
