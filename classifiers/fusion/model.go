package fusion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
)

// Fusion methods for stage 1.
const (
	// MethodMean: unweighted average of the calibrated probabilities (a
	// baseline).
	MethodMean = "mean"
	// MethodSoftVote: weighted average with weights on the simplex that
	// minimise the validation log-loss of the fused probability (projected
	// gradient descent from uniform weights). Missing votes are handled in
	// training as at prediction: the weights of the present votes are
	// renormalised.
	MethodSoftVote = "soft-vote"
	// MethodAUCVote: weighted average with weights proportional to
	// max(0, AUC-0.5) of each classifier's raw scores on the validation
	// records where it voted (uniform when none beats chance).
	MethodAUCVote = "auc-vote"
	// MethodStacking: L2-regularised logistic regression over, per
	// classifier, its calibrated log-odds (probability clipped to
	// [0.001, 0.999]; 0, i.e. p = 0.5, when missing) and a missing indicator.
	MethodStacking = "stacking"
)

// Methods lists the fusion methods.
var Methods = []string{MethodMean, MethodSoftVote, MethodAUCVote, MethodStacking}

// FormatVersion is the Model JSON format version.
const FormatVersion = 1

// stackEps clips calibrated probabilities before the stacking log-odds.
const stackEps = 1e-3

// Options tune Fit. The zero value is soft-vote with Platt calibration and
// the max-F1 threshold.
type Options struct {
	Method      string           `json:"method,omitempty"`      // a Methods entry; default MethodSoftVote
	Calibration string           `json:"calibration,omitempty"` // CalibrationPlatt (default), CalibrationIsotonic, CalibrationNone
	Threshold   ThresholdOptions `json:"threshold"`
	// L2 is the stacking penalty on the mean log-loss; <= 0 means 0.01.
	L2 float64 `json:"l2,omitempty"`
	// MaxIter bounds the soft-vote weight iterations; <= 0 means 500.
	MaxIter int `json:"max_iter,omitempty"`
	// MinVotes: a detection classifier with fewer validation votes of
	// either class is left uncalibrated (noted in the model); <= 0 means 2.
	MinVotes int `json:"min_votes,omitempty"`
}

func (o Options) withDefaults() (Options, error) {
	if o.Method == "" {
		o.Method = MethodSoftVote
	}
	if !slices.Contains(Methods, o.Method) {
		return o, fmt.Errorf("%w: method %q (want one of %v)", ErrOptions, o.Method, Methods)
	}
	if o.Calibration == "" {
		o.Calibration = CalibrationPlatt
	}
	switch o.Calibration {
	case CalibrationPlatt, CalibrationIsotonic, CalibrationNone:
	default:
		return o, fmt.Errorf("%w: calibration %q", ErrOptions, o.Calibration)
	}
	if o.Threshold.Rule == "" {
		o.Threshold.Rule = RuleF1
	}
	if o.L2 <= 0 {
		o.L2 = 0.01
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 500
	}
	if o.MinVotes <= 0 {
		o.MinVotes = 2
	}
	return o, nil
}

// Detector is one detection classifier's part of a Model.
type Detector struct {
	Name       string     `json:"name"`
	Calibrator Calibrator `json:"calibrator"`
	// Weight is the soft-voting weight (methods mean, soft-vote,
	// auc-vote); weights sum to 1 over the detectors.
	Weight float64 `json:"weight"`
	// Coef and MissingCoef are the stacking coefficients of the
	// calibrated log-odds and of the missing indicator.
	Coef        float64 `json:"coef,omitempty"`
	MissingCoef float64 `json:"missing_coef,omitempty"`
	Votes       int     `json:"votes"`         // usable validation votes
	AUC         float64 `json:"auc,omitempty"` // validation AUC of the raw score (0 when undefined)
	Note        string  `json:"note,omitempty"`
}

