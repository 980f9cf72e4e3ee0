/*
 * The lab's configuration (docs/config.md). Every group is checked for unknown keys
 * before its values are read, so a typo is reported as a typo and not as a missing key.
 * Values are validated in schema order and the first problem ends the load.
 */
#include "common/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/addr.h"
#include "common/id.h"

#define CONF_KEYPATH_MAX 160
/* dnsmasq refuses leases shorter than two minutes. */
#define CONF_LEASE_MIN_SECS 120

struct loader {
	const char *path;        /* as the caller gave it, for messages */
	char *err;
	size_t errlen;
};

/* A group of settings being read; SET is NULL when the group is absent. */
struct grp {
	const config_setting_t *set;
	const char *name;        /* "network", "classes[1]", "" at top level */
};

static int conf_fail(struct loader *l, const config_setting_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_fail(struct loader *l, const config_setting_t *at, const char *fmt, ...)
{
	const char *file = NULL;
	unsigned line = 0;
	va_list ap;
	int n;

	if (!l->err || l->errlen == 0)
		return -EINVAL;
	if (at) {
		line = config_setting_source_line(at);
		file = config_setting_source_file(at);  /* differs from path inside @include */
	}
	if (!file)
		file = l->path;
	if (line)
		n = snprintf(l->err, l->errlen, "%s:%u: ", file, line);
	else
		n = snprintf(l->err, l->errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *conf_keypath(const struct grp *g, const char *key, char buf[CONF_KEYPATH_MAX])
{
	if (!g->name[0])
		return key;
	snprintf(buf, CONF_KEYPATH_MAX, "%s.%s", g->name, key);
	return buf;
}

/* What a setting holds, for "expected X, got Y". */
static void conf_describe(const config_setting_t *s, char *buf, size_t len)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, len, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(buf, len, "%g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		snprintf(buf, len, "'%s'", config_setting_get_string(s));
		break;
	case CONFIG_TYPE_GROUP:
		snprintf(buf, len, "a group { ... }");
		break;
	case CONFIG_TYPE_LIST:
		snprintf(buf, len, "a list ( ... )");
		break;
	case CONFIG_TYPE_ARRAY:
		snprintf(buf, len, "an array [ ... ]");
		break;
	default:
		snprintf(buf, len, "something else");
		break;
	}
}

static const char *conf_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
		return "an integer";
	case CONFIG_TYPE_BOOL:
		return "a boolean (true or false)";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "something else";
	}
}

static int conf_check_type(struct loader *l, const config_setting_t *s, const char *what, int type)
{
	int t = config_setting_type(s);
	char got[96];

	if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
		return 0;
	conf_describe(s, got, sizeof(got));
	return conf_fail(l, s, "%s: expected %s, got %s", what, conf_type_name(type), got);
}

/* Every member of G must be one of KNOWN (NULL-terminated). */
static int conf_check_keys(struct loader *l, const struct grp *g, const char *const *known)
{
	char expected[256];
	size_t off = 0;
	int i, n;

	if (!g->set)
		return 0;
	n = config_setting_length(g->set);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g->set, (unsigned)i);
		const char *name = config_setting_name(e);
		const char *const *k;

		for (k = known; *k; k++)
			if (name && !strcmp(name, *k))
				break;
		if (*k)
			continue;
		for (k = known; *k && off < sizeof(expected); k++)
			off += (size_t)snprintf(expected + off, sizeof(expected) - off, "%s%s",
						k == known ? "" : ", ", *k);
		if (g->name[0])
			return conf_fail(l, e, "unknown key '%s' in %s (expected one of: %s)",
					 name ? name : "?", g->name, expected);
		return conf_fail(l, e, "unknown key '%s' at top level (expected one of: %s)",
				 name ? name : "?", expected);
	}
	return 0;
}

/* The member KEY of G with type TYPE, or NULL in *OUT when absent. */
static int conf_member(struct loader *l, const struct grp *g, const char *key, int type,
		       const config_setting_t **out)
{
	char kp[CONF_KEYPATH_MAX];

	*out = g->set ? config_setting_get_member(g->set, key) : NULL;
	if (!*out)
		return 0;
	return conf_check_type(l, *out, conf_keypath(g, key, kp), type);
}

static int conf_missing(struct loader *l, const struct grp *g, const char *key, const char *expected)
{
	if (g->name[0])
		return conf_fail(l, g->set, "missing required key '%s' in %s (expected %s)",
				 key, g->name, expected);
	return conf_fail(l, NULL, "missing required key '%s' (expected %s)", key, expected);
}

