package signatures

import "github.com/scalemalnet/scalemalnet/featurizers/features"

// SeverityWeight is how much one match of each severity raises P(malware)
// in Score: P = 1 - (1-Prior) × Π (1 - SeverityWeight[severity]).
var SeverityWeight = [features.SeverityMax + 1]float64{0, 0.02, 0.1, 0.35, 0.7, 0.9}

// Prior is Score's P(malware) when nothing matched.
const Prior = 0.1

// Score turns matches into an uncalibrated P(malware): a noisy-or of the
// severities, so one critical match (0.91), one high (0.73) or two medium
// ones (0.62) reach a malware label at 0.5, while discovery at low and info
// severity alone stays benign (three low matches: 0.34). With no match it
// is Prior: the rules see only what they describe, so their silence is
// weak evidence of a benign sample. A fusion model fitted on this vote's
// out-of-fold scores calibrates it.
func Score(ms []features.Match) float64 {
	q := 1 - Prior
	for _, m := range ms {
		s := min(max(m.Severity, features.SeverityMin), features.SeverityMax)
		q *= 1 - SeverityWeight[s]
	}
	return 1 - q
}
