package fusion

import (
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/plugins/vote"
	"math"
	"strings"
)

// Stages of a vote, as plugins.Stage.
const (
	StageDetection = "detection"
	StageFamily    = "family"
)

// Labels of a stage-1 verdict.
const (
	LabelMalware = "malware"
	LabelBenign  = "benign"
)

// ClassScore is one class's score in a vote.
type ClassScore = vote.ClassScore

// Vote is one classifier's vote on one sample (plugins/vote). Fusion reads
// its Classifier, Stage (inferred from the classes when empty), Scores,
// Label, Abstained, Reason and Error.
type Vote = vote.Vote

// Record is one labelled sample for fitting and evaluation: every
// classifier's vote (absent, abstained or failed ones allowed) and the truth.
type Record struct {
	ID        string `json:"id,omitempty"`
	Votes     []Vote `json:"votes"`
	Malicious bool   `json:"malicious"`
	// Family is the true family of a malicious sample, "" when unknown. It
	// is compared with the family classifiers' class names as is.
	Family string `json:"family,omitempty"`
}

// Vote statuses, as listed in a Verdict's Missing.
const (
	StatusAbsent    = "absent"    // no vote from a classifier the model knows
	StatusAbstained = "abstained" // its input kind did not apply
	StatusFailed    = "failed"    // crashed, timed out, or a vote fusion cannot read
	// StatusNoFamily: a family vote with all its weight on "normal" or
	// "benign", so it names no family.
	StatusNoFamily = "no-family"
)

func normClass(c string) string { return strings.ToLower(strings.TrimSpace(c)) }

// detectionSign is +1 for a positive detection class, -1 for a negative
// one, 0 for anything else.
func detectionSign(class string) int {
	switch normClass(class) {
	case "malware", "attack":
		return 1
	case "benign", "normal":
		return -1
	}
	return 0
}

func checkScore(s ClassScore) error {
	if math.IsNaN(s.Score) || s.Score < 0 || s.Score > 1+1e-9 {
		return fmt.Errorf("%w: score %v for %q", ErrBadScores, s.Score, s.Class)
	}
	return nil
}

// DetectionProbability maps a detection classifier's class scores to
// P(malicious) = sum of positive scores / sum of all scores. Positive
// classes are "malware" and "attack", negative ones "benign" and "normal"
// (case-insensitive); there must be at least one of each and no other class
// (ErrUnknownClass). Scores must lie in [0,1] and not sum to 0 (ErrBadScores).
func DetectionProbability(scores []ClassScore) (float64, error) {
	var pos, neg float64
	var nPos, nNeg int
	for _, s := range scores {
		if err := checkScore(s); err != nil {
			return 0, err
		}
		switch detectionSign(s.Class) {
		case 1:
			pos += s.Score
			nPos++
		case -1:
			neg += s.Score
			nNeg++
		default:
			return 0, fmt.Errorf("%w: %q (want malware/attack or benign/normal)", ErrUnknownClass, s.Class)
		}
	}
	if nPos == 0 || nNeg == 0 {
		return 0, fmt.Errorf("%w: need a positive and a negative class, got %d and %d", ErrUnknownClass, nPos, nNeg)
	}
	if pos+neg <= 0 {
		return 0, fmt.Errorf("%w: scores sum to 0", ErrBadScores)
	}
	return min(1, pos/(pos+neg)), nil
}

// isNonFamily reports whether a family classifier's class stands for "no
// family" (dropped before fusing families).
func isNonFamily(class string) bool {
	c := normClass(class)
	return c == "normal" || c == "benign"
}