static int conf_dup(const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* A string member; *VAL (pointing into libconfig) is NULL when absent. */
static int conf_get_str(struct loader *l, const struct grp *g, const char *key, const char **val,
			const config_setting_t **at)
{
	const config_setting_t *s;
	int ret;

	*val = NULL;
	ret = conf_member(l, g, key, CONFIG_TYPE_STRING, &s);
	if (ret < 0 || !s)
		return ret;
	*val = config_setting_get_string(s);
	if (at)
		*at = s;
	return 0;
}

/* An integer member in LO..HI; *OUT keeps its default when absent. */
static int conf_get_uint(struct loader *l, const struct grp *g, const char *key,
			 long long lo, long long hi, unsigned *out)
{
	const config_setting_t *s;
	char kp[CONF_KEYPATH_MAX];
	long long v;
	int ret;

	ret = conf_member(l, g, key, CONFIG_TYPE_INT, &s);
	if (ret < 0 || !s)
		return ret;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return conf_fail(l, s, "%s: %lld is out of range (expected %lld..%lld)",
				 conf_keypath(g, key, kp), v, lo, hi);
	*out = (unsigned)v;
	return 0;
}

static int conf_get_bool(struct loader *l, const struct grp *g, const char *key, bool *out)
{
	const config_setting_t *s;
	int ret;

	ret = conf_member(l, g, key, CONFIG_TYPE_BOOL, &s);
	if (ret < 0 || !s)
		return ret;
	*out = config_setting_get_bool(s);
	return 0;
}

/* An absolute path, copied without trailing slashes; DEF (may be NULL) when absent. */
static int conf_get_path(struct loader *l, const struct grp *g, const char *key, const char *def,
			 char **out, const config_setting_t **at)
{
	char kp[CONF_KEYPATH_MAX];
	const config_setting_t *s = NULL;
	const char *v;
	size_t len;
	int ret;

	ret = conf_get_str(l, g, key, &v, &s);
	if (ret < 0)
		return ret;
	if (at)
		*at = s;
	if (!v)
		return def ? conf_dup(def, out) : 0;
	if (v[0] != '/')
		return conf_fail(l, s, "%s: '%s' is not an absolute path (expected a path starting with '/')",
				 conf_keypath(g, key, kp), v);
	ret = conf_dup(v, out);
	if (ret < 0)
		return ret;
	len = strlen(*out);
	while (len > 1 && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
	return 0;
}

/* A string member that VALID accepts; DEF (may be NULL) when absent. */
static int conf_get_word(struct loader *l, const struct grp *g, const char *key, const char *def,
			 bool (*valid)(const char *), const char *expected, char **out)
{
	char kp[CONF_KEYPATH_MAX];
	const config_setting_t *s = NULL;
	const char *v;
	int ret;

	ret = conf_get_str(l, g, key, &v, &s);
	if (ret < 0)
		return ret;
	if (!v)
		return def ? conf_dup(def, out) : 0;
	if (!valid(v))
		return conf_fail(l, s, "%s: '%s' is not valid (expected %s)",
				 conf_keypath(g, key, kp), v, expected);
	return conf_dup(v, out);
}

static bool conf_is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool conf_is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool conf_is_digit(char c) { return c >= '0' && c <= '9'; }

/* What the kernel's dev_valid_name() accepts. */
static bool conf_valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
			return false;
	return true;
}

static bool conf_valid_nft_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= 32 || !(conf_is_lower(s[i]) || conf_is_upper(s[i]) ||
				 conf_is_digit(s[i]) || s[i] == '_' || s[i] == '-'))
			return false;
	return i > 0;
}

/* POSIX-portable user and group names: [a-z_][a-z0-9_-]{0,31}. */
static bool conf_valid_posix_name(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (i >= 32 || !(conf_is_lower(c) || c == '_' ||
				 (i > 0 && (conf_is_digit(c) || c == '-'))))
			return false;
	}
	return i > 0;
}

/* libvirt pool and CPU model names. */
static bool conf_valid_word(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= 64 || !(conf_is_lower(s[i]) || conf_is_upper(s[i]) || conf_is_digit(s[i]) ||
				 s[i] == '_' || s[i] == '-' || s[i] == '.' || s[i] == '+'))
			return false;
	return i > 0;
}

