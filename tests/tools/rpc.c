/*
 * Test client for the control sockets: sends stdin (JSON lines) to the unix socket,
 * half-closes, prints everything the daemon answers. Bounded by a 60 s alarm.
 * usage: rpc SOCKET < requests
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	ssize_t r;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: rpc SOCKET < requests\n");
		return 2;
	}
	alarm(60);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("rpc: connect");
		return 1;
	}
	while ((r = read(0, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < r;) {
			ssize_t w = send(fd, buf + off, (size_t)(r - off), MSG_NOSIGNAL);

			if (w < 0) {
				/* The daemon may refuse and close early: show what it said. */
				perror("rpc: send");
				goto reply;
			}
			off += w;
		}
	}
	shutdown(fd, SHUT_WR);
reply:
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
			return 1;
	return r < 0 ? 1 : 0;
}
