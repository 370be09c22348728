/*
 * test-marker: a harmless test program for the ScaleMalNet sandbox.
 * Imitates malware that leaves a persistent artifact: it checks whether
 * /tmp/smn-marker exists, prints "marker: present" or "marker: absent", then
 * creates it. Run twice in a reused VM slot, it must print "absent" both
 * times if the slot was reverted to a clean state.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define MARKER "/tmp/smn-marker"

int main(void)
{
	int present = access(MARKER, F_OK) == 0;
	printf("marker: %s\n", present ? "present" : "absent");
	int fd = open(MARKER, O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		perror(MARKER);
		return 1;
	}
	close(fd);
	return 0;
}
