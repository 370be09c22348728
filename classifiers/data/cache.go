package data

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// CachePrepare memoises p by the IDs (and labels) of the fold it is given,
// so several models cross-validated with the same folds featurize each fold
// once. Folds whose datasets lack IDs are not cached. Results are shared: models must not
// modify their inputs. Errors are not cached.
func CachePrepare(p eval.Prepare) eval.Prepare {
	type result struct{ train, test ml.Dataset }
	var mu sync.Mutex
	cache := map[[32]byte]result{}
	return func(ctx context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		if len(train.IDs) != len(train.Inputs) || len(test.IDs) != len(test.Inputs) {
			return p(ctx, train, test)
		}
		k := foldKey(train, test)
		mu.Lock()
		r, ok := cache[k]
		mu.Unlock()
		if ok {
			return r.train, r.test, nil
		}
		tr, te, err := p(ctx, train, test)
		if err != nil {
			return tr, te, err
		}
		mu.Lock()
		cache[k] = result{tr, te}
		mu.Unlock()
		return tr, te, nil
	}
}

func foldKey(train, test ml.Dataset) [32]byte {
	h := sha256.New()
	for _, d := range []ml.Dataset{train, test} {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(len(d.Inputs)))
		h.Write(b[:])
		for i, id := range d.IDs {
			binary.LittleEndian.PutUint64(b[:], uint64(len(id)))
			h.Write(b[:])
			h.Write([]byte(id))
			binary.LittleEndian.PutUint64(b[:], uint64(d.Labels[i]))
			h.Write(b[:])
		}
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}
