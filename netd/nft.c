/*
 * netd's nftables table over netlink: every change is one batch (begin, messages, end)
 * sent with one sendmsg(); every message asks for an ACK, and each ACK or error is tied
 * back to its message by sequence number, as nftables' mnl_batch_talk() does.
 */
#include <errno.h>
#include <netinet/in.h> /* before the linux/ headers, which otherwise redefine it */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h> /* libnftnl headers need FILE */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <uthash.h>

#include "common/log.h"
#include "netd/nft.h"
#include "netd/nft_build.h"
#include "netd/nlsock.h"

/* Receive buffer: a netlink dump skb is at most 32 KiB; twice that leaves room. */
#define NFT_RXBUF_SIZE (64u << 10)
/* Socket buffers: a 10k-mapping batch is ~0.6 MiB; the monitor may see a burst of
 * element events when someone else rewrites a big set. */
#define NFT_SNDBUF_MIN (1u << 20)
#define NFT_RCVBUF (4u << 20)
#define NFT_MON_RCVBUF (8u << 20)
/* Mappings per NEWSETELEM message: 1024 map elements are ~37 KiB, 512 students' port
 * elements (two of 28-byte keys each) ~41 KiB, both under 64 KiB (the element list is one
 * netlink attribute, whose length field is 16 bits). */
#define NFT_ELEMS_PER_MSG 1024
#define NFT_PORT_MAPS_PER_MSG 512
/* Batch pages: big for bulk element loads, small for one-element changes. The overrun
 * must hold the largest single message. */
#define NFT_PAGE_BIG (256u << 10)
#define NFT_PAGE_SMALL (16u << 10)
#define NFT_PAGE_OVERRUN (96u << 10)
/* How long to wait for missing ACKs (the kernel answers synchronously; this is a
 * safety net, not a normal path). */
#define NFT_ACK_TIMEOUT_MS 2000

struct nft_msgdesc {
	char what[48];
	bool want_ack;
	bool acked;
};

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int sndbuf;                  /* what we asked SO_SNDBUF for */

	struct nft_params p;         /* strings and publics are our copies */
	char *table;
	char *bridge;
	struct in_addr *publics;

	struct mnl_socket *mon;
	bool mon_missed;             /* a quiet window may have hidden someone's change */

	nft_active_left_fn active_left;  /* activity elements for nft_apply_full, or NULL */
	void *active_arg;

	char *rxbuf;                 /* NFT_RXBUF_SIZE */

	/* The batch in flight: message i has sequence number first_seq + i. */
	uint32_t first_seq;
	struct nft_msgdesc *descs;
	size_t n_descs;
	size_t cap_descs;

	char err[256];
};

struct batch {
	struct nft *n;
	struct nftnl_batch *b;
	int err;
};

static const char *nft_msg_name(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE: return "NEWTABLE";
	case NFT_MSG_DELTABLE: return "DELTABLE";
	case NFT_MSG_NEWCHAIN: return "NEWCHAIN";
	case NFT_MSG_NEWRULE: return "NEWRULE";
	case NFT_MSG_NEWSET: return "NEWSET";
	case NFT_MSG_NEWSETELEM: return "NEWSETELEM";
	case NFT_MSG_DELSETELEM: return "DELSETELEM";
	default: return "MSG";
	}
}

static void nft_set_error(struct nft *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nft_set_error(struct nft *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->err, sizeof(n->err), fmt, ap);
	va_end(ap);
}

const char *nft_last_error(const struct nft *n)
{
	return n->err;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int nft_open(struct nft **out, const struct nft_params *p)
{
	struct nft *n;
	int one = 1, ret = -ENOMEM, fd;

	*out = NULL;
	if (!p->table || !p->bridge)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->p = *p;
	n->table = xstrdup(p->table);
	n->bridge = xstrdup(p->bridge);
	n->rxbuf = malloc(NFT_RXBUF_SIZE);
	if (!n->table || !n->bridge || !n->rxbuf)
		goto out;
	n->p.table = n->table;
	n->p.bridge = n->bridge;
	if (p->n_publics) {
		n->publics = calloc(p->n_publics, sizeof(*n->publics));
		if (!n->publics)
			goto out;
		memcpy(n->publics, p->publics, p->n_publics * sizeof(*n->publics));
	}
	n->p.publics = n->publics;

	n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!n->nl) {
		ret = -errno;
		log_warn("nft: netlink socket");
		goto out;
	}
	if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		log_warn("nft: netlink bind");
		goto out;
	}
	n->portid = mnl_socket_get_portid(n->nl);
	fd = mnl_socket_get_fd(n->nl);
	/* Errors echo only the header of the failed message, not 64 KiB of elements;
	 * extended ACKs carry the kernel's reason text. */
	mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (nlsock_set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, NFT_RCVBUF) < 0)
		log_warn("nft: receive buffer");
	if (nlsock_set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, NFT_SNDBUF_MIN) == 0)
		n->sndbuf = NFT_SNDBUF_MIN;
	/* Sequence numbers only need to be unique per socket; start away from 0, which
	 * libmnl treats as "don't check". */
	n->seq = 1;
	*out = n;
	n = NULL;
	ret = 0;
out:
	nft_close(n);
	return ret;
}

