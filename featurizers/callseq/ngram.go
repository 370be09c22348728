package callseq

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// GramSep joins the names of an n-gram in its schema name, e.g.
// "openat|read|close".
const GramSep = "|"

// ngramFormat names the JSON encoding of an NGramModel.
const ngramFormat = "scalemalnet-callseq-ngram/1"

// ErrNGram is wrapped by errors about invalid n-gram options or models.
var ErrNGram = errors.New("invalid n-gram model")

// NGramOptions tunes FitNGrams.
type NGramOptions struct {
	N int // gram length, >= 1

	// Buckets > 0 selects hashing: each n-gram counts in bucket
	// FNV-1a(gram) mod Buckets and needs no fitted list. Otherwise the
	// n-grams of the training sequences are the columns.
	Buckets int

	MinCount    int // vocabulary-indexed: a gram needs this many training occurrences
	MaxFeatures int // vocabulary-indexed: keep the most frequent; 0 = all

	// TFIDF weights counts by smoothed inverse document frequency fitted on
	// the training sequences, idf = ln((1+n)/(1+df)) + 1, and scales each
	// vector to unit Euclidean length (as scikit-learn's TfidfVectorizer).
	TFIDF bool
}

// NGramModel turns a call sequence into a vector of n-gram counts.
type NGramModel struct {
	opt    NGramOptions
	grams  []string // column names (vocabulary-indexed), in column order
	index  map[string]int
	idf    []float64 // per column, when TFIDF
	digest string
}

// FitNGrams fits an n-gram model on training sequences (names are
// normalised). Only vocabulary-indexed columns and TF-IDF weights need
// fitting; a hashed model without TF-IDF ignores seqs.
func FitNGrams(seqs [][]string, opt NGramOptions) (*NGramModel, error) {
	if opt.N < 1 || opt.N > 16 || opt.Buckets < 0 || opt.Buckets > 1<<24 {
		return nil, fmt.Errorf("%w: n=%d buckets=%d", ErrNGram, opt.N, opt.Buckets)
	}
	m := &NGramModel{opt: opt}
	if opt.Buckets == 0 {
		counts := map[string]int{}
		for _, s := range seqs {
			forGrams(NormalizeAll(s), opt.N, func(g string) { counts[g]++ })
		}
		for g, c := range counts {
			if c >= opt.MinCount && utf8.ValidString(g) {
				m.grams = append(m.grams, g)
			}
		}
		sort.Slice(m.grams, func(i, j int) bool {
			a, b := m.grams[i], m.grams[j]
			if counts[a] != counts[b] {
				return counts[a] > counts[b]
			}
			return a < b
		})
		if opt.MaxFeatures > 0 && len(m.grams) > opt.MaxFeatures {
			m.grams = m.grams[:opt.MaxFeatures]
		}
	}
	m.init()
	if opt.TFIDF {
		df := make([]int, m.Len())
		seen := make([]int, m.Len()) // last document that counted the column, +1
		for d, s := range seqs {
			forGrams(NormalizeAll(s), opt.N, func(g string) {
				if c, ok := m.column(g); ok && seen[c] != d+1 {
					seen[c] = d + 1
					df[c]++
				}
			})
		}
		m.idf = make([]float64, m.Len())
		for c := range m.idf {
			m.idf[c] = math.Log(float64(1+len(seqs))/float64(1+df[c])) + 1
		}
	}
	m.digest = m.computeDigest()
	return m, nil
}

func (m *NGramModel) init() {
	m.index = make(map[string]int, len(m.grams))
	for i, g := range m.grams {
		m.index[g] = i
	}
}

// forGrams calls fn with each n-gram of calls, in order.
func forGrams(calls []string, n int, fn func(string)) {
	var b strings.Builder
	for i := 0; i+n <= len(calls); i++ {
		b.Reset()
		for j := i; j < i+n; j++ {
			if j > i {
				b.WriteString(GramSep)
			}
			b.WriteString(calls[j])
		}
		fn(b.String())
	}
}

// column returns the column of a gram.
func (m *NGramModel) column(g string) (int, bool) {
	if m.opt.Buckets > 0 {
		h := fnv.New64a()
		h.Write([]byte(g))
		return int(h.Sum64() % uint64(m.opt.Buckets)), true
	}
	c, ok := m.index[g]
	return c, ok
}

