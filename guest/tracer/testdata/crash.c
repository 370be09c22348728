// crash: writes through a null pointer.
#include <unistd.h>
int main(void) {
	volatile int *p = 0;
	getpid();
	*p = 1;
	return 0;
}
