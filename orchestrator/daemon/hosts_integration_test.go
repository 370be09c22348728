package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/hostlab"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// TestHostsRealVMs spreads jobs over the local slot and two namespaced
// libvirtd hosts (scripts/hostlab.sh, qemu+tcp over veth pairs): every
// report names the host it ran on. One host's libvirtd is killed while a
// job runs there: that job is retried on another slot and completes, no
// job is lost or run to completion twice, and when that libvirtd is
// started again the host heals (new connection, image checked, new clean
// state) and takes a job again.
func TestHostsRealVMs(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	hostlab.Need(t)
	lab := hostlab.New(t)
	const a, b = 6, 7 // the hosts package's test uses 8 and 9 (packages test in parallel)
	uriA, uriB := lab.Start(t, a), lab.Start(t, b)
	td := startDaemonWith(t, imageDir, 1, func(c *Config) {
		c.PluginBinary = "none"
		c.Hosts = []hosts.Config{
			{Name: "ha", URI: uriA, Slots: 1, ImageDir: filepath.Join(lab.Dir, "ha", "images")},
			{Name: "hb", URI: uriB, Slots: 1, ImageDir: filepath.Join(lab.Dir, "hb", "images")},
		}
	})
	ctx := context.Background()
	waitIdle := func(names ...string) {
		t.Helper()
		end := time.Now().Add(12 * time.Minute)
		for {
			idle := map[string]bool{}
			for _, s := range td.pool.Pool(ctx).Slots {
				idle[s.Name] = s.State == SlotIdle || s.State == SlotBusy
			}
			all := true
			for _, n := range names {
				all = all && idle[n]
			}
			if all {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("slots %v not ready: %+v", names, td.pool.Pool(ctx).Slots)
			}
			time.Sleep(time.Second)
		}
	}
	waitIdle("slot0", "ha-0", "hb-0")
	for _, s := range td.pool.Pool(ctx).Slots {
		local, _ := os.Hostname()
		want := map[string]string{"slot0": local, "ha-0": "ha", "hb-0": "hb"}[s.Name]
		if s.Host != want {
			t.Errorf("pool ls: slot %s host %q, want %q", s.Name, s.Host, want)
		}
	}

	sample := filepath.Join(samplesDir, "benign-reader")
	opts := jobs.Options{Timeout: 10 * time.Second, Window: time.Second}
	submit := func() string {
		f, err := os.Open(sample)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		j, err := td.Submit(ctx, "benign-reader", f, opts)
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	var ids []string
	for range 6 {
		ids = append(ids, submit())
	}
	// Kill hb's libvirtd while a job runs there.
	var victim string
	end := time.Now().Add(5 * time.Minute)
	for victim == "" {
		for _, id := range ids {
			j, err := td.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Slot == "hb-0" && j.State == jobs.Running {
				victim = id
			}
		}
		if time.Now().After(end) {
			t.Fatal("no job ran on hb-0")
		}
		time.Sleep(50 * time.Millisecond)
	}
	lab.Kill(t, b)
	t.Logf("killed hb's libvirtd while job %s ran there", victim)

	hostsSeen := map[string]int{}
	waitDone := func(ids []string) {
		t.Helper()
		for _, id := range ids {
			end := time.Now().Add(10 * time.Minute)
			for {
				j, err := td.Job(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if j.State.Final() {
					if j.State != jobs.Done {
						t.Fatalf("job %s ended %s: %s", id, j.State, j.Error)
					}
					rep, err := td.Report(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					h := rep.Machine.Host
					if h == "" {
						h = "local"
					}
					hostsSeen[h]++
					t.Logf("job %s: slot %s host %s attempts %d failed on %v", id, rep.Machine.Slot, h, j.Attempts, j.FailedSlots)
					if id == victim && (j.Attempts < 2 || rep.Machine.Host == "hb") {
						t.Errorf("the job on the killed host: attempts %d, ran on %s; want a retry elsewhere", j.Attempts, rep.Machine.Slot)
					}
					break
				}
				if time.Now().After(end) {
					t.Fatalf("job %s did not end", id)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	waitDone(ids)
	all, err := td.store.ListJobs(store.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(ids) {
		t.Errorf("%d jobs stored, want %d (none lost, none duplicated)", len(all), len(ids))
	}
	if hostsSeen["local"]+hostsSeen["ha"]+hostsSeen["hb"] != len(ids) || hostsSeen["ha"] == 0 {
		t.Errorf("jobs per host: %v", hostsSeen)
	}

	// Heal: hb comes back and takes a job (the others drained).
	lab.Start(t, b)
	waitIdle("hb-0")
	for _, n := range []string{"slot0", "ha-0"} {
		if _, err := td.pool.DrainSlot(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	id := submit()
	hostsSeen = map[string]int{}
	waitDone([]string{id})
	if hostsSeen["hb"] != 1 {
		t.Errorf("after heal, job ran on %v, want hb", hostsSeen)
	}
}