// FamilyVoter is one family classifier's part of a Model.
type FamilyVoter struct {
	Name string `json:"name"`
	// Weight is the Laplace-smoothed validation top-1 accuracy
	// (hits+1)/(n+2) over malicious records with a known family where the
	// classifier gave a family; 0.5 without such records.
	Weight float64 `json:"weight"`
	Votes  int     `json:"votes"` // family-labelled validation votes scored
	Hits   int     `json:"hits"`
}

// Model is a fitted fusion: calibrators, method parameters, threshold and
// family weights. It is plain data, kept as JSON by Save and Load.
type Model struct {
	Format      int           `json:"format"`
	Method      string        `json:"method"`
	Calibration string        `json:"calibration"`
	Detectors   []Detector    `json:"detectors"` // sorted by name
	Intercept   float64       `json:"intercept,omitempty"`
	Threshold   Threshold     `json:"threshold"`
	Families    []FamilyVoter `json:"families,omitempty"` // sorted by name
	Options     Options       `json:"options"`
	NRecords    int           `json:"n_records"` // validation records fitted on
	NMalicious  int           `json:"n_malicious"`
	// NFamilyRecords counts the records with family votes only that
	// weighed the family classifiers (AddFamilyRecords).
	NFamilyRecords int `json:"n_family_records,omitempty"`
	// Validation holds the fused probability and the truth of every
	// validation record that had a usable vote (in record order), so the
	// operating point can be re-chosen at deployment (WithThreshold)
	// without the records. Like the threshold chosen by Fit, figures
	// computed on it are in-sample (the calibrators and weights were
	// fitted on the same records). Save writes it one compact entry a line.
	Validation []ScoredLabel `json:"validation,omitempty"`
	// Prior, when set (WithPrior, from the deployment's configuration),
	// counts the votes of classifiers the model was not fitted on.
	Prior *Prior `json:"prior,omitempty"`
}

// ScoredLabel is one validation record's fused probability and truth.
type ScoredLabel struct {
	P         float64 `json:"p"`
	Malicious bool    `json:"malicious"`
}

// Missing is a classifier the model knows that gave no usable vote.
type Missing struct {
	Classifier string `json:"classifier"`
	Stage      string `json:"stage,omitempty"`
	Status     string `json:"status"` // StatusAbsent, StatusAbstained, StatusFailed, StatusNoFamily
	Reason     string `json:"reason,omitempty"`
	// Term is, for stacking, the missing indicator's coefficient: how the
	// absence of this vote moved the fused log-odds.
	Term float64 `json:"term,omitempty"`
}

// Contribution explains how one detection vote moved the fused result.
//
// For the soft-voting methods, Weight is the classifier's weight
// renormalised over the present votes and Term = Weight * Calibrated (the
// Terms sum to Probability). For stacking, Weight is the coefficient and
// Term = Weight * log-odds(Calibrated), its additive share of the fused
// log-odds (the Terms, the missing Terms and the intercept sum to
// logit(Probability)).
//
// For every method, Delta = Probability - the fused probability with this
// vote dropped (soft voting renormalises over the rest; stacking treats it
// as missing; with no other vote the reference is 0.5): positive when the
// vote pushed towards malware.
type Contribution struct {
	Classifier string  `json:"classifier"`
	Raw        float64 `json:"raw"`        // P(malicious) read from the vote
	Calibrated float64 `json:"calibrated"` // after the classifier's calibrator
	Weight     float64 `json:"weight"`
	Term       float64 `json:"term"`
	Delta      float64 `json:"delta"`
	// Prior: the classifier is not in the fitted model; its vote was
	// counted uncalibrated with the configured prior weight (Prior).
	Prior bool `json:"prior,omitempty"`
}

