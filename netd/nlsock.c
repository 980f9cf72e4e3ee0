/* netd's netlink listeners' shared reading (netd/nlsock.h). */
#include "netd/nlsock.h"

#include <errno.h>
#include <sys/socket.h>

int nlsock_set_buf(int fd, int force_opt, int opt, int size)
{
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size)) == 0)
		return 0;
	return -errno;
}

int nlsock_drain(int fd, char *buf, size_t size,
		 void (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg, bool *lost)
{
	for (;;) {
		ssize_t len = recv(fd, buf, size, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				*lost = true;
				continue;
			}
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		if (len == 0)
			return 0;
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)buf; nlsock_msg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left))
			cb(nlh, arg);
	}
}