void nft_set_active_source(struct nft *n, nft_active_left_fn fn, void *arg)
{
	n->active_left = fn;
	n->active_arg = arg;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->mon)
		mnl_socket_close(n->mon);
	free(n->table);
	free(n->bridge);
	free(n->publics);
	free(n->rxbuf);
	free(n->descs);
	free(n);
}

/* --- batches ------------------------------------------------------------ */

static uint32_t nft_next_seq(struct nft *n)
{
	if (++n->seq == 0)
		n->seq = 1;
	return n->seq;
}

static int batch_desc_add(struct batch *bt, const char *what, const char *obj, bool want_ack)
{
	struct nft *n = bt->n;
	struct nft_msgdesc *d;

	if (n->n_descs == n->cap_descs) {
		size_t cap = n->cap_descs ? n->cap_descs * 2 : 64;

		d = realloc(n->descs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		n->descs = d;
		n->cap_descs = cap;
	}
	d = &n->descs[n->n_descs++];
	snprintf(d->what, sizeof(d->what), "%s%s%s", what, obj ? " " : "", obj ? obj : "");
	d->want_ack = want_ack;
	d->acked = false;
	return 0;
}

static void batch_start(struct batch *bt, struct nft *n, bool big)
{
	bt->n = n;
	bt->err = 0;
	n->n_descs = 0;
	n->err[0] = '\0';
	bt->b = nftnl_batch_alloc(big ? NFT_PAGE_BIG : NFT_PAGE_SMALL, NFT_PAGE_OVERRUN);
	if (!bt->b) {
		bt->err = -ENOMEM;
		return;
	}
	n->first_seq = nft_next_seq(n);
	nftnl_batch_begin(nftnl_batch_buffer(bt->b), n->first_seq);
	bt->err = batch_desc_add(bt, "BATCH_BEGIN", NULL, false);
	if (!bt->err && nftnl_batch_update(bt->b) < 0)
		bt->err = -ENOMEM;
}

/* Header of the next message, with its description recorded; NULL after an error. The
 * header's family picks the table's family (NFPROTO_IPV4 or NFPROTO_BRIDGE). */
static struct nlmsghdr *batch_hdr(struct batch *bt, uint16_t type, uint16_t flags,
				  uint16_t family, const char *obj)
{
	char what[40];
	struct nlmsghdr *nlh;

	if (bt->err)
		return NULL;
	/* Both tables have a "prerouting": say which one an error is about. */
	snprintf(what, sizeof(what), "%s%s", family == NFPROTO_BRIDGE ? "bridge " : "",
		 obj ? obj : "");
	bt->err = batch_desc_add(bt, nft_msg_name(type), what[0] ? what : NULL, true);
	if (bt->err)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), type, family,
				    flags | NLM_F_ACK, nft_next_seq(bt->n));
	return nlh;
}

/* Call after a message's payload is complete. */
static void batch_next(struct batch *bt)
{
	if (!bt->err && nftnl_batch_update(bt->b) < 0)
		bt->err = -ENOMEM;
}

static void batch_table(struct batch *bt, uint16_t type, uint16_t flags, bool bridge)
{
	struct nftnl_table *t = bt->err ? NULL : bridge ? nft_build_bridge_table(&bt->n->p)
							: nft_build_table(&bt->n->p);
	struct nlmsghdr *nlh;

	if (!t) {
		if (!bt->err)
			bt->err = -ENOMEM;
		return;
	}
	nlh = batch_hdr(bt, type, flags, bridge ? NFPROTO_BRIDGE : NFPROTO_IPV4, bt->n->table);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_next(bt);
	}
	nftnl_table_free(t);
}