static bool conf_valid_uri(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static bool conf_valid_domain_type(const char *s)
{
	return !strcmp(s, "kvm") || !strcmp(s, "qemu");
}

static int conf_parse_subnet(struct loader *l, const struct grp *g, struct lab_conf *c)
{
	const config_setting_t *s = NULL;
	struct in_addr ip;
	unsigned prefix;
	const char *v;
	int ret;

	ret = conf_get_str(l, g, "subnet", &v, &s);
	if (ret < 0)
		return ret;
	if (!v)
		return conf_missing(l, g, "subnet", "a string \"A.B.C.D/N\", e.g. \"10.77.0.0/24\"");
	if (addr_parse_ip_prefix(v, &ip, &prefix) < 0)
		return conf_fail(l, s, "network.subnet: '%s' is not a CIDR prefix "
				 "(expected A.B.C.D/N with N in 8..30)", v);
	if (prefix < 8 || prefix > 30)
		return conf_fail(l, s, "network.subnet: '%s': prefix length /%u is out of range "
				 "(expected 8..30)", v, prefix);
	if (addr_parse_cidr(v, &c->subnet, &c->prefix) < 0) {
		char net[INET_ADDRSTRLEN];

		ip.s_addr &= addr_netmask(prefix).s_addr;
		inet_ntop(AF_INET, &ip, net, sizeof(net));
		return conf_fail(l, s, "network.subnet: '%s' has host bits set "
				 "(expected the network address, e.g. '%s/%u')", v, net, prefix);
	}
	c->gateway = addr_gateway(c->subnet, c->prefix);
	return 0;
}

static int conf_parse_mac_prefix(struct loader *l, const struct grp *g, struct lab_conf *c)
{
	const config_setting_t *s = NULL;
	char mac[ADDR_MAC_STRLEN];
	uint8_t m[6];
	const char *v;
	int ret;

	c->mac_prefix[0] = 0x52;
	c->mac_prefix[1] = 0x54;
	c->mac_prefix[2] = 0x00;
	ret = conf_get_str(l, g, "mac_prefix", &v, &s);
	if (ret < 0 || !v)
		return ret;
	if (addr_parse_mac_prefix(v, c->mac_prefix) == 0)
		return 0;
	/* Tell a syntax error from a bad prefix: read it as the first half of a full MAC. */
	if (strlen(v) != 8 || snprintf(mac, sizeof(mac), "%s:00:00:00", v) < 0 ||
	    addr_parse_mac(mac, m) < 0)
		return conf_fail(l, s, "network.mac_prefix: '%s' is not a MAC prefix "
				 "(expected three hex bytes \"xx:xx:xx\", e.g. \"52:54:00\")", v);
	if (m[0] & 0x01)
		return conf_fail(l, s, "network.mac_prefix: '%s' is a multicast prefix "
				 "(expected unicast: the lowest bit of the first byte clear, e.g. \"52:54:00\")", v);
	return conf_fail(l, s, "network.mac_prefix: '%s' is not locally administered "
			 "(expected bit 0x02 of the first byte set, e.g. \"52:54:00\" or \"02:00:00\")", v);
}

/*
 * A duration KEY of G: digits with one unit s, m, h or d ("45m", "20s"), or RULE's word
 * (when not NULL) meaning 0, or with zero_ok a zero ("0", "0m") meaning 0. Otherwise at
 * least min and at most max seconds. Absent: *OUT untouched.
 */
struct duration_rule {
	const char *what;            /* "a lease time" */
	const char *word;            /* "infinite", or NULL */
	bool zero_ok;                /* "0", "0s", ... mean 0 */
	unsigned long long min, max; /* seconds */
	const char *min_text;        /* "2m" */
};

static int conf_get_duration(struct loader *l, const struct grp *g, const char *key,
			     const struct duration_rule *r, unsigned *out)
{
	const config_setting_t *s = NULL;
	char kp[CONF_KEYPATH_MAX], expected[128];
	unsigned long long n = 0, unit;
	const char *v, *p;
	int ret;

	ret = conf_get_str(l, g, key, &v, &s);
	if (ret < 0 || !v)
		return ret;
	if (r->word && !strcmp(v, r->word)) {
		*out = 0;
		return 0;
	}
	snprintf(expected, sizeof(expected), "%s%s%sa number with unit s, m, h or d, e.g. \"%s\"%s",
		 r->word ? "\"" : "", r->word ? r->word : "", r->word ? "\" or " : "",
		 r->zero_ok ? "45m" : "12h", r->zero_ok ? "; \"0\": never" : "");
	for (p = v; conf_is_digit(*p) && p - v < 9; p++)
		n = n * 10 + (unsigned long long)(*p - '0');
	switch (p > v && p[0] && !p[1] ? *p : '\0') {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: unit = 0; break;
	}
	if (r->zero_ok && p > v && n == 0 && (unit || !*p)) {
		*out = 0;
		return 0;
	}
	if (!unit)
		return conf_fail(l, s, "%s: '%s' is not %s (expected %s)", conf_keypath(g, key, kp),
				 v, r->what, expected);
	n *= unit;
	if (n < r->min)
		return conf_fail(l, s, "%s: '%s' is too short (expected at least %s)",
				 conf_keypath(g, key, kp), v, r->min_text);
	if (n > r->max)
		return conf_fail(l, s, "%s: '%s' is too long (expected at most %llud%s%s%s)",
				 conf_keypath(g, key, kp), v, r->max / 86400,
				 r->word ? ", or \"" : "", r->word ? r->word : "", r->word ? "\"" : "");
	*out = (unsigned)n;
	return 0;
}

static int conf_parse_lease(struct loader *l, const struct grp *g, struct lab_conf *c)
{
	static const struct duration_rule lease = {
		"a lease time", "infinite", false, CONF_LEASE_MIN_SECS, UINT32_MAX, "2m",
	};

	c->dhcp_lease_secs = 12 * 3600;
	return conf_get_duration(l, g, "dhcp_lease", &lease, &c->dhcp_lease_secs);
}

static int conf_parse_public(struct loader *l, const config_setting_t *e, unsigned i,
			     struct lab_conf *c)
{
	static const char *const keys[] = { "address", "ports", NULL };
	char name[CONF_KEYPATH_MAX], got[96];
	const config_setting_t *as = NULL, *ps = NULL;
	struct conf_public *p = &c->publics[i];
	struct grp g = { e, name };
	const char *addr, *ports;
	uint32_t h;
	unsigned j;
	int ret;

	snprintf(name, sizeof(name), "network.public[%u]", i);
	if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
		conf_describe(e, got, sizeof(got));
		return conf_fail(l, e, "%s: expected a group { address = \"A.B.C.D\"; ports = \"LO-HI\"; }, "
				 "got %s", name, got);
	}
	ret = conf_check_keys(l, &g, keys);
	if (ret < 0)
		return ret;

	ret = conf_get_str(l, &g, "address", &addr, &as);
	if (ret < 0)
		return ret;
	if (!addr)
		return conf_missing(l, &g, "address", "a public IPv4 address of the host, e.g. \"203.0.113.10\"");
	if (addr_parse_ipv4(addr, &p->addr) < 0)
		return conf_fail(l, as, "%s.address: '%s' is not an IPv4 address "
				 "(expected a dotted quad such as \"203.0.113.10\")", name, addr);
	h = ntohl(p->addr.s_addr);
	if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) >= 0xe)
		return conf_fail(l, as, "%s.address: '%s' cannot be a public address of the host "
				 "(expected a unicast address, not 0.x, 127.x, multicast or reserved)", name, addr);
	if (addr_in_subnet(p->addr, c->subnet, c->prefix)) {
		char net[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &c->subnet, net, sizeof(net));
		return conf_fail(l, as, "%s.address: '%s' is inside the lab subnet %s/%u "
				 "(expected a public address of the host, outside the lab)",
				 name, addr, net, c->prefix);
	}

	ret = conf_get_str(l, &g, "ports", &ports, &ps);
	if (ret < 0)
		return ret;
	if (!ports)
		return conf_missing(l, &g, "ports", "a port range \"LO-HI\", e.g. \"20000-20999\"");
	ret = addr_parse_port_range(ports, &p->port_lo, &p->port_hi);
	if (ret == -ERANGE)
		return conf_fail(l, ps, "%s.ports: '%s' is reversed (first port must be <= last)",
				 name, ports);
	if (ret < 0)
		return conf_fail(l, ps, "%s.ports: '%s' is not a port range "
				 "(expected \"LO-HI\" with 1 <= LO <= HI <= 65535)", name, ports);

	/* Two entries for one address split its ports; they must not both claim one. */
	for (j = 0; j < i; j++) {
		const struct conf_public *q = &c->publics[j];

		if (q->addr.s_addr == p->addr.s_addr && p->port_lo <= q->port_hi &&
		    q->port_lo <= p->port_hi)
			return conf_fail(l, ps, "%s.ports: '%s' overlaps network.public[%u] "
					 "(%u-%u) for the same address %s (expected disjoint ranges)",
					 name, ports, j, q->port_lo, q->port_hi, addr);
	}
	return 0;
}