// Verdict is the fused decision on one sample.
type Verdict struct {
	Label       string  `json:"label"` // LabelMalware or LabelBenign
	Malicious   bool    `json:"malicious"`
	Probability float64 `json:"probability"` // fused calibrated P(malicious)
	Threshold   float64 `json:"threshold"`   // malware when Probability >= Threshold
	Method      string  `json:"method"`
	// Stage 2, only when Malicious and some family classifier gave a
	// family: the top family, its fused score and the top few families.
	Family        string         `json:"family,omitempty"`
	FamilyScore   float64        `json:"family_score,omitempty"`
	Families      []ClassScore   `json:"families,omitempty"`
	FamilyVoters  []string       `json:"family_voters,omitempty"`
	Contributions []Contribution `json:"contributions"`
	// Missing lists the model's classifiers (both stages) without a usable
	// vote, and why; Ignored the classifiers that voted but are unknown to
	// the model (not fitted on), whose votes were not used.
	Missing []Missing `json:"missing,omitempty"`
	Ignored []string  `json:"ignored,omitempty"`
	// Unfitted lists the classifiers the model was not fitted on whose
	// votes were counted with a prior weight (Prior): "counted with a
	// prior weight, not fitted".
	Unfitted []string `json:"unfitted,omitempty"`
}

// topFamilies is how many families a Verdict lists.
const topFamilies = 5

// Fit fits a fusion model on labelled validation records: it calibrates
// every detection classifier that gave a usable vote on them, fits the
// method, then chooses the threshold on the fused validation probabilities
// and weighs the family classifiers. The records must hold both classes.
func Fit(records []Record, opt Options) (*Model, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: no records", ErrData)
	}
	parsed := make([]parsedVotes, len(records))
	y := make([]bool, len(records))
	detNames, famNames := map[string]bool{}, map[string]bool{}
	m := &Model{Format: FormatVersion, Method: opt.Method, Calibration: opt.Calibration, Options: opt, NRecords: len(records)}
	for r, rec := range records {
		pv, err := parseVotes(rec.Votes)
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", r, rec.ID, err)
		}
		parsed[r], y[r] = pv, rec.Malicious
		if rec.Malicious {
			m.NMalicious++
		}
		for n := range pv.det {
			detNames[n] = true
		}
		for n := range pv.fam {
			famNames[n] = true
		}
		for n, ms := range pv.missing {
			if ms.Stage == StageFamily {
				famNames[n] = true
			}
		}
	}
	if m.NMalicious == 0 || m.NMalicious == len(records) {
		return nil, fmt.Errorf("%w: records hold one class only (%d malicious of %d)", ErrData, m.NMalicious, len(records))
	}
	if len(detNames) == 0 {
		return nil, fmt.Errorf("%w: no usable detection vote in the records", ErrData)
	}
	names := sortedKeys(detNames)
	for _, name := range names {
		d, err := fitDetector(name, parsed, y, opt)
		if err != nil {
			return nil, err
		}
		m.Detectors = append(m.Detectors, d)
	}
	P := make([][]float64, len(records)) // calibrated, NaN missing
	for r := range records {
		P[r] = m.calibrated(parsed[r].det)
	}
	if err := m.fitMethod(P, y, opt); err != nil {
		return nil, err
	}
	var fused []float64
	var fy []bool
	for r := range records {
		if f, ok := m.fuse(P[r]); ok {
			fused = append(fused, f)
			fy = append(fy, y[r])
		}
	}
	if m.Threshold, err = SelectThreshold(fused, fy, opt.Threshold); err != nil {
		return nil, fmt.Errorf("threshold: %w", err)
	}
	m.Validation = make([]ScoredLabel, len(fused))
	for i, p := range fused {
		m.Validation[i] = ScoredLabel{P: p, Malicious: fy[i]}
	}
	for _, name := range sortedKeys(famNames) {
		fv := FamilyVoter{Name: name}
		for r, rec := range records {
			d, ok := parsed[r].fam[name]
			if !ok || !rec.Malicious || rec.Family == "" {
				continue
			}
			fv.Votes++
			if topClass(d).Class == rec.Family {
				fv.Hits++
			}
		}
		fv.Weight = (float64(fv.Hits) + 1) / (float64(fv.Votes) + 2)
		m.Families = append(m.Families, fv)
	}
	return m, nil
}