/* Takes ownership of S (may be NULL: allocation failed). */
static void batch_set(struct batch *bt, uint16_t type, uint16_t flags, struct nftnl_set *s,
		      bool elems)
{
	struct nlmsghdr *nlh;

	if (!s) {
		if (!bt->err)
			bt->err = -ENOMEM;
		return;
	}
	nlh = batch_hdr(bt, type, flags, (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
			nftnl_set_get_str(s, NFTNL_SET_NAME));
	if (nlh) {
		if (elems)
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
		else
			nftnl_set_nlmsg_build_payload(nlh, s);
		batch_next(bt);
	}
	nftnl_set_free(s);
}

/* Which set a mapping's elements go to, and how they are built. */
struct elem_kind {
	struct nftnl_set *(*ref)(const struct nft_params *p);
	/* M's elements added to S: how many, or -errno */
	int (*build)(const struct nft *n, const struct mapping *m, struct nftnl_set *s);
	size_t per_msg;              /* mappings per message */
};

static struct nftnl_set *map_ref(const struct nft_params *p)
{
	return nft_build_set_ref(p, NFT_MAP_NAME);
}

static int map_elem(const struct nft *n, const struct mapping *m, struct nftnl_set *s)
{
	int r = nft_build_elems(m, s);

	return r < 0 ? r : 1;
}

static int port_elems(const struct nft *n, const struct mapping *m, struct nftnl_set *s)
{
	return nft_build_port_elems(m, s);
}

static struct nftnl_set *asleep_ref(const struct nft_params *p)
{
	return nft_build_set_ref(p, NFT_ASLEEP_NAME);
}

static struct nftnl_set *active_ref(const struct nft_params *p)
{
	return nft_build_set_ref(p, NFT_ACTIVE_NAME);
}

/* A sleeping VM's address. */
static int asleep_elem(const struct nft *n, const struct mapping *m, struct nftnl_set *s)
{
	int r;

	if (!m->asleep)
		return 0;
	r = nft_build_ip_elem(s, m->ip, 0);
	return r < 0 ? r : 1;
}

/* An awake VM's address with the expiration its activity gives it (a rebuild). */
static int active_restore_elem(const struct nft *n, const struct mapping *m,
			       struct nftnl_set *s)
{
	uint64_t left = 0;
	int r;

	if (m->asleep)
		return 0;
	if (n->active_left)
		left = n->active_left(m, n->active_arg);
	if (left > NFT_ACTIVE_TIMEOUT_MS)
		left = NFT_ACTIVE_TIMEOUT_MS;
	r = nft_build_ip_elem(s, m->ip, left);
	return r < 0 ? r : 1;
}

/* A VM's address with the set's full timeout (the caller picked the mappings). */
static int active_fresh_elem(const struct nft *n, const struct mapping *m, struct nftnl_set *s)
{
	int r = nft_build_ip_elem(s, m->ip, 0);

	return r < 0 ? r : 1;
}

static const struct elem_kind kind_map = { map_ref, map_elem, NFT_ELEMS_PER_MSG };
static const struct elem_kind kind_ports = { nft_build_port_set_ref, port_elems,
					     NFT_PORT_MAPS_PER_MSG };
static const struct elem_kind kind_asleep = { asleep_ref, asleep_elem, NFT_ELEMS_PER_MSG };
static const struct elem_kind kind_active_restore = { active_ref, active_restore_elem,
						      NFT_ELEMS_PER_MSG };
static const struct elem_kind kind_active_fresh = { active_ref, active_fresh_elem,
						    NFT_ELEMS_PER_MSG };

/* The elements of MAPS in messages of K->per_msg mappings. A message that would carry
 * no element (no mapping in it names a port) is not sent: a DELSETELEM without elements
 * would flush the set. */
static void batch_elems(struct batch *bt, uint16_t type, const struct elem_kind *k,
			const struct mapping *maps, size_t n_maps)
{
	size_t i, j;

	for (i = 0; i < n_maps && !bt->err; i += k->per_msg) {
		struct nftnl_set *s = k->ref(&bt->n->p);
		size_t end = i + k->per_msg < n_maps ? i + k->per_msg : n_maps, added = 0;

		for (j = i; s && j < end; j++) {
			int r = k->build(bt->n, &maps[j], s);

			if (r < 0) {
				nftnl_set_free(s);
				s = NULL;
			} else {
				added += (size_t)r;
			}
		}
		if (s && added == 0) {
			nftnl_set_free(s);
			continue;
		}
		batch_set(bt, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, s, true);
	}
}

/* DELSETELEM without an element list flushes the set (libnftnl omits the list
 * attribute for a set without elements). */
static void batch_flush_set(struct batch *bt, const struct elem_kind *k)
{
	batch_set(bt, NFT_MSG_DELSETELEM, 0, bt->err ? NULL : k->ref(&bt->n->p), true);
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		nftnl_batch_free(bt->b);
	bt->b = NULL;
}

static struct nft_msgdesc *desc_for_seq(struct nft *n, uint32_t seq, size_t *idx)
{
	uint32_t i = seq - n->first_seq;

	if (i >= n->n_descs)
		return NULL;
	*idx = i;
	return &n->descs[i];
}

/* The kernel's extended-ACK text, if any (NLMSGERR_ATTR_MSG). */
static const char *ack_ext_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	unsigned off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* Without NETLINK_CAP_ACK the failed message's payload sits in between. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return NULL;
	mnl_attr_for_each(attr, nlh, off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

/* Reads ACKs until every message that asked for one is accounted for. The kernel runs
 * the batch inside sendmsg(), so they are normally all queued already. */
static int batch_read_acks(struct nft *n, size_t pending)
{
	int fd = mnl_socket_get_fd(n->nl), ret = 0;

	while (pending > 0) {
		ssize_t len = recv(fd, n->rxbuf, NFT_RXBUF_SIZE, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				if (!ret) {
					ret = -errno;
					nft_set_error(n, "reading batch ACKs: %s", strerror(errno));
				}
				break;
			}
			/* A failed batch may be answered by one error only (-ENOMEM on the
			 * batch header); after an error, what is missing will not come. */
			if (ret)
				break;
			if (poll(&pfd, 1, NFT_ACK_TIMEOUT_MS) <= 0) {
				ret = -ETIMEDOUT;
				nft_set_error(n, "no ACK for %zu batch messages", pending);
				break;
			}
			continue;
		}
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)n->rxbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;
			struct nft_msgdesc *d;
			size_t idx = 0;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			d = desc_for_seq(n, nlh->nlmsg_seq, &idx);
			if (d && d->want_ack && !d->acked) {
				d->acked = true;
				pending--;
			}
			if (e->error && !ret) {
				const char *ext = ack_ext_msg(nlh);

				ret = e->error < 0 ? e->error : -e->error;
				nft_set_error(n, "batch message %zu (%s): %s%s%s%s", idx,
					      d ? d->what : "?", strerror(-ret), ext ? " (" : "",
					      ext ? ext : "", ext ? ")" : "");
			}
		}
	}
	return ret;
}