static int conf_parse_network(struct loader *l, const struct grp *g, struct lab_conf *c)
{
	static const char *const keys[] = { "bridge", "subnet", "mac_prefix", "nft_table", "egress",
					    "dns", "dhcp_lease", "public", NULL };
	const config_setting_t *pub;
	unsigned i, n;
	int ret;

	if ((ret = conf_check_keys(l, g, keys)) < 0 ||
	    (ret = conf_get_word(l, g, "bridge", "labbr0", conf_valid_ifname,
				 "a Linux interface name: 1..15 characters, no '/', ':' or whitespace",
				 &c->bridge)) < 0 ||
	    (ret = conf_parse_subnet(l, g, c)) < 0 ||
	    (ret = conf_parse_mac_prefix(l, g, c)) < 0 ||
	    (ret = conf_get_word(l, g, "nft_table", "vlab", conf_valid_nft_name,
				 "1..32 characters from A-Z, a-z, 0-9, '_' and '-'", &c->nft_table)) < 0)
		return ret;
	c->egress = true;
	c->dns = true;
	if ((ret = conf_get_bool(l, g, "egress", &c->egress)) < 0 ||
	    (ret = conf_get_bool(l, g, "dns", &c->dns)) < 0 ||
	    (ret = conf_parse_lease(l, g, c)) < 0)
		return ret;

	ret = conf_member(l, g, "public", CONFIG_TYPE_LIST, &pub);
	if (ret < 0)
		return ret;
	if (!pub)
		return conf_missing(l, g, "public",
				    "a list ( { address = \"A.B.C.D\"; ports = \"LO-HI\"; }, ... )");
	n = (unsigned)config_setting_length(pub);
	if (n == 0)
		return conf_fail(l, pub, "network.public: is empty (expected at least one "
				 "{ address = \"A.B.C.D\"; ports = \"LO-HI\"; })");
	c->publics = calloc(n, sizeof(*c->publics));
	if (!c->publics)
		return -ENOMEM;
	c->n_publics = n;
	for (i = 0; i < n; i++) {
		ret = conf_parse_public(l, config_setting_get_elem(pub, i), i, c);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static char *conf_join(const char *dir, const char *file)
{
	char *s;

	if (asprintf(&s, "%s/%s", strcmp(dir, "/") ? dir : "", file) < 0)
		return NULL;
	return s;
}

/*
 * A unix socket path: explicit, or RUN_DIR/FILE. Checked against sun_path here so that
 * a long run_dir fails at load and not at bind().
 */
static int conf_get_socket(struct loader *l, const struct grp *g, const char *key, const char *file,
			   const char *run_dir, const config_setting_t *run_at, char **out)
{
	char kp[CONF_KEYPATH_MAX];
	const config_setting_t *s = NULL;
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	int ret;

	ret = conf_get_path(l, g, key, NULL, out, &s);
	if (ret < 0)
		return ret;
	if (!*out) {
		*out = conf_join(run_dir, file);
		if (!*out)
			return -ENOMEM;
	}
	if (strlen(*out) <= max)
		return 0;
	if (s)
		return conf_fail(l, s, "%s: '%s' is too long for a unix socket (expected at most %zu bytes)",
				 conf_keypath(g, key, kp), *out, max);
	return conf_fail(l, run_at, "run_dir: '%s' makes %s '%s' too long for a unix socket "
			 "(expected at most %zu bytes; shorten run_dir or set %s)",
			 run_dir, conf_keypath(g, key, kp), *out, max, conf_keypath(g, key, kp));
}

static int conf_get_derived_path(struct loader *l, const struct grp *g, const char *key,
				 const char *dir, const char *file, char **out)
{
	int ret = conf_get_path(l, g, key, NULL, out, NULL);

	if (ret < 0 || *out)
		return ret;
	*out = conf_join(dir, file);
	return *out ? 0 : -ENOMEM;
}

static int conf_parse_netd(struct loader *l, const struct grp *g, struct lab_conf *c,
			   const config_setting_t *run_at)
{
	static const char *const keys[] = { "socket", "dnsmasq", "log_group", NULL };
	int ret;

	c->log_group = CONF_LOG_GROUP_DEFAULT;
	if ((ret = conf_check_keys(l, g, keys)) < 0 ||
	    (ret = conf_get_socket(l, g, "socket", "netd.sock", c->run_dir, run_at, &c->netd_socket)) < 0 ||
	    (ret = conf_get_path(l, g, "dnsmasq", "/usr/sbin/dnsmasq", &c->dnsmasq_path, NULL)) < 0)
		return ret;
	return conf_get_uint(l, g, "log_group", 0, 65535, &c->log_group);
}

static int conf_parse_labd(struct loader *l, const struct grp *g, struct lab_conf *c,
			   const config_setting_t *run_at)
{
	static const char *const keys[] = { "socket", "database", "libvirt_uri", "pool", "pool_dir",
					    "console_dir", "domain_type", "cpu_model", "tb_cache_mib",
					    "parallel", "stop_timeout", "restart_crashed",
					    "max_running_mib", NULL };
	const config_setting_t *cpu = NULL;
	int ret;

	c->parallel = 4;
	c->stop_timeout = 60;
	c->restart_crashed = true;
	if ((ret = conf_check_keys(l, g, keys)) < 0 ||
	    (ret = conf_get_socket(l, g, "socket", "labd.sock", c->run_dir, run_at, &c->labd_socket)) < 0 ||
	    (ret = conf_get_derived_path(l, g, "database", c->state_dir, "lab.db", &c->database)) < 0 ||
	    (ret = conf_get_word(l, g, "libvirt_uri", "qemu:///system", conf_valid_uri,
				 "a libvirt connection URI without spaces, e.g. \"qemu:///system\"",
				 &c->libvirt_uri)) < 0 ||
	    (ret = conf_get_word(l, g, "pool", "vlab", conf_valid_word,
				 "a libvirt pool name: 1..64 characters from A-Z, a-z, 0-9, '_', '-', '.', '+'",
				 &c->pool_name)) < 0 ||
	    (ret = conf_get_derived_path(l, g, "pool_dir", c->state_dir, "pool", &c->pool_dir)) < 0 ||
	    (ret = conf_get_derived_path(l, g, "console_dir", c->state_dir, "console", &c->console_dir)) < 0 ||
	    (ret = conf_get_word(l, g, "domain_type", "kvm", conf_valid_domain_type,
				 "\"kvm\" or \"qemu\"", &c->domain_type)) < 0)
		return ret;

	if (g->set)
		cpu = config_setting_get_member(g->set, "cpu_model");
	/* TCG cannot pass the host CPU through, so a qemu domain defaults to a model. */
	ret = conf_get_word(l, g, "cpu_model", strcmp(c->domain_type, "qemu") ? "host-passthrough" : "qemu64",
			    conf_valid_word, "\"host-passthrough\", \"host-model\" or a CPU model "
			    "name such as \"qemu64\"", &c->cpu_model);
	if (ret < 0)
		return ret;
	if (!strcmp(c->domain_type, "qemu") && !strcmp(c->cpu_model, "host-passthrough"))
		return conf_fail(l, cpu, "labd.cpu_model: 'host-passthrough' needs domain_type \"kvm\" "
				 "(expected a CPU model such as \"qemu64\" with domain_type \"qemu\")");

	if ((ret = conf_get_uint(l, g, "tb_cache_mib", 0, 65536, &c->tb_cache_mib)) < 0 ||
	    (ret = conf_get_uint(l, g, "parallel", 1, 64, &c->parallel)) < 0 ||
	    (ret = conf_get_uint(l, g, "stop_timeout", 1, 3600, &c->stop_timeout)) < 0 ||
	    (ret = conf_get_uint(l, g, "max_running_mib", 0, 1 << 30, &c->max_running_mib)) < 0)
		return ret;
	return conf_get_bool(l, g, "restart_crashed", &c->restart_crashed);
}

static int conf_parse_class(struct loader *l, const config_setting_t *e, unsigned i,
			    struct lab_conf *c)
{
	static const char *const keys[] = { "name", "base_image", "user", "vcpus", "memory",
					    "kernel", "initrd", "cmdline", "idle_sleep", NULL };
	static const struct duration_rule idle_sleep = {
		"an idle time", NULL, true, 1, CONF_IDLE_SLEEP_MAX, "1s",
	};
	char name[CONF_KEYPATH_MAX], got[96];
	struct conf_class *k = &c->classes[i];
	const config_setting_t *ns = NULL, *s = NULL;
	struct grp g = { e, name };
	const char *v;
	unsigned j;
	int ret;

	snprintf(name, sizeof(name), "classes[%u]", i);
	if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
		conf_describe(e, got, sizeof(got));
		return conf_fail(l, e, "%s: expected a group { name = ...; base_image = ...; user = ...; }, "
				 "got %s", name, got);
	}
	ret = conf_check_keys(l, &g, keys);
	if (ret < 0)
		return ret;

	ret = conf_get_str(l, &g, "name", &v, &ns);
	if (ret < 0)
		return ret;
	if (!v)
		return conf_missing(l, &g, "name", "a class name such as \"net101\"");
	if (!id_valid(v))
		return conf_fail(l, ns, "%s.name: '%s' is not valid (expected 1..32 characters from "
				 "a-z, 0-9, '_' and '-', starting with a letter or digit)", name, v);
	for (j = 0; j < i; j++)
		if (!strcmp(c->classes[j].name, v))
			return conf_fail(l, ns, "%s.name: '%s' is already used by classes[%u] "
					 "(expected unique class names)", name, v, j);
	if ((ret = conf_dup(v, &k->name)) < 0)
		return ret;

	ret = conf_get_path(l, &g, "base_image", NULL, &k->base_image, NULL);
	if (ret < 0)
		return ret;
	if (!k->base_image)
		return conf_missing(l, &g, "base_image", "the absolute path of the class's base disk image");

	ret = conf_get_word(l, &g, "user", NULL, conf_valid_posix_name,
			    "a POSIX user name: [a-z_][a-z0-9_-]{0,31}", &k->user);
	if (ret < 0)
		return ret;
	if (!k->user)
		return conf_missing(l, &g, "user", "the guest account students log in as, e.g. \"student\"");

	k->vcpus = 1;
	k->memory_mib = 1024;
	if ((ret = conf_get_uint(l, &g, "vcpus", 1, 64, &k->vcpus)) < 0 ||
	    (ret = conf_get_uint(l, &g, "memory", 64, 1048576, &k->memory_mib)) < 0 ||
	    (ret = conf_get_duration(l, &g, "idle_sleep", &idle_sleep, &k->idle_sleep_secs)) < 0 ||
	    (ret = conf_get_path(l, &g, "kernel", NULL, &k->kernel, NULL)) < 0 ||
	    (ret = conf_get_path(l, &g, "initrd", NULL, &k->initrd, &s)) < 0)
		return ret;
	if (k->initrd && !k->kernel)
		return conf_fail(l, s, "%s.initrd: set without kernel (expected kernel = \"/path\" too: "
				 "initrd only applies to direct kernel boot)", name);
	ret = conf_get_str(l, &g, "cmdline", &v, &s);
	if (ret < 0 || !v)
		return ret;
	if (!k->kernel)
		return conf_fail(l, s, "%s.cmdline: set without kernel (expected kernel = \"/path\" too: "
				 "cmdline only applies to direct kernel boot)", name);
	return conf_dup(v, &k->cmdline);
}

static int conf_parse_classes(struct loader *l, const struct grp *top, struct lab_conf *c)
{
	const config_setting_t *list;
	unsigned i, n;
	int ret;

	ret = conf_member(l, top, "classes", CONFIG_TYPE_LIST, &list);
	if (ret < 0)
		return ret;
	if (!list)
		return conf_missing(l, top, "classes",
				    "a list ( { name = ...; base_image = ...; user = ...; }, ... )");
	n = (unsigned)config_setting_length(list);
	if (n == 0)
		return conf_fail(l, list, "classes: is empty (expected at least one "
				 "{ name = ...; base_image = ...; user = ...; })");
	c->classes = calloc(n, sizeof(*c->classes));
	if (!c->classes)
		return -ENOMEM;
	c->n_classes = n;
	for (i = 0; i < n; i++) {
		ret = conf_parse_class(l, config_setting_get_elem(list, i), i, c);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * The gate (docs/vlab-gate.8). Its port must be no student's: netd DNATs every port of
 * a public range that belongs to a student, so a student holding the gate's port would
 * receive the gate's connections.
 */
static int conf_parse_gate(struct loader *l, const struct grp *g, struct lab_conf *c,
			   const config_setting_t *run_at)
{
	static const char *const keys[] = { "port", "socket", "group", NULL };
	const config_setting_t *ps;
	size_t i;
	int ret;

	if (!g->set)
		return 0;
	c->gate = true;
	if ((ret = conf_check_keys(l, g, keys)) < 0 ||
	    (ret = conf_get_uint(l, g, "port", 1, 65535, &c->gate_port)) < 0)
		return ret;
	ps = config_setting_get_member(g->set, "port");
	if (!ps)
		return conf_missing(l, g, "port", "the port sshd serves the gate on, e.g. 2222");
	for (i = 0; i < c->n_publics; i++)
		if (c->gate_port >= c->publics[i].port_lo && c->gate_port <= c->publics[i].port_hi)
			return conf_fail(l, ps, "gate.port: %u is inside network.public[%zu].ports "
					 "%u-%u (expected a port that no student is given)",
					 c->gate_port, i, c->publics[i].port_lo, c->publics[i].port_hi);
	if ((ret = conf_get_socket(l, g, "socket", "gate.sock", c->run_dir, run_at,
				   &c->gate_socket)) < 0)
		return ret;
	if (!strcmp(c->gate_socket, c->labd_socket) || !strcmp(c->gate_socket, c->netd_socket))
		return conf_fail(l, config_setting_get_member(g->set, "socket"),
				 "gate.socket: '%s' is also %s's socket (expected a socket of its "
				 "own: the gate's socket only serves the students' operations)",
				 c->gate_socket, strcmp(c->gate_socket, c->labd_socket) ? "netd" : "labd");
	return conf_get_word(l, g, "group", "vlab-gate", conf_valid_posix_name,
			     "a group name: [a-z_][a-z0-9_-]{0,31}", &c->gate_group);
}

static int conf_parse(struct loader *l, const config_setting_t *root, struct lab_conf *c)
{
	static const char *const keys[] = { "state_dir", "run_dir", "socket_group", "network",
					    "netd", "labd", "classes", "gate", NULL };
	const struct grp top = { root, "" };
	const config_setting_t *run_at = NULL;
	struct grp net = { NULL, "network" }, netd = { NULL, "netd" }, labd = { NULL, "labd" };
	struct grp gate = { NULL, "gate" };
	int ret;

	if ((ret = conf_check_keys(l, &top, keys)) < 0 ||
	    (ret = conf_get_path(l, &top, "state_dir", "/var/lib/vlab", &c->state_dir, NULL)) < 0 ||
	    (ret = conf_get_path(l, &top, "run_dir", "/run/vlab", &c->run_dir, &run_at)) < 0 ||
	    (ret = conf_get_word(l, &top, "socket_group", NULL, conf_valid_posix_name,
				 "a group name: [a-z_][a-z0-9_-]{0,31}", &c->socket_group)) < 0)
		return ret;

	if ((ret = conf_member(l, &top, "network", CONFIG_TYPE_GROUP, &net.set)) < 0 ||
	    (ret = conf_member(l, &top, "netd", CONFIG_TYPE_GROUP, &netd.set)) < 0 ||
	    (ret = conf_member(l, &top, "labd", CONFIG_TYPE_GROUP, &labd.set)) < 0 ||
	    (ret = conf_member(l, &top, "gate", CONFIG_TYPE_GROUP, &gate.set)) < 0)
		return ret;
	if (!net.set)
		return conf_missing(l, &top, "network", "a group network = { subnet = ...; public = ...; }");

	if ((ret = conf_parse_network(l, &net, c)) < 0 ||
	    (ret = conf_parse_netd(l, &netd, c, run_at)) < 0 ||
	    (ret = conf_parse_labd(l, &labd, c, run_at)) < 0 ||
	    (ret = conf_parse_classes(l, &top, c)) < 0)
		return ret;
	return conf_parse_gate(l, &gate, c, run_at);
}

/*
 * What libconfig must never see: a path that is not a regular file (its scanner calls
 * exit() on a directory and blocks on a FIFO), and @include, which would read another
 * file the same way. The lab's configuration is one file. Leaves F rewound.
 */
static int conf_check_file(FILE *f, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char line[4096];
	unsigned lineno = 0;

	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file (give the path of the "
				 "configuration file itself)", path);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		size_t len = strlen(line);

		/* a line longer than the buffer continues in the next read: count it once */
		if (len == 0 || line[len - 1] == '\n' || feof(f))
			lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) == 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%u: @include is not supported (keep the whole "
					 "configuration in this one file)", path, lineno);
			return -EINVAL;
		}
	}
	rewind(f);
	return 0;
}

