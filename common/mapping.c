/* One student's forwarding as JSON, and its check against the lab's configuration. */
#include "common/mapping.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"

static const char *const mapping_fields[] = {
	"student", "mac", "ip", "vm_port", "public_ip", "public_port", "port", "idle_sleep",
	"asleep",
};
#define N_FIELDS (sizeof(mapping_fields) / sizeof(mapping_fields[0]))

static bool mapping_field_known(const char *key)
{
	size_t i;

	for (i = 0; i < N_FIELDS; i++)
		if (strcmp(key, mapping_fields[i]) == 0)
			return true;
	return false;
}

static int get_ipv4(json_object *o, const char *key, struct in_addr *out,
		    struct proto_error *e)
{
	char q[PROTO_QUOTE_BUF];
	const char *s;
	int r;

	r = proto_get_string(o, key, true, &s, e);
	if (r < 0)
		return r;
	if (addr_parse_ipv4(s, out) < 0) {
		proto_error_set(e, PROTO_E_INVALID, "field '%s': expected a dotted-quad IPv4 "
				"address, got '%s'", key, proto_quote(s, q));
		return -EINVAL;
	}
	return 0;
}

static int get_port(json_object *o, const char *key, uint16_t *out, struct proto_error *e)
{
	int64_t n;
	int r;

	r = proto_get_int(o, key, true, 1, 65535, &n, e);
	if (r < 0)
		return r;
	*out = (uint16_t)n;
	return 0;
}

int mapping_from_json(json_object *o, struct mapping *m, struct proto_error *e)
{
	struct mapping tmp;
	char q[PROTO_QUOTE_BUF];
	const char *s;
	int64_t n = 0;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		proto_error_set(e, PROTO_E_INVALID, "mapping: expected an object with student, "
				"mac, ip, vm_port, public_ip, public_port, got %s",
				o ? json_type_to_name(json_object_get_type(o)) : "null");
		return -EINVAL;
	}
	/* A misspelt field must not be ignored: it would silently mean "missing". */
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!mapping_field_known(key)) {
			proto_error_set(e, PROTO_E_INVALID, "unknown field '%s' in mapping "
					"(expected student, mac, ip, vm_port, public_ip, "
					"public_port, port, idle_sleep, asleep)", proto_quote(key, q));
			return -EINVAL;
		}
	}

	r = proto_get_string(o, "student", true, &s, e);
	if (r < 0)
		return r;
	if (!id_valid(s)) {
		proto_error_set(e, PROTO_E_INVALID, "field 'student': '%s' is not a student ID "
				"(expected [a-z0-9][a-z0-9_-]{0,31})", proto_quote(s, q));
		return -EINVAL;
	}
	/* id_valid() bounds the length to ID_MAX_LEN. */
	snprintf(tmp.student, sizeof(tmp.student), "%s", s);

	r = proto_get_string(o, "mac", true, &s, e);
	if (r < 0)
		return r;
	if (addr_parse_mac(s, tmp.mac) < 0) {
		proto_error_set(e, PROTO_E_INVALID, "field 'mac': expected a MAC address like "
				"52:54:00:00:00:01, got '%s'", proto_quote(s, q));
		return -EINVAL;
	}
	if ((r = get_ipv4(o, "ip", &tmp.ip, e)) < 0 ||
	    (r = get_port(o, "vm_port", &tmp.vm_port, e)) < 0 ||
	    (r = get_ipv4(o, "public_ip", &tmp.public_ip, e)) < 0 ||
	    (r = get_port(o, "public_port", &tmp.public_port, e)) < 0)
		return r;

	/* Optional: without it netd installs no anti-spoofing elements for the student,
	 * so a VM on a MAPPING_TAP_PREFIX port then gets nothing through. */
	s = NULL;
	r = proto_get_string(o, "port", false, &s, e);
	if (r < 0)
		return r;
	if (s) {
		if (!mapping_port_valid(s)) {
			proto_error_set(e, PROTO_E_INVALID, "field 'port': '%s' is not a VM's "
					"bridge port (expected 1..%d of [a-z0-9_-] starting with "
					"'%s')", proto_quote(s, q), MAPPING_PORT_MAX,
					MAPPING_TAP_PREFIX);
			return -EINVAL;
		}
		snprintf(tmp.port, sizeof(tmp.port), "%s", s);
	}

	/* Optional too: a mapping from before sleeping VMs is awake and never idle. */
	if ((r = proto_get_int(o, "idle_sleep", false, 0, MAPPING_IDLE_SLEEP_MAX, &n, e)) < 0 ||
	    (r = proto_get_bool(o, "asleep", false, &tmp.asleep, e)) < 0)
		return r;
	tmp.idle_sleep = (uint32_t)n;
	*m = tmp;
	return 0;
}