/* Drops whatever a previous, abandoned exchange left in the socket. */
static void nft_drain(struct nft *n)
{
	int fd = mnl_socket_get_fd(n->nl);

	while (recv(fd, n->rxbuf, NFT_RXBUF_SIZE, MSG_DONTWAIT) > 0 || errno == EINTR)
		;
}

static int batch_send(struct batch *bt, const char *op)
{
	struct nft *n = bt->n;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct iovec *iov = NULL;
	struct msghdr msg = { 0 };
	size_t total = 0, pending = 0, i;
	int iovlen, ret;

	if (!bt->err) {
		nftnl_batch_end(nftnl_batch_buffer(bt->b), nft_next_seq(n));
		bt->err = batch_desc_add(bt, "BATCH_END", NULL, false);
		batch_next(bt);
	}
	if (bt->err) {
		ret = bt->err;
		nft_set_error(n, "%s: building batch: %s", op, strerror(-ret));
		goto out;
	}
	iovlen = nftnl_batch_iovec_len(bt->b);
	iov = calloc((size_t)iovlen, sizeof(*iov));
	if (!iov) {
		ret = -ENOMEM;
		goto out;
	}
	nftnl_batch_iovec(bt->b, iov, (uint32_t)iovlen);
	for (i = 0; i < (size_t)iovlen; i++)
		total += iov[i].iov_len;
	/* The whole batch is one skb: it must fit the send buffer. */
	if (total + 4096 > (size_t)n->sndbuf) {
		int want = (int)(total + 4096);

		if (nlsock_set_buf(mnl_socket_get_fd(n->nl), SO_SNDBUFFORCE, SO_SNDBUF, want) == 0)
			n->sndbuf = want;
	}
	for (i = 0; i < n->n_descs; i++)
		pending += n->descs[i].want_ack;

	nft_drain(n);
	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovlen;
	if (sendmsg(mnl_socket_get_fd(n->nl), &msg, 0) < 0) {
		ret = -errno;
		nft_set_error(n, "%s: sending %zu-byte batch: %s", op, total, strerror(errno));
		goto out;
	}
	ret = batch_read_acks(n, pending);
out:
	if (ret == -ENOENT)
		log_debug("nft %s: %s", op, n->err);
	else if (ret)
		log_warnx("nft %s: %s", op, n->err);
	free(iov);
	batch_free(bt);
	return ret;
}

/* --- the monitor's quiet window ------------------------------------------ */

static int nft_request(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

static int genid_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = nftnl_gen_alloc();
	uint32_t *gen = data;

	if (!g)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, g) == 0)
		*gen = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

/* The ruleset generation: the kernel bumps it once per committed batch. */
static int nft_get_genid(struct nft *n, uint32_t *gen)
{
	char buf[MNL_NLMSG_HDRLEN + 64];
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, nft_next_seq(n));
	return nft_request(n, nlh, genid_cb, gen);
}

/* Wakes the monitor: a no-op message from our main socket to the monitor socket makes
 * its fd readable and nft_monitor_read() report "check". */
static void mon_note(struct nft *n)
{
	struct nlmsghdr nlh = {
		.nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_NOOP, .nlmsg_pid = n->portid,
	};
	struct sockaddr_nl to = {
		.nl_family = AF_NETLINK, .nl_pid = mnl_socket_get_portid(n->mon),
	};

	n->mon_missed = true;
	if (sendto(mnl_socket_get_fd(n->nl), &nlh, sizeof(nlh), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		log_warn("nft monitor: waking the monitor");
}

/*
 * With anyone subscribed to nftables events the kernel builds one event per element,
 * which triples the cost of a 10k-element batch. Our own changes are not news, so
 * around bulk batches the monitor leaves the group; the generation count tells whether
 * anyone else committed in the meantime (then the monitor is woken to check).
 */
static bool mon_quiet_begin(struct nft *n, uint32_t *gen)
{
	unsigned group = NFNLGRP_NFTABLES;

	if (!n->mon || nft_get_genid(n, gen) < 0)
		return false;
	return mnl_socket_setsockopt(n->mon, NETLINK_DROP_MEMBERSHIP, &group, sizeof(group)) == 0;
}

static void mon_quiet_end(struct nft *n, uint32_t gen, bool committed)
{
	unsigned group = NFNLGRP_NFTABLES;
	uint32_t now = gen;

	if (mnl_socket_setsockopt(n->mon, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		log_warn("nft monitor: rejoining the nftables group");
		mon_note(n);
		return;
	}
	if (nft_get_genid(n, &now) < 0 || now != gen + (committed ? 1 : 0)) {
		log_debug("nft monitor: generation %u -> %u during our batch", gen, now);
		mon_note(n);
	}
}

/* --- operations --------------------------------------------------------- */

/* A size hint: the kernel then pre-sizes the hash table instead of growing it under
 * the first bulk load (halves nft_apply_full at 10k). It is also a hard limit, so it
 * leaves ample room for later puts; see nft_build_set_size(). */
static struct nftnl_set *sized(struct nftnl_set *s, size_t n_maps)
{
	if (s)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, nft_build_set_size(n_maps));
	return s;
}

/* A batch with many elements: sent inside the monitor's quiet window. */
static int batch_send_bulk(struct batch *bt, const char *op)
{
	struct nft *n = bt->n;
	uint32_t gen = 0;
	bool quiet = false;
	int ret;

	if (!bt->err)
		quiet = mon_quiet_begin(n, &gen);
	ret = batch_send(bt, op);
	if (quiet)
		mon_quiet_end(n, gen, ret == 0);
	return ret;
}

/* Mappings without a port get no port elements: their VM's frames are all dropped. */
static void log_portless(const char *op, const struct mapping *maps, size_t n_maps)
{
	size_t i, none = 0;

	for (i = 0; i < n_maps; i++)
		none += maps[i].port[0] == '\0';
	if (none)
		log_debug("nft %s: %zu of %zu mappings name no port: no anti-spoofing elements "
			  "for them (a VM on a %s* port gets nothing through)", op, none, n_maps,
			  MAPPING_TAP_PREFIX);
}

/* The bridge table from scratch (add, delete, add), its set, chain and rules. */
static void batch_bridge_table(struct batch *bt, size_t n_maps)
{
	struct nftnl_rule *rules[NFT_BUILD_MAX_BRIDGE_RULES];
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;
	int nr, j;

	batch_table(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, true);
	batch_table(bt, NFT_MSG_DELTABLE, 0, true);
	batch_table(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, true);
	batch_set(bt, NFT_MSG_NEWSET, NLM_F_CREATE,
		  bt->err ? NULL : sized(nft_build_port_set(&bt->n->p), n_maps * NFT_PORT_ELEMS),
		  false);
	if (bt->err)
		return;
	c = nft_build_bridge_chain(&bt->n->p);
	if (!c) {
		bt->err = -ENOMEM;
		return;
	}
	nlh = batch_hdr(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFPROTO_BRIDGE, NFT_BRIDGE_CHAIN);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		batch_next(bt);
	}
	nftnl_chain_free(c);
	if (bt->err)
		return;
	nr = nft_build_bridge_rules(&bt->n->p, rules, NFT_BUILD_MAX_BRIDGE_RULES);
	if (nr < 0) {
		bt->err = nr;
		return;
	}
	for (j = 0; j < nr; j++) {
		nlh = batch_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFPROTO_BRIDGE,
				NFT_BRIDGE_CHAIN);
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, rules[j]);
			batch_next(bt);
		}
		nftnl_rule_free(rules[j]);
	}
}

