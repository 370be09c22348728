package deep

import (
	"context"
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// Fit implements ml.Classifier: seeded initialisation and shuffling,
// mini-batch Adam, early stopping on a validation split carved from d
// (the training data) and restoring the best weights seen.
func (m *Model) Fit(ctx context.Context, d ml.Dataset, seed int64) error {
	if err := m.Train.validate(); err != nil {
		return fmt.Errorf("deep %s: %w", m.arch.name(), err)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("deep %s: %w", m.arch.name(), err)
	}
	rng := rand.New(rand.NewSource(seed))
	trainIdx, valIdx := splitVal(len(d.Inputs), m.Train.ValFraction, rng)
	if len(trainIdx) == 0 {
		return fmt.Errorf("deep %s: %w: no training examples", m.arch.name(), ml.ErrData)
	}
	trainIns := make([]ml.Input, len(trainIdx))
	for i, j := range trainIdx {
		trainIns[i] = d.Inputs[j]
	}
	if err := m.arch.prep(trainIns); err != nil {
		return fmt.Errorf("deep %s: %w", m.arch.name(), err)
	}
	rows := make([][]float64, len(d.Inputs))
	for i, in := range d.Inputs {
		r, err := m.arch.encode(in)
		if err != nil {
			return fmt.Errorf("deep %s: example %d: %w", m.arch.name(), i, err)
		}
		rows[i] = r
	}
	K := len(d.Classes)
	batch := min(m.Train.BatchSize, len(trainIdx))
	ps := newParamSet()

	// Training graph, rebuilt under new names if its node hashes collide.
	var in, logits, onehot, loss *G.Node
	tb, err := buildUnique(ps, rng, batch, true, func(b *builder) error {
		var err error
		if in, logits, err = m.arch.build(b, K); err != nil {
			return fmt.Errorf("deep %s: building training graph: %w", m.arch.name(), err)
		}
		if onehot, err = b.input("onehot", G.Float64, batch, K); err != nil {
			return err
		}
		if loss, err = b.softmaxXent(logits, onehot); err != nil {
			return fmt.Errorf("deep %s: %w", m.arch.name(), err)
		}
		if _, err := G.Grad(loss, b.learn...); err != nil {
			return fmt.Errorf("deep %s: gradients: %w", m.arch.name(), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	vm := G.NewTapeMachine(tb.g, G.BindDualValues(tb.learn...))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(m.Train.LearnRate))

	var eval *predictor
	if len(valIdx) > 0 {
		if eval, err = newPredictor(m.arch, ps, min(batch, len(valIdx)), K); err != nil {
			return fmt.Errorf("deep %s: %w", m.arch.name(), err)
		}
		defer eval.vm.Close()
	}

	best, bestLoss, since := ps.clone(), math.Inf(1), 0
	batchRows := make([][]float64, batch)
	oh := make([]float64, batch*K)
	for epoch := 0; epoch < m.Train.Epochs; epoch++ {
		rng.Shuffle(len(trainIdx), func(i, j int) { trainIdx[i], trainIdx[j] = trainIdx[j], trainIdx[i] })
		for start := 0; start+batch <= len(trainIdx); start += batch {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("deep %s: %w", m.arch.name(), err)
			}
			clear(oh)
			for i, j := range trainIdx[start : start+batch] {
				batchRows[i] = rows[j]
				oh[i*K+d.Labels[j]] = 1
			}
			if err := m.arch.feed(in, batchRows); err != nil {
				return fmt.Errorf("deep %s: %w", m.arch.name(), err)
			}
			if err := G.Let(onehot, tensor.New(tensor.WithShape(batch, K), tensor.WithBacking(oh))); err != nil {
				return fmt.Errorf("deep %s: %w", m.arch.name(), err)
			}
			if err := tb.refillMasks(rng); err != nil {
				return fmt.Errorf("deep %s: %w", m.arch.name(), err)
			}
			if err := vm.RunAll(); err != nil {
				return fmt.Errorf("deep %s: training step: %w", m.arch.name(), err)
			}
			if l := loss.Value().Data().(float64); math.IsNaN(l) || math.IsInf(l, 0) {
				return fmt.Errorf("deep %s: loss diverged (%v) in epoch %d", m.arch.name(), l, epoch)
			}
			if err := solver.Step(G.NodesToValueGrads(tb.learn)); err != nil {
				return fmt.Errorf("deep %s: adam step: %w", m.arch.name(), err)
			}
			vm.Reset()
		}
		if eval == nil {
			continue
		}
		vl, err := evalLoss(eval, rows, d.Labels, valIdx)
		if err != nil {
			return fmt.Errorf("deep %s: validation: %w", m.arch.name(), err)
		}
		if vl < bestLoss-1e-6 {
			bestLoss, since = vl, 0
			if err := best.copyFrom(ps); err != nil {
				return err
			}
		} else if since++; since >= m.Train.Patience {
			break
		}
	}
	if eval != nil {
		if err := ps.copyFrom(best); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.classes = append([]string(nil), d.Classes...)
	m.ps, m.infer = ps, nil
	return nil
}

// splitVal shuffles 0..n-1 and holds out frac of it (none if fewer than
// two examples would be held out).
func splitVal(n int, frac float64, rng *rand.Rand) (train, val []int) {
	idx := rng.Perm(n)
	k := int(frac * float64(n))
	if k < 2 {
		return idx, nil
	}
	return idx[k:], idx[:k]
}

// evalLoss is the mean cross-entropy of the examples at idx.
func evalLoss(p *predictor, rows [][]float64, labels, idx []int) (float64, error) {
	var sum float64
	for start := 0; start < len(idx); start += p.b.batch {
		end := min(start+p.b.batch, len(idx))
		batch := make([][]float64, 0, end-start)
		for _, j := range idx[start:end] {
			batch = append(batch, rows[j])
		}
		probs, err := p.probs(batch)
		if err != nil {
			return 0, err
		}
		for i, j := range idx[start:end] {
			sum -= math.Log(math.Max(probs[i][labels[j]], 1e-300))
		}
	}
	return sum / float64(len(idx)), nil
}
