// workload: argv[1] iterations of getpid, open("/dev/null"), close: the
// syscall-heavy benchmark workload (3 calls per iteration).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000;
	for (long i = 0; i < n; i++) {
		syscall(SYS_getpid);
		int fd = open("/dev/null", O_RDONLY);
		close(fd);
	}
	return 0;
}