int nft_apply_full(struct nft *n, const struct mapping *maps, size_t n_maps)
{
	const char *chains[8];
	struct batch bt;
	size_t nc, i;

	batch_start(&bt, n, n_maps > 0);
	/* Add first so that the delete cannot fail; the second add starts empty. */
	batch_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, false);
	batch_table(&bt, NFT_MSG_DELTABLE, 0, false);
	batch_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, false);
	batch_set(&bt, NFT_MSG_NEWSET, NLM_F_CREATE, bt.err ? NULL : nft_build_publics_set(&n->p),
		  false);
	batch_set(&bt, NFT_MSG_NEWSET, NLM_F_CREATE,
		  bt.err ? NULL : sized(nft_build_map(&n->p), n_maps), false);
	batch_set(&bt, NFT_MSG_NEWSET, NLM_F_CREATE,
		  bt.err ? NULL : sized(nft_build_asleep_set(&n->p), n_maps), false);
	/* The dynamic sets refuse what the packet path would add beyond their size (the
	 * activity of a VM would then go unseen): one element per VM, sized as the map. */
	batch_set(&bt, NFT_MSG_NEWSET, NLM_F_CREATE,
		  bt.err ? NULL : sized(nft_build_active_set(&n->p), n_maps), false);
	batch_set(&bt, NFT_MSG_NEWSET, NLM_F_CREATE,
		  bt.err ? NULL : sized(nft_build_wake_limit_set(&n->p), n_maps), false);
	if (n->p.n_publics)
		batch_set(&bt, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
			  bt.err ? NULL : nft_build_publics_elems(&n->p), true);

	nc = nft_build_chain_names(&n->p, chains, sizeof(chains) / sizeof(chains[0]));
	for (i = 0; i < nc && !bt.err; i++) {
		struct nftnl_chain *c = nft_build_chain(&n->p, chains[i]);
		struct nlmsghdr *nlh;

		if (!c) {
			bt.err = -ENOMEM;
			break;
		}
		nlh = batch_hdr(&bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFPROTO_IPV4, chains[i]);
		if (nlh) {
			nftnl_chain_nlmsg_build_payload(nlh, c);
			batch_next(&bt);
		}
		nftnl_chain_free(c);
	}
	for (i = 0; i < nc && !bt.err; i++) {
		struct nftnl_rule *rules[NFT_BUILD_MAX_RULES];
		int nr = nft_build_rules(&n->p, chains[i], rules, NFT_BUILD_MAX_RULES), j;

		if (nr < 0) {
			bt.err = nr;
			break;
		}
		for (j = 0; j < nr; j++) {
			struct nlmsghdr *nlh = batch_hdr(&bt, NFT_MSG_NEWRULE,
							 NLM_F_CREATE | NLM_F_APPEND,
							 NFPROTO_IPV4, chains[i]);

			if (nlh) {
				nftnl_rule_nlmsg_build_payload(nlh, rules[j]);
				batch_next(&bt);
			}
			nftnl_rule_free(rules[j]);
		}
	}
	batch_bridge_table(&bt, n_maps);
	log_portless("apply", maps, n_maps);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_map, maps, n_maps);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_ports, maps, n_maps);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_asleep, maps, n_maps);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_active_restore, maps, n_maps);
	return batch_send_bulk(&bt, "apply");
}