// FamilyDistribution maps a family classifier's class scores to a
// distribution over its families: classes "normal" and "benign"
// (case-insensitive) are dropped and the remaining scores renormalised to
// sum to 1, in the vote's order. It is an error (ErrNoFamily) when nothing
// is left, and ErrBadScores for scores outside [0,1].
func FamilyDistribution(scores []ClassScore) ([]ClassScore, error) {
	var out []ClassScore
	var sum float64
	for _, s := range scores {
		if err := checkScore(s); err != nil {
			return nil, err
		}
		if isNonFamily(s.Class) {
			continue
		}
		out = append(out, s)
		sum += s.Score
	}
	if len(out) == 0 || sum <= 0 {
		return nil, fmt.Errorf("%w: all weight on normal/benign", ErrNoFamily)
	}
	for i := range out {
		out[i].Score /= sum
	}
	return out, nil
}

// VoteStage returns the vote's stage: Stage when set (it must be detection
// or family), otherwise detection when every class is a detection class
// (malware, attack, benign, normal) and family otherwise.
func VoteStage(v Vote) (string, error) {
	switch v.Stage {
	case StageDetection, StageFamily:
		return v.Stage, nil
	case "":
	default:
		return "", fmt.Errorf("%w: classifier %s: stage %q", ErrData, v.Classifier, v.Stage)
	}
	if len(v.Scores) == 0 {
		return "", fmt.Errorf("%w: classifier %s: no stage and no scores", ErrData, v.Classifier)
	}
	for _, s := range v.Scores {
		if detectionSign(s.Class) == 0 {
			return StageFamily, nil
		}
	}
	return StageDetection, nil
}

// voteStatus returns the status of a vote: "" when it can be read, or why not
// (StatusAbstained, StatusFailed) with a reason.
func voteStatus(v Vote) (string, string) {
	switch {
	case v.Error != "":
		return StatusFailed, v.Error
	case v.Abstained:
		return StatusAbstained, v.Reason
	case len(v.Scores) == 0:
		return StatusFailed, "no scores"
	}
	return "", ""
}

// parsedVotes are one sample's votes sorted by stage and usability.
type parsedVotes struct {
	det     map[string]float64      // usable detection votes: raw P(malicious)
	fam     map[string][]ClassScore // usable family votes: distribution
	missing map[string]Missing      // classifier -> why it gave no usable vote
}

// parseVotes reads one sample's votes. A vote that cannot be read (unknown
// class, bad scores, unknown stage) counts as failed; two votes from one
// classifier are an error.
func parseVotes(votes []Vote) (parsedVotes, error) {
	pv := parsedVotes{det: map[string]float64{}, fam: map[string][]ClassScore{}, missing: map[string]Missing{}}
	seen := map[string]bool{}
	for _, v := range votes {
		if v.Classifier == "" {
			return pv, fmt.Errorf("%w: vote without classifier name", ErrData)
		}
		if seen[v.Classifier] {
			return pv, fmt.Errorf("%w: two votes from %s", ErrData, v.Classifier)
		}
		seen[v.Classifier] = true
		stage := v.Stage
		if st, reason := voteStatus(v); st != "" {
			pv.missing[v.Classifier] = Missing{Classifier: v.Classifier, Stage: stage, Status: st, Reason: reason}
			continue
		}
		stage, err := VoteStage(v)
		if err != nil {
			pv.missing[v.Classifier] = Missing{Classifier: v.Classifier, Stage: v.Stage, Status: StatusFailed, Reason: err.Error()}
			continue
		}
		if stage == StageDetection {
			p, err := DetectionProbability(v.Scores)
			if err != nil {
				pv.missing[v.Classifier] = Missing{Classifier: v.Classifier, Stage: stage, Status: StatusFailed, Reason: err.Error()}
				continue
			}
			pv.det[v.Classifier] = p
		} else {
			d, err := FamilyDistribution(v.Scores)
			if err != nil {
				st := StatusFailed
				if errors.Is(err, ErrNoFamily) {
					st = StatusNoFamily
				}
				pv.missing[v.Classifier] = Missing{Classifier: v.Classifier, Stage: stage, Status: st, Reason: err.Error()}
				continue
			}
			pv.fam[v.Classifier] = d
		}
	}
	return pv, nil
}
