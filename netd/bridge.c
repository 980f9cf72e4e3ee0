/*
 * The lab bridge over rtnetlink (libnl-route-3): an idempotent "ensure" in the style of
 * libnl's lib/route/link/bridge.c. Look the link up, create it if missing, then make
 * every property we own true (no IPv6, gateway address, up), so calling it again on a
 * finished bridge changes nothing.
 */
#include "netd/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "common/log.h"

/* libnl's -NLE_* -> -errno, logged once here with nl_geterror(). */
static int bridge_nlerr(int nlerr, const char *what, const char *name)
{
	static const struct { int nle, err; } map[] = {
		{ NLE_EXIST, EEXIST },          { NLE_NOMEM, ENOMEM },
		{ NLE_PERM, EPERM },            { NLE_NOACCESS, EACCES },
		{ NLE_NODEV, ENODEV },          { NLE_OBJ_NOTFOUND, ENOENT },
		{ NLE_INVAL, EINVAL },          { NLE_BUSY, EBUSY },
		{ NLE_AGAIN, EAGAIN },          { NLE_INTR, EINTR },
		{ NLE_RANGE, ERANGE },          { NLE_MSGSIZE, EMSGSIZE },
		{ NLE_OPNOTSUPP, EOPNOTSUPP },  { NLE_AF_NOSUPPORT, EAFNOSUPPORT },
		{ NLE_NOADDR, EADDRNOTAVAIL },  { NLE_DUMP_INTR, EINTR },
		{ NLE_BAD_SOCK, EBADF },        { NLE_PROTO_MISMATCH, EPROTONOSUPPORT },
		{ NLE_NOATTR, ENODATA },
	};
	int e = nlerr < 0 ? -nlerr : nlerr;

	log_warnx("%s %s: %s", what, name, nl_geterror(nlerr));
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nle == e)
			return -map[i].err;
	return -EIO;
}

static bool bridge_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	/* The name also goes into a /proc/sys path. */
	return n > 0 && n < IFNAMSIZ && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int bridge_connect(struct nl_sock **out)
{
	struct nl_sock *sk;
	int r;

	*out = NULL;
	sk = nl_socket_alloc();
	if (!sk) {
		log_warnx("netlink socket: out of memory");
		return -ENOMEM;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		r = bridge_nlerr(r, "netlink connect", "route");
		nl_socket_free(sk);
		return r;
	}
	*out = sk;
	return 0;
}

/* Looks NAME up: 0 with *LINK (caller puts it), -ENODEV if absent, or another -errno. */
static int bridge_lookup(struct nl_sock *sk, const char *name, struct rtnl_link **link)
{
	int r;

	*link = NULL;
	r = rtnl_link_get_kernel(sk, 0, name, link);
	/* The kernel's ENODEV comes back through nl_syserr2nlerr() as NLE_OBJ_NOTFOUND. */
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		return -ENODEV;
	if (r < 0)
		return bridge_nlerr(r, "looking up link", name);
	return 0;
}

/* Writes VAL to a /proc/sys file; -errno (unlogged) so callers can tolerate ENOENT. */
static int bridge_write_sysctl(const char *path, const char *val)
{
	size_t n = strlen(val);
	ssize_t w;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, val, n);
	if (w < 0)
		r = -errno;
	else if ((size_t)w != n)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int bridge_create(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link;
	int r;

	link = rtnl_link_bridge_alloc();
	if (!link) {
		log_warnx("bridge %s: out of memory", name);
		return -ENOMEM;
	}
	rtnl_link_set_name(link, name);
	/* EXCL: if someone made NAME between our lookup and now, say so rather than adopt it. */
	r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		r = bridge_nlerr(r, "creating bridge", name);
	rtnl_link_put(link);
	return r;
}

static int bridge_add_gateway(struct nl_sock *sk, const char *name, int ifindex,
			      struct in_addr gateway, unsigned prefix)
{
	struct rtnl_addr *addr = NULL;
	struct nl_addr *local = NULL, *bcast = NULL;
	struct in_addr b;
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
	int r;