/* A port identity (port . MAC . IP) of the old list, for nft_sync's delta. */
struct port_ent {
	uint8_t key[NFT_PORT_KEY_LEN];
	const struct mapping *m;
	bool kept;                   /* the new list has it too */
	UT_hash_handle hh;
};

/*
 * The port elements that change from OLD to MAPS: GONE gets the old mappings whose port
 * identity the new list does not have, ADDED the new mappings whose identity the old
 * list does not have (both new arrays, the caller frees them). Mappings without a port
 * have no elements and appear in neither.
 */
static int port_delta(const struct mapping *old, size_t n_old, const struct mapping *maps,
		      size_t n_maps, struct mapping **gone, size_t *n_gone,
		      struct mapping **added, size_t *n_added)
{
	struct port_ent *ents = NULL, *table = NULL, *e;
	uint8_t key[NFT_PORT_KEY_LEN];
	size_t i;
	int ret = -ENOMEM;

	*gone = *added = NULL;
	*n_gone = *n_added = 0;
	ents = calloc(n_old ? n_old : 1, sizeof(*ents));
	*gone = calloc(n_old ? n_old : 1, sizeof(**gone));
	*added = calloc(n_maps ? n_maps : 1, sizeof(**added));
	if (!ents || !*gone || !*added)
		goto out;
	for (i = 0; i < n_old; i++) {
		if (!old[i].port[0])
			continue;
		e = &ents[i];
		nft_encode_port_key(old[i].port, old[i].mac, old[i].ip, e->key);
		e->m = &old[i];
		/* uthash allocates its buckets here; on failure it exits (as in store.c) */
		HASH_ADD(hh, table, key, sizeof(e->key), e);
	}
	for (i = 0; i < n_maps; i++) {
		if (!maps[i].port[0])
			continue;
		nft_encode_port_key(maps[i].port, maps[i].mac, maps[i].ip, key);
		e = NULL;
		HASH_FIND(hh, table, key, sizeof(key), e);
		if (e)
			e->kept = true;
		else
			(*added)[(*n_added)++] = maps[i];
	}
	for (i = 0; i < n_old; i++)
		if (ents[i].m && !ents[i].kept)
			(*gone)[(*n_gone)++] = old[i];
	ret = 0;
out:
	HASH_CLEAR(hh, table);
	free(ents);
	if (ret < 0) {
		free(*gone);
		free(*added);
		*gone = *added = NULL;
	}
	return ret;
}

/* A student of the old list, for nft_sync's wake-up delta. */
struct student_ent {
	const struct mapping *m;
	UT_hash_handle hh;
};

/* The mappings of MAPS that wake up against OLD (mapping_wakes_up), in a new array
 * *WOKEN (the caller frees it). */
static int wake_delta(const struct mapping *old, size_t n_old, const struct mapping *maps,
		      size_t n_maps, struct mapping **woken, size_t *n_woken)
{
	struct student_ent *ents = NULL, *table = NULL, *e;
	size_t i;
	int ret = -ENOMEM;

	*n_woken = 0;
	ents = calloc(n_old ? n_old : 1, sizeof(*ents));
	*woken = calloc(n_maps ? n_maps : 1, sizeof(**woken));
	if (!ents || !*woken)
		goto out;
	for (i = 0; i < n_old; i++) {
		ents[i].m = &old[i];
		/* uthash allocates its buckets here; on failure it exits (as in store.c) */
		HASH_ADD_KEYPTR(hh, table, old[i].student, strlen(old[i].student), &ents[i]);
	}
	for (i = 0; i < n_maps; i++) {
		e = NULL;
		HASH_FIND(hh, table, maps[i].student, strlen(maps[i].student), e);
		if (mapping_wakes_up(e ? e->m : NULL, &maps[i]))
			(*woken)[(*n_woken)++] = maps[i];
	}
	ret = 0;
out:
	HASH_CLEAR(hh, table);
	free(ents);
	if (ret < 0) {
		free(*woken);
		*woken = NULL;
	}
	return ret;
}

/* Fresh activity elements for MAPS: add (so that the delete cannot fail), delete, add.
 * A plain add would leave an element that is already there with its old expiration
 * (kernels before 6.9 do not update an element's timeout on add). */
static void batch_active_fresh(struct batch *bt, const struct mapping *maps, size_t n)
{
	batch_elems(bt, NFT_MSG_NEWSETELEM, &kind_active_fresh, maps, n);
	batch_elems(bt, NFT_MSG_DELSETELEM, &kind_active_fresh, maps, n);
	batch_elems(bt, NFT_MSG_NEWSETELEM, &kind_active_fresh, maps, n);
}

int nft_sync(struct nft *n, const struct mapping *maps, size_t n_maps, const struct mapping *old,
	     size_t n_old)
{
	struct mapping *gone = NULL, *added = NULL, *woken = NULL;
	size_t n_gone = 0, n_added = 0, n_woken = 0;
	struct batch bt;
	int ret;

	log_portless("sync", maps, n_maps);
	ret = port_delta(old, n_old, maps, n_maps, &gone, &n_gone, &added, &n_added);
	if (ret == 0)
		ret = wake_delta(old, n_old, maps, n_maps, &woken, &n_woken);
	if (ret < 0) {
		nft_set_error(n, "sync: %s", strerror(-ret));
		goto out;
	}
	batch_start(&bt, n, n_maps > 0);
	batch_flush_set(&bt, &kind_map);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_map, maps, n_maps);
	batch_flush_set(&bt, &kind_asleep);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_asleep, maps, n_maps);
	/* Elements that are not in the kernel make the batch fail with -ENOENT, and the
	 * caller rebuilds both tables: a delta never hides a difference for long. */
	batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_ports, gone, n_gone);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_ports, added, n_added);
	batch_active_fresh(&bt, woken, n_woken);
	ret = batch_send_bulk(&bt, "sync");
