package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// BenchmarkModelPlugins measures each trained model through its classifier
// plugin subprocess, warm (the process is started and has answered once
// before timing): per-sample latency and samples per second, for the model
// files in SCALEMALNET_MODELS (default build/models, made by `make models`;
// build/results holds the deep models of scripts/results.sh). Beside each,
// the baseline "in-process" runs the same model on the same input through
// train.Predictor in the test process, so plugin/in-process is the cost of
// the process boundary (gRPC, protobuf, feature-set checks).
//
//	go test ./cmd/scalemalnet -run '^$' -bench ModelPlugins -benchtime 200x
func BenchmarkModelPlugins(b *testing.B) {
	dir := os.Getenv("SCALEMALNET_MODELS")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "models")
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.smnmodel"))
	if len(paths) == 0 {
		b.Skipf("no model files in %s: run `make models`", dir)
	}
	bin := buildBinaryB(b)
	sum, err := host.FileSHA256(bin)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range paths {
		h, _, err := modelfile.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		abs, _ := filepath.Abs(p)
		set := exampleSet(h)
		b.Run(h.Name+"/in-process", func(b *testing.B) {
			pr, err := train.Open(abs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pr.PredictSet(set); err != nil {
				b.Fatal(err)
			}
			timeCalls(b, func() error { _, err := pr.PredictSet(set); return err })
		})
		b.Run(h.Name+"/plugin", func(b *testing.B) {
			m := host.New(host.Config{Builtins: []host.Source{{Name: h.Name, Path: bin, Args: []string{"plugin", "serve-model", abs}, SHA256: sum, Builtin: true}},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err := m.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			cs := m.Plugins(plugins.KindClassifier)
			if len(cs) != 1 {
				b.Fatalf("plugin did not start: %+v", m.List())
			}
			sample := plugins.Sample{Name: "bench"}
			if _, err := cs[0].Classify(context.Background(), sample, []*features.Set{set}); err != nil {
				b.Fatal(err)
			}
			timeCalls(b, func() error {
				_, err := cs[0].Classify(context.Background(), sample, []*features.Set{set})
				return err
			})
		})
	}
}

// timeCalls runs call b.N times (the model is already warm) and reports
// per-sample latency and samples per second.
func timeCalls(b *testing.B, call func() error) {
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(el.Microseconds())/float64(b.N)/1000, "ms/sample")
	b.ReportMetric(float64(b.N)/el.Seconds(), "samples/s")
}

// exampleSet builds an input of the kind the model reads.
func exampleSet(h modelfile.Header) *features.Set {
	switch h.Input {
	case modelfile.InputImage:
		pix := make([]byte, h.Width*h.Height)
		for i := range pix {
			pix[i] = byte(i * 7)
		}
		return &features.Set{Name: h.FeatureSet, Version: "1", Kind: features.KindImage, Image: &features.Image{Width: h.Width, Height: h.Height, Pix: pix}}
	case modelfile.InputVector:
		if h.FeatureSet != "callseq" {
			v := make([]float64, len(h.Columns))
			for i := range v {
				v[i] = float64(i % 7)
			}
			return &features.Set{Name: h.FeatureSet, Version: "1", Kind: features.KindVector, Schema: h.Columns, Vector: v}
		}
	}
	// Call sequences: 1,000 calls of a plausible service trace.
	schema := []string{"<pad>", "<unk>", "read", "write", "openat", "close", "epoll_wait", "accept4", "recvfrom", "sendto", "mmap", "futex"}
	toks := make([]int32, 1000)
	for i := range toks {
		toks[i] = int32(2 + (i*5)%10)
	}
	return &features.Set{Name: "callseq", Version: "1", Kind: features.KindSequence, Schema: schema, Tokens: toks}
}

func buildBinaryB(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "scalemalnet")
	if out, err := runGoBuild(bin); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