// AddFamilyRecords weighs the family classifiers on validation records
// that carry family votes only (JoinOOFFamilies: the examples of a family
// model trained on malware types alone, such as Mal-API-2019, that no
// detection model saw). Fit leaves such records out, so without this the
// model would not know the classifier and a deployment would list its
// votes as ignored. Each family vote of a malicious record with a known
// family adds to its classifier's validation votes and hits, and the
// weight is recomputed ((hits+1)/(votes+2)); a classifier new to the model
// joins it. A record with a detection vote is an error: it belongs to Fit.
func (m *Model) AddFamilyRecords(records []Record) error {
	byName := map[string]*FamilyVoter{}
	for i := range m.Families {
		byName[m.Families[i].Name] = &m.Families[i]
	}
	added := map[string]*FamilyVoter{}
	for r, rec := range records {
		pv, err := parseVotes(rec.Votes)
		if err != nil {
			return fmt.Errorf("family record %d (%s): %w", r, rec.ID, err)
		}
		if len(pv.det) > 0 {
			return fmt.Errorf("%w: family record %d (%s) has a detection vote", ErrData, r, rec.ID)
		}
		for name, d := range pv.fam {
			fv := byName[name]
			if fv == nil {
				fv = added[name]
			}
			if fv == nil {
				fv = &FamilyVoter{Name: name}
				added[name] = fv
			}
			if !rec.Malicious || rec.Family == "" {
				continue
			}
			fv.Votes++
			if topClass(d).Class == rec.Family {
				fv.Hits++
			}
		}
	}
	for _, fv := range added {
		m.Families = append(m.Families, *fv)
	}
	sort.Slice(m.Families, func(i, j int) bool { return m.Families[i].Name < m.Families[j].Name })
	for i := range m.Families {
		f := &m.Families[i]
		f.Weight = (float64(f.Hits) + 1) / (float64(f.Votes) + 2)
	}
	m.NFamilyRecords += len(records)
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fitDetector calibrates one detection classifier on its usable votes.
func fitDetector(name string, parsed []parsedVotes, y []bool, opt Options) (Detector, error) {
	d := Detector{Name: name}
	var s []float64
	var lab []bool
	nPos, nNeg := 0, 0
	for r, pv := range parsed {
		if p, ok := pv.det[name]; ok {
			s = append(s, p)
			lab = append(lab, y[r])
			if y[r] {
				nPos++
			} else {
				nNeg++
			}
		}
	}
	d.Votes = len(s)
	if auc, err := eval.AUC(s, lab); err == nil {
		d.AUC = auc
	}
	if nPos < opt.MinVotes || nNeg < opt.MinVotes {
		d.Calibrator = Calibrator{Kind: CalibrationNone}
		if opt.Calibration != CalibrationNone {
			d.Note = fmt.Sprintf("not calibrated: %d malicious and %d benign validation votes (need %d of each)", nPos, nNeg, opt.MinVotes)
		}
		return d, nil
	}
	c, err := FitCalibrator(opt.Calibration, s, lab)
	if err != nil {
		return d, fmt.Errorf("calibrate %s: %w", name, err)
	}
	d.Calibrator = c
	return d, nil
}

// calibrated returns the calibrated probability of each detector (NaN when
// it has no usable vote in det).
func (m *Model) calibrated(det map[string]float64) []float64 {
	p := make([]float64, len(m.Detectors))
	for i, d := range m.Detectors {
		if raw, ok := det[d.Name]; ok {
			p[i] = d.Calibrator.Apply(raw)
		} else {
			p[i] = math.NaN()
		}
	}
	return p
}

// fitMethod sets the weights or coefficients of the method.
func (m *Model) fitMethod(P [][]float64, y []bool, opt Options) error {
	c := len(m.Detectors)
	w := make([]float64, c)
	switch m.Method {
	case MethodMean, MethodStacking:
		for i := range w {
			w[i] = 1 / float64(c)
		}
	case MethodSoftVote:
		w = learnSimplexWeights(P, y, opt.MaxIter)
	case MethodAUCVote:
		var sum float64
		for i, d := range m.Detectors {
			w[i] = max(0, d.AUC-0.5)
			sum += w[i]
		}
		for i := range w {
			if sum > 0 {
				w[i] /= sum
			} else {
				w[i] = 1 / float64(c)
			}
		}
	}
	for i := range w {
		m.Detectors[i].Weight = w[i]
	}
	if m.Method == MethodStacking {
		X := make([][]float64, len(P))
		for r, p := range P {
			X[r] = stackRow(p)
		}
		beta := fitLogistic(X, y, opt.L2)
		m.Intercept = beta[0]
		for i := range m.Detectors {
			m.Detectors[i].Coef = beta[1+i]
			m.Detectors[i].MissingCoef = beta[1+c+i]
		}
	}
	return nil
}

// stackRow returns the stacking features of calibrated probabilities p:
// the log-odds of each (0 when missing), then the missing indicators.
func stackRow(p []float64) []float64 {
	c := len(p)
	x := make([]float64, 2*c)
	for i, v := range p {
		if math.IsNaN(v) {
			x[c+i] = 1
		} else {
			x[i] = logit(v, stackEps)
		}
	}
	return x
}

// fuse returns the fused probability of calibrated probabilities p (NaN =
// missing); ok is false when no vote is present.
func (m *Model) fuse(p []float64) (float64, bool) {
	present := false
	for _, v := range p {
		if !math.IsNaN(v) {
			present = true
		}
	}
	if !present {
		return 0, false
	}
	if m.Method == MethodStacking {
		return sigmoid(m.stackLogit(p)), true
	}
	w := make([]float64, len(m.Detectors))
	for i, d := range m.Detectors {
		w[i] = d.Weight
	}
	return softVote(p, w)
}

func (m *Model) stackLogit(p []float64) float64 {
	z := m.Intercept
	for i, v := range p {
		if math.IsNaN(v) {
			z += m.Detectors[i].MissingCoef
		} else {
			z += m.Detectors[i].Coef * logit(v, stackEps)
		}
	}
	return z
}

// Predict fuses one sample's votes into a Verdict. Votes from classifiers
// the model was not fitted on are ignored (listed in Ignored); abstained,
// failed and unreadable votes are listed in Missing. With no usable
// detection vote it returns the Verdict so far (Missing filled in) and an
// error wrapping ErrNoVotes. Two votes from one classifier are an error.
func (m *Model) Predict(votes []Vote) (Verdict, error) {
	v := Verdict{Method: m.Method, Threshold: m.Threshold.Value, Contributions: []Contribution{}}
	pv, err := parseVotes(votes)
	if err != nil {
		return v, err
	}
	known := map[string]bool{}
	for _, d := range m.Detectors {
		known[d.Name] = true
	}
	for _, f := range m.Families {
		known[f.Name] = true
	}
	m, v.Unfitted = m.withUnfitted(pv, known)
	for _, n := range v.Unfitted {
		known[n] = true
	}
	for _, vt := range votes {
		if !known[vt.Classifier] {
			v.Ignored = append(v.Ignored, vt.Classifier)
		}
	}
	sort.Strings(v.Ignored)
	missingOf := func(name, stage string) Missing {
		if ms, ok := pv.missing[name]; ok {
			if ms.Stage == "" {
				ms.Stage = stage
			}
			return ms
		}
		return Missing{Classifier: name, Stage: stage, Status: StatusAbsent}
	}
	p := m.calibrated(pv.det)
	for i, d := range m.Detectors {
		if math.IsNaN(p[i]) {
			ms := missingOf(d.Name, StageDetection)
			if m.Method == MethodStacking {
				ms.Term = d.MissingCoef
			}
			v.Missing = append(v.Missing, ms)
		}
	}
	for _, f := range m.Families {
		if _, ok := pv.fam[f.Name]; !ok {
			v.Missing = append(v.Missing, missingOf(f.Name, StageFamily))
		}
	}
	fused, ok := m.fuse(p)
	if !ok {
		return v, fmt.Errorf("%w: %d votes, none usable from the model's %d detection classifiers", ErrNoVotes, len(votes), len(m.Detectors))
	}
	v.Probability = fused
	v.Malicious = fused >= m.Threshold.Value
	v.Label = LabelBenign
	if v.Malicious {
		v.Label = LabelMalware
	}
	v.Contributions = m.contributions(pv.det, p, fused)
	if v.Malicious {
		m.fuseFamilies(pv.fam, &v)
	}
	return v, nil
}

// contributions explains each present vote (see Contribution).
func (m *Model) contributions(raw map[string]float64, p []float64, fused float64) []Contribution {
	var sw float64
	n := 0
	for i, v := range p {
		if !math.IsNaN(v) {
			sw += m.Detectors[i].Weight
			n++
		}
	}
	out := []Contribution{}
	for i, d := range m.Detectors {
		if math.IsNaN(p[i]) {
			continue
		}
		c := Contribution{Classifier: d.Name, Raw: raw[d.Name], Calibrated: p[i], Prior: d.Note == PriorNote}
		if m.Method == MethodStacking {
			c.Weight = d.Coef
			c.Term = d.Coef * logit(p[i], stackEps)
		} else {
			if sw > 1e-12 {
				c.Weight = d.Weight / sw
			} else {
				c.Weight = 1 / float64(n)
			}
			c.Term = c.Weight * p[i]
		}
		q := slices.Clone(p)
		q[i] = math.NaN()
		without, ok := m.fuse(q)
		if !ok {
			without = 0.5
		}
		c.Delta = fused - without
		out = append(out, c)
	}
	return out
}

// fuseFamilies fills in stage 2: the weighted average of the family
// distributions of the known family classifiers that gave one. A class
// absent from a classifier's list counts 0 for it.
func (m *Model) fuseFamilies(fam map[string][]ClassScore, v *Verdict) {
	acc := map[string]float64{}
	var sw float64
	for _, f := range m.Families {
		d, ok := fam[f.Name]
		if !ok {
			continue
		}
		v.FamilyVoters = append(v.FamilyVoters, f.Name)
		sw += f.Weight
		for _, s := range d {
			acc[s.Class] += f.Weight * s.Score
		}
	}
	if sw <= 0 {
		return
	}
	all := make([]ClassScore, 0, len(acc))
	for c, s := range acc {
		all = append(all, ClassScore{Class: c, Score: s / sw})
	}
	sortScores(all)
	v.Family, v.FamilyScore = all[0].Class, all[0].Score
	v.Families = all[:min(topFamilies, len(all))]
}

// sortScores sorts by score descending, then class ascending.
func sortScores(s []ClassScore) {
	slices.SortFunc(s, func(a, b ClassScore) int {
		if c := cmpFloat(b.Score, a.Score); c != 0 {
			return c
		}
		if a.Class < b.Class {
			return -1
		}
		if a.Class > b.Class {
			return 1
		}
		return 0
	})
}

// topClass returns the highest-scoring class (the first on ties).
func topClass(d []ClassScore) ClassScore {
	best := d[0]
	for _, s := range d[1:] {
		if s.Score > best.Score {
			best = s
		}
	}
	return best
}

// Save writes the model as indented JSON, with the validation scores
// (which can be thousands) one compact entry a line.
func (m *Model) Save(w io.Writer) error {
	c := *m
	c.Validation = nil
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: save: %w", ErrFusion, err)
	}
	var buf bytes.Buffer
	if len(m.Validation) == 0 {
		buf.Write(b)
	} else {
		// b ends with "\n}": add the field before the closing brace.
		buf.Write(bytes.TrimSuffix(b, []byte("\n}")))
		buf.WriteString(",\n  \"validation\": [")
		for i, v := range m.Validation {
			e, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("%w: save: validation %d: %w", ErrFusion, i, err)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("\n    ")
			buf.Write(e)
		}
		buf.WriteString("\n  ]\n}")
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("%w: save: %w", ErrFusion, err)
	}
	return nil
}

