// hostile-port: a sample that attacks the host through the agent's own
// virtio-serial port (issue 13, hostile-guest suite). It is harmless to the
// guest; it is meant to make the host's decoding fail cleanly.
//
// The agent opens its port with O_CLOEXEC, and a virtio-serial port has one
// opener at a time (a second open is EBUSY), so the sample takes a copy of
// the agent's descriptor with pidfd_getfd(2), as root in the guest can. Then,
// by argv[1]:
//   parts     a window-part flood: valid frames of window 0, "last": false,
//             each ~900 KB of {} events (up to 64 MiB in all)
//   oversize  a frame header announcing a 4 GiB payload, then garbage
//   garbage   4 MiB of pseudo-random bytes
//   error     an Error frame of 1 MiB of terminal escape sequences
// It prints what it did; if it cannot reach the port it says so and exits 3.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static uint32_t crctab[256];

static void crcinit(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crctab[i] = c;
  }
}

static uint32_t crc32c(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = crctab[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static int writeall(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void header(unsigned char h[12], int type, uint32_t len, uint32_t crc) {
  h[0] = 'S'; h[1] = 'M'; h[2] = 1; h[3] = (unsigned char)type;
  h[4] = len >> 24; h[5] = len >> 16; h[6] = len >> 8; h[7] = len;
  h[8] = crc >> 24; h[9] = crc >> 16; h[10] = crc >> 8; h[11] = crc;
}

static int frame(int fd, int type, const unsigned char *payload, uint32_t len) {
  unsigned char h[12];
  header(h, type, len, crc32c(payload, len));
  if (writeall(fd, h, sizeof h) < 0) return -1;
  return writeall(fd, payload, len);
}

// portfd finds the agent's open port and returns a copy of its descriptor.
static int portfd(char *which, size_t whichlen) {
  int direct = -1;
  DIR *dev = opendir("/dev");
  struct dirent *de;
  while (dev && (de = readdir(dev))) {
    if (strncmp(de->d_name, "vport", 5) == 0) {
      char p[300];
      snprintf(p, sizeof p, "/dev/%s", de->d_name);
      direct = open(p, O_RDWR | O_NONBLOCK);
      printf("hostile-port: open %s directly: %s\n", p, direct < 0 ? strerror(errno) : "ok");
      if (direct >= 0) {
        snprintf(which, whichlen, "%s (opened directly)", p);
        closedir(dev);
        return direct;
      }
    }
  }
  if (dev) closedir(dev);
  DIR *procs = opendir("/proc");
  while (procs && (de = readdir(procs))) {
    int pid = atoi(de->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    char fddir[64];
    snprintf(fddir, sizeof fddir, "/proc/%d/fd", pid);
    DIR *fds = opendir(fddir);
    struct dirent *fe;
    while (fds && (fe = readdir(fds))) {
      char lp[400], target[256];
      snprintf(lp, sizeof lp, "%s/%s", fddir, fe->d_name);
      ssize_t n = readlink(lp, target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (strncmp(target, "/dev/vport", 10) != 0) continue;
      int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
      if (pidfd < 0) {
        printf("hostile-port: pidfd_open %d: %s\n", pid, strerror(errno));
        continue;
      }
      int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(fe->d_name), 0);
      if (fd < 0) {
        printf("hostile-port: pidfd_getfd %d/%s: %s\n", pid, fe->d_name, strerror(errno));
        continue;
      }
      snprintf(which, whichlen, "%.255s (fd %.32s of pid %d)", target, fe->d_name, pid);
      closedir(fds);
      closedir(procs);
      return fd;
    }
    if (fds) closedir(fds);
  }
  if (procs) closedir(procs);
  return -1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "parts";
  crcinit();
  char which[800] = "";
  int fd = portfd(which, sizeof which);
  if (fd < 0) {
    printf("hostile-port: could not reach the agent's port\n");
    return 3;
  }
  printf("hostile-port: %s: writing to %s\n", mode, which);
  fflush(stdout);
  int rc = 0;
  if (strcmp(mode, "parts") == 0) {
    const char *pre = "{\"index\":0,\"start\":0,\"end\":1000000000,\"events\":[";
    const char *post = "],\"last\":false}";
    size_t n = 300000; // "{}," x n
    size_t len = strlen(pre) + 3 * n - 1 + strlen(post);
    unsigned char *p = malloc(len);
    size_t o = strlen(pre);
    memcpy(p, pre, o);
    for (size_t i = 0; i < n; i++) {
      memcpy(p + o, "{},", 3);
      o += 3;
    }
    o--; // the last comma
    memcpy(p + o, post, strlen(post));
    for (int i = 0; i < 72 && rc == 0; i++) rc = frame(fd, 9, p, (uint32_t)len);
  } else if (strcmp(mode, "oversize") == 0) {
    unsigned char h[12];
    header(h, 9, 0xFFFFFFF0u, 0);
    rc = writeall(fd, h, sizeof h);
    static unsigned char junk[1 << 20];
    memset(junk, 'A', sizeof junk);
    if (rc == 0) rc = writeall(fd, junk, sizeof junk);
  } else if (strcmp(mode, "garbage") == 0) {
    static unsigned char junk[1 << 16];
    uint32_t x = 2463534242u;
    for (int k = 0; k < 64 && rc == 0; k++) {
      for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        junk[i] = (unsigned char)x;
      }
      rc = writeall(fd, junk, sizeof junk);
    }
  } else if (strcmp(mode, "error") == 0) {
    const char *pre = "{\"message\":\"";
    const char *unit = "\\u001b[2J\\u001b]0;owned\\u0007\\r";
    size_t ulen = strlen(unit), reps = (1000000 - 32) / ulen;
    size_t len = strlen(pre) + reps * ulen + 2;
    unsigned char *p = malloc(len);
    size_t o = strlen(pre);
    memcpy(p, pre, o);
    for (size_t i = 0; i < reps; i++, o += ulen) memcpy(p + o, unit, ulen);
    memcpy(p + o, "\"}", 2);
    rc = frame(fd, 11, p, (uint32_t)len);
  } else {
    printf("hostile-port: unknown mode %s\n", mode);
    return 2;
  }
  printf("hostile-port: %s: %s\n", mode, rc == 0 ? "written" : strerror(errno));
  sleep(5);
  return 0;
}
