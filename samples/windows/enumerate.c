/* enumerate: harmless imitation of discovery (ATT&CK T1057, T1083).
 *
 * Lists the running processes (CreateToolhelp32Snapshot, Process32First,
 * Process32Next), then the files of the Windows system directory
 * (GetSystemDirectory, FindFirstFile, FindNextFile), and asks for the user
 * and computer names. Reads only. Prints one line and exits 0.
 */
#include <windows.h>
#include <tlhelp32.h>
#include <stdio.h>

int main(void)
{
	int procs = 0, files = 0;
	char dir[MAX_PATH], pattern[MAX_PATH + 4], user[256] = "?", host[256] = "?";
	DWORD n;

	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	if (snap != INVALID_HANDLE_VALUE) {
		PROCESSENTRY32 pe = {.dwSize = sizeof pe};
		if (Process32First(snap, &pe)) {
			do
				procs++;
			while (Process32Next(snap, &pe));
		}
		CloseHandle(snap);
	}

	GetSystemDirectoryA(dir, sizeof dir);
	snprintf(pattern, sizeof pattern, "%s\\*", dir);
	WIN32_FIND_DATAA fd;
	HANDLE find = FindFirstFileA(pattern, &fd);
	if (find != INVALID_HANDLE_VALUE) {
		do
			files++;
		while (FindNextFileA(find, &fd));
		FindClose(find);
	}
	n = sizeof user;
	GetUserNameA(user, &n);
	n = sizeof host;
	GetComputerNameA(host, &n);

	printf("enumerate: %d processes, %d entries in %s, user %s on %s\n", procs, files, dir, user, host);
	return 0;
}