// WithThreshold returns a copy of the model with its stage-1 threshold
// re-chosen by opt on the stored validation scores (SelectThreshold), for a
// deployment's own operating point; the copy's Options.Threshold is opt.
// RuleFixed needs no validation scores (its figures are then zero, i.e.
// unknown); every other rule does, and a model without them (fitted before
// they were stored) gives an error wrapping ErrData. An unknown rule or a
// target out of range wraps ErrOptions. m is not changed.
func (m *Model) WithThreshold(opt ThresholdOptions) (*Model, error) {
	c := *m
	c.Detectors = slices.Clone(m.Detectors)
	c.Families = slices.Clone(m.Families)
	c.Validation = slices.Clone(m.Validation)
	if opt.Rule == "" {
		opt.Rule = RuleF1
	}
	if opt.Rule == RuleFixed && len(m.Validation) == 0 {
		if math.IsNaN(opt.Fixed) || math.IsInf(opt.Fixed, 0) {
			return nil, fmt.Errorf("%w: fixed threshold %v", ErrOptions, opt.Fixed)
		}
		c.Threshold = Threshold{Rule: RuleFixed, Value: opt.Fixed}
		c.Options.Threshold = opt
		return &c, nil
	}
	if len(m.Validation) == 0 {
		return nil, fmt.Errorf("%w: the model has no validation scores to choose a threshold by rule %q (refit it, or use rule %q)", ErrData, opt.Rule, RuleFixed)
	}
	if opt.Rule == RuleFixed && math.IsInf(opt.Fixed, 0) {
		return nil, fmt.Errorf("%w: fixed threshold %v", ErrOptions, opt.Fixed)
	}
	s := make([]float64, len(m.Validation))
	y := make([]bool, len(m.Validation))
	for i, v := range m.Validation {
		s[i], y[i] = v.P, v.Malicious
	}
	th, err := SelectThreshold(s, y, opt)
	if err != nil {
		return nil, fmt.Errorf("threshold: %w", err)
	}
	c.Threshold = th
	c.Options.Threshold = opt
	return &c, nil
}

