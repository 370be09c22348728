package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

type fakeSource struct {
	mu       sync.Mutex
	counts   map[string]int
	slots    []Slot
	plugins  []Plugin
	usage    Usage
	usageErr error
	usageN   int
}

func (f *fakeSource) JobCounts() (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts, nil
}
func (f *fakeSource) Slots() []Slot     { return f.slots }
func (f *fakeSource) Plugins() []Plugin { return f.plugins }
func (f *fakeSource) Usage() (Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usageN++
	return f.usage, f.usageErr
}

// value finds one sample of a gathered family by its labels.
func value(t *testing.T, m *Metrics, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return s.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return s.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(s.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestMetricsReadStateAtScrape(t *testing.T) {
	src := &fakeSource{
		counts:  map[string]int{"queued": 3, "running": 1, "done": 7},
		slots:   []Slot{{Name: "slot0", State: "busy", Analyses: 4, BootTime: 4200 * time.Millisecond}, {Name: "slot1", State: "idle"}, {Name: "slot2", State: "idle", ConsecutiveFailures: 2}},
		plugins: []Plugin{{Name: "header", State: "running", Calls: 10, Failures: 1, Restarts: 2}},
		usage:   Usage{DBBytes: 1 << 20, ArtifactBytes: 5000, SampleBytes: 300},
	}
	m := New(src)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"scalemalnet_jobs", map[string]string{"state": "queued"}, 3},
		{"scalemalnet_jobs", map[string]string{"state": "cancelled"}, 0},
		{"scalemalnet_queue_depth", nil, 3},
		{"scalemalnet_slots", map[string]string{"state": "idle"}, 2},
		{"scalemalnet_slots", map[string]string{"state": "busy"}, 1},
		{"scalemalnet_slot_boot_seconds", map[string]string{"slot": "slot0"}, 4.2},
		{"scalemalnet_slot_analyses_total", map[string]string{"slot": "slot0"}, 4},
		{"scalemalnet_slot_consecutive_failures", map[string]string{"slot": "slot2"}, 2},
		{"scalemalnet_plugin_calls_total", map[string]string{"plugin": "header"}, 10},
		{"scalemalnet_plugin_failures_total", map[string]string{"plugin": "header"}, 1},
		{"scalemalnet_plugin_restarts_total", map[string]string{"plugin": "header"}, 2},
		{"scalemalnet_plugin_up", map[string]string{"plugin": "header", "state": "running"}, 1},
		{"scalemalnet_store_db_bytes", nil, 1 << 20},
		{"scalemalnet_store_artifact_bytes", nil, 5000},
	} {
		got, ok := value(t, m, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := value(t, m, "scalemalnet_slot_boot_seconds", map[string]string{"slot": "slot1"}); ok {
		t.Error("a slot without a clean state has a boot time")
	}
	// State changes show at the next scrape; usage is cached between scrapes.
	src.mu.Lock()
	src.counts = map[string]int{"queued": 0, "done": 11}
	src.usage.DBBytes = 2 << 20
	src.mu.Unlock()
	if got, _ := value(t, m, "scalemalnet_queue_depth", nil); got != 0 {
		t.Errorf("queue depth after change %v", got)
	}
	if got, _ := value(t, m, "scalemalnet_store_db_bytes", nil); got != 1<<20 {
		t.Errorf("db bytes re-measured within the cache time: %v", got)
	}
	if src.usageN != 1 {
		t.Errorf("usage measured %d times, want 1 (cached)", src.usageN)
	}
}

func TestMetricsHooksAndHandler(t *testing.T) {
	m := New(&fakeSource{counts: map[string]int{}, usageErr: errors.New("disk gone")})
	m.ObserveStep("restore", 1500*time.Millisecond, false)
	m.ObserveStep("restore", 90*time.Second, true)
	m.ObserveStep("run", 20*time.Second, false)
	m.JobFinished("done")
	m.JobFinished("cancelled")
	var nilM *Metrics
	nilM.ObserveStep("restore", time.Second, false) // no panic
	nilM.JobFinished("done")
	if got, _ := value(t, m, "scalemalnet_step_duration_seconds", map[string]string{"step": "restore", "result": "ok"}); got != 1 {
		t.Errorf("restore ok observations %v", got)
	}
	if got, _ := value(t, m, "scalemalnet_step_duration_seconds", map[string]string{"step": "restore", "result": "error"}); got != 1 {
		t.Errorf("restore error observations %v", got)
	}
	if got, _ := value(t, m, "scalemalnet_jobs_finished_total", map[string]string{"state": "cancelled"}); got != 1 {
		t.Errorf("cancelled %v", got)
	}
	if got, _ := value(t, m, "scalemalnet_scrape_errors_total", map[string]string{"source": "usage"}); got < 1 {
		t.Errorf("usage error not counted: %v", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`scalemalnet_step_duration_seconds_bucket{result="ok",step="restore",le="2"} 1`,
		`scalemalnet_jobs{state="queued"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
