// Package metrics exposes the orchestrator's Prometheus metrics at
// /metrics. Most series are read from the orchestrator's state when
// Prometheus scrapes (through Source), so the daemon needs only two hooks:
// ObserveStep for each lifecycle step's duration and JobFinished for each
// job that reaches a final state.
//
// Series (all prefixed scalemalnet_):
//
//	jobs{state}                           gauge: jobs in each state (queued, ..., cancelled)
//	queue_depth                           gauge: jobs waiting for a slot
//	jobs_finished_total{state}            counter: jobs that reached done, failed or cancelled since start
//	step_duration_seconds{step,result}    histogram: each lifecycle step (restore, wait-agent, run, featurize, ...), result ok or error
//	slots{state}                          gauge: slots in each state (idle, busy, restoring, preparing, broken, ...)
//	slot_analyses_total{slot}             counter: analyses run on the slot
//	slot_consecutive_failures{slot}       gauge: restore/agent failures in a row
//	slot_boot_seconds{slot}               gauge: cold boot to agent ready when the slot's clean state was made
//	plugin_calls_total{plugin}            counter: calls to the plugin
//	plugin_failures_total{plugin}         counter: failed calls (crash, deadline, bad answer)
//	plugin_restarts_total{plugin}         counter: restarts of the plugin's process
//	plugin_up{plugin,state}               gauge: 1 for the plugin's current state
//	store_db_bytes                        gauge: the bbolt database file
//	store_artifact_bytes                  gauge: all artifact files
//	store_sample_bytes                    gauge: all sample files
//	scrape_errors_total{source}           counter: state that could not be read during a scrape
//
// Restore times are step_duration_seconds{step="restore"}; boot times
// are slot_boot_seconds. The Go runtime and process collectors are
// included (go_*, process_*).
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is the orchestrator's state as the metrics read it at scrape
// time. Implementations must be safe for concurrent use.
type Source interface {
	JobCounts() (map[string]int, error) // jobs per state
	Slots() []Slot
	Plugins() []Plugin
	Usage() (Usage, error)
}

// Slot is one VM slot's state.
type Slot struct {
	Name                string
	State               string
	Analyses            int
	ConsecutiveFailures int
	BootTime            time.Duration // 0 when no clean state is known
}

// Plugin is one plugin's counters.
type Plugin struct {
	Name                      string
	State                     string
	Calls, Failures, Restarts int
}

// Usage is what the data directory holds.
type Usage struct {
	DBBytes, ArtifactBytes, SampleBytes int64
}

// StepBuckets are the step duration histogram's bounds in seconds: from a
// fast restore under KVM to a long run under TCG.
var StepBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600}

// usageTTL is how long a measured Usage is reused: measuring walks the
// artifact and sample directories.
const usageTTL = 15 * time.Second

// Metrics is the orchestrator's registry.
type Metrics struct {
	reg      *prometheus.Registry
	steps    *prometheus.HistogramVec
	finished *prometheus.CounterVec
}

