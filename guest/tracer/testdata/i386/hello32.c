/* An i386 test program for the tracer: opens a file, then execs
 * /bin/true with a two-entry argv (32-bit pointers). */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
	int fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0)
		close(fd);
	char *argv[] = {"true", "-c", 0};
	execv("/bin/true", argv);
	return 1;
}
