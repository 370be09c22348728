/* runkey: harmless imitation of registry persistence (ATT&CK T1547.001).
 *
 * Adds the value "SmnTestPersistence" (this program's own path) under
 * HKCU\Software\Microsoft\Windows\CurrentVersion\Run, reads it back, and
 * creates, fills and deletes its own scratch key HKCU\Software\SmnTest so a
 * trace shows keys created, written and deleted. It touches no other key.
 * Prints one line and exits 0.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#define RUN "Software\\Microsoft\\Windows\\CurrentVersion\\Run"
#define VALUE "SmnTestPersistence"

int main(void)
{
	char self[MAX_PATH], back[MAX_PATH];
	HKEY run, scratch;
	DWORD type, n;
	LONG rc;

	GetModuleFileNameA(NULL, self, sizeof self);
	rc = RegCreateKeyExA(HKEY_CURRENT_USER, RUN, 0, NULL, 0, KEY_SET_VALUE | KEY_QUERY_VALUE, NULL, &run, NULL);
	if (rc != ERROR_SUCCESS) {
		printf("runkey: cannot open HKCU\\%s (error %ld)\n", RUN, rc);
		return 1;
	}
	rc = RegSetValueExA(run, VALUE, 0, REG_SZ, (const BYTE *)self, (DWORD)strlen(self) + 1);
	if (rc != ERROR_SUCCESS) {
		printf("runkey: cannot set %s (error %ld)\n", VALUE, rc);
		return 1;
	}
	n = sizeof back;
	rc = RegQueryValueExA(run, VALUE, NULL, &type, (BYTE *)back, &n);
	RegCloseKey(run);
	if (rc != ERROR_SUCCESS || type != REG_SZ || strcmp(back, self) != 0) {
		printf("runkey: value did not read back (error %ld)\n", rc);
		return 1;
	}

	if (RegCreateKeyExA(HKEY_CURRENT_USER, "Software\\SmnTest", 0, NULL, 0, KEY_ALL_ACCESS, NULL, &scratch, NULL) == ERROR_SUCCESS) {
		DWORD one = 1;
		RegSetValueExA(scratch, "Installed", 0, REG_DWORD, (const BYTE *)&one, sizeof one);
		RegDeleteValueA(scratch, "Installed");
		RegCloseKey(scratch);
		RegDeleteKeyA(HKEY_CURRENT_USER, "Software\\SmnTest");
	}
	printf("runkey: HKCU\\%s\\%s = %s\n", RUN, VALUE, self);
	return 0;
}
