#include "common/outbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/proto.h"

int outbuf_flush(struct outbuf *o, int fd)
{
	while (o->buf && o->off < o->len) {
		ssize_t w = send(fd, o->buf + o->off, o->len - o->off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0)
			return -errno;
		o->off += (size_t)w;
	}
	outbuf_free(o);
	return 0;
}

int outbuf_queue(struct outbuf *o, int fd, json_object *msg)
{
	size_t len;
	char *s = proto_serialize(msg, &len);

	if (!s)
		return -ENOMEM;
	if (o->buf) {
		char *grown = realloc(o->buf, o->len + len);

		if (!grown) {
			free(s);
			return -ENOMEM;
		}
		memcpy(grown + o->len, s, len);
		o->buf = grown;
		o->len += len;
		free(s);
	} else {
		o->buf = s;
		o->len = len;
		o->off = 0;
	}
	return outbuf_flush(o, fd);
}

void outbuf_free(struct outbuf *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->off = 0;
}
