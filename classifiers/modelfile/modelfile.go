// Package modelfile is the versioned file a trained model is shipped in:
// everything needed to use the model on new input (model type and its
// configuration, the input it expects — columns, vocabulary, sequence length
// — class names, stage) and to know where it came from (training data
// digest, seed, cross-validated metrics), followed by the weights.
//
// Layout:
//
//	"SMNMODEL"                 8 bytes magic
//	uint32 big endian          header length n (at most MaxHeader)
//	n bytes                    Header as JSON
//	rest                       weights, as the model's Save wrote them
//
// The header carries the SHA-256 of the weights, checked on read. No
// timestamps are written: the same training command gives the same file.
package modelfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Format is the current file format version.
const Format = 1

// Limits on what Read accepts, checked before anything sized by the file
// is allocated: a model file is input like any other (see Manifest for how
// the orchestrator pins the ones it serves).
const (
	MaxHeader  = 64 << 20
	MaxWeights = 1 << 30
	MaxClasses = 4096
	MaxColumns = 1 << 20
	MaxVocab   = 1 << 21
	MaxSeqLen  = 100_000
	MaxImage   = 4096    // pixels per side
	MaxDim     = 1 << 20 // any integer in Config (layer sizes, filters, ...)
	MaxText    = 4096    // bytes of a name, class or column
)

var magic = []byte("SMNMODEL")

// Input kinds a model reads.
const (
	InputVector   = "vector"
	InputSequence = "sequence"
	InputImage    = "image"
)

// ErrFormat is wrapped by every error about a malformed or incompatible file.
var ErrFormat = errors.New("invalid model file")

// Data describes the training data.
type Data struct {
	Source      string         `json:"source"`       // dataset and task, e.g. "fhids (normal vs attack)"
	Path        string         `json:"path"`         // base name of the file or folder trained on
	SHA256      string         `json:"sha256"`       // digest of the raw data read
	Records     int            `json:"records"`      // before deduplication
	Examples    int            `json:"examples"`     // after deduplication (what was trained on)
	Duplicates  int            `json:"duplicates"`   // removed
	Conflicts   int            `json:"conflicts"`    // identical inputs with different labels, removed
	ClassCounts map[string]int `json:"class_counts"` // after deduplication
}

// Header is everything but the weights.
type Header struct {
	Format     int             `json:"format"`
	Name       string          `json:"name"`        // the classifier's name, e.g. "fhids-cnn-lstm"
	Model      string          `json:"model"`       // model type, e.g. "cnn-lstm"
	Task       string          `json:"task"`        // e.g. "fhids", "clamp-integrated"
	Stage      string          `json:"stage"`       // "detection" or "family"
	Input      string          `json:"input"`       // vector, sequence or image
	FeatureSet string          `json:"feature_set"` // the feature set it consumes at inference
	InputKind  string          `json:"input_kind"`  // plugin input kind: static, dynamic or image
	Classes    []string        `json:"classes"`
	Columns    []string        `json:"columns,omitempty"`     // vector: names of the vector's entries, in order
	Vocab      []string        `json:"vocab,omitempty"`       // sequence: token names by id (0 pad, 1 unknown)
	VocabJSON  json.RawMessage `json:"vocab_model,omitempty"` // sequence: the fitted vocabulary with its digest
	NGram      json.RawMessage `json:"ngram,omitempty"`       // n-gram vector: the fitted n-gram model
	SeqLen     int             `json:"seq_len,omitempty"`
	Width      int             `json:"width,omitempty"` // image input size
	Height     int             `json:"height,omitempty"`
	Config     json.RawMessage `json:"config,omitempty"` // model hyperparameters
	Seed       int64           `json:"seed"`
	Data       Data            `json:"data"`
	CV         json.RawMessage `json:"cv,omitempty"` // cross-validation report
	Command    string          `json:"command"`      // the command that produced the file
	Weights    string          `json:"weights_sha256"`
	// WeightsBytes is the weights' length (0 in files written before it
	// existed): Read reads no more than it.
	WeightsBytes int64 `json:"weights_bytes,omitempty"`
}

// Validate checks the header's own consistency.
func (h *Header) Validate() error {
	switch {
	case h.Format != Format:
		return fmt.Errorf("%w: format %d, this build reads %d", ErrFormat, h.Format, Format)
	case h.Name == "" || h.Model == "":
		return fmt.Errorf("%w: no name or model type", ErrFormat)
	case len(h.Classes) < 2:
		return fmt.Errorf("%w: %d classes", ErrFormat, len(h.Classes))
	case h.Stage != "detection" && h.Stage != "family":
		return fmt.Errorf("%w: stage %q", ErrFormat, h.Stage)
	}
	if err := h.checkBounds(); err != nil {
		return err
	}
	switch h.Input {
	case InputVector:
		if len(h.Columns) == 0 {
			return fmt.Errorf("%w: vector model without columns", ErrFormat)
		}
	case InputSequence:
		if len(h.Vocab) < 2 || h.SeqLen <= 0 {
			return fmt.Errorf("%w: sequence model without vocabulary or length", ErrFormat)
		}
	case InputImage:
		if h.Width <= 0 || h.Height <= 0 {
			return fmt.Errorf("%w: image model without a size", ErrFormat)
		}
	default:
		return fmt.Errorf("%w: input %q", ErrFormat, h.Input)
	}
	return nil
}

