package train

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/corpus"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// writeCorpus writes a corpus folder of synthetic runs: groups g0..g(n-1),
// three runs each; malicious groups' runs open /etc/shadow and call setuid.
func writeCorpus(t *testing.T, n int) string {
	dir := t.TempDir()
	var idx []byte
	for g := 0; g < n; g++ {
		label, group := corpus.LabelBenign, fmt.Sprintf("prog%d", g)
		if g%2 == 1 {
			label, group = corpus.LabelMalware, fmt.Sprintf("T10%02d", g)
		}
		for r := 0; r < 3; r++ {
			id := fmt.Sprintf("x/%s/%d", group, r)
			calls := []string{"execve", "brk", "mmap", "openat", "read", "close"}
			for k := 0; k < g*3+r; k++ {
				calls = append(calls, "write")
			}
			if label == corpus.LabelMalware {
				calls = append(calls, "setuid", "openat", "read", "setuid")
			} else {
				calls = append(calls, "getdents64", "newfstatat", "write")
			}
			calls = append(calls, "exit_group")
			w := trace.Window{Counts: map[string]int{}}
			for i, c := range calls {
				w.Events = append(w.Events, trace.Event{T: int64(i), PID: 1, TID: 1, Name: c})
				w.Counts[c]++
			}
			rel := "traces/" + id + ".jsonl.gz"
			p := filepath.Join(dir, rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			zw := gzip.NewWriter(f)
			json.NewEncoder(zw).Encode(map[string]any{"window": w})
			json.NewEncoder(zw).Encode(map[string]any{"summary": trace.Summary{Outcome: trace.OutcomeExited, Windows: 1, Events: len(calls), Kept: len(calls)}})
			zw.Close()
			f.Close()
			b, _ := json.Marshal(corpus.Entry{ID: id, Label: label, Group: group, Source: "test", Name: id, Digest: "d", Status: corpus.StatusDone, Trace: rel})
			idx = append(append(idx, b...), '\n')
		}
	}
	if err := os.WriteFile(filepath.Join(dir, corpus.IndexFile), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTrainCorpusGroupedAndKeyedByRun(t *testing.T) {
	dir := writeCorpus(t, 8)
	res, err := Train(context.Background(), Spec{Model: "random-forest", Data: dir, Seed: 1, Folds: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Task != "corpus" || res.CV.Groups != 8 {
		t.Fatalf("task %q, %d groups; want corpus, 8", res.Header.Task, res.CV.Groups)
	}
	fold := map[string]int{}
	for _, l := range res.OOF {
		if l.Key != IDKey(l.ID) {
			t.Fatalf("line %s keyed %s, not by its run", l.ID, l.Key)
		}
		g := filepath.Dir(l.ID)
		if f, ok := fold[g]; ok && f != l.Fold {
			t.Fatalf("group %s held out in folds %d and %d", g, f, l.Fold)
		}
		fold[g] = l.Fold
	}
	if len(res.OOF) != 24 {
		t.Errorf("%d out-of-fold lines, want 24", len(res.OOF))
	}
	if res.CV.Pooled.Accuracy < 0.9 {
		t.Errorf("pooled accuracy %.2f on a separable corpus", res.CV.Pooled.Accuracy)
	}
}

func TestTrainCorpusBrokenTrace(t *testing.T) {
	dir := writeCorpus(t, 4)
	p := filepath.Join(dir, "traces", "x", "prog0", "0.jsonl.gz")
	if err := os.WriteFile(p, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Train(context.Background(), Spec{Model: "random-forest", Data: dir, Seed: 1, Folds: 2})
	if err == nil || !strings.Contains(err.Error(), "x/prog0/0") {
		t.Fatalf("broken trace: %v", err)
	}
}

func TestTrainCorpusArgs(t *testing.T) {
	dir := writeCorpus(t, 8)
	res, err := Train(context.Background(), Spec{Model: "random-forest", Data: dir, Task: TaskCorpusArgs, Seed: 1, Folds: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.FeatureSet != "trace-args" || res.CV.Groups != 8 || len(res.Header.Columns) == 0 {
		t.Fatalf("feature set %q, %d groups, %d columns", res.Header.FeatureSet, res.CV.Groups, len(res.Header.Columns))
	}
	for _, l := range res.OOF {
		if l.Key != IDKey(l.ID) {
			t.Fatalf("line %s not keyed by its run", l.ID)
		}
	}
}