out:
	free(gone);
	free(added);
	free(woken);
	return ret;
}

/* Same port elements: a put that only moves the public endpoint leaves them alone. */
static bool port_elems_equal(const struct mapping *a, const struct mapping *b)
{
	return strcmp(a->port, b->port) == 0 && memcmp(a->mac, b->mac, sizeof(a->mac)) == 0 &&
	       a->ip.s_addr == b->ip.s_addr;
}

int nft_put(struct nft *n, const struct mapping *old, const struct mapping *new_map)
{
	bool ports = !old || !port_elems_equal(old, new_map);
	struct batch bt;

	log_portless("put", new_map, 1);
	batch_start(&bt, n, false);
	if (old) {
		batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_map, old, 1);
		if (ports)
			batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_ports, old, 1);
	}
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_map, new_map, 1);
	if (ports)
		batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_ports, new_map, 1);
	/* asleep_elem adds nothing for an awake mapping: this deletes OLD's element only
	 * if it had one, and adds NEW's only if it sleeps. */
	if (old)
		batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_asleep, old, 1);
	batch_elems(&bt, NFT_MSG_NEWSETELEM, &kind_asleep, new_map, 1);
	if (mapping_wakes_up(old, new_map))
		batch_active_fresh(&bt, new_map, 1);
	return batch_send(&bt, "put");
}

int nft_del(struct nft *n, const struct mapping *m)
{
	struct batch bt;

	batch_start(&bt, n, false);
	batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_map, m, 1);
	batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_ports, m, 1);
	batch_elems(&bt, NFT_MSG_DELSETELEM, &kind_asleep, m, 1);
	return batch_send(&bt, "del");
}

int nft_teardown(struct nft *n)
{
	struct batch bt;

	batch_start(&bt, n, false);
	/* Add first so that the delete cannot fail when a table is already gone. */
	batch_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, false);
	batch_table(&bt, NFT_MSG_DELTABLE, 0, false);
	batch_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE, true);
	batch_table(&bt, NFT_MSG_DELTABLE, 0, true);
	return batch_send(&bt, "teardown");
}

/* --- queries ------------------------------------------------------------ */

/* Sends one request (not a batch) and runs CB on every reply until its ACK or the end
 * of the dump. Returns 0 or -errno (the kernel's error). */
static int nft_request(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	nft_drain(n);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->nl, n->rxbuf, NFT_RXBUF_SIZE);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(n->rxbuf, (size_t)len, seq, n->portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/* GETTABLE of one of our tables or GETSET of its set: 0, -ENOENT, or another -errno. */
static int nft_get_object(struct nft *n, uint16_t type, bool bridge)
{
	char buf[512];
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, type, bridge ? NFPROTO_BRIDGE : NFPROTO_IPV4,
				    NLM_F_ACK, nft_next_seq(n));
	if (type == NFT_MSG_GETTABLE) {
		struct nftnl_table *t = bridge ? nft_build_bridge_table(&n->p)
					       : nft_build_table(&n->p);

		if (!t)
			return -ENOMEM;
		nftnl_table_nlmsg_build_payload(nlh, t);
		nftnl_table_free(t);
	} else {
		struct nftnl_set *s = bridge ? nft_build_port_set_ref(&n->p)
					     : nft_build_set_ref(&n->p, NFT_MAP_NAME);

		if (!s)
			return -ENOMEM;
		nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	}
	return nft_request(n, nlh, NULL, NULL);
}

int nft_table_exists(struct nft *n)
{
	int ret = nft_get_object(n, NFT_MSG_GETTABLE, false);

	/* Either table gone means rebuild: without the bridge table the ports are open. */
	if (ret == 0)
		ret = nft_get_object(n, NFT_MSG_GETSET, false);
	if (ret == 0)
		ret = nft_get_object(n, NFT_MSG_GETTABLE, true);
	if (ret == 0)
		ret = nft_get_object(n, NFT_MSG_GETSET, true);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		nft_set_error(n, "looking up table %s: %s", n->table, strerror(-ret));
		log_warnx("nft: %s", n->err);
		return ret;
	}
	return 1;
}

static int count_elems_cb(const struct nlmsghdr *nlh, void *data)
{
	size_t *count = data;
	const struct nlattr *attr, *elem;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(elem, attr)
			(*count)++;
	}
	return MNL_CB_OK;
}

/* Dumps the elements of our set NAME, running CB on every reply message. */
static int set_elems_dump(struct nft *n, const char *name, mnl_cb_t cb, void *data)
{
	char buf[512];
	struct nlmsghdr *nlh;
	struct nftnl_set *s = nft_build_set_ref(&n->p, name);
	int ret;

	if (!s)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_IPV4, NLM_F_DUMP,
				    nft_next_seq(n));
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	ret = nft_request(n, nlh, cb, data);
	if (ret < 0)
		nft_set_error(n, "dumping %s: %s", name, strerror(-ret));
	return ret;
}