/* Adds KEY: VAL to O; VAL is taken (put on failure). */
static int obj_add(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return -ENOMEM;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

json_object *mapping_to_json(const struct mapping *m)
{
	char mac[ADDR_MAC_STRLEN], ip[INET_ADDRSTRLEN], pub[INET_ADDRSTRLEN];
	json_object *o;

	addr_format_mac(m->mac, mac);
	if (inet_ntop(AF_INET, &m->ip, ip, sizeof(ip)) == NULL ||
	    inet_ntop(AF_INET, &m->public_ip, pub, sizeof(pub)) == NULL)
		return NULL;
	o = json_object_new_object();
	if (o == NULL)
		return NULL;
	if (obj_add(o, "student", json_object_new_string(m->student)) < 0 ||
	    obj_add(o, "mac", json_object_new_string(mac)) < 0 ||
	    obj_add(o, "ip", json_object_new_string(ip)) < 0 ||
	    obj_add(o, "vm_port", json_object_new_int(m->vm_port)) < 0 ||
	    obj_add(o, "public_ip", json_object_new_string(pub)) < 0 ||
	    obj_add(o, "public_port", json_object_new_int(m->public_port)) < 0 ||
	    (m->port[0] && obj_add(o, "port", json_object_new_string(m->port)) < 0) ||
	    (m->idle_sleep &&
	     obj_add(o, "idle_sleep", json_object_new_int64((int64_t)m->idle_sleep)) < 0) ||
	    (m->asleep && obj_add(o, "asleep", json_object_new_boolean(1)) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

bool mapping_port_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 1 || n > MAPPING_PORT_MAX ||
	    strncmp(name, MAPPING_TAP_PREFIX, strlen(MAPPING_TAP_PREFIX)) != 0)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* "203.0.113.10 ports 20000-20999, 203.0.113.11 ports ..." into BUF (truncated). */
static void format_publics(const struct lab_conf *conf, char *buf, size_t size)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < conf->n_publics && off < size; i++) {
		char a[INET_ADDRSTRLEN];
		int n;

		if (inet_ntop(AF_INET, &conf->publics[i].addr, a, sizeof(a)) == NULL)
			snprintf(a, sizeof(a), "?");
		n = snprintf(buf + off, size - off, "%s%s ports %u-%u", i ? ", " : "", a,
			     conf->publics[i].port_lo, conf->publics[i].port_hi);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int mapping_check(const struct mapping *m, const struct lab_conf *conf, struct proto_error *e)
{
	static const uint8_t zero[6];
	char a[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN], mac[ADDR_MAC_STRLEN];
	char publics[320];

	if (!addr_is_vm_host(m->ip, conf->subnet, conf->prefix)) {
		const char *why = "";

		if (m->ip.s_addr == conf->subnet.s_addr)
			why = " (it is the network address)";
		else if (m->ip.s_addr == addr_gateway(conf->subnet, conf->prefix).s_addr)
			why = " (it is the gateway)";
		else if (addr_in_subnet(m->ip, conf->subnet, conf->prefix))
			why = " (it is the broadcast address)";
		inet_ntop(AF_INET, &m->ip, a, sizeof(a));
		inet_ntop(AF_INET, &conf->subnet, net, sizeof(net));
		proto_error_set(e, PROTO_E_INVALID, "ip %s is not a VM address in the lab "
				"subnet %s/%u%s", a, net, conf->prefix, why);
		return -EINVAL;
	}
	if ((m->mac[0] & 1) || memcmp(m->mac, zero, sizeof(zero)) == 0) {
		addr_format_mac(m->mac, mac);
		proto_error_set(e, PROTO_E_INVALID, "mac %s is not a unicast address (expected "
				"the first byte even and not all zero)", mac);
		return -EINVAL;
	}
	if (conf_public_find(conf, m->public_ip, m->public_port) == NULL) {
		inet_ntop(AF_INET, &m->public_ip, a, sizeof(a));
		format_publics(conf, publics, sizeof(publics));
		proto_error_set(e, PROTO_E_INVALID, "public endpoint %s:%u is not configured "
				"(publics: %s)", a, m->public_port, publics);
		return -EINVAL;
	}
	return 0;
}
