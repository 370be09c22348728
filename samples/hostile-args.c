// hostile-args: huge argv and paths (issue 13, hostile-guest suite). It
// execs itself with 1 MiB of arguments (4,096 of 255 bytes each), and the
// child opens and stats 64 KiB paths (refused by the kernel with
// ENAMETOOLONG, but the tracer reads them). Harmless.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    size_t n = 64 << 10;
    char *path = malloc(n + 1);
    path[0] = '/';
    memset(path + 1, 'p', n - 1);
    path[n] = 0;
    int refused = 0;
    for (int i = 0; i < 16; i++) {
      path[1] = (char)('a' + i);
      struct stat st;
      if (open(path, O_RDONLY) < 0 && errno == ENAMETOOLONG) refused++;
      stat(path, &st);
    }
    printf("hostile-args: child with %d args; %d 64 KiB opens refused\n", argc, refused);
    return 0;
  }
  int n = 4096;
  char **av = calloc((size_t)n + 3, sizeof *av);
  av[0] = argv[0];
  av[1] = "child";
  for (int i = 0; i < n; i++) {
    av[i + 2] = malloc(256);
    memset(av[i + 2], 'A' + i % 26, 255);
    av[i + 2][255] = 0;
  }
  execv("/proc/self/exe", av);
  printf("hostile-args: execv: %s\n", strerror(errno));
  return 1;
}
