package deep

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// measureCases are realistic-size training runs with the default
// configurations (5 epochs each), run only when DEEP_MEASURE=1:
//
//	DEEP_MEASURE=1 /usr/bin/time -v go test ./classifiers/deep/ -run 'TestMeasure/dnn$' -v
func measureCases() []struct {
	name string
	m    ml.Classifier
	d    ml.Dataset
} {
	tr := DefaultTrain()
	tr.Epochs, tr.Patience = 5, 5
	img := func(n int) ml.Dataset { d := synthImages(n, 3); return d }
	return []struct {
		name string
		m    ml.Classifier
		d    ml.Dataset
	}{
		{"dnn", NewDNN(DefaultDNN(), tr), synthVectorsDim(5000, 69)},
		{"lstm", NewLSTM(DefaultLSTM(), tr), synthTokens(2000, 100, 4)},
		{"cnn-lstm", NewCNNLSTM(DefaultCNNLSTM(), tr), synthTokens(2000, 400, 5)},
		{"image-cnn", NewImageCNN(DefaultImageCNN(), tr), img(2000)},
		{"image-cnn-lstm", NewImageCNNLSTM(DefaultImageCNNLSTM(), tr), img(2000)},
	}
}

// synthVectorsDim is synthVectors widened to dim features (ClaMP has 69).
func synthVectorsDim(n, dim int) ml.Dataset {
	d := synthVectors(n, 6)
	for i := range d.Inputs {
		v := make([]float64, dim)
		for j := range v {
			v[j] = d.Inputs[i].Vector[j%12] * float64(1+j/12)
		}
		d.Inputs[i].Vector = v
	}
	return d
}

func TestMeasure(t *testing.T) {
	if os.Getenv("DEEP_MEASURE") != "1" {
		t.Skip("set DEEP_MEASURE=1 to measure training cost")
	}
	for _, c := range measureCases() {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			if err := c.m.Fit(context.Background(), c.d, 1); err != nil {
				t.Fatal(err)
			}
			el := time.Since(start)
			t.Logf("%s: %d examples, 5 epochs max: %v (%.0f examples/s incl. compile)", c.name, len(c.d.Inputs), el.Round(time.Millisecond), 5*float64(len(c.d.Inputs))/el.Seconds())
			acc := accuracy(t, c.m, c.d)
			t.Logf("%s: training-set accuracy %.3f", c.name, acc)
		})
	}
}

// BenchmarkPredict measures per-sample (batch 1) inference latency of each
// model with its default configuration (weights from a one-epoch fit).
func BenchmarkPredict(b *testing.B) {
	tr := DefaultTrain()
	tr.Epochs, tr.ValFraction = 1, 0
	cases := []struct {
		name string
		m    ml.Classifier
		d    ml.Dataset
	}{
		{"dnn", NewDNN(DefaultDNN(), tr), synthVectorsDim(64, 69)},
		{"lstm", NewLSTM(DefaultLSTM(), tr), synthTokens(64, 100, 4)},
		{"cnn-lstm", NewCNNLSTM(DefaultCNNLSTM(), tr), synthTokens(64, 400, 5)},
		{"image-cnn", NewImageCNN(DefaultImageCNN(), tr), synthImages(64, 3)},
		{"image-cnn-lstm", NewImageCNNLSTM(DefaultImageCNNLSTM(), tr), synthImages(64, 3)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := c.m.Fit(context.Background(), c.d, 1); err != nil {
				b.Fatal(err)
			}
			if _, err := c.m.PredictProba(c.d.Inputs[0]); err != nil { // compile outside the timer
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.m.PredictProba(c.d.Inputs[i%len(c.d.Inputs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
