/* antidebug: harmless imitation of sandbox/debugger evasion.
 *
 * Asks whether a debugger is attached (IsDebuggerPresent,
 * CheckRemoteDebuggerPresent, NtQueryInformationProcess(ProcessDebugPort)),
 * measures a sleep with GetTickCount and QueryPerformanceCounter (a sandbox
 * that skips sleeps shows up as a short delta), and sleeps 2 s (the first
 * argument overrides the milliseconds). Prints one line and exits 0.
 */
#include <windows.h>
#include <winternl.h>
#include <stdio.h>
#include <stdlib.h>

typedef NTSTATUS(NTAPI *qip_fn)(HANDLE, PROCESSINFOCLASS, PVOID, ULONG, PULONG);

int main(int argc, char **argv)
{
	DWORD ms = argc > 1 ? (DWORD)strtoul(argv[1], NULL, 10) : 2000;
	BOOL local = IsDebuggerPresent(), remote = FALSE;
	ULONG_PTR port = 0;

	CheckRemoteDebuggerPresent(GetCurrentProcess(), &remote);
	qip_fn qip = (qip_fn)(void *)GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtQueryInformationProcess");
	if (qip)
		qip(GetCurrentProcess(), (PROCESSINFOCLASS)7 /* ProcessDebugPort */, &port, sizeof port, NULL);
	OutputDebugStringA("smn antidebug probe");

	LARGE_INTEGER f, a, b;
	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&a);
	DWORD t0 = GetTickCount();
	Sleep(ms);
	DWORD t1 = GetTickCount();
	QueryPerformanceCounter(&b);
	long long qpc_ms = f.QuadPart ? (b.QuadPart - a.QuadPart) * 1000 / f.QuadPart : -1;

	printf("antidebug: debugger local=%d remote=%d port=%lu; slept %lu ms, measured %lu ms (tick) %lld ms (qpc)\n",
	       local, remote, (unsigned long)port, ms, t1 - t0, qpc_ms);
	return 0;
}
