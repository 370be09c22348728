package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/featurizers/image"
)

func datasetsDir(t *testing.T) string {
	t.Helper()
	d, err := datasets.Dir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("datasets not found: %v", err)
	}
	return d
}

func write(t *testing.T, r *Result) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), r.Header.Name+".smnmodel")
	if err := modelfile.WriteFile(p, r.Header, r.Weights); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainClaMPReproducibleAndReloadable: the same command twice gives the
// same model file; the reloaded model scores like the trained one.
func TestTrainClaMPReproducibleAndReloadable(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on ClaMP")
	}
	csv := filepath.Join(datasetsDir(t), "clamp", "ClaMP_Raw-5184.csv")
	spec := Spec{Model: "logreg", Data: csv, Seed: 7, Folds: 3}
	a, err := Train(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Weights, b.Weights) {
		t.Fatal("same spec and seed gave different weights")
	}
	var fa, fb bytes.Buffer
	modelfile.Write(&fa, a.Header, a.Weights)
	modelfile.Write(&fb, b.Header, b.Weights)
	if !bytes.Equal(fa.Bytes(), fb.Bytes()) {
		t.Fatal("same spec and seed gave different model files")
	}
	if acc := a.CV.Summary.Accuracy.Mean; acc < 0.85 {
		t.Fatalf("CV accuracy %.3f: training broke", acc)
	}
	if a.Header.Data.Examples >= a.Header.Data.Records || a.Header.Data.SHA256 == "" {
		t.Fatalf("dedup/digest not recorded: %+v", a.Header.Data)
	}
	p := write(t, a)
	m, _, err := Evaluate(context.Background(), p, csv)
	if err != nil {
		t.Fatal(err)
	}
	if m.Accuracy < 0.85 || m.AUC == nil {
		t.Fatalf("evaluation of the reloaded model: %+v", m)
	}
	// The predictor applies it to a feature set by column name, whatever the order.
	pr, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	cols := append([]string{}, pr.Header.Columns...)
	vals := make([]float64, len(cols))
	for i := range vals {
		vals[i] = float64(i)
	}
	p1, err := pr.PredictSet(&features.Set{Name: "clamp-raw", Kind: features.KindVector, Schema: cols, Vector: vals})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(cols)-1; i < j; i, j = i+1, j-1 {
		cols[i], cols[j] = cols[j], cols[i]
		vals[i], vals[j] = vals[j], vals[i]
	}
	p2, err := pr.PredictSet(&features.Set{Name: "clamp-raw", Kind: features.KindVector, Schema: cols, Vector: vals})
	if err != nil || p1[0] != p2[0] {
		t.Fatalf("column order changed the prediction: %v %v %v", p1, p2, err)
	}
	if _, err := pr.PredictSet(&features.Set{Name: "clamp-raw", Kind: features.KindVector, Schema: cols[1:], Vector: vals[1:]}); !errors.Is(err, ErrSchema) {
		t.Fatalf("missing column: %v, want ErrSchema", err)
	}
}

// TestTrainImagesTinySeparable: the image path end to end on a small
// Malimg-layout set the test generates.
func TestTrainImagesTinySeparable(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a CNN")
	}
	dir := t.TempDir()
	if err := image.GenerateSynthetic(dir, 3, 40, 1); err != nil {
		t.Fatal(err)
	}
	r, err := Train(context.Background(), Spec{Model: "image-cnn", Data: dir, Seed: 1, Folds: 3, Options: Options{Epochs: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if acc := r.CV.Summary.Accuracy.Mean; acc < 0.9 {
		t.Fatalf("image-cnn on a separable synthetic set: CV accuracy %.3f", acc)
	}
	if r.Header.Stage != "family" || r.Header.FeatureSet != "byteimage-32" || len(r.Header.Classes) != 3 {
		t.Fatalf("header %+v", r.Header)
	}
	m, _, err := Evaluate(context.Background(), write(t, r), dir)
	if err != nil || m.Accuracy < 0.9 {
		t.Fatalf("eval: %v %+v", err, m)
	}
}

func TestEvaluateErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.smnmodel")
	os.WriteFile(corrupt, []byte("SMNMODEL garbage"), 0o644)
	if _, _, err := Evaluate(ctx, corrupt, dir); !errors.Is(err, modelfile.ErrFormat) {
		t.Errorf("corrupt model: %v, want ErrFormat", err)
	}
	if _, _, err := Evaluate(ctx, filepath.Join(dir, "missing.smnmodel"), dir); err == nil {
		t.Error("missing model accepted")
	}
	if _, err := Train(ctx, Spec{Model: "no-such-model", Data: dir}); !errors.Is(err, ErrData) {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := Train(ctx, Spec{Model: "logreg", Data: filepath.Join(dir, "nope.csv")}); !errors.Is(err, ErrData) {
		t.Errorf("missing data: %v", err)
	}
	notCSV := filepath.Join(dir, "x.bin")
	os.WriteFile(notCSV, []byte{1, 2, 3}, 0o644)
	if _, err := Train(ctx, Spec{Model: "logreg", Data: notCSV}); !errors.Is(err, ErrData) {
		t.Errorf("unknown format: %v", err)
	}
	// A model of one task evaluated on another task's data: a clear error.
	imgs := t.TempDir()
	if err := image.GenerateSynthetic(imgs, 2, 6, 2); err != nil {
		t.Fatal(err)
	}
	h := modelfile.Header{Name: "x", Model: "logreg", Task: "clamp-raw", Stage: "detection", Input: modelfile.InputVector,
		FeatureSet: "clamp-raw", Classes: []string{"benign", "malware"}, Columns: []string{"a"}}
	var buf bytes.Buffer
	f, _ := models["logreg"].factory(Options{})
	f().Save(&buf)
	wrong := filepath.Join(dir, "wrong.smnmodel")
	modelfile.WriteFile(wrong, h, buf.Bytes())
	if _, _, err := Evaluate(ctx, wrong, imgs); err == nil {
		t.Error("model for ClaMP evaluated on an image folder without error")
	}
	if _, err := Train(ctx, Spec{Model: "lstm", Data: imgs}); !errors.Is(err, ErrData) {
		t.Errorf("sequence model on images: %v", err)
	}
}