// Load reads a model written by Save and validates it.
func Load(r io.Reader) (*Model, error) {
	var m Model
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: load: %w", ErrFusion, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks a model's consistency (format, method, calibrators,
// finite parameters, sorted unique names, validation scores in [0,1]).
func (m *Model) Validate() error {
	if m.Format != FormatVersion {
		return fmt.Errorf("%w: model format %d, want %d", ErrOptions, m.Format, FormatVersion)
	}
	if !slices.Contains(Methods, m.Method) {
		return fmt.Errorf("%w: method %q", ErrOptions, m.Method)
	}
	if len(m.Detectors) == 0 {
		return fmt.Errorf("%w: model has no detection classifier", ErrOptions)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(m.Intercept) || math.IsNaN(m.Threshold.Value) {
		return fmt.Errorf("%w: intercept %v, threshold %v", ErrOptions, m.Intercept, m.Threshold.Value)
	}
	for i, d := range m.Detectors {
		if i > 0 && d.Name <= m.Detectors[i-1].Name {
			return fmt.Errorf("%w: detectors not sorted or repeated at %q", ErrOptions, d.Name)
		}
		if err := d.Calibrator.Validate(); err != nil {
			return fmt.Errorf("detector %s: %w", d.Name, err)
		}
		if !finite(d.Weight) || d.Weight < 0 || !finite(d.Coef) || !finite(d.MissingCoef) {
			return fmt.Errorf("%w: detector %s parameters", ErrOptions, d.Name)
		}
	}
	if m.Prior != nil {
		if err := m.Prior.Validate(); err != nil {
			return err
		}
	}
	for i, v := range m.Validation {
		if !(v.P >= -1e-9 && v.P <= 1+1e-9) {
			return fmt.Errorf("%w: validation score %d is %v", ErrOptions, i, v.P)
		}
	}
	for i, f := range m.Families {
		if i > 0 && f.Name <= m.Families[i-1].Name {
			return fmt.Errorf("%w: family voters not sorted or repeated at %q", ErrOptions, f.Name)
		}
		if !finite(f.Weight) || f.Weight < 0 {
			return fmt.Errorf("%w: family voter %s weight %v", ErrOptions, f.Name, f.Weight)
		}
	}
	return nil
}
