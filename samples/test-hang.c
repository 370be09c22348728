/*
 * test-hang: a harmless test program for the ScaleMalNet sandbox.
 * Imitates malware that never terminates (e.g. a dormant implant): it
 * sleeps in a loop forever, printing a tick each second, so the sandbox's
 * timeout and kill path can be tested.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	for (unsigned long i = 1;; i++) {
		sleep(1);
		printf("tick %lu\n", i);
		fflush(stdout);
	}
}
