package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion/fusiontest"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// TestPluginFailuresInReport: a real analysis with external plugins that
// crash, hang past their deadline, speak another API version, or whose
// binary does not match its registered checksum. The job completes with
// the working plugins' votes and each failure is in the report.
func TestPluginFailuresInReport(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	pluginDir := t.TempDir()
	names := []string{"good-featurizer", "good-classifier", "crash-classifier", "hang-classifier", "apiv2-classifier"}
	args := []string{"build", "-o", pluginDir + "/"}
	for _, n := range names {
		args = append(args, "../../plugins/host/testdata/"+n)
	}
	args = append(args, "../../plugins/examples/syscall-heuristic")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("build plugins: %v\n%s", err, out)
	}
	for _, n := range append(names, "syscall-heuristic") {
		if _, err := host.Register(pluginDir, n, filepath.Join(pluginDir, n), nil); err != nil {
			t.Fatal(err)
		}
	}
	// good-classifier is changed after registration: its checksum no longer matches.
	f, err := os.OpenFile(filepath.Join(pluginDir, "good-classifier"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()

	// A fusion model over the working and the failing classifiers: the
	// verdict must come from the working one alone.
	fusionModel := fusiontest.ModelFile(t, "syscall-heuristic", []string{"crash-classifier", "hang-classifier"}, "")
	td := startDaemonWith(t, imageDir, 1, func(c *Config) {
		c.PluginDir = pluginDir
		c.PluginCallTimeout = 3 * time.Second
		c.Fusion.Model = fusionModel
	})
	// The hanging test plugin hangs on samples named "hang" (and the
	// crashing one panics on any name but "ok").
	bin, err := os.ReadFile(filepath.Join(samplesDir, "fork-exec"))
	if err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(t.TempDir(), "hang")
	if err := os.WriteFile(sample, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	_, rep := td.analyse(t, sample, jobs.Options{Timeout: 20 * time.Second, Window: time.Second})

	votes := map[string]report.Vote{}
	for _, v := range rep.Votes {
		votes[v.Classifier] = v
	}
	problems := map[string]report.PluginProblem{}
	for _, p := range rep.PluginProblems {
		problems[p.Plugin] = p
	}
	if v := votes["syscall-heuristic"]; v.Error != "" || v.Label == "" || len(v.Scores) != 2 {
		t.Errorf("working external plugin should vote: %+v", v)
	}
	if v := votes["crash-classifier"]; !strings.Contains(v.Error, "crash") || !strings.Contains(v.Error, "exploded") {
		t.Errorf("crashing plugin: %+v", v)
	}
	if v := votes["hang-classifier"]; !strings.Contains(v.Error, "did not answer within 3s") {
		t.Errorf("hanging plugin: %+v", v)
	}
	if p := problems["apiv2-classifier"]; p.State != host.StateRefused || !strings.Contains(p.Error, "version") {
		t.Errorf("API v2 plugin: %+v", p)
	}
	if p := problems["good-classifier"]; p.State != host.StateRefused || !strings.Contains(p.Error, "checksum") {
		t.Errorf("tampered plugin: %+v", p)
	}
	if len(rep.Features) == 0 {
		t.Error("no features recorded")
	}
	// Two-stage verdict despite two failed classifiers.
	if v := rep.Verdict; v == nil || v.Label == report.VerdictUnknown || len(v.Contributions) != 1 ||
		v.Contributions[0].Classifier != "syscall-heuristic" {
		t.Errorf("verdict: %+v", v)
	} else {
		failed := map[string]bool{}
		for _, m := range v.Missing {
			failed[m.Classifier] = m.Status == "failed"
		}
		if !failed["crash-classifier"] || !failed["hang-classifier"] {
			t.Errorf("failed classifiers not listed in the verdict: %+v", v.Missing)
		}
	}
	var b strings.Builder
	report.Render(&b, rep)
	if !strings.HasPrefix(b.String(), "VERDICT    ") {
		t.Errorf("the report does not start with the verdict")
	}
	t.Logf("report as an analyst sees it:\n%s", b.String())
}