	addr = rtnl_addr_alloc();
	local = nl_addr_build(AF_INET, &gateway, sizeof(gateway));
	b.s_addr = gateway.s_addr | ~mask;
	bcast = nl_addr_build(AF_INET, &b, sizeof(b));
	if (!addr || !local || !bcast) {
		log_warnx("address for %s: out of memory", name);
		r = -ENOMEM;
		goto out;
	}
	nl_addr_set_prefixlen(local, (int)prefix);
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, AF_INET);
	/* set_local/set_broadcast take their own reference: we still put ours below. */
	r = rtnl_addr_set_local(addr, local);
	if (r == 0)
		r = rtnl_addr_set_broadcast(addr, bcast);
	if (r < 0) {
		r = bridge_nlerr(r, "building address for", name);
		goto out;
	}
	rtnl_addr_set_prefixlen(addr, (int)prefix);
	/* Without NLM_F_REPLACE the kernel answers EEXIST for an address already there and
	 * leaves it alone: that is the idempotent case, not an error. */
	r = rtnl_addr_add(sk, addr, NLM_F_CREATE | NLM_F_EXCL);
	if (r == -NLE_EXIST)
		r = 0;
	else if (r < 0)
		r = bridge_nlerr(r, "adding gateway address to", name);
out:
	nl_addr_put(bcast);
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return r;
}

static int bridge_set_up(struct nl_sock *sk, const char *name, struct rtnl_link *link)
{
	struct rtnl_link *change;
	int r;

	if (rtnl_link_get_flags(link) & IFF_UP)
		return 0;
	change = rtnl_link_alloc();
	if (!change) {
		log_warnx("bridge %s: out of memory", name);
		return -ENOMEM;
	}
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(sk, link, change, 0);
	if (r < 0)
		r = bridge_nlerr(r, "bringing up", name);
	rtnl_link_put(change);
	return r;
}

int bridge_ensure(const char *name, struct in_addr gateway, unsigned prefix, bool *created)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	char path[128];
	int r;

	*created = false;
	if (!bridge_name_ok(name) || prefix < 1 || prefix > 32) {
		log_warnx("bridge %s/%u: invalid name or prefix", name ? name : "(null)", prefix);
		return -EINVAL;
	}
	r = bridge_connect(&sk);
	if (r < 0)
		return r;

	r = bridge_lookup(sk, name, &link);
	if (r == -ENODEV) {
		r = bridge_create(sk, name);
		if (r < 0)
			goto out;
		*created = true;
		log_info("created bridge %s", name);
		/* The add request carries no ifindex or flags: read back what the kernel made. */
		r = bridge_lookup(sk, name, &link);
		if (r == -ENODEV)
			log_warnx("bridge %s vanished right after creation", name);
	}
	if (r < 0)
		goto out;
	if (!rtnl_link_is_bridge(link)) {
		const char *type = rtnl_link_get_type(link);

		log_warnx("link %s exists and is not a bridge (type %s): not touching it", name,
			  type ? type : "none");
		r = -EEXIST;
		goto out;
	}

	/* Before IFF_UP, so the kernel never gives the bridge an IPv6 link-local address.
	 * ENOENT: no IPv6 in this kernel, nothing to turn off. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	r = bridge_write_sysctl(path, "1");
	if (r < 0 && r != -ENOENT) {
		errno = -r;
		log_warn("%s", path);
		goto out;
	}

	r = bridge_add_gateway(sk, name, rtnl_link_get_ifindex(link), gateway, prefix);
	if (r < 0)
		goto out;
	r = bridge_set_up(sk, name, link);
	if (r < 0)
		goto out;

	/* Per network namespace; writing the value it already has changes nothing. */
	r = bridge_write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
	if (r < 0) {
		errno = -r;
		log_warn("/proc/sys/net/ipv4/ip_forward");
		goto out;
	}
	r = 0;
out:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

int bridge_remove(const char *name)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int r;

	if (!bridge_name_ok(name))
		return -EINVAL;
	r = bridge_connect(&sk);
	if (r < 0)
		return r;
	r = bridge_lookup(sk, name, &link);
	if (r == -ENODEV) {
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	/* netd never deletes what it did not create; a non-bridge under our name is not ours. */
	if (!rtnl_link_is_bridge(link)) {
		log_warnx("link %s is not a bridge: not removing it", name);
		r = -EEXIST;
		goto out;
	}
	r = rtnl_link_delete(sk, link);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		r = 0;  /* gone between lookup and delete: the outcome we wanted */
	else if (r < 0)
		r = bridge_nlerr(r, "deleting bridge", name);
	else
		log_info("removed bridge %s", name);
out:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

int bridge_ifindex(const char *name)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int r;

	if (!bridge_name_ok(name))
		return -ENODEV;
	r = bridge_connect(&sk);
	if (r < 0)
		return r;
	r = bridge_lookup(sk, name, &link);
	if (r == 0)
		r = rtnl_link_get_ifindex(link);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}
