/*
 * test-guestcrash: a harmless test program for the ScaleMalNet sandbox.
 * Imitates a sample that takes the whole machine down with it (a wiper, a
 * kernel exploit gone wrong): as root it crashes the kernel through
 * /proc/sysrq-trigger, so the guest agent (PID 1) dies with it. The sandbox
 * must end the job with a clear reason and bring its slot back.
 *
 * It crashes the machine it runs on, so it only does so when asked with the
 * argument --crash-this-guest AND its parent is PID 1 whose executable is
 * /init (the sandbox's guest agent). Anywhere else it prints a notice and
 * exits 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char exe[64] = {0};
	ssize_t n = readlink("/proc/1/exe", exe, sizeof exe - 1);
	int asked = argc > 1 && strcmp(argv[1], "--crash-this-guest") == 0;
	if (!asked || getppid() != 1 || n <= 0 || strcmp(exe, "/init") != 0) {
		printf("test-guestcrash: not in the sandbox guest or not asked (--crash-this-guest); doing nothing\n");
		return 0;
	}
	printf("test-guestcrash: crashing the guest kernel\n");
	fflush(stdout);
	sleep(1); /* let the agent stream a window first */
	int fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0) {
		perror("test-guestcrash: open /proc/sysrq-trigger");
		return 1;
	}
	if (write(fd, "c", 1) != 1)
		perror("test-guestcrash: write /proc/sysrq-trigger");
	/* not reached when the crash worked */
	printf("test-guestcrash: the kernel did not crash\n");
	return 1;
}
