/*
 * test-netcheck: a harmless test program for the ScaleMalNet sandbox.
 * Checks what network the guest gives a sample: lists the interfaces in
 * /sys/class/net, then makes one TCP connection to IP:PORT (default
 * 10.0.2.2:9, the host's loopback as seen from QEMU user-mode networking),
 * sends one line and prints the first line the peer answers. It never
 * listens and sends nothing but that line.
 *
 *   test-netcheck [IP [PORT]]
 *
 * Prints "interfaces: eth0 lo" (sorted), then "connect IP:PORT: ok" and
 * "received: ..." or "connect IP:PORT: failed: ENETUNREACH (...)".
 * Exit status: 0 when the connection was made, 3 when it failed, 2 on bad
 * arguments.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_interfaces(void)
{
	char *names[64];
	int n = 0;
	DIR *d = opendir("/sys/class/net");
	if (d == NULL) {
		perror("opendir /sys/class/net");
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 64) {
		if (e->d_name[0] == '.')
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp);
	printf("interfaces:");
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

static const char *errname(int e)
{
	switch (e) {
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINPROGRESS: return "EINPROGRESS";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	default: return "errno";
	}
}

int main(int argc, char **argv)
{
	const char *ip = argc > 1 ? argv[1] : "10.0.2.2";
	int port = argc > 2 ? atoi(argv[2]) : 9;
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
		fprintf(stderr, "usage: test-netcheck [IPv4 [PORT]]\n");
		return 2;
	}

	list_interfaces();

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 3;
	}
	/* A blocking connect bounded by SO_SNDTIMEO: no hang without a peer. */
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int e = errno;
		printf("connect %s:%d: failed: %s (%s)\n", ip, port, errname(e), strerror(e));
		close(fd);
		return 3;
	}
	printf("connect %s:%d: ok\n", ip, port);
	static const char hello[] = "hello from test-netcheck\n";
	if (write(fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1))
		perror("write");
	char buf[256];
	size_t used = 0;
	ssize_t r;
	while (used < sizeof buf - 1 && (r = read(fd, buf + used, sizeof buf - 1 - used)) > 0) {
		used += r;
		if (memchr(buf, '\n', used) != NULL)
			break;
	}
	buf[used] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	printf("received: %s\n", buf);
	close(fd);
	return 0;
}
