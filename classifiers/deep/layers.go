package deep

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dense is a fully connected layer: x (B, in) · W (in, out) + b.
func (b *builder) dense(name string, x *G.Node, out int) (*G.Node, error) {
	in := x.Shape()[1]
	w, err := b.param(name+".W", []int{in, out}, initGlorot, in, out)
	if err != nil {
		return nil, err
	}
	bias, err := b.param(name+".b", []int{1, out}, initZero, 0, 0)
	if err != nil {
		return nil, err
	}
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	y, err := G.BroadcastAdd(xw, bias, nil, []byte{0})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return y, nil
}

// embedding maps a vector of token ids (Int node of length N) to rows of a
// (vocab, dim) table: (N, dim).
func (b *builder) embedding(name string, ids *G.Node, vocab, dim int) (*G.Node, error) {
	table, err := b.param(name+".E", []int{vocab, dim}, initNormal01, 0, 0)
	if err != nil {
		return nil, err
	}
	y, err := G.ByIndices(table, ids, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return y, nil
}

// padFor returns the padding of a "same" convolution (odd kernels) or 0.
func padFor(kernel int, same bool) int {
	if same {
		return (kernel - 1) / 2
	}
	return 0
}

// conv1d convolves x (B, C, 1, L) with filters of width kernel: (B, F, 1, L')
// where L' = L for same padding (odd kernel) and L-kernel+1 for valid.
func (b *builder) conv1d(name string, x *G.Node, filters, kernel int, same bool) (*G.Node, error) {
	return b.conv2d(name, x, filters, 1, kernel, same)
}

// conv2d convolves x (B, C, H, W) with (F, C, kh, kw) filters plus a bias
// per filter, stride 1: (B, F, H', W').
func (b *builder) conv2d(name string, x *G.Node, filters, kh, kw int, same bool) (*G.Node, error) {
	c := x.Shape()[1]
	if same && (kh%2 == 0 || kw%2 == 0) {
		return nil, fmt.Errorf("%s: same padding needs odd kernels, got %dx%d", name, kh, kw)
	}
	w, err := b.param(name+".W", []int{filters, c, kh, kw}, initGlorot, c*kh*kw, filters*kh*kw)
	if err != nil {
		return nil, err
	}
	bias, err := b.param(name+".b", []int{1, filters, 1, 1}, initZero, 0, 0)
	if err != nil {
		return nil, err
	}
	y, err := G.Conv2d(x, w, tensor.Shape{kh, kw}, []int{padFor(kh, same), padFor(kw, same)}, []int{1, 1}, []int{1, 1})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	y, err = G.BroadcastAdd(y, bias, nil, []byte{0, 2, 3})
	if err != nil {
		return nil, fmt.Errorf("%s bias: %w", name, err)
	}
	return y, nil
}

// relu is max(x, 0).
func relu(x *G.Node) (*G.Node, error) {
	y, err := G.Rectify(x)
	if err != nil {
		return nil, fmt.Errorf("relu: %w", err)
	}
	return y, nil
}

// maxPool1d pools x (B, C, 1, L) over non-overlapping windows of k: L/k
// outputs (a trailing partial window is dropped).
func maxPool1d(x *G.Node, k int) (*G.Node, error) {
	y, err := G.MaxPool2D(x, tensor.Shape{1, k}, []int{0, 0}, []int{1, k})
	if err != nil {
		return nil, fmt.Errorf("maxpool1d: %w", err)
	}
	return y, nil
}

// maxPool2d pools x (B, C, H, W) over non-overlapping k x k windows.
func maxPool2d(x *G.Node, k int) (*G.Node, error) {
	y, err := G.MaxPool2D(x, tensor.Shape{k, k}, []int{0, 0}, []int{k, k})
	if err != nil {
		return nil, fmt.Errorf("maxpool2d: %w", err)
	}
	return y, nil
}

// dropout multiplies x by a mask of 0 and 1/(1-p) fed before each training
// batch; it is the identity outside training or when p == 0.
func (b *builder) dropout(name string, x *G.Node, p float64) (*G.Node, error) {
	if !b.train || p <= 0 {
		return x, nil
	}
	shape := x.Shape().Clone()
	m, err := b.input(name+".mask", G.Float64, shape...)
	if err != nil {
		return nil, err
	}
	b.masks = append(b.masks, &dropMask{node: m, keep: 1 - p, data: make([]float64, shape.TotalSize())})
	y, err := G.HadamardProd(x, m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return y, nil
}

// stepChunk is the longest run sliced directly; see steps.
const stepChunk = 255

// steps splits x along axis 0 into its T = x.Shape()[0] sub-tensors.
//
// gorgonia's sliceOp hashes its start and end as single bytes
// (op_tensor.go, sliceOp.WriteHash), and ExprGraph.AddNode merges nodes
// whose hashes and ops compare equal, so x[256] silently became x[0]. Here
// x is cut into chunks of 255 steps first (chunk k has byte(start),
// byte(end) = (-k, -k-1) mod 256, distinct for T < 65,280) and each step
// is sliced from its own chunk at an index below 255.
func steps(x *G.Node) ([]*G.Node, error) {
	T := x.Shape()[0]
	if T >= stepChunk*256 {
		return nil, fmt.Errorf("steps: %d steps is too many", T)
	}
	var out []*G.Node
	for start := 0; start < T; start += stepChunk {
		end := min(start+stepChunk, T)
		chunk := x
		if T > stepChunk {
			var err error
			if chunk, err = G.Slice(x, G.S(start, end)); err != nil {
				return nil, fmt.Errorf("steps chunk %d: %w", start, err)
			}
		}
		for i := 0; i < end-start; i++ {
			s, err := G.Slice(chunk, G.S(i))
			if err != nil {
				return nil, fmt.Errorf("steps %d: %w", start+i, err)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// lstm runs a batched LSTM over xs (each (B, F)) and returns the last
// hidden state (B, units). Gates i, f, g (cell), o each have their own
// input and recurrent matrices (one matrix sliced in four would hit the
// slice-hash trap when 4*units >= 256). h and c start at zero.
func (b *builder) lstm(name string, xs []*G.Node, units int) (*G.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("%s: no steps", name)
	}
	F := xs[0].Shape()[1]
	type gate struct{ wx, wh, b *G.Node }
	var gs [4]gate
	for k, gname := range []string{"i", "f", "g", "o"} {
		var err error
		if gs[k].wx, err = b.param(name+".Wx"+gname, []int{F, units}, initGlorot, F, units); err != nil {
			return nil, err
		}
		if gs[k].wh, err = b.param(name+".Wh"+gname, []int{units, units}, initGlorot, units, units); err != nil {
			return nil, err
		}
		kind := initZero
		if gname == "f" {
			kind = initOne
		}
		if gs[k].b, err = b.param(name+".b"+gname, []int{1, units}, kind, 0, 0); err != nil {
			return nil, err
		}
	}
	var h, c *G.Node
	for t, x := range xs {
		var pre [4]*G.Node
		for k := range gs {
			z, err := G.Mul(x, gs[k].wx)
			if err != nil {
				return nil, fmt.Errorf("%s step %d: %w", name, t, err)
			}
			if h != nil {
				zh, err := G.Mul(h, gs[k].wh)
				if err != nil {
					return nil, fmt.Errorf("%s step %d: %w", name, t, err)
				}
				if z, err = G.Add(z, zh); err != nil {
					return nil, fmt.Errorf("%s step %d: %w", name, t, err)
				}
			}
			if z, err = G.BroadcastAdd(z, gs[k].b, nil, []byte{0}); err != nil {
				return nil, fmt.Errorf("%s step %d: %w", name, t, err)
			}
			act := G.Sigmoid
			if k == 2 {
				act = G.Tanh
			}
			if pre[k], err = act(z); err != nil {
				return nil, fmt.Errorf("%s step %d: %w", name, t, err)
			}
		}
		ig, err := G.HadamardProd(pre[0], pre[2])
		if err != nil {
			return nil, fmt.Errorf("%s step %d: %w", name, t, err)
		}
		if c == nil {
			c = ig
		} else {
			fc, err := G.HadamardProd(pre[1], c)
			if err != nil {
				return nil, fmt.Errorf("%s step %d: %w", name, t, err)
			}
			if c, err = G.Add(fc, ig); err != nil {
				return nil, fmt.Errorf("%s step %d: %w", name, t, err)
			}
		}
		tc, err := G.Tanh(c)
		if err != nil {
			return nil, fmt.Errorf("%s step %d: %w", name, t, err)
		}
		if h, err = G.HadamardProd(pre[3], tc); err != nil {
			return nil, fmt.Errorf("%s step %d: %w", name, t, err)
		}
	}
	return h, nil
}

// softmaxXent is the mean cross-entropy of logits (B, K) against one-hot
// targets (B, K). It uses LogSoftMax only: gorgonia's softmaxOp hash
// ignores isLog, so SoftMax and LogSoftMax of one node would be merged.
func (b *builder) softmaxXent(logits, onehot *G.Node) (*G.Node, error) {
	lp, err := G.LogSoftMax(logits)
	if err != nil {
		return nil, fmt.Errorf("logsoftmax: %w", err)
	}
	prod, err := G.HadamardProd(lp, onehot)
	if err != nil {
		return nil, fmt.Errorf("xent: %w", err)
	}
	s, err := G.Sum(prod)
	if err != nil {
		return nil, fmt.Errorf("xent: %w", err)
	}
	scale, err := b.constant("xent.scale", -1/float64(logits.Shape()[0]))
	if err != nil {
		return nil, err
	}
	loss, err := G.Mul(s, scale)
	if err != nil {
		return nil, fmt.Errorf("xent: %w", err)
	}
	return loss, nil
}
