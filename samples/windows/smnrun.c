/* smnrun: a harmless DLL for the rundll32 path (rundll32 smnrun.dll,SmnRun).
 *
 * The export SmnRun (the rundll32 signature) writes smn-rundll.txt in the
 * current directory with the command line it was given and sets
 * HKCU\Software\SmnTest\RunDll = 1, then deletes that key again. DllMain does
 * nothing. A DLL run another way (LoadLibrary) shows no behaviour.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}

__declspec(dllexport) void CALLBACK SmnRun(HWND hwnd, HINSTANCE inst, LPSTR cmdline, int show)
{
	(void)hwnd;
	(void)inst;
	(void)show;
	HANDLE h = CreateFileA("smn-rundll.txt", GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h != INVALID_HANDLE_VALUE) {
		char line[512];
		int n = snprintf(line, sizeof line, "smnrun: SmnRun called with \"%s\"\r\n", cmdline ? cmdline : "");
		DWORD w;
		WriteFile(h, line, (DWORD)(n < 0 ? 0 : n), &w, NULL);
		CloseHandle(h);
	}
	HKEY k;
	if (RegCreateKeyExA(HKEY_CURRENT_USER, "Software\\SmnTest", 0, NULL, 0, KEY_ALL_ACCESS, NULL, &k, NULL) == ERROR_SUCCESS) {
		DWORD one = 1;
		RegSetValueExA(k, "RunDll", 0, REG_DWORD, (const BYTE *)&one, sizeof one);
		RegCloseKey(k);
		RegDeleteKeyA(HKEY_CURRENT_USER, "Software\\SmnTest");
	}
}
