/*
 * test-bruteforce: a harmless test program for the ScaleMalNet sandbox.
 * Imitates the FHIDS/ADFA-LD "hydra" brute-force attack on a login service.
 * A forked child plays a fake login service on 127.0.0.1:2222: it accepts
 * connections one after another, reads "user:password\n" and answers
 * "DENIED\n". The parent tries 40 username/password pairs, each over a new
 * TCP connection, then stops the child. Only the loopback address is used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 2222

static const char *users[] = {"root", "admin", "user", "test", "guest"};
static const char *passwords[] = {"123456", "password", "admin", "root",
				  "qwerty", "letmein", "toor", "changeme"};

static struct sockaddr_in loopback(void)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(PORT);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
	return a;
}

static void serve(int lfd)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		char buf[256];
		ssize_t n = read(c, buf, sizeof buf - 1); /* one line per try */
		if (n > 0 && write(c, "DENIED\n", 7) != 7) {
			/* client gone: nothing to do */
		}
		close(c);
	}
}

int main(void)
{
	struct sockaddr_in addr = loopback();
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 16) < 0) {
		perror("fake login service on 127.0.0.1:2222");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		serve(lfd);
		_exit(0);
	}
	close(lfd);

	int tries = 0, denied = 0;
	for (size_t u = 0; u < sizeof users / sizeof *users; u++) {
		for (size_t p = 0; p < sizeof passwords / sizeof *passwords; p++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			if (s < 0) {
				perror("socket");
				break;
			}
			tries++;
			if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0) {
				char line[128], reply[64];
				int len = snprintf(line, sizeof line, "%s:%s\n", users[u], passwords[p]);
				if (write(s, line, len) == len) {
					ssize_t n = read(s, reply, sizeof reply - 1);
					if (n > 0) {
						reply[n] = '\0';
						denied += strcmp(reply, "DENIED\n") == 0;
					}
				}
			}
			close(s);
		}
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	printf("test-bruteforce: %d tries, %d denied\n", tries, denied);
	return 0;
}
