// files: file and network calls with known arguments.
// usage: files <dir> <closed-port>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
	char a[4096], b[4096];
	if (argc < 3) return 2;
	snprintf(a, sizeof a, "%s/a.txt", argv[1]);
	snprintf(b, sizeof b, "%s/b.txt", argv[1]);
	int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) return 3;
	write(fd, "hello", 5);
	close(fd);
	rename(a, b);
	struct stat st;
	stat(b, &st);
	unlink(b);
	open("/nonexistent/zzz", O_RDONLY);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons(atoi(argv[2]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(s, (struct sockaddr *)&sin, sizeof sin);
	close(s);

	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {0};
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/nonexistent/sock");
	connect(u, (struct sockaddr *)&sun, sizeof sun);
	close(u);
	printf("done\n");
	return 7;
}