int nft_map_count(struct nft *n)
{
	size_t count = 0;
	int ret = set_elems_dump(n, NFT_MAP_NAME, count_elems_cb, &count);

	if (ret < 0)
		return ret;
	return count > (size_t)INT32_MAX ? INT32_MAX : (int)count;
}

struct active_dump {
	nft_active_cb cb;
	void *arg;
};

static void active_dump_elem(const struct nft_active_elem *e, void *arg)
{
	struct active_dump *ad = arg;

	ad->cb(e->ip, e->expires_ms, e->timeout_ms ? e->timeout_ms : NFT_ACTIVE_TIMEOUT_MS,
	       ad->arg);
}

static int active_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	nft_parse_active_elems(nlh, active_dump_elem, data);
	return MNL_CB_OK;
}

int nft_active_dump(struct nft *n, nft_active_cb cb, void *arg)
{
	struct active_dump ad = { cb, arg };

	return set_elems_dump(n, NFT_ACTIVE_NAME, active_dump_cb, &ad);
}

/* --- monitor ------------------------------------------------------------ */

int nft_monitor_open(struct nft *n)
{
	unsigned group = NFNLGRP_NFTABLES;
	int ret;

	if (n->mon)
		return 0;
	n->mon = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!n->mon) {
		ret = -errno;
		log_warn("nft monitor: netlink socket");
		return ret;
	}
	if (mnl_socket_bind(n->mon, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(n->mon, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		ret = -errno;
		log_warn("nft monitor: subscribing to nftables events");
		mnl_socket_close(n->mon);
		n->mon = NULL;
		return ret;
	}
	if (nlsock_set_buf(mnl_socket_get_fd(n->mon), SO_RCVBUFFORCE, SO_RCVBUF, NFT_MON_RCVBUF) < 0)
		log_warn("nft monitor: receive buffer");
	return 0;
}

int nft_monitor_fd(const struct nft *n)
{
	return n->mon ? mnl_socket_get_fd(n->mon) : -1;
}

/* The table name and family an event is about, parsed by libnftnl; 1 if it is ours. */
static int event_is_ours(const struct nft *n, const struct nlmsghdr *nlh, uint16_t cmd)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const char *table = NULL;
	int ours = 0;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) ||
	    (g->nfgen_family != NFPROTO_IPV4 && g->nfgen_family != NFPROTO_BRIDGE))
		return 0;
	switch (cmd) {
	case NFT_MSG_DELTABLE: {
		struct nftnl_table *t = nftnl_table_alloc();

		if (t && nftnl_table_nlmsg_parse(nlh, t) == 0) {
			table = nftnl_table_get_str(t, NFTNL_TABLE_NAME);
			ours = table && strcmp(table, n->table) == 0;
		}
		if (t)
			nftnl_table_free(t);
		break;
	}
	case NFT_MSG_DELSET: {
		struct nftnl_set *s = nftnl_set_alloc();

		if (s && nftnl_set_nlmsg_parse(nlh, s) == 0) {
			table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
			ours = table && strcmp(table, n->table) == 0;
		}
		if (s)
			nftnl_set_free(s);
		break;
	}
	case NFT_MSG_DELCHAIN: {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (c && nftnl_chain_nlmsg_parse(nlh, c) == 0) {
			table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
			ours = table && strcmp(table, n->table) == 0;
		}
		if (c)
			nftnl_chain_free(c);
		break;
	}
	case NFT_MSG_DELRULE: {
		struct nftnl_rule *r = nftnl_rule_alloc();

		if (r && nftnl_rule_nlmsg_parse(nlh, r) == 0) {
			table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
			ours = table && strcmp(table, n->table) == 0;
		}
		if (r)
			nftnl_rule_free(r);
		break;
	}
	default:
		break;
	}
	return ours;
}

struct mon_read {
	struct nft *n;
	int hit;
};

static void mon_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct mon_read *r = arg;
	uint16_t cmd;

	if (nlh->nlmsg_type == NLMSG_NOOP) {
		r->hit = 1; /* mon_note(): check */
		return;
	}
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return;
	/* Our own batches (apply_full deletes the table) are not news. */
	if (nlh->nlmsg_pid == r->n->portid)
		return;
	cmd = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (cmd != NFT_MSG_DELTABLE && cmd != NFT_MSG_DELSET &&
	    cmd != NFT_MSG_DELCHAIN && cmd != NFT_MSG_DELRULE)
		return;
	if (event_is_ours(r->n, nlh, cmd)) {
		log_debug("nft monitor: table %s changed under us (event %u)", r->n->table, cmd);
		r->hit = 1;
	}
}

int nft_monitor_read(struct nft *n)
{
	struct mon_read r = { n, 0 };
	bool lost = false;
	int ret;

	if (!n->mon)
		return -EBADF;
	ret = nlsock_drain(mnl_socket_get_fd(n->mon), n->rxbuf, NFT_RXBUF_SIZE, mon_msg, &r,
			   &lost);
	if (ret < 0)
		return ret;
	if (n->mon_missed) {
		n->mon_missed = false;
		r.hit = 1;
	}
	/* Events were dropped: we cannot know what happened. */
	if (lost)
		return -ENOBUFS;
	return r.hit;
}
