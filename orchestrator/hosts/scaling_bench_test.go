package hosts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/hostlab"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// BenchmarkHostScaling measures, in one run, the throughput of VM cycles
// (restore the clean state, the agent's hello over the channel, destroy:
// the per-job VM work of the pipeline) with one slot on each of 1, 2 and 3
// hosts: the local libvirtd, then two namespaced libvirtd hosts (qemu+tcp,
// agent channel through virDomainOpenChannel). Every host runs on this
// machine's CPUs, so the ratios show what the orchestration costs and
// whether a remote host adds work, not the gain of real extra machines
// (docs/scale-out.md). Busybox guest; SMN_BENCH_ROUNDS cycles per slot
// (default 4), in the order 1, 2, 3, 3, 2 and 1 hosts:
//
//	go test ./orchestrator/hosts -run '^$' -bench HostScaling -benchtime 1x
func BenchmarkHostScaling(b *testing.B) {
	// The testing package calls a benchmark more than once (b.N 1, then
	// the -benchtime count): the lab and the three clean states are made,
	// and the ratios measured, at the first call only.
	if scaling != nil {
		reportScaling(b, *scaling)
		return
	}
	imageDir, _ := vmtest.Need(b)
	hostlab.Need(b)
	rounds := 4
	if v, err := strconv.Atoi(os.Getenv("SMN_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	full, err := vm.LoadImage(imageDir)
	if err != nil {
		b.Fatal(err)
	}
	img := full.WithoutRootFS()
	lab := hostlab.New(b)
	const ha, hb = 4, 5
	uris := []string{lab.Start(b, ha), lab.Start(b, hb)}
	set := hosts.New(img, nil, slog.New(slog.DiscardHandler), nil)
	defer set.Close()
	for i, u := range uris {
		if err := set.Add(hosts.Config{Name: fmt.Sprintf("h%d", i+1), URI: u, ImageDir: filepath.Join(lab.Dir, fmt.Sprintf("img%d", i+1))}); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	local, err := vm.OpenLibvirt(ctx, vmtest.URI)
	if err != nil {
		b.Fatal(err)
	}
	defer local.Close()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	accel, _ := vm.DetectAccel("auto")

	dir := b.TempDir()
	name := "smn-bench-local-" + tag
	lspec := vm.Spec{Name: name, UUID: vm.StableUUID(name), Accel: accel, MemoryMiB: 256, VCPUs: 1, Image: img,
		ChannelPath: filepath.Join(dir, "a.sock"), ConsolePath: filepath.Join(dir, "console.log")}
	ls, err := vm.NewSlot("local", lspec, local, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	slots := []*vm.Slot{ls}
	for _, h := range []string{"h1", "h2"} {
		end := time.Now().Add(3 * time.Minute)
		for {
			if st, _ := set.Status(h); st.State == hosts.StateUp {
				break
			}
			if time.Now().After(end) {
				st, _ := set.Status(h)
				b.Fatalf("host %s: %+v", h, st)
			}
			time.Sleep(200 * time.Millisecond)
		}
		conn, himg, _, err := set.Conn(h)
		if err != nil {
			b.Fatal(err)
		}
		dn := "smn-bench-" + h + "-" + tag
		sp, err := set.SlotSpec(h, vm.Spec{Name: dn, UUID: vm.StableUUID(dn), Accel: accel, MemoryMiB: 256, VCPUs: 1, Image: himg})
		if err != nil {
			b.Fatal(err)
		}
		s, err := vm.NewSlot(h, sp, conn, b.TempDir(), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		slots = append(slots, s)
	}
	for _, s := range slots {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := s.Prepare(pctx, probe)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	cycle := func(s *vm.Slot) error {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		defer s.Destroy(context.Background())
		if err := s.Restore(cctx); err != nil {
			return err
		}
		c, err := s.DialAgent(cctx)
		if err != nil {
			return err
		}
		defer c.Close()
		info, err := probe(cctx, c)
		if err != nil {
			return err
		}
		return s.Verify(info)
	}
	// One unmeasured cycle per slot: the first restore of a save file reads
	// it from disk; later ones from the page cache.
	for _, s := range slots {
		if err := cycle(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	{
		// 1, 2, 3, 3, 2, 1 hosts: the load of this shared machine drifts;
		// the mirrored order gives each count the same average moment.
		var cycles [4]int
		var secs [4]float64
		for _, n := range []int{1, 2, 3, 3, 2, 1} {
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, n*rounds)
			for _, s := range slots[:n] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range rounds {
						if err := cycle(s); err != nil {
							errs <- fmt.Errorf("%s: %w", s.ID, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			el := time.Since(start)
			cycles[n] += n * rounds
			secs[n] += el.Seconds()
			b.Logf("%d host(s): %d cycles in %s: %.3f cycles/s", n, n*rounds, el.Round(time.Millisecond), float64(n*rounds)/el.Seconds())
		}
		var thr [4]float64
		for n := 1; n <= 3; n++ {
			thr[n] = float64(cycles[n]) / secs[n]
		}
		scaling = &thr
		reportScaling(b, thr)
	}
}

var scaling *[4]float64

func reportScaling(b *testing.B, thr [4]float64) {
	b.ReportMetric(thr[1], "cycles/s_1host")
	b.ReportMetric(thr[2]/thr[1], "ratio_2hosts")
	b.ReportMetric(thr[3]/thr[1], "ratio_3hosts")
}