// New registers the collectors reading src.
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scalemalnet_step_duration_seconds", Help: "Duration of each analysis lifecycle step.",
			Buckets: StepBuckets,
		}, []string{"step", "result"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scalemalnet_jobs_finished_total", Help: "Jobs that reached a final state since the orchestrator started.",
		}, []string{"state"}),
	}
	m.reg.MustRegister(m.steps, m.finished, &stateCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveStep records one lifecycle step's duration; failed says whether
// it ended in an error. Safe on a nil *Metrics.
func (m *Metrics) ObserveStep(name string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	result := "ok"
	if failed {
		result = "error"
	}
	m.steps.WithLabelValues(name, result).Observe(d.Seconds())
}

// JobFinished counts a job that reached a final state. Safe on a nil
// *Metrics.
func (m *Metrics) JobFinished(state string) {
	if m == nil {
		return
	}
	m.finished.WithLabelValues(state).Inc()
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the underlying registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var (
	descJobs       = prometheus.NewDesc("scalemalnet_jobs", "Jobs in each state.", []string{"state"}, nil)
	descQueue      = prometheus.NewDesc("scalemalnet_queue_depth", "Jobs queued, waiting for a slot.", nil, nil)
	descSlots      = prometheus.NewDesc("scalemalnet_slots", "VM slots in each state.", []string{"state"}, nil)
	descAnalyses   = prometheus.NewDesc("scalemalnet_slot_analyses_total", "Analyses run on the slot since the orchestrator started.", []string{"slot"}, nil)
	descSlotFail   = prometheus.NewDesc("scalemalnet_slot_consecutive_failures", "Restore, agent or clean-state failures of the slot in a row.", []string{"slot"}, nil)
	descBoot       = prometheus.NewDesc("scalemalnet_slot_boot_seconds", "Cold boot to agent ready, when the slot's clean state was made.", []string{"slot"}, nil)
	descPlugCalls  = prometheus.NewDesc("scalemalnet_plugin_calls_total", "Calls to the plugin.", []string{"plugin"}, nil)
	descPlugFail   = prometheus.NewDesc("scalemalnet_plugin_failures_total", "Failed calls to the plugin.", []string{"plugin"}, nil)
	descPlugRest   = prometheus.NewDesc("scalemalnet_plugin_restarts_total", "Restarts of the plugin's process.", []string{"plugin"}, nil)
	descPlugUp     = prometheus.NewDesc("scalemalnet_plugin_up", "1 for the plugin's current state.", []string{"plugin", "state"}, nil)
	descDB         = prometheus.NewDesc("scalemalnet_store_db_bytes", "Size of the bbolt database file.", nil, nil)
	descArtifacts  = prometheus.NewDesc("scalemalnet_store_artifact_bytes", "Size of all artifact files.", nil, nil)
	descSamples    = prometheus.NewDesc("scalemalnet_store_sample_bytes", "Size of all sample files.", nil, nil)
	descScrapeErrs = prometheus.NewDesc("scalemalnet_scrape_errors_total", "State that could not be read during scrapes.", []string{"source"}, nil)
)

// jobStates are always exported, 0 included, so rate() and absent() work.
var jobStates = []string{"queued", "restoring", "running", "collecting", "done", "failed", "cancelled"}

// stateCollector reads the orchestrator's state at scrape time.
type stateCollector struct {
	src Source

	mu       sync.Mutex
	usage    Usage
	usageAt  time.Time
	errJobs  float64
	errUsage float64
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descQueue, descSlots, descAnalyses, descSlotFail, descBoot,
		descPlugCalls, descPlugFail, descPlugRest, descPlugUp, descDB, descArtifacts, descSamples, descScrapeErrs} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if counts, err := c.src.JobCounts(); err != nil {
		c.errJobs++
	} else {
		for _, st := range jobStates {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(counts[st]), st)
		}
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(counts["queued"]))
	}
	byState := map[string]int{}
	for _, s := range c.src.Slots() {
		byState[s.State]++
		ch <- prometheus.MustNewConstMetric(descAnalyses, prometheus.CounterValue, float64(s.Analyses), s.Name)
		ch <- prometheus.MustNewConstMetric(descSlotFail, prometheus.GaugeValue, float64(s.ConsecutiveFailures), s.Name)
		if s.BootTime > 0 {
			ch <- prometheus.MustNewConstMetric(descBoot, prometheus.GaugeValue, s.BootTime.Seconds(), s.Name)
		}
	}
	for st, n := range byState {
		ch <- prometheus.MustNewConstMetric(descSlots, prometheus.GaugeValue, float64(n), st)
	}
	for _, p := range c.src.Plugins() {
		ch <- prometheus.MustNewConstMetric(descPlugCalls, prometheus.CounterValue, float64(p.Calls), p.Name)
		ch <- prometheus.MustNewConstMetric(descPlugFail, prometheus.CounterValue, float64(p.Failures), p.Name)
		ch <- prometheus.MustNewConstMetric(descPlugRest, prometheus.CounterValue, float64(p.Restarts), p.Name)
		ch <- prometheus.MustNewConstMetric(descPlugUp, prometheus.GaugeValue, 1, p.Name, p.State)
	}
	if time.Since(c.usageAt) > usageTTL {
		if u, err := c.src.Usage(); err != nil {
			c.errUsage++
		} else {
			c.usage, c.usageAt = u, time.Now()
		}
	}
	if !c.usageAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(descDB, prometheus.GaugeValue, float64(c.usage.DBBytes))
		ch <- prometheus.MustNewConstMetric(descArtifacts, prometheus.GaugeValue, float64(c.usage.ArtifactBytes))
		ch <- prometheus.MustNewConstMetric(descSamples, prometheus.GaugeValue, float64(c.usage.SampleBytes))
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErrs, prometheus.CounterValue, c.errJobs, "jobs")
	ch <- prometheus.MustNewConstMetric(descScrapeErrs, prometheus.CounterValue, c.errUsage, "usage")
}