// checkBounds refuses sizes that would make a reader allocate without
// bound: class, column and vocabulary counts, sequence length, image size,
// the integers of Config, the weights' length.
func (h *Header) checkBounds() error {
	tooMany := func(what string, n, max int) error {
		return fmt.Errorf("%w: %s %d exceeds %d", ErrFormat, what, n, max)
	}
	switch {
	case len(h.Classes) > MaxClasses:
		return tooMany("classes", len(h.Classes), MaxClasses)
	case len(h.Columns) > MaxColumns:
		return tooMany("columns", len(h.Columns), MaxColumns)
	case len(h.Vocab) > MaxVocab:
		return tooMany("vocabulary", len(h.Vocab), MaxVocab)
	case h.SeqLen < 0 || h.SeqLen > MaxSeqLen:
		return tooMany("seq_len", h.SeqLen, MaxSeqLen)
	case h.Width < 0 || h.Width > MaxImage:
		return tooMany("width", h.Width, MaxImage)
	case h.Height < 0 || h.Height > MaxImage:
		return tooMany("height", h.Height, MaxImage)
	case h.WeightsBytes < 0 || h.WeightsBytes > MaxWeights:
		return fmt.Errorf("%w: weights of %d bytes exceed %d", ErrFormat, h.WeightsBytes, int64(MaxWeights))
	case len(h.Name) > MaxText || len(h.Model) > MaxText:
		return fmt.Errorf("%w: name or model type longer than %d bytes", ErrFormat, MaxText)
	}
	for _, list := range [][]string{h.Classes, h.Columns, h.Vocab} {
		for _, c := range list {
			if len(c) > MaxText {
				return fmt.Errorf("%w: a class, column or token of %d bytes", ErrFormat, len(c))
			}
		}
	}
	if len(h.Config) > 0 {
		if err := CheckNumbers(h.Config, MaxDim); err != nil {
			return fmt.Errorf("%w: config: %v", ErrFormat, err)
		}
	}
	return nil
}

// CheckNumbers checks that every number in the JSON document js is finite
// and, when integral, at most max in magnitude: model sizes (layer widths,
// filters, sequence lengths) are bounded before anything is built from
// them.
func CheckNumbers(js []byte, max int64) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n, ok := tok.(json.Number)
		if !ok {
			continue
		}
		if i, err := n.Int64(); err == nil {
			if i > max || i < -max {
				return fmt.Errorf("number %d exceeds %d", i, max)
			}
			continue
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("number %s out of range", n)
		}
		if f == math.Trunc(f) && math.Abs(f) > float64(max) {
			return fmt.Errorf("number %s exceeds %d", n, max)
		}
	}
}

// Write writes a model file: h (its Format, Weights digest and length
// filled in) and the weights.
func Write(w io.Writer, h Header, weights []byte) error {
	h.Format = Format
	sum := sha256.Sum256(weights)
	h.Weights = hex.EncodeToString(sum[:])
	h.WeightsBytes = int64(len(weights))
	if err := h.Validate(); err != nil {
		return err
	}
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(hb)))
	for _, b := range [][]byte{magic, n[:], hb, weights} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes a model file atomically.
func WriteFile(path string, h Header, weights []byte) error {
	var buf bytes.Buffer
	if err := Write(&buf, h, weights); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadHeader reads and checks only the header (no weights are read or
// verified), e.g. to list model files.
func ReadHeader(r io.Reader) (Header, error) {
	return readHeader(r)
}

// ReadHeaderFile is ReadHeader on a file.
func ReadHeaderFile(path string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return h, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func readHeader(r io.Reader) (Header, error) {
	var h Header
	pre := make([]byte, len(magic)+4)
	if _, err := io.ReadFull(r, pre); err != nil {
		return h, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if !bytes.Equal(pre[:len(magic)], magic) {
		return h, fmt.Errorf("%w: not a scalemalnet model file (bad magic)", ErrFormat)
	}
	n := binary.BigEndian.Uint32(pre[len(magic):])
	if n == 0 || n > MaxHeader {
		return h, fmt.Errorf("%w: header of %d bytes", ErrFormat, n)
	}
	// Grown as bytes arrive: a length that promises more than the file
	// holds costs no large allocation.
	hb, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err == nil && len(hb) < int(n) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return h, fmt.Errorf("%w: header cut short: %v", ErrFormat, err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if err := h.Validate(); err != nil {
		return h, err
	}
	return h, nil
}

// Read reads and checks a model file, its weights' digest included.
func Read(r io.Reader) (Header, []byte, error) {
	h, err := readHeader(r)
	if err != nil {
		return h, nil, err
	}
	limit := int64(MaxWeights)
	if h.WeightsBytes > 0 {
		limit = h.WeightsBytes // read no more than the header announced
	}
	weights, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return h, nil, fmt.Errorf("%w: weights: %v", ErrFormat, err)
	}
	if int64(len(weights)) > limit {
		return h, nil, fmt.Errorf("%w: weights longer than %d bytes", ErrFormat, limit)
	}
	if h.WeightsBytes > 0 && int64(len(weights)) != h.WeightsBytes {
		return h, nil, fmt.Errorf("%w: %d bytes of weights, header says %d (file truncated)", ErrFormat, len(weights), h.WeightsBytes)
	}
	sum := sha256.Sum256(weights)
	if hex.EncodeToString(sum[:]) != h.Weights {
		return h, nil, fmt.Errorf("%w: weights do not match their digest (file corrupt or truncated)", ErrFormat)
	}
	return h, weights, nil
}

// ReadFile reads a model file from disk.
func ReadFile(path string) (Header, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, nil, err
	}
	defer f.Close()
	h, w, err := Read(f)
	if err != nil {
		return h, w, fmt.Errorf("%s: %w", path, err)
	}
	return h, w, nil
}
