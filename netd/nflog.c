/*
 * netd's NFLOG listener (netd/nflog.h): bind a group, set the copy mode, read packets.
 * Each configuration message asks for an ACK, so a refusal (the group is someone
 * else's) is reported where it happens.
 */
#include "netd/nflog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>

#include "common/log.h"
#include "netd/nlsock.h"

/* A burst of wake packets is small (the rule's meter lets 4 a second through per VM),
 * but a whole class connecting at 9:00 is a few hundred at once. */
#define NFLOG_RCVBUF (1u << 20)
#define NFLOG_RXBUF (64u << 10)

struct nflog {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint16_t group;
	char *rxbuf;
};

/* A config message for our group with one attribute. */
static struct nlmsghdr *config_msg(struct nflog *l, char *buf, uint16_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++l->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(l->group);
	return nlh;
}

/* Sends NLH and reads its ACK: 0 or the kernel's -errno. */
static int config_talk(struct nflog *l, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t len;
	int ret;

	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(l->nl, buf, sizeof(buf));
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(buf, (size_t)len, seq, l->portid, NULL, NULL);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int nflog_configure(struct nflog *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(0xffff), .copy_mode = NFULNL_COPY_PACKET,
	};
	struct nlmsghdr *nlh;
	int ret;

	nlh = config_msg(l, buf, AF_UNSPEC);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	ret = config_talk(l, nlh);
	if (ret < 0) {
		if (ret == -EBUSY)
			log_warnx("NFLOG group %u is held by another process in this network "
				  "namespace (ulogd?): choose another with netd.log_group",
				  l->group);
		else
			log_warnx("NFLOG group %u: cannot bind it: %s", l->group, strerror(-ret));
		return ret;
	}
	/* The whole packet up to the rule's snaplen; one message per packet, sent at once
	 * (the default waits for 100 of them or a second). */
	nlh = config_msg(l, buf, AF_UNSPEC);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(0));
	ret = config_talk(l, nlh);
	if (ret < 0)
		log_warnx("NFLOG group %u: cannot set the copy mode: %s", l->group, strerror(-ret));
	return ret;
}

int nflog_open(struct nflog **out, uint16_t group)
{
	struct nflog *l;
	int ret = -ENOMEM;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->group = group;
	l->rxbuf = malloc(NFLOG_RXBUF);
	if (!l->rxbuf)
		goto out;
	l->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!l->nl || mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		log_warn("NFLOG: netlink socket");
		goto out;
	}
	l->portid = mnl_socket_get_portid(l->nl);
	if (nlsock_set_buf(mnl_socket_get_fd(l->nl), SO_RCVBUFFORCE, SO_RCVBUF, NFLOG_RCVBUF) < 0)
		log_warn("NFLOG: receive buffer");
	ret = nflog_configure(l);
	if (ret < 0)
		goto out;
	*out = l;
	l = NULL;
	ret = 0;
out:
	nflog_close(l);
	return ret;
}

void nflog_close(struct nflog *l)
{
	if (!l)
		return;
	/* Closing the socket unbinds the group (the kernel frees the instance). */
	if (l->nl)
		mnl_socket_close(l->nl);
	free(l->rxbuf);
	free(l);
}

int nflog_fd(const struct nflog *l)
{
	return l ? mnl_socket_get_fd(l->nl) : -1;
}

struct log_read {
	void (*cb)(const struct nflog_packet *p, void *arg);
	void *arg;
	int n;
};

static void log_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct log_read *r = arg;
	struct nflog_packet p;

	if (nflog_parse_message(nlh, &p) <= 0)
		return;
	r->cb(&p, r->arg);
	r->n++;
}

int nflog_read(struct nflog *l, void (*cb)(const struct nflog_packet *p, void *arg), void *arg,
	       unsigned *lost)
{
	struct log_read r = { cb, arg, 0 };
	bool dropped = false;
	int ret;

	ret = nlsock_drain(mnl_socket_get_fd(l->nl), l->rxbuf, NFLOG_RXBUF, log_msg, &r, &dropped);
	/* The kernel dropped messages (the buffer was full); the socket goes on working. */
	if (dropped)
		(*lost)++;
	return ret < 0 ? ret : r.n;
}
