package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
)

// dataDir returns the shared data set folder, skipping under -short or when
// it is missing, and failing when it is missing with CI=true.
func dataDir(t *testing.T, elem ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("dataset-backed test (-short)")
	}
	dir, err := datasets.Dir()
	if err == nil {
		_, err = os.Stat(filepath.Join(append([]string{dir}, elem...)...))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("data set missing (CI=true): %v", err)
		}
		t.Skipf("data set not available: %v", err)
	}
	return dir
}

// The sizes after dedup documented in doc.go.
func TestClaMPSizes(t *testing.T) {
	dir := dataDir(t, ClaMPDir)
	for file, want := range map[string][3]int{ClaMPRawFile: {4235, 3683, 1676}, ClaMPIntegratedFile: {4156, 4154, 2174}} {
		vs, err := LoadClaMP(filepath.Join(dir, ClaMPDir, file), ClaMPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := ClassCounts(vs.Dataset)
		if vs.Dedup.Before != want[0] || vs.Dedup.After != want[1] || c["malware"] != want[2] || vs.Dedup.ConflictInputs != 0 {
			t.Errorf("%s: %s, %v; want %v", file, vs.Dedup, c, want)
		}
		if len(vs.Columns) != len(vs.Dataset.Inputs[0].Vector) {
			t.Errorf("%s: %d columns, vectors of %d", file, len(vs.Columns), len(vs.Dataset.Inputs[0].Vector))
		}
	}
}

func TestTaskSizes(t *testing.T) {
	dir := dataDir(t)
	want := map[Task][2]int{ // after dedup, examples of class 1 (or classes)
		MalBehavD: {1281, 377},
		MalAPI:    {623, 8},
		ADFA:      {3385, 668},
		ADFAKind:  {3383, 7},
		FHIDS:     {1958, 267},
		FHIDSKind: {1912, 6},
	}
	for _, task := range Tasks {
		s, err := LoadTask(dir, task, datasets.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		c := ClassCounts(s.Dataset)
		t.Logf("%s: %s; %d names; classes %v", task, s.Dedup, len(s.Names), c)
		w := want[task]
		second := c[s.Dataset.Classes[1]]
		if len(s.Dataset.Classes) > 2 {
			second = len(s.Dataset.Classes)
		}
		if s.Dedup.After != w[0] || second != w[1] {
			t.Errorf("%s: %d examples, %d; want %v", task, s.Dedup.After, second, w)
		}
	}
}
