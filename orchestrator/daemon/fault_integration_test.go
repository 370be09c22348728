package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// TestCorruptedCleanStateIsRebuilt: a slot's saved memory image is damaged
// between two analyses. The slot must notice before restoring, make a new
// clean state from a cold boot, and the next job must complete on it.
func TestCorruptedCleanStateIsRebuilt(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	opts := jobs.Options{Timeout: 15 * time.Second, Window: time.Second}
	_, r1 := td.analyse(t, filepath.Join(samplesDir, "benign-reader"), opts)

	save := filepath.Join(td.cfg.DataDir, "vms", "slot0", "clean.save")
	f, err := os.OpenFile(save, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("corrupted by the test"), 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Same size; the modification time tells (the slot records both).
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(save, later, later)

	_, r2 := td.analyse(t, filepath.Join(samplesDir, "benign-reader"), opts)
	if r2.Machine.BootID == r1.Machine.BootID {
		t.Fatalf("the second job ran from the corrupted state (same boot id %s)", r1.Machine.BootID)
	}
	if r2.Outcome.Status != "exited" {
		t.Fatalf("second job outcome %+v", r2.Outcome)
	}
}
