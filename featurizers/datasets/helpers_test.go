package datasets

import (
	"os"
	"path/filepath"
	"testing"
)

// dataPath returns the path of a shared data set file or folder. When it is
// missing the test fails under CI=true and is skipped otherwise.
func dataPath(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := Dir()
	if err == nil {
		p := filepath.Join(append([]string{dir}, elem...)...)
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("data set missing (CI=true): %v", err)
	}
	t.Skipf("data set not available (set %s or put it in ../shared/datasets): %v", EnvDir, err)
	return ""
}
