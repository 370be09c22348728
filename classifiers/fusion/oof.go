package fusion

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// OOFLine is one line of an out-of-fold predictions file (JSON lines), as
// `scalemalnet train --oof FILE` writes it: the prediction for one
// deduplicated example by the model of the cross-validation fold that held
// it out, so it comes from a model that did not train on the example.
//
// Key is the hex of classifiers/eval.InputKey of the example's raw input as
// the dataset loader gives it (ClaMP feature vector, call-name ids in the
// set's own index), before any per-model encoding (n-grams, vocabulary,
// truncation), so every model trained on the same dataset file gives the
// same key for the same example and files join on it.
type OOFLine struct {
	Key        string       `json:"key"`
	ID         string       `json:"id,omitempty"` // the dataset's record ID, when it has one
	Label      string       `json:"label"`        // the true class
	Fold       int          `json:"fold"`
	Classifier string       `json:"classifier"` // the model's classifier name (its plugin's name)
	Stage      string       `json:"stage"`      // StageDetection or StageFamily
	Scores     []ClassScore `json:"scores"`
}

// WriteOOF writes lines as JSON lines.
func WriteOOF(w io.Writer, lines []OOFLine) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i, l := range lines {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("%w: out-of-fold line %d: %w", ErrFusion, i+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: out-of-fold: %w", ErrFusion, err)
	}
	return nil
}

// ReadOOF reads an out-of-fold predictions file; name is used in errors.
// Every non-blank line must be an OOFLine with a 64-hex-digit key, a label,
// a classifier, a stage (detection or family) and scores; a detection
// line's label and score classes must be detection classes (malware,
// attack, benign, normal; ErrUnknownClass). A key seen twice for one
// classifier, or a file without lines, is an error (ErrData).
func ReadOOF(r io.Reader, name string) ([]OOFLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var out []OOFLine
	seen := map[[2]string]bool{}
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var l OOFLine
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrData, name, n, err)
		}
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		k := [2]string{l.Key, l.Classifier}
		if seen[k] {
			return nil, fmt.Errorf("%w: %s:%d: key %s seen twice for %s", ErrData, name, n, l.Key, l.Classifier)
		}
		seen[k] = true
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrData, name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s: no out-of-fold predictions", ErrData, name)
	}
	return out, nil
}

func (l *OOFLine) check() error {
	if b, err := hex.DecodeString(l.Key); err != nil || len(b) != 32 {
		return fmt.Errorf("%w: key %q is not 64 hex digits", ErrData, l.Key)
	}
	if l.Classifier == "" || l.Label == "" {
		return fmt.Errorf("%w: classifier %q, label %q: both required", ErrData, l.Classifier, l.Label)
	}
	if len(l.Scores) == 0 {
		return fmt.Errorf("%w: %s: no scores", ErrData, l.Classifier)
	}
	switch l.Stage {
	case StageDetection:
		if detectionSign(l.Label) == 0 {
			return fmt.Errorf("%w: %s: label %q (want malware/attack or benign/normal)", ErrUnknownClass, l.Classifier, l.Label)
		}
		if _, err := DetectionProbability(l.Scores); err != nil {
			return fmt.Errorf("%s: %w", l.Classifier, err)
		}
	case StageFamily:
		for _, s := range l.Scores {
			if err := checkScore(s); err != nil {
				return fmt.Errorf("%s: %w", l.Classifier, err)
			}
		}
	default:
		return fmt.Errorf("%w: %s: stage %q (want %s or %s)", ErrData, l.Classifier, l.Stage, StageDetection, StageFamily)
	}
	return nil
}

// JoinReport says how out-of-fold files joined.
type JoinReport struct {
	Lines int `json:"lines"`
	Keys  int `json:"keys"` // distinct keys over all lines
	// Records are the records returned: keys with at least one detection
	// vote. NoDetection keys had family votes only and were left out (a
	// record needs a stage-1 vote to be fused or scored).
	Records     int `json:"records"`
	NoDetection int `json:"no_detection"`
	Malicious   int `json:"malicious"`
	// ByVotes[n] is the number of records with n detection votes.
	ByVotes map[int]int `json:"by_votes"`
	// Classifiers: per classifier, its lines and how many of them joined a
	// line of another classifier on the same key.
	Classifiers []JoinClassifier `json:"classifiers"`
}

// JoinClassifier is one classifier's part of a join.
type JoinClassifier struct {
	Name   string `json:"name"`
	Stage  string `json:"stage"`
	Lines  int    `json:"lines"`
	Joined int    `json:"joined"` // lines whose key another classifier also has
}

