/* inject: harmless imitation of process injection (ATT&CK T1055).
 *
 * Starts a harmless program suspended (hostname.exe from the Windows system
 * directory; the first argument names another one), then does what an
 * injector does: OpenProcess, VirtualAllocEx, WriteProcessMemory,
 * CreateRemoteThread. The injected routine is three bytes that return 0
 * (xor eax,eax; ret: the same encoding on x86 and x86-64). It waits for the
 * remote thread, reads its exit code, frees the memory and lets the program
 * run to its end. Prints one line and exits 0.
 */
#include <windows.h>
#include <stdio.h>

static const unsigned char routine[] = {0x31, 0xc0, 0xc3}; /* xor eax,eax; ret */

static int fail(const char *what)
{
	printf("inject: %s failed (error %lu)\n", what, GetLastError());
	return 1;
}

int main(int argc, char **argv)
{
	char cmd[MAX_PATH + 16];
	if (argc > 1) {
		snprintf(cmd, sizeof cmd, "%s", argv[1]);
	} else {
		char dir[MAX_PATH];
		GetSystemDirectoryA(dir, sizeof dir);
		snprintf(cmd, sizeof cmd, "%s\\hostname.exe", dir);
	}

	STARTUPINFOA si = {.cb = sizeof si};
	PROCESS_INFORMATION pi;
	if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si, &pi))
		return fail("CreateProcess");

	HANDLE proc = OpenProcess(PROCESS_CREATE_THREAD | PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION |
				      PROCESS_VM_WRITE | PROCESS_VM_READ,
				  FALSE, pi.dwProcessId);
	if (!proc) {
		TerminateProcess(pi.hProcess, 1);
		return fail("OpenProcess");
	}
	void *mem = VirtualAllocEx(proc, NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
	if (!mem) {
		TerminateProcess(pi.hProcess, 1);
		return fail("VirtualAllocEx");
	}
	SIZE_T written = 0;
	if (!WriteProcessMemory(proc, mem, routine, sizeof routine, &written) || written != sizeof routine) {
		TerminateProcess(pi.hProcess, 1);
		return fail("WriteProcessMemory");
	}
	unsigned char check[sizeof routine] = {0};
	SIZE_T got = 0;
	ReadProcessMemory(proc, mem, check, sizeof check, &got);

	DWORD tid = 0, code = 0xffffffff;
	HANDLE th = CreateRemoteThread(proc, NULL, 0, (LPTHREAD_START_ROUTINE)mem, NULL, 0, &tid);
	if (!th) {
		TerminateProcess(pi.hProcess, 1);
		return fail("CreateRemoteThread");
	}
	DWORD wr = WaitForSingleObject(th, 10000);
	GetExitCodeThread(th, &code);
	CloseHandle(th);
	VirtualFreeEx(proc, mem, 0, MEM_RELEASE);

	/* Let the started program run to its end (it prints the host name). */
	ResumeThread(pi.hThread);
	WaitForSingleObject(pi.hProcess, 10000);
	DWORD child = 0;
	GetExitCodeProcess(pi.hProcess, &child);
	CloseHandle(proc);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);

	printf("inject: pid %lu, wrote %lu bytes at %p, remote thread %lu %s with code %lu, target exit %lu\n",
	       pi.dwProcessId, (unsigned long)written, mem, tid, wr == WAIT_OBJECT_0 ? "ended" : "timed out", code,
	       child);
	return wr == WAIT_OBJECT_0 && code == 0 ? 0 : 1;
}
