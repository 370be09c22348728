/* Harmless test program: a dynamically linked i386 (32-bit) program. Opens
 * /etc/hostname, writes a file and runs /bin/true through execve, so the
 * trace shows i386 calls with paths and argv. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	int fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0)
		close(fd);
	FILE *o = fopen("/tmp/i386-hello.txt", "w");
	if (o) {
		fputs("i386\n", o);
		fclose(o);
	}
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"true", "from-i386", 0};
		execv("/bin/true", argv);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("i386-hello: child exited %d\n", WEXITSTATUS(st));
	return 0;
}
