/*
 * Test stand-in for a VM's SSH server: listens on PORT, greets each connection with
 * "NAME\n", then echoes what it receives. One child per connection.
 * With --peer the greeting is "NAME from PEER_IP" (shows masquerading).
 * usage: tcpecho PORT NAME [--peer]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void serve(int fd, const char *name, int peer)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char buf[4096], ip[INET_ADDRSTRLEN] = "?";
	ssize_t r;

	if (peer && getpeername(fd, (struct sockaddr *)&sa, &len) == 0)
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	if ((peer ? dprintf(fd, "%s from %s\n", name, ip) : dprintf(fd, "%s\n", name)) < 0)
		_exit(1);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)r) != r)
			break;
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	int lfd, one = 1;

	int peer = argc == 4 && strcmp(argv[3], "--peer") == 0;

	if (argc != 3 && !peer) {
		fprintf(stderr, "usage: tcpecho PORT NAME [--peer]\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	signal(SIGCHLD, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
		perror("tcpecho: listen");
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpecho: accept");
			return 1;
		}
		switch (fork()) {
		case 0:
			close(lfd);
			serve(fd, argv[2], peer);
			break;
		case -1:
			perror("tcpecho: fork");
			break;
		}
		close(fd);
	}
}
