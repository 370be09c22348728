package callseq

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

var train = [][]string{{"open", "read", "read", "Close"}, {"read", "close", "write"}}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"NtClose": "ntclose", " openat\n": "openat", "read": "read", "GetTickCount": "gettickcount"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Normalize("openat") }); n != 0 {
		t.Errorf("normalised name allocates %v", n)
	}
}

func TestVocabulary(t *testing.T) {
	v := BuildVocabulary(train, VocabOptions{})
	want := []string{PadToken, UnknownToken, "read", "close", "open", "write"}
	if !slices.Equal(v.Tokens(), want) {
		t.Fatalf("tokens %v, want %v", v.Tokens(), want)
	}
	v2 := BuildVocabulary(train, VocabOptions{MinCount: 2})
	if !slices.Equal(v2.Tokens(), want[:4]) || v2.MinCount() != 2 {
		t.Fatalf("min count 2: %v", v2.Tokens())
	}
	if got := v2.Encode([]string{"READ", "openat", "close", "<pad>"}); !slices.Equal(got, []int32{2, 1, 3, 1}) {
		t.Errorf("encode %v", got)
	}
	if v3 := BuildVocabulary(train, VocabOptions{MaxSize: 3}); v3.Len() != 3 || v3.Token(2) != "read" || v3.Token(9) != UnknownToken {
		t.Errorf("max size: %v", v3.Tokens())
	}
	if v.Digest() == v2.Digest() || v.Digest() != BuildVocabulary(train, VocabOptions{}).Digest() {
		t.Error("digest not a function of the tokens")
	}

	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back Vocabulary
	if err := json.Unmarshal(b, &back); err != nil || back.Digest() != v.Digest() || back.ID("write") != 5 {
		t.Fatalf("round trip: %v %s", err, b)
	}
	for _, bad := range []string{
		strings.Replace(string(b), `"write"`, `"Write"`, 1),
		strings.Replace(string(b), `"write"`, `"read"`, 1),
		strings.Replace(string(b), `"\u003cpad\u003e",`, ``, 1),
		strings.Replace(string(b), `callseq-vocabulary/1`, `x`, 1),
		strings.Replace(string(b), v.Digest(), v2.Digest(), 1),
		`{`,
	} {
		if err := back.UnmarshalJSON([]byte(bad)); !errors.Is(err, ErrVocabulary) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestLinuxAndWindowsNames(t *testing.T) {
	recs := []datasets.SeqRecord{
		{Calls: []string{"openat", "read", "mmap"}},             // agent / FHIDS
		{Calls: []string{"NtCreateFile", "LdrLoadDll"}},         // MalBehavD / Cuckoo
		{Calls: []string{"ntcreatefile", "ldrloaddll", "read"}}, // Mal-API
	}
	v := BuildVocabularyFromRecords(recs, VocabOptions{})
	if v.Len() != 2+5 || v.ID("NTCREATEFILE") != v.ID("ntcreatefile") || v.ID("openat") == UnknownID {
		t.Fatalf("tokens %v", v.Tokens())
	}
}

func TestFit(t *testing.T) {
	ids := []int32{5, 6, 7}
	for _, c := range []struct {
		n    int
		keep Truncate
		pad  PadSide
		want []int32
	}{
		{5, KeepHead, PadEnd, []int32{5, 6, 7, 0, 0}},
		{5, KeepTail, PadStart, []int32{0, 0, 5, 6, 7}},
		{2, KeepHead, PadEnd, []int32{5, 6}},
		{2, KeepTail, PadEnd, []int32{6, 7}},
		{3, KeepTail, PadStart, []int32{5, 6, 7}},
		{0, KeepHead, PadEnd, []int32{5, 6, 7}},
	} {
		if got := Fit(ids, c.n, c.keep, c.pad); !slices.Equal(got, c.want) {
			t.Errorf("Fit(%d,%d,%d) = %v, want %v", c.n, c.keep, c.pad, got, c.want)
		}
	}
}

func TestSequenceFeaturizer(t *testing.T) {
	v := BuildVocabulary(train, VocabOptions{})
	calls := []string{"open", "read", "Read", "close", "write", "execve"}
	f := &Sequence{Vocab: v, Length: 4}
	set, err := f.Featurize(calls)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set.Tokens, []int32{4, 2, 2, 3}) || set.Meta["truncated"] != "true" || set.Meta["calls"] != "6" || set.Meta["unknown"] != "0" {
		t.Errorf("head: %v %v", set.Tokens, set.Meta)
	}
	f.Keep = KeepTail
	set, _ = f.Featurize(calls)
	if !slices.Equal(set.Tokens, []int32{2, 3, 5, 1}) || set.Meta["unknown"] != "1" {
		t.Errorf("tail: %v %v", set.Tokens, set.Meta)
	}
	f2 := &Sequence{Vocab: v, Length: 8, Pad: PadStart, WithSchema: true}
	set, _ = f2.Featurize([]string{"write"})
	if !slices.Equal(set.Tokens, []int32{0, 0, 0, 0, 0, 0, 0, 5}) || len(set.Schema) != v.Len() || set.Version == f.Version() {
		t.Errorf("pad start: %v %v %s", set.Tokens, set.Schema, set.Version)
	}
	if set, err := f2.Featurize(nil); err != nil || set.Validate() != nil {
		t.Errorf("empty: %v", err)
	}
	if _, err := (&Sequence{Length: 4}).Featurize(calls); !errors.Is(err, ErrConfig) {
		t.Errorf("no vocabulary: %v", err)
	}
}

func TestNGramsVocabulary(t *testing.T) {
	docs := [][]string{{"a", "b", "a", "b"}, {"b", "A", "c"}}
	m, err := FitNGrams(docs, NGramOptions{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Schema(), []string{"a|b", "b|a", "a|c"}) {
		t.Fatalf("schema %v", m.Schema())
	}
	vec, missing := m.Transform([]string{"a", "b", "c"})
	if !slices.Equal(vec, []float64{1, 0, 0}) || missing != 1 {
		t.Errorf("counts %v missing %d", vec, missing)
	}
	if m1, _ := FitNGrams(docs, NGramOptions{N: 2, MinCount: 2}); !slices.Equal(m1.Schema(), []string{"a|b", "b|a"}) {
		t.Errorf("min count: %v", m1.Schema())
	}
	if m1, _ := FitNGrams(docs, NGramOptions{N: 1, MaxFeatures: 2}); !slices.Equal(m1.Schema(), []string{"a", "b"}) {
		t.Errorf("max features: %v", m1.Schema())
	}
	if v, _ := m.Transform([]string{"a"}); !slices.Equal(v, []float64{0, 0, 0}) {
		t.Errorf("shorter than n: %v", v)
	}

	tf, _ := FitNGrams(docs, NGramOptions{N: 2, TFIDF: true})
	// idf: a|b ln(3/2)+1, b|a ln(3/3)+1, a|c ln(3/2)+1; then unit length.
	for _, c := range []struct {
		in   []string
		want []float64
	}{
		{docs[0], []float64{0.9421556246632359, 0.33517574332792605, 0}},
		{[]string{"a", "b", "x", "a", "c"}, []float64{0.7071067811865476, 0, 0.7071067811865476}},
	} {
		got, _ := tf.Transform(c.in)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("tf-idf %v = %v, want %v", c.in, got, c.want)
				break
			}
		}
	}

	f := &NGrams{Model: tf}
	set, err := f.Featurize(docs[1])
	if err != nil || set.Validate() != nil || set.Kind != "vector" || !slices.Equal(set.Schema, tf.Schema()) {
		t.Fatalf("set %+v %v", set, err)
	}
	b, _ := json.Marshal(tf)
	var back NGramModel
	if err := json.Unmarshal(b, &back); err != nil || back.Digest() != tf.Digest() {
		t.Fatalf("round trip: %v", err)
	}
	g, _ := back.Transform(docs[0])
	if w, _ := tf.Transform(docs[0]); !slices.Equal(g, w) {
		t.Error("reloaded model transforms differently")
	}
	if err := json.Unmarshal([]byte(strings.Replace(string(b), `"a|c"`, `"a|d"`, 1)), &back); !errors.Is(err, ErrNGram) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := FitNGrams(docs, NGramOptions{N: 0}); !errors.Is(err, ErrNGram) {
		t.Errorf("n=0: %v", err)
	}
}

