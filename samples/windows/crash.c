/* crash: a PE that crashes, for bad-input tests. It calls an address where
 * nothing is mapped, so Windows (and Wine) raise an access violation that
 * nothing handles. Expect an unhandled exception c0000005 and a nonzero
 * exit, never output after the first line.
 */
#include <windows.h>
#include <stdio.h>

int main(void)
{
	printf("crash: calling an invalid address\n");
	fflush(stdout);
	void (*volatile bad)(void) = (void (*)(void))(ULONG_PTR)0x10;
	bad();
	printf("crash: still alive?\n");
	return 0;
}