int conf_load(const char *path, struct lab_conf *conf, char *err, size_t errlen)
{
	struct loader l = { path, err, errlen };
	config_t cfg;
	FILE *f;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!conf)
		return -EINVAL;
	memset(conf, 0, sizeof(*conf));
	if (!path)
		return -EINVAL;

	/* libconfig folds every open error into CONFIG_ERR_FILE_IO; fopen keeps errno. */
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	ret = conf_check_file(f, path, err, errlen);
	if (ret < 0) {
		fclose(f);
		return ret;
	}

	config_init(&cfg);
	ret = config_read(&cfg, f);
	fclose(f);
	if (ret != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			ret = -EIO;
			if (err && errlen)
				snprintf(err, errlen, "%s: cannot read: %s", path,
					 config_error_text(&cfg));
		} else {
			ret = -EINVAL;
			if (err && errlen)
				snprintf(err, errlen, "%s:%d: %s",
					 config_error_file(&cfg) ? config_error_file(&cfg) : path,
					 config_error_line(&cfg), config_error_text(&cfg));
		}
		goto out;
	}
	ret = conf_dup(path, &conf->path);
	if (ret == 0)
		ret = conf_parse(&l, config_root_setting(&cfg), conf);
	if (ret == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", path);
out:
	config_destroy(&cfg);
	if (ret < 0)
		conf_free(conf);
	return ret;
}

