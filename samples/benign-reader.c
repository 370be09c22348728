/*
 * benign-reader: a harmless test program for the ScaleMalNet sandbox.
 * Imitates no attack: it is the "normal program" baseline. It reads
 * /etc/hostname, counts the lines of /etc/passwd, lists /tmp, prints a
 * summary and exits 0.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char host[256] = "?";
	FILE *f = fopen("/etc/hostname", "r");
	if (f) {
		if (fgets(host, sizeof host, f))
			host[strcspn(host, "\n")] = '\0';
		fclose(f);
	}

	int lines = 0;
	f = fopen("/etc/passwd", "r");
	if (f) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			for (size_t i = 0; i < n; i++)
				lines += buf[i] == '\n';
		fclose(f);
	}

	int entries = 0;
	DIR *d = opendir("/tmp");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				entries++;
		closedir(d);
	}

	printf("benign-reader: hostname=%s passwd_lines=%d tmp_entries=%d\n",
	       host, lines, entries);
	return 0;
}
