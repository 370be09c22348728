// execthread: a non-leader thread calls execve(argv[1]); the process's tid
// changes to the leader's.
#include <pthread.h>
#include <unistd.h>

static char **args;

static void *run(void *arg) {
	(void)arg;
	execv(args[1], &args[1]);
	return NULL;
}

int main(int argc, char **argv) {
	pthread_t t;
	if (argc < 2) return 2;
	args = argv;
	pthread_create(&t, NULL, run, NULL);
	for (;;) pause();
}