// JoinOOF joins out-of-fold lines (of any number of files) by key into
// fusion records, one per key with a detection vote, sorted by key. A
// record's votes are the lines of its key; Malicious comes from the
// detection labels (malware/attack true) or, failing those, a family
// label (normal/benign false, anything else true); Family is a family
// line's label when it is not normal/benign. Lines of one key that
// disagree on the truth are an error (ErrData).
//
// Lines from different datasets have disjoint keys, so their records carry
// disjoint votes: fusion learns how to weigh two classifiers only from
// records both voted on.
func JoinOOF(lines []OOFLine) ([]Record, JoinReport, error) {
	recs, _, rep, err := JoinOOFFamilies(lines)
	return recs, rep, err
}

// JoinOOFFamilies is JoinOOF that also returns the records of the keys
// with family votes only (NoDetection): the examples of a family model
// trained on a dataset of malware types alone (Mal-API-2019), which no
// detection model saw. They cannot be fused or scored at stage 1, but they
// are the only validation data of such a family model: Model.AddFamilyRecords
// weighs it on them. Their Malicious and Family come from the family
// label.
func JoinOOFFamilies(lines []OOFLine) ([]Record, []Record, JoinReport, error) {
	type acc struct {
		rec    Record
		truth  int // 0 unknown, 1 malicious, -1 benign
		nDet   int
		family string
	}
	rep := JoinReport{Lines: len(lines), ByVotes: map[int]int{}}
	byKey := map[string]*acc{}
	classifiers := map[string]*JoinClassifier{}
	stageOf := map[string]string{}
	for i, l := range lines {
		if err := l.check(); err != nil {
			return nil, nil, rep, fmt.Errorf("line %d: %w", i+1, err)
		}
		if st, ok := stageOf[l.Classifier]; ok && st != l.Stage {
			return nil, nil, rep, fmt.Errorf("%w: classifier %s has %s and %s lines", ErrData, l.Classifier, st, l.Stage)
		}
		stageOf[l.Classifier] = l.Stage
		a := byKey[l.Key]
		if a == nil {
			a = &acc{rec: Record{ID: l.Key}}
			byKey[l.Key] = a
		}
		for _, v := range a.rec.Votes {
			if v.Classifier == l.Classifier {
				return nil, nil, rep, fmt.Errorf("%w: key %s has two lines of %s (the same predictions given twice?)", ErrData, l.Key, l.Classifier)
			}
		}
		truth, fam := 0, ""
		if l.Stage == StageDetection {
			truth = detectionSign(l.Label)
			a.nDet++
		} else if isNonFamily(l.Label) {
			truth = -1
		} else {
			truth, fam = 1, l.Label
		}
		if a.truth != 0 && truth != a.truth {
			return nil, nil, rep, fmt.Errorf("%w: key %s: %s says %q, another line disagrees on malicious or benign", ErrData, l.Key, l.Classifier, l.Label)
		}
		a.truth = truth
		if fam != "" {
			if a.family != "" && a.family != fam {
				return nil, nil, rep, fmt.Errorf("%w: key %s: families %q and %q", ErrData, l.Key, a.family, fam)
			}
			a.family = fam
		}
		if l.ID != "" && a.rec.ID == l.Key {
			a.rec.ID = l.ID
		}
		a.rec.Votes = append(a.rec.Votes, Vote{Classifier: l.Classifier, Stage: l.Stage, Scores: l.Scores})
		c := classifiers[l.Classifier]
		if c == nil {
			c = &JoinClassifier{Name: l.Classifier, Stage: l.Stage}
			classifiers[l.Classifier] = c
		}
		c.Lines++
	}
	rep.Keys = len(byKey)
	keys := make([]string, 0, len(byKey))
	for k, a := range byKey {
		keys = append(keys, k)
		if len(a.rec.Votes) > 1 {
			for _, v := range a.rec.Votes {
				classifiers[v.Classifier].Joined++
			}
		}
	}
	sort.Strings(keys)
	var out, famOnly []Record
	for _, k := range keys {
		a := byKey[k]
		if a.nDet == 0 {
			rep.NoDetection++
			a.rec.Malicious, a.rec.Family = a.truth > 0, a.family
			sort.Slice(a.rec.Votes, func(i, j int) bool { return a.rec.Votes[i].Classifier < a.rec.Votes[j].Classifier })
			famOnly = append(famOnly, a.rec)
			continue
		}
		a.rec.Malicious = a.truth > 0
		a.rec.Family = a.family
		sort.Slice(a.rec.Votes, func(i, j int) bool { return a.rec.Votes[i].Classifier < a.rec.Votes[j].Classifier })
		if a.rec.Malicious {
			rep.Malicious++
		}
		rep.ByVotes[a.nDet]++
		out = append(out, a.rec)
	}
	rep.Records = len(out)
	names := make([]string, 0, len(classifiers))
	for n := range classifiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rep.Classifiers = append(rep.Classifiers, *classifiers[n])
	}
	if len(out) == 0 {
		return nil, nil, rep, fmt.Errorf("%w: no record with a detection vote among %d keys", ErrData, rep.Keys)
	}
	return out, famOnly, rep, nil
}
