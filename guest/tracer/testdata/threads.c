// threads: starts 3 threads that each make a few calls, then joins them.
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *work(void *arg) {
	(void)arg;
	for (int i = 0; i < 3; i++) syscall(SYS_getpid);
	return NULL;
}

int main(void) {
	pthread_t t[3];
	for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, work, NULL);
	for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
	return 0;
}
