/* Harmless test program: dynamically linked x86-64 (needs the guest's C
 * library). Reads /etc/os-release, writes a file, prints what it did. */
#include <stdio.h>
#include <string.h>

int main(void) {
	char line[256] = "";
	FILE *f = fopen("/etc/os-release", "r");
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
	}
	FILE *o = fopen("/tmp/dyn-hello.txt", "w");
	if (o) {
		fputs("dynamically linked\n", o);
		fclose(o);
	}
	line[strcspn(line, "\n")] = 0;
	printf("dyn-hello: %s\n", line);
	return 0;
}
