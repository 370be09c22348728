/* ransom: harmless imitation of ransomware (what Cuckoo records for file
 * encryptors: CryptAcquireContext, CryptGenRandom, FindFirstFile, ReadFile,
 * WriteFile, MoveFileEx, DeleteFile).
 *
 * It only touches a folder it creates itself, smn-ransom-test in the current
 * directory: writes three small files, "encrypts" each (XOR with a random
 * 16-byte key), writes the result to <name>.locked, deletes the original and
 * leaves a ransom note. It prints one line and exits 0.
 */
#include <windows.h>
#include <wincrypt.h>
#include <stdio.h>
#include <string.h>

#define DIR "smn-ransom-test"

static int write_file(const char *path, const void *buf, DWORD n)
{
	HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	DWORD w = 0;
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	BOOL ok = WriteFile(h, buf, n, &w, NULL);
	CloseHandle(h);
	return ok && w == n ? 0 : -1;
}

int main(void)
{
	static const char *names[] = {"report.docx", "photo.jpg", "budget.xlsx"};
	unsigned char key[16];
	HCRYPTPROV prov;
	char path[MAX_PATH], out[MAX_PATH + 8];
	int encrypted = 0;

	if (!CreateDirectoryA(DIR, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
		printf("ransom: cannot create %s (error %lu)\n", DIR, GetLastError());
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		char body[128];
		int n = snprintf(body, sizeof body, "test document %d of the ScaleMalNet ransomware imitation\r\n", i);
		snprintf(path, sizeof path, DIR "\\%s", names[i]);
		if (write_file(path, body, (DWORD)n) != 0) {
			printf("ransom: cannot write %s\n", path);
			return 1;
		}
	}

	/* A random key from the system's crypto provider, as real samples do. */
	memset(key, 0x5a, sizeof key);
	if (CryptAcquireContextA(&prov, NULL, NULL, PROV_RSA_AES, CRYPT_VERIFYCONTEXT)) {
		CryptGenRandom(prov, sizeof key, key);
		CryptReleaseContext(prov, 0);
	}

	WIN32_FIND_DATAA fd;
	HANDLE find = FindFirstFileA(DIR "\\*", &fd);
	if (find == INVALID_HANDLE_VALUE) {
		printf("ransom: cannot list %s\n", DIR);
		return 1;
	}
	do {
		if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
			continue;
		size_t len = strlen(fd.cFileName);
		if (len > 7 && strcmp(fd.cFileName + len - 7, ".locked") == 0)
			continue;
		snprintf(path, sizeof path, DIR "\\%s", fd.cFileName);
		HANDLE h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
		if (h == INVALID_HANDLE_VALUE)
			continue;
		unsigned char buf[4096];
		DWORD n = 0;
		ReadFile(h, buf, sizeof buf, &n, NULL);
		for (DWORD j = 0; j < n; j++)
			buf[j] ^= key[j % sizeof key];
		/* Overwrite in place, then rename: the common ransomware pattern. */
		SetFilePointer(h, 0, NULL, FILE_BEGIN);
		DWORD w = 0;
		WriteFile(h, buf, n, &w, NULL);
		CloseHandle(h);
		snprintf(out, sizeof out, "%s.locked", path);
		if (MoveFileExA(path, out, MOVEFILE_REPLACE_EXISTING))
			encrypted++;
	} while (FindNextFileA(find, &fd));
	FindClose(find);

	static const char note[] = "Your files were encrypted by the ScaleMalNet test program.\r\n"
				   "This is a harmless imitation: the key was never kept.\r\n";
	write_file(DIR "\\README-RESTORE.txt", note, sizeof note - 1);
	/* A stray original copy to delete, so DeleteFile shows up too. */
	write_file(DIR "\\~tmp.bak", "x", 1);
	DeleteFileA(DIR "\\~tmp.bak");

	printf("ransom: encrypted %d files in %s, wrote README-RESTORE.txt\n", encrypted, DIR);
	return 0;
}
