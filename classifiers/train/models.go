package train

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/classical"
	"github.com/scalemalnet/scalemalnet/classifiers/deep"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// model is one trainable model type.
type model struct {
	input   string // what it reads: vector (ClaMP vectors, or n-gram vectors of call sequences), sequence, image
	deep    bool
	factory func(o Options) (ml.Factory, any) // the factory and its configuration (recorded in the model file)
	// maxTrain > 0 subsamples training folds (slow models on large sets).
	maxTrain int
}

// Options are the knobs a training command exposes.
type Options struct {
	SeqLen int  // sequence models: ids per example (default per model)
	Epochs int  // deep models: most epochs (default deep.DefaultTrain's)
	Quick  bool // fewer epochs: for tests and smoke runs
}

func deepTrain(o Options) deep.TrainConfig {
	t := deep.DefaultTrain()
	if o.Epochs > 0 {
		t.Epochs = o.Epochs
	}
	if o.Quick {
		t.Epochs, t.Patience = 3, 2
	}
	return t
}

func seqCfg(c deep.SeqConfig, o Options) deep.SeqConfig {
	if o.SeqLen > 0 {
		c.SeqLen = o.SeqLen
	}
	return c
}

var models = map[string]model{
	"dnn": {input: "vector", deep: true, factory: func(o Options) (ml.Factory, any) {
		c, t := deep.DefaultDNN(), deepTrain(o)
		return func() ml.Classifier { return deep.NewDNN(c, t) }, map[string]any{"model": c, "train": t}
	}},
	"lstm": {input: "sequence", deep: true, factory: func(o Options) (ml.Factory, any) {
		c, t := seqCfg(deep.DefaultLSTM(), o), deepTrain(o)
		return func() ml.Classifier { return deep.NewLSTM(c, t) }, map[string]any{"model": c, "train": t}
	}},
	"cnn-lstm": {input: "sequence", deep: true, factory: func(o Options) (ml.Factory, any) {
		c, t := seqCfg(deep.DefaultCNNLSTM(), o), deepTrain(o)
		return func() ml.Classifier { return deep.NewCNNLSTM(c, t) }, map[string]any{"model": c, "train": t}
	}},
	"image-cnn": {input: "image", deep: true, factory: func(o Options) (ml.Factory, any) {
		c, t := deep.DefaultImageCNN(), deepTrain(o)
		return func() ml.Classifier { return deep.NewImageCNN(c, t) }, map[string]any{"model": c, "train": t}
	}},
	"image-cnn-lstm": {input: "image", deep: true, factory: func(o Options) (ml.Factory, any) {
		c, t := deep.DefaultImageCNNLSTM(), deepTrain(o)
		return func() ml.Classifier { return deep.NewImageCNNLSTM(c, t) }, map[string]any{"model": c, "train": t}
	}},
	"logreg": {input: "vector", factory: func(Options) (ml.Factory, any) {
		return func() ml.Classifier { return classical.NewLogReg() }, nil
	}},
	"naive-bayes": {input: "vector", factory: func(Options) (ml.Factory, any) {
		return func() ml.Classifier { return classical.NewGaussianNB() }, nil
	}},
	"knn": {input: "vector", maxTrain: 4000, factory: func(Options) (ml.Factory, any) {
		return classical.NewKNN(5), map[string]int{"k": 5}
	}},
	"decision-tree": {input: "vector", factory: func(Options) (ml.Factory, any) {
		return classical.NewDecisionTree(0, 1), map[string]int{"max_depth": 0, "min_leaf": 1}
	}},
	"random-forest": {input: "vector", factory: func(Options) (ml.Factory, any) {
		return classical.NewRandomForest(100), map[string]int{"trees": 100}
	}},
	"linear-svm": {input: "vector", factory: func(Options) (ml.Factory, any) {
		return func() ml.Classifier { return classical.NewLinearSVM() }, nil
	}},
}

// Models lists the model types.
func Models() []string {
	var out []string
	for n := range models {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func lookup(name string) (model, error) {
	m, ok := models[name]
	if !ok {
		return model{}, fmt.Errorf("%w: unknown model %q (have %s)", ErrData, name, strings.Join(Models(), ", "))
	}
	return m, nil
}

func configJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