// Options returns the options the model was fitted with.
func (m *NGramModel) Options() NGramOptions { return m.opt }

// Len is the number of columns.
func (m *NGramModel) Len() int {
	if m.opt.Buckets > 0 {
		return m.opt.Buckets
	}
	return len(m.grams)
}

// Schema returns the column names: the n-grams ("a|b|c"), or
// "ngramN#hashB" for hashed buckets.
func (m *NGramModel) Schema() []string {
	if m.opt.Buckets == 0 {
		return append([]string(nil), m.grams...)
	}
	s := make([]string, m.opt.Buckets)
	for i := range s {
		s[i] = fmt.Sprintf("ngram%d#hash%d", m.opt.N, i)
	}
	return s
}

// Digest is a hex SHA-256 of the model's options, columns and weights.
func (m *NGramModel) Digest() string { return m.digest }

func (m *NGramModel) computeDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d %d %d %d %t\n", m.opt.N, m.opt.Buckets, m.opt.MinCount, m.opt.MaxFeatures, m.opt.TFIDF)
	for _, g := range m.grams {
		fmt.Fprintf(h, "%d:%s\n", len(g), g)
	}
	for _, w := range m.idf {
		fmt.Fprintf(h, "%x\n", math.Float64bits(w))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Transform returns the n-gram vector of calls and how many of its n-grams
// had no column (vocabulary-indexed models only).
func (m *NGramModel) Transform(calls []string) (vec []float64, missing int) {
	vec = make([]float64, m.Len())
	forGrams(NormalizeAll(calls), m.opt.N, func(g string) {
		if c, ok := m.column(g); ok {
			vec[c]++
		} else {
			missing++
		}
	})
	if m.opt.TFIDF {
		var ss float64
		for c := range vec {
			vec[c] *= m.idf[c]
			ss += vec[c] * vec[c]
		}
		if ss > 0 {
			norm := math.Sqrt(ss)
			for c := range vec {
				vec[c] /= norm
			}
		}
	}
	return vec, missing
}

type ngramJSON struct {
	Format  string       `json:"format"`
	Options NGramOptions `json:"options"`
	Grams   []string     `json:"grams,omitempty"`
	IDF     []float64    `json:"idf,omitempty"`
	Digest  string       `json:"digest"`
}

// MarshalJSON encodes the model with its format name and digest.
func (m *NGramModel) MarshalJSON() ([]byte, error) {
	return json.Marshal(ngramJSON{Format: ngramFormat, Options: m.opt, Grams: m.grams, IDF: m.idf, Digest: m.digest})
}

// UnmarshalJSON decodes a model, checking its consistency and digest.
func (m *NGramModel) UnmarshalJSON(b []byte) error {
	var j ngramJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrNGram, err)
	}
	if j.Format != ngramFormat || j.Options.N < 1 || j.Options.Buckets < 0 || j.Options.Buckets > 1<<24 {
		return fmt.Errorf("%w: format %q, options %+v", ErrNGram, j.Format, j.Options)
	}
	if j.Options.Buckets > 0 && len(j.Grams) > 0 {
		return fmt.Errorf("%w: hashed model with named columns", ErrNGram)
	}
	for _, w := range j.IDF {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("%w: weight %v", ErrNGram, w)
		}
	}
	nm := &NGramModel{opt: j.Options, grams: j.Grams, idf: j.IDF}
	nm.init()
	if len(nm.index) != len(nm.grams) {
		return fmt.Errorf("%w: repeated column", ErrNGram)
	}
	if (j.Options.TFIDF && len(j.IDF) != nm.Len()) || (!j.Options.TFIDF && len(j.IDF) != 0) {
		return fmt.Errorf("%w: %d weights for %d columns", ErrNGram, len(j.IDF), nm.Len())
	}
	nm.digest = nm.computeDigest()
	if nm.digest != j.Digest {
		return fmt.Errorf("%w: digest %s does not match the model (%s)", ErrNGram, j.Digest, nm.digest)
	}
	*m = *nm
	return nil
}
