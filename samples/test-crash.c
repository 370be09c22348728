/*
 * test-crash: a harmless test program for the ScaleMalNet sandbox.
 * Imitates a crashing sample (e.g. a broken exploit): it writes through a
 * NULL pointer and dies of SIGSEGV, so the sandbox's crash reporting can be
 * tested.
 */
#include <stdio.h>

int main(void)
{
	volatile int *volatile p = NULL;
	printf("test-crash: dereferencing NULL\n");
	fflush(stdout);
	*p = 42;
	return 0;
}
