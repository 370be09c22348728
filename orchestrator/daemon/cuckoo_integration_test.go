package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// unixClient talks HTTP to the daemon's API socket.
func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

// scrape reads /metrics into series -> value (series without the
// scalemalnet_ prefix left out).
func scrape(t *testing.T, c *http.Client, token string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://unix/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "scalemalnet_") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			out[line[:i]] = line[i+1:]
		}
	}
	return out
}

// TestCuckooAPIEndToEnd: a real orchestrator with a real VM; a sample is
// submitted through the Cuckoo-compatible API exactly as Cortex's
// analyzer does, polled through tasks/view to reported, and its report
// read as Cortex reads it; then a hanging sample is cancelled in its run
// step (VM destroyed, slot idle again) and deleted. /metrics is scraped
// before and after, and the series that changed are logged.
func TestCuckooAPIEndToEnd(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	c := unixClient(strings.TrimPrefix(td.cfg.Listen, "unix:"))
	token := td.token
	waitFor(t, "the API socket", func() bool {
		_, err := os.Stat(strings.TrimPrefix(td.cfg.Listen, "unix:"))
		return err == nil
	})
	before := scrape(t, c, token)

	content, err := os.ReadFile(filepath.Join(samplesDir, "fork-exec"))
	if err != nil {
		t.Fatal(err)
	}
	body, ctype := apitest.PyMultipart([]apitest.PyField{{Name: "timeout", Value: "20"}, {Name: "options", Value: "procmemdump=yes"}},
		[]apitest.PyFile{{Field: "file", Filename: "fork-exec", Content: content}})
	do := func(method, path string, body []byte, ctype string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://unix/"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("User-Agent", "python-requests/2.31.0")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := do("POST", "tasks/create/file", body, ctype)
	var created struct {
		TaskID int `json:"task_id"`
	}
	if code != 200 || json.Unmarshal(b, &created) != nil || created.TaskID != 1 {
		t.Fatalf("create: %d %s", code, b)
	}
	var statuses []string
	deadline := time.Now().Add(5 * time.Minute)
	for {
		code, b = do("GET", fmt.Sprintf("tasks/view/%d", created.TaskID), nil, "")
		var v struct {
			Task struct {
				Status string   `json:"status"`
				Errors []string `json:"errors"`
			} `json:"task"`
		}
		if code != 200 || json.Unmarshal(b, &v) != nil {
			t.Fatalf("view: %d %s", code, b)
		}
		if len(statuses) == 0 || statuses[len(statuses)-1] != v.Task.Status {
			statuses = append(statuses, v.Task.Status)
		}
		if v.Task.Status == "reported" {
			break
		}
		if strings.HasPrefix(v.Task.Status, "failed") || time.Now().After(deadline) {
			t.Fatalf("task %s: %v (statuses %v)", v.Task.Status, v.Task.Errors, statuses)
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("task statuses seen: %v", statuses)
	if statuses[0] != "pending" && statuses[0] != "running" {
		t.Errorf("first status %s", statuses[0])
	}
	code, b = do("GET", fmt.Sprintf("tasks/report/%d/json", created.TaskID), nil, "")
	if code != 200 {
		t.Fatalf("report: %d %s", code, b)
	}
	var r struct {
		Info struct {
			Duration       int      `json:"duration"`
			IgnoredOptions []string `json:"ignored_options"`
		} `json:"info"`
		Signatures []struct {
			Description string `json:"description"`
		} `json:"signatures"`
		Network struct {
			Hosts []map[string]any `json:"hosts"`
			HTTP  []map[string]any `json:"http"`
		} `json:"network"`
		Malscore *float64 `json:"malscore"`
		Target   struct {
			File struct {
				Type   string `json:"type"`
				SHA256 string `json:"sha256"`
				Yara   []any  `json:"yara"`
			} `json:"file"`
		} `json:"target"`
		Behavior struct {
			Processes []struct {
				ProcessName string `json:"process_name"`
				PPID        int    `json:"ppid"`
			} `json:"processes"`
		} `json:"behavior"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Behavior.Processes) < 2 || r.Malscore == nil || r.Target.File.Yara == nil || r.Network.Hosts == nil || r.Network.HTTP == nil {
		t.Fatalf("report: %s", b)
	}
	if !strings.Contains(r.Target.File.Type, "ELF") || !slices.Contains(r.Info.IgnoredOptions, "options.procmemdump=yes") {
		t.Fatalf("target.file.type %q, ignored %v", r.Target.File.Type, r.Info.IgnoredOptions)
	}
	t.Logf("report: %d processes, malscore %v, %d signatures, duration %d s", len(r.Behavior.Processes), *r.Malscore, len(r.Signatures), r.Info.Duration)

	// Cancel of a running job: the hanging sample is stopped in its run
	// step, its VM destroyed, and the slot takes work again.
	hang, err := os.Open(filepath.Join(samplesDir, "test-hang"))
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	hj, err := td.Submit(context.Background(), "test-hang", hang, jobs.Options{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hanging sample to run", func() bool {
		j, err := td.Job(context.Background(), hj.ID)
		return err == nil && j.State == jobs.Running && j.Step == StepRun
	})
	code, b = do("POST", "api/v1/jobs/"+hj.ID+"/cancel", nil, "")
	var cj jobs.Job
	if code != 200 || json.Unmarshal(b, &cj) != nil || cj.State != jobs.Cancelled || !strings.Contains(cj.Error, "during step run") {
		t.Fatalf("cancel: %d %s", code, b)
	}
	if names, err := td.hv.Domains(context.Background(), td.domainPrefix()); err != nil || len(names) != 0 {
		t.Fatalf("VMs running after the cancel: %v %v", names, err)
	}
	waitFor(t, "slot0 idle after the cancel", func() bool {
		s := td.pool.Slot("slot0")
		return s != nil && s.State() == SlotIdle
	})
	code, b = do("DELETE", "api/v1/jobs/"+hj.ID, nil, "")
	if code != 200 {
		t.Fatalf("delete: %d %s", code, b)
	}

	after := scrape(t, c, token)
	var changed []string
	for k, v := range after {
		if before[k] != v && !strings.Contains(k, "_bucket{") {
			changed = append(changed, fmt.Sprintf("%s: %s -> %s", k, orDash(before[k]), v))
		}
	}
	slices.Sort(changed)
	t.Logf("/metrics series that changed during the job:\n%s", strings.Join(changed, "\n"))
	for _, want := range []string{`scalemalnet_jobs_finished_total{state="done"}`, `scalemalnet_jobs{state="done"}`,
		`scalemalnet_jobs_finished_total{state="cancelled"}`, `scalemalnet_step_duration_seconds_count{result="error",step="run"}`,
		`scalemalnet_step_duration_seconds_count{result="ok",step="restore"}`, `scalemalnet_slot_analyses_total{slot="slot0"}`} {
		if after[want] == "" || after[want] == before[want] {
			t.Errorf("%s did not change: %q -> %q", want, before[want], after[want])
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
