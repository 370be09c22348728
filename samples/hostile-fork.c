// hostile-fork: forks 10,000 children, each exiting at once, reaping them as
// it goes (issue 13, hostile-guest suite). Harmless; under the tracer it is
// stopped by the job's timeout long before it finishes.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int made = 0, failed = 0;
  for (int i = 0; i < 10000; i++) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) {
      failed++;
      continue;
    }
    made++;
    waitpid(p, NULL, 0);
  }
  printf("hostile-fork: %d children, %d forks failed\n", made, failed);
  return 0;
}
