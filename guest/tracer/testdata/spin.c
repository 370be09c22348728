// spin: burns CPU for argv[1] milliseconds without making system calls.
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
	long ms = argc > 1 ? atol(argv[1]) : 300;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0); /* vDSO: no syscall */
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms) return 0;
	}
}
