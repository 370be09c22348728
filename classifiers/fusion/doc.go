// Package fusion combines the votes of ScaleMalNet's classifiers into one
// verdict, as in ScaleMalNet (Vinayakumar et al., IEEE Access 2019): stage 1
// decides malware or benign from every detection classifier's vote (static,
// dynamic and image models alike), stage 2 names the family of what stage 1
// called malware from the family classifiers' votes.
//
// It is a pure library: it reads votes (Vote mirrors the JSON of
// orchestrator/report.Vote), is fitted on labelled validation Records and
// produces a Verdict. The pipeline, every step fitted on validation data
// only:
//
//  1. Normalisation. A detection vote becomes P(malicious) =
//     sum(positive-class scores) / sum(all scores), where "malware" and
//     "attack" are positive and "benign" and "normal" negative (compared
//     case-insensitively); any other class is an error (DetectionProbability).
//     A family vote becomes a distribution over its non-benign classes:
//     "normal" and "benign" are dropped and the rest renormalised
//     (FamilyDistribution).
//  2. Calibration, per detection classifier: Platt scaling (a logistic fit on
//     the logit of the score, with Platt's smoothed targets) or isotonic
//     regression (pool-adjacent-violators, predicted by monotone linear
//     interpolation), or none (Calibrator).
//  3. Fusion of the calibrated probabilities by a method chosen by name:
//     "mean" (unweighted soft voting, a baseline), "soft-vote" (weights on
//     the simplex minimising the validation log-loss of the fused
//     probability, by projected gradient descent), "auc-vote" (weights
//     proportional to max(0, AUC-0.5) on validation) or "stacking"
//     (L2-regularised logistic regression over each classifier's calibrated
//     log-odds and a missing indicator). Soft voting handles a missing vote at
//     prediction time by renormalising the remaining weights; stacking by its
//     missing indicator (the log-odds imputed as 0, i.e. p = 0.5).
//  4. A threshold on the fused probability, chosen on validation data for a
//     target false-positive rate, maximum F1 or maximum Youden's J
//     (SelectThreshold). A sample is malware when its fused probability is
//     >= the threshold.
//  5. Stage 2, only when stage 1 says malware: the weighted average of the
//     family distributions of the family classifiers that gave one, each
//     weighted by its Laplace-smoothed validation top-1 accuracy.
//
// Fit builds a Model from validation records; Model.Predict turns one
// sample's votes into a Verdict with per-vote contributions and the
// classifiers that were missing; Save and Load keep a Model as JSON. The
// model keeps its fused validation probabilities and labels (Validation),
// so Model.WithThreshold re-chooses the operating point for a deployment
// without the records. Evaluate measures every single classifier and every
// fusion method on the same records with stratified folds, so the gain from
// fusion is a number.
//
// Validation records for stacking done right are out-of-fold predictions:
// `scalemalnet train --oof FILE` records, for every deduplicated example,
// the scores of the cross-validation fold model that held it out
// (OOFLine, ReadOOF, WriteOOF), and JoinOOF joins several models' files on
// the key of the raw example into Records. Models trained on different
// datasets (ClaMP static, FHIDS dynamic) share no key, so their records
// carry disjoint votes: soft-vote weights are learnt only from records on
// which several classifiers voted (a record with one vote fuses to that
// vote whatever the weights), and a stacking model's missing indicators
// would learn each dataset's malware share rather than anything about
// samples, which is why soft voting is the pipeline's default.
//
// Calibration, method and threshold are all fitted on the same validation
// records, so the threshold's reported validation FPR/TPR are in-sample
// figures; Evaluate measures them out of sample. A stacking model has
// learnt nothing about the absence of a classifier that never missed a
// vote on validation (its missing coefficient stays near 0, i.e. the
// absent vote reads as p = 0.5).
//
// Every function is deterministic: the same records, options and seed give
// the same model and figures. Errors wrap ErrFusion.
package fusion

import (
	"errors"
	"fmt"
)

// ErrFusion is wrapped by every error of this package.
var ErrFusion = errors.New("fusion")

// More specific errors; each wraps ErrFusion.
var (
	// ErrUnknownClass: a detection vote has a class that is neither positive
	// (malware, attack) nor negative (benign, normal).
	ErrUnknownClass = fmt.Errorf("%w: unknown detection class", ErrFusion)
	// ErrBadScores: scores that are NaN, outside [0,1] or sum to zero.
	ErrBadScores = fmt.Errorf("%w: invalid scores", ErrFusion)
	// ErrNoFamily: a family vote gives no weight to any family (all of it
	// on "normal" or "benign").
	ErrNoFamily = fmt.Errorf("%w: no family in vote", ErrFusion)
	// ErrNoVotes: no usable detection vote from a classifier the model knows.
	ErrNoVotes = fmt.Errorf("%w: no usable detection vote", ErrFusion)
	// ErrData: the records cannot fit a model (too few, one class only,
	// duplicate votes, ...).
	ErrData = fmt.Errorf("%w: invalid records", ErrFusion)
	// ErrOptions: an unknown method, calibration or threshold rule, or an
	// option out of range.
	ErrOptions = fmt.Errorf("%w: invalid options", ErrFusion)
)
