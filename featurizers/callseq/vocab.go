package callseq

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
)

// Reserved token ids and their tokens.
const (
	PadID        int32 = 0
	UnknownID    int32 = 1
	PadToken           = "<pad>"
	UnknownToken       = "<unk>"
)

// vocabFormat names the JSON encoding of a Vocabulary.
const vocabFormat = "scalemalnet-callseq-vocabulary/1"

// ErrVocabulary is wrapped by errors about an invalid serialised vocabulary.
var ErrVocabulary = errors.New("invalid call vocabulary")

// VocabOptions tunes BuildVocabulary.
type VocabOptions struct {
	MinCount int // a name needs at least this many occurrences (0 or 1: all)
	MaxSize  int // at most this many tokens including the two reserved; 0 = no limit
}

// Vocabulary maps normalised call names to token ids. Ids 0 and 1 are
// padding and unknown; names follow in order of decreasing training count,
// ties by name, so the same training data always gives the same ids.
type Vocabulary struct {
	tokens   []string
	index    map[string]int32
	minCount int
	digest   string
}

// BuildVocabulary counts the normalised names of the training sequences.
// Names that are not valid UTF-8 are left out (JSON could not keep them).
func BuildVocabulary(seqs [][]string, opt VocabOptions) *Vocabulary {
	counts := map[string]int{}
	for _, s := range seqs {
		for _, c := range s {
			counts[Normalize(c)]++
		}
	}
	names := make([]string, 0, len(counts))
	for n, c := range counts {
		if c >= opt.MinCount && n != "" && n != PadToken && n != UnknownToken && utf8.ValidString(n) {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if counts[names[i]] != counts[names[j]] {
			return counts[names[i]] > counts[names[j]]
		}
		return names[i] < names[j]
	})
	if opt.MaxSize > 2 && len(names) > opt.MaxSize-2 {
		names = names[:opt.MaxSize-2]
	}
	v, _ := newVocabulary(append([]string{PadToken, UnknownToken}, names...), max(opt.MinCount, 0))
	return v
}

// BuildVocabularyFromRecords is BuildVocabulary over the records' calls.
func BuildVocabularyFromRecords(recs []datasets.SeqRecord, opt VocabOptions) *Vocabulary {
	return BuildVocabulary(datasets.Calls(recs), opt)
}

func newVocabulary(tokens []string, minCount int) (*Vocabulary, error) {
	if len(tokens) < 2 || tokens[0] != PadToken || tokens[1] != UnknownToken {
		return nil, fmt.Errorf("%w: tokens must start with %q, %q", ErrVocabulary, PadToken, UnknownToken)
	}
	if len(tokens) > 1<<30 {
		return nil, fmt.Errorf("%w: %d tokens", ErrVocabulary, len(tokens))
	}
	v := &Vocabulary{tokens: tokens, index: make(map[string]int32, len(tokens)), minCount: minCount}
	h := sha256.New()
	for i, t := range tokens {
		if i >= 2 && (t == "" || Normalize(t) != t || !utf8.ValidString(t)) {
			return nil, fmt.Errorf("%w: token %d %q is not a normalised name", ErrVocabulary, i, t)
		}
		if _, dup := v.index[t]; dup {
			return nil, fmt.Errorf("%w: token %q twice", ErrVocabulary, t)
		}
		v.index[t] = int32(i)
		fmt.Fprintf(h, "%d:%s\n", len(t), t)
	}
	v.digest = hex.EncodeToString(h.Sum(nil))
	return v, nil
}

// Len is the number of tokens, reserved ones included.
func (v *Vocabulary) Len() int { return len(v.tokens) }

// MinCount is the minimum training count the vocabulary was built with.
func (v *Vocabulary) MinCount() int { return v.minCount }

// Digest is a hex SHA-256 of the tokens in id order: equal digests mean
// equal encodings.
func (v *Vocabulary) Digest() string { return v.digest }

// Tokens returns the tokens by id (a copy).
func (v *Vocabulary) Tokens() []string { return append([]string(nil), v.tokens...) }

// Token returns the token of id, or UnknownToken when out of range.
func (v *Vocabulary) Token(id int32) string {
	if id < 0 || int(id) >= len(v.tokens) {
		return UnknownToken
	}
	return v.tokens[id]
}

// ID returns the id of a call name (normalised first), UnknownID if absent.
func (v *Vocabulary) ID(name string) int32 {
	id, ok := v.index[name]
	if !ok {
		if len(name) <= 128 {
			// Normalise into a stack buffer: map lookups by string(bytes)
			// do not allocate.
			var buf [128]byte
			id, ok = v.index[string(appendNormalized(buf[:0], name))]
		} else {
			id, ok = v.index[Normalize(name)]
		}
	}
	if ok && id > UnknownID {
		return id
	}
	return UnknownID
}

// Encode returns the ids of calls.
func (v *Vocabulary) Encode(calls []string) []int32 {
	ids, _ := v.EncodeInto(make([]int32, 0, len(calls)), calls)
	return ids
}

// EncodeInto appends the ids of calls to dst and also returns how many were
// unknown.
func (v *Vocabulary) EncodeInto(dst []int32, calls []string) ([]int32, int) {
	unknown := 0
	for _, c := range calls {
		id := v.ID(c)
		if id == UnknownID {
			unknown++
		}
		dst = append(dst, id)
	}
	return dst, unknown
}

type vocabJSON struct {
	Format   string   `json:"format"`
	MinCount int      `json:"min_count"`
	Digest   string   `json:"digest"`
	Tokens   []string `json:"tokens"`
}

// MarshalJSON encodes the vocabulary with its format name and digest.
func (v *Vocabulary) MarshalJSON() ([]byte, error) {
	return json.Marshal(vocabJSON{Format: vocabFormat, MinCount: v.minCount, Digest: v.digest, Tokens: v.tokens})
}

// UnmarshalJSON decodes a vocabulary, checking its format, tokens and digest.
func (v *Vocabulary) UnmarshalJSON(b []byte) error {
	var j vocabJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrVocabulary, err)
	}
	if j.Format != vocabFormat {
		return fmt.Errorf("%w: format %q, want %q", ErrVocabulary, j.Format, vocabFormat)
	}
	nv, err := newVocabulary(j.Tokens, j.MinCount)
	if err != nil {
		return err
	}
	if nv.digest != j.Digest {
		return fmt.Errorf("%w: digest %s does not match tokens (%s)", ErrVocabulary, j.Digest, nv.digest)
	}
	*v = *nv
	return nil
}
