package image

import (
	"os"
	"path/filepath"
	"testing"
)

// datasetsDir locates the shared data sets: $SCALEMALNET_DATASETS, or
// ../shared/datasets next to the directory holding go.mod (found by walking
// up from the working directory). Missing data fails the test under
// CI=true and skips it otherwise.
func datasetsDir(t testing.TB, sub string) string {
	t.Helper()
	var base string
	if env := os.Getenv("SCALEMALNET_DATASETS"); env != "" {
		base = env
	} else if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				base = filepath.Join(d, "..", "shared", "datasets")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	dir := filepath.Join(base, sub)
	if st, err := os.Stat(dir); base == "" || err != nil || !st.IsDir() {
		msg := "data set " + sub + " not found (looked in " + dir + "; set SCALEMALNET_DATASETS to the datasets folder)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}
