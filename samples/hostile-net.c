// hostile-net: tries to reach the host from the guest (issue 13,
// hostile-guest suite): TCP to 10.0.2.2 (slirp's host address) on the
// API's default port and on 22, and to 127.0.0.1:7433 (the guest's own
// loopback: the host's API port must not be there). Each attempt has a
// 2 s limit; the sample prints what each gave. In a slot without network
// there is no route, so nothing leaves the guest.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *try(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s < 0) return strerror(errno);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  const char *res = "connected";
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    if (errno != EINPROGRESS) {
      res = strerror(errno);
    } else {
      struct pollfd p = {.fd = s, .events = POLLOUT};
      if (poll(&p, 1, 2000) <= 0) {
        res = "timed out";
      } else {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
        res = err ? strerror(err) : "connected";
      }
    }
  }
  close(s);
  return res;
}

int main(void) {
  const struct { const char *ip; int port; } t[] = {{"10.0.2.2", 7433}, {"10.0.2.2", 22}, {"127.0.0.1", 7433}};
  int reached = 0;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    const char *r = try(t[i].ip, t[i].port);
    printf("hostile-net: %s:%d: %s\n", t[i].ip, t[i].port, r);
    if (strcmp(r, "connected") == 0) reached++;
  }
  printf("hostile-net: %d reached\n", reached);
  return 0;
}
