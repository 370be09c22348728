/*
 * fork-exec: a harmless test program for the ScaleMalNet sandbox.
 * Imitates no attack: it exercises process-tree tracking. It forks; the
 * child execs /bin/sh -c "echo child; id" and the parent waits and prints
 * the child's exit status.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo child; id", (char *)NULL);
		perror("execl /bin/sh");
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	if (WIFEXITED(status))
		printf("fork-exec: child %d exited with status %d\n", (int)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("fork-exec: child %d killed by signal %d\n", (int)pid, WTERMSIG(status));
	return 0;
}