void conf_free(struct lab_conf *conf)
{
	size_t i;

	if (!conf)
		return;
	for (i = 0; i < conf->n_classes; i++) {
		struct conf_class *k = &conf->classes[i];

		free(k->name);
		free(k->base_image);
		free(k->user);
		free(k->kernel);
		free(k->initrd);
		free(k->cmdline);
	}
	free(conf->classes);
	free(conf->publics);
	free(conf->path);
	free(conf->state_dir);
	free(conf->run_dir);
	free(conf->socket_group);
	free(conf->bridge);
	free(conf->nft_table);
	free(conf->netd_socket);
	free(conf->dnsmasq_path);
	free(conf->labd_socket);
	free(conf->database);
	free(conf->libvirt_uri);
	free(conf->pool_name);
	free(conf->pool_dir);
	free(conf->console_dir);
	free(conf->domain_type);
	free(conf->cpu_model);
	free(conf->gate_socket);
	free(conf->gate_group);
	memset(conf, 0, sizeof(*conf));
}

const struct conf_class *conf_class_find(const struct lab_conf *conf, const char *name)
{
	size_t i;

	if (!conf || !name)
		return NULL;
	for (i = 0; i < conf->n_classes; i++)
		if (!strcmp(conf->classes[i].name, name))
			return &conf->classes[i];
	return NULL;
}

const struct conf_public *conf_public_find(const struct lab_conf *conf, struct in_addr addr,
					   uint16_t port)
{
	size_t i;

	if (!conf)
		return NULL;
	for (i = 0; i < conf->n_publics; i++) {
		const struct conf_public *p = &conf->publics[i];

		if (p->addr.s_addr == addr.s_addr && port >= p->port_lo && port <= p->port_hi)
			return p;
	}
	return NULL;
}
