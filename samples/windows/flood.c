/* flood: floods Wine's relay channel, for bad-input tests. A tight loop of
 * cheap calls that are in the recorded API set (GetTickCount,
 * GetSystemTimeAsFileTime, QueryPerformanceCounter, NtQuerySystemTime through
 * GetSystemTime... ) for 10 s (the first argument overrides the seconds).
 * Prints the number of rounds and exits 0.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	DWORD secs = argc > 1 ? (DWORD)strtoul(argv[1], NULL, 10) : 10;
	DWORD start = GetTickCount();
	unsigned long rounds = 0;
	FILETIME ft;
	SYSTEMTIME st;

	while (GetTickCount() - start < secs * 1000) {
		GetSystemTimeAsFileTime(&ft);
		GetSystemTime(&st);
		GetLocalTime(&st);
		rounds++;
	}
	printf("flood: %lu rounds in %lu s\n", rounds, secs);
	return 0;
}
