// Package vmtest is what the real-VM tests of several packages share: the
// check that real VMs can run here (fail under CI, skip with the reason
// elsewhere) and the libvirt, /proc and store inspections their fault tests
// assert with. It is for tests only.
package vmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// URI is the libvirt connection the tests use.
const URI = "qemu:///system"

// Need returns the image and samples directories or stops the test: it
// fails under CI (where libvirt, the image and the samples are always
// provided) and skips with the reason elsewhere; -short skips.
func Need(tb testing.TB) (imageDir, samplesDir string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs real VMs (not with -short)")
	}
	stop := tb.Skipf
	if os.Getenv("CI") != "" {
		stop = tb.Fatalf
	}
	imageDir, samplesDir = os.Getenv("SCALEMALNET_IMAGE_DIR"), os.Getenv("SCALEMALNET_SAMPLES_DIR")
	if imageDir == "" || samplesDir == "" {
		stop("integration test: SCALEMALNET_IMAGE_DIR and SCALEMALNET_SAMPLES_DIR not set; run through `make test`")
	}
	if _, err := vm.LoadImage(imageDir); err != nil {
		stop("integration test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hv, err := vm.OpenLibvirt(ctx, URI)
	if err != nil {
		stop("integration test: libvirt not available: %v (scripts/setup-host.sh starts it)", err)
	}
	hv.Close()
	return imageDir, samplesDir
}

// Domains lists the libvirt domains whose names start with prefix, through
// a fresh connection (not the one under test).
func Domains(tb testing.TB, prefix string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hv, err := vm.OpenLibvirt(ctx, URI)
	if err != nil {
		tb.Fatalf("libvirt: %v", err)
	}
	defer hv.Close()
	names, err := hv.Domains(ctx, prefix)
	if err != nil {
		tb.Fatalf("list domains: %v", err)
	}
	return names
}

// DestroyDomains destroys, best effort, the domains whose names start with
// prefix (cleanup after a test that failed half-way).
func DestroyDomains(prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hv, err := vm.OpenLibvirt(ctx, URI)
	if err != nil {
		return
	}
	defer hv.Close()
	names, _ := hv.Domains(ctx, prefix)
	for _, n := range names {
		hv.Destroy(ctx, n)
	}
}

// Procs returns the live (not zombie) processes whose argv[0] is exe, or,
// when exe is "", the QEMU processes whose command line names a domain
// starting with domainPrefix.
func Procs(exe, domainPrefix string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err != nil || strings.Contains(string(st), ") Z ") {
			continue // gone, or a zombie: dead, waiting to be reaped
		}
		args := strings.Split(string(b), "\x00")
		switch {
		case exe != "":
			if args[0] == exe {
				pids = append(pids, pid)
			}
		case strings.Contains(filepath.Base(args[0]), "qemu") && strings.Contains(string(b), "guest="+domainPrefix):
			pids = append(pids, pid)
		}
	}
	return pids
}

// QEMUPID finds the QEMU process of a running domain: libvirt's pid file,
// checked against /proc.
func QEMUPID(tb testing.TB, domain string) int {
	tb.Helper()
	pids := Procs("", domain)
	if b, err := os.ReadFile(filepath.Join("/run/libvirt/qemu", domain+".pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			for _, p := range pids {
				if p == pid {
					return pid
				}
			}
		}
	}
	if len(pids) == 1 {
		return pids[0]
	}
	tb.Fatalf("no QEMU process found for %s", domain)
	return 0
}

// CheckStore reopens the data directory of a stopped orchestrator, checks
// it (store.Check: every job indexed under exactly its state, reports for
// done jobs, artifacts and samples present, no job left active) and
// returns every job by id, each listed once.
func CheckStore(tb testing.TB, dataDir string) map[string]jobs.Job {
	tb.Helper()
	st, err := store.Open(dataDir, store.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		tb.Fatalf("reopen store: %v", err)
	}
	defer st.Close()
	problems, err := st.Check()
	if err != nil {
		tb.Fatalf("check store: %v", err)
	}
	for i, p := range problems {
		if i == 20 {
			tb.Errorf("... %d more", len(problems)-20)
			break
		}
		tb.Errorf("store inconsistent: %s", p)
	}
	all := map[string]jobs.Job{}
	for before := ""; ; {
		page, err := st.ListJobs(store.ListQuery{Limit: store.MaxListLimit, Before: before})
		if err != nil {
			tb.Fatalf("list jobs: %v", err)
		}
		for _, j := range page {
			if _, dup := all[j.ID]; dup {
				tb.Errorf("job %s listed twice", j.ID)
			}
			all[j.ID] = j
		}
		if len(page) < store.MaxListLimit {
			break
		}
		before = page[len(page)-1].ID
	}
	return all
}

// HistoryNotes is a job's state history, one "state note" line each, for
// failure messages.
func HistoryNotes(j jobs.Job) string {
	var b strings.Builder
	for _, tr := range j.History {
		fmt.Fprintf(&b, "\n  %s %s", tr.State, tr.Note)
	}
	return b.String()
}
