package deep

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"testing"
)

func savedBytes(t *testing.T, s saved) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Finding 7 (issue 13): a hostile model file's sizes (layer widths,
// sequence length, tensor shapes) are refused with the reason before
// anything is allocated or built from them.
func TestLoadRefusesHostileSizes(t *testing.T) {
	arch := func(a any) []byte { b, _ := json.Marshal(a); return b }
	cases := map[string]saved{
		"huge layer": {Kind: "dnn", Classes: []string{"a", "b"},
			Arch: arch(dnnArch{Config: DNNConfig{Hidden: []int{1 << 30}}, Dim: 2})},
		"negative layer": {Kind: "dnn", Classes: []string{"a", "b"},
			Arch: arch(dnnArch{Config: DNNConfig{Hidden: []int{-5}}, Dim: 2})},
		"negative shape": {Kind: "dnn", Classes: []string{"a", "b"}, Arch: arch(dnnArch{Config: DNNConfig{Hidden: []int{4}}, Dim: 2}),
			Params: []savedTensor{{Name: "w", Shape: []int{-1, -1}, Data: []float64{1}}}},
		"overflowing shape": {Kind: "dnn", Classes: []string{"a", "b"}, Arch: arch(dnnArch{Config: DNNConfig{Hidden: []int{4}}, Dim: 2}),
			Params: []savedTensor{{Name: "w", Shape: []int{1 << 32, 1 << 32}, Data: nil}}},
		"sequence length": {Kind: "lstm", Classes: []string{"a", "b"},
			Arch: arch(seqArch{Config: SeqConfig{SeqLen: 1 << 40, EmbedDim: 8, Units: 8}, Vocab: 10})},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			m := NewDNN(DefaultDNN(), DefaultTrain())
			if s.Kind == "lstm" {
				m = NewLSTM(DefaultLSTM(), DefaultTrain())
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Load panicked: %v", r)
					}
				}()
				if err := m.Load(bytes.NewReader(savedBytes(t, s))); err == nil {
					t.Fatal("loaded")
				} else {
					t.Log(err)
				}
			}()
		})
	}
}
