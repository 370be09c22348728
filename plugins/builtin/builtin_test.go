package builtin

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

func harness(t *testing.T, name string) *sdk.Harness {
	t.Helper()
	mk, ok := featurizers[name]
	if !ok {
		t.Fatalf("no built-in featurizer %q", name)
	}
	return sdk.NewFeaturizerHarness(t, mk())
}

func byName(sets []*features.Set) map[string]*features.Set {
	m := map[string]*features.Set{}
	for _, s := range sets {
		m[s.Name] = s
	}
	return m
}

func TestNamesAndUnknown(t *testing.T) {
	if len(Names()) < 4 {
		t.Fatalf("built-ins: %v", Names())
	}
	if err := Serve("nope"); !errors.Is(err, ErrUnknown) {
		t.Fatal(err)
	}
}

func TestStaticFeaturizersOnELF(t *testing.T) {
	elf, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	in := plugins.FeaturizeInput{Content: elf}
	sets, err := harness(t, "elf-header").Featurize(in)
	if err != nil || len(sets) != 1 || len(sets[0].Vector) == 0 {
		t.Fatalf("elf-header: %v %+v", err, sets)
	}
	if _, err := harness(t, "pe-header").Featurize(in); !errors.Is(err, plugins.ErrNotApplicable) {
		t.Fatalf("pe-header on ELF: %v, want ErrNotApplicable", err)
	}
	sets, err = harness(t, "byteimage").Featurize(in)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(sets)
	if m["byteimage-32"] == nil || len(m["byteimage-32"].Image.Pix) != 32*32 || len(m["byteimage-64"].Image.Pix) != 64*64 {
		t.Fatalf("byteimage sets: %+v", sets)
	}
	if _, err := harness(t, "elf-header").Featurize(plugins.FeaturizeInput{Content: elf[:100]}); err == nil {
		t.Fatal("truncated ELF accepted")
	}
}

func gz(t *testing.T, tr *trace.Trace) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := tr.WriteJSONL(zw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func TestCallSeq(t *testing.T) {
	tr := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, Counts: map[string]int{"openat": 2, "connect": 1},
		Events: []trace.Event{{T: 1, PID: 1, Name: "openat"}, {T: 2, PID: 1, Name: "connect"}, {T: 3, PID: 1, Name: "openat"}}}},
		Summary: trace.Summary{Outcome: trace.OutcomeExited}}
	h := harness(t, "callseq")
	sets, err := h.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, tr)})
	if err != nil {
		t.Fatal(err)
	}
	m := byName(sets)
	seq, ng := m["callseq"], m["callseq-ngram"]
	if seq == nil || ng == nil {
		t.Fatalf("sets %v", sets)
	}
	if len(seq.Tokens) != 1000 || seq.Tokens[0] != seq.Tokens[2] || seq.Tokens[0] == seq.Tokens[1] || seq.Tokens[3] != 0 {
		t.Fatalf("sequence ids: %v", seq.Tokens[:5])
	}
	if seq.Schema[seq.Tokens[1]] != "connect" {
		t.Fatalf("schema does not name the ids: %q", seq.Schema[seq.Tokens[1]])
	}
	col := map[string]float64{}
	for i, n := range ng.Schema {
		col[n] = ng.Vector[i]
	}
	if col["openat"] != 2 || col["connect"] != 1 {
		t.Fatalf("unigram counts: openat=%v connect=%v", col["openat"], col["connect"])
	}
	if err := h.Configure(`{"length": 10, "keep": "tail"}`); err != nil {
		t.Fatal(err)
	}
	sets, _ = h.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, tr)})
	if s := byName(sets)["callseq"]; len(s.Tokens) != 10 {
		t.Fatalf("configured length not applied: %d", len(s.Tokens))
	}
	for _, bad := range []string{`{"length": -1}`, `{"keep": "middle"}`, `{"bogus": 1}`, `{"tfidf": true}`} {
		if err := h.Configure(bad); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
	if _, err := h.Featurize(plugins.FeaturizeInput{}); !errors.Is(err, plugins.ErrNotApplicable) {
		t.Fatalf("no trace: %v", err)
	}
	if _, err := h.Featurize(plugins.FeaturizeInput{TraceGz: []byte("garbage")}); err == nil {
		t.Fatal("garbage trace accepted")
	}
}
