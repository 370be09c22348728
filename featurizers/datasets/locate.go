package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvDir names the environment variable that overrides where the data sets
// are found.
const EnvDir = "SCALEMALNET_DATASETS"

// ErrNotFound is returned when the data set directory cannot be located.
var ErrNotFound = errors.New("data sets not found")

// Dir locates the shared data set directory: $SCALEMALNET_DATASETS if set,
// else ../shared/datasets relative to the module root (the directory holding
// go.mod, found by walking up from the working directory).
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%w: %s=%s is not a directory", ErrNotFound, EnvDir, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "datasets")
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				return "", fmt.Errorf("%w: %s is not a directory", ErrNotFound, d)
			}
			return filepath.Clean(d), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above %s", ErrNotFound, wd)
		}
		dir = parent
	}
}