func TestNGramsHashed(t *testing.T) {
	m, err := FitNGrams(nil, NGramOptions{N: 1, Buckets: 8})
	if err != nil {
		t.Fatal(err)
	}
	vec, _ := m.Transform([]string{"read", "READ", "write"})
	h := fnv.New64a()
	h.Write([]byte("read"))
	if vec[h.Sum64()%8] < 2 {
		t.Errorf("read bucket %v", vec)
	}
	sum := 0.0
	for _, x := range vec {
		sum += x
	}
	if sum != 3 || len(m.Schema()) != 8 || m.Schema()[3] != "ngram1#hash3" {
		t.Errorf("sum %v schema %v", sum, m.Schema())
	}
}

func TestFeaturizeTrace(t *testing.T) {
	tr := &trace.Trace{
		Windows: []trace.Window{
			{Index: 0, Start: 0, End: 100, Events: []trace.Event{{T: 1, PID: 7, Name: "execve"}, {T: 2, PID: 8, Name: "openat"}}},
			{Index: 1, Start: 100, End: 200, Events: []trace.Event{{T: 150, PID: 7, Name: "exit_group"}}},
		},
		Summary: trace.Summary{Processes: []trace.Process{{PID: 7, Exe: "/s"}, {PID: 8, PPID: 7, Exe: "/c"}}},
	}
	v := BuildVocabulary([][]string{{"execve", "openat", "exit_group"}}, VocabOptions{})
	f := &Sequence{Vocab: v, Length: 3}
	sets, err := f.FeaturizeTrace(tr, datasets.SplitProcess)
	if err != nil || len(sets) != 2 {
		t.Fatalf("%v %v", sets, err)
	}
	if sets[0].Meta["group"] != "7:/s" || !slices.Equal(sets[0].Tokens, []int32{v.ID("execve"), v.ID("exit_group"), 0}) {
		t.Errorf("process 7: %v %v", sets[0].Tokens, sets[0].Meta)
	}
	sets, _ = f.FeaturizeTrace(tr, datasets.SplitWindow)
	if len(sets) != 2 || sets[1].Meta["group"] != "window:1" {
		t.Errorf("windows: %v", sets)
	}
	m, _ := FitNGrams([][]string{{"execve", "openat"}}, NGramOptions{N: 2})
	nsets, err := (&NGrams{Model: m}).FeaturizeTrace(tr, datasets.SplitWhole)
	if err != nil || len(nsets) != 1 || nsets[0].Vector[0] != 1 {
		t.Errorf("n-grams of whole trace: %v %v", nsets, err)
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("NtClose")
	f.Add(" \vREAD\n")
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
		if string(appendNormalized(nil, s)) != n {
			t.Fatalf("fast path differs for %q", s)
		}
		v := BuildVocabulary([][]string{{s}}, VocabOptions{})
		if n != "" && n != PadToken && n != UnknownToken && utf8.ValidString(n) && v.ID(s) != 2 {
			t.Fatalf("%q not found after building from it", s)
		}
	})
}
