// Package eval is the evaluation protocol every ScaleMalNet model is measured
// with: metrics (accuracy, per-class precision/recall/F1, macro-F1, exact
// two-class ROC AUC with tied scores rank-averaged, confusion matrix,
// false-positive rate), seeded stratified k-fold splitting, deduplication of
// a Dataset before splitting, and CrossValidate, which trains one model per
// fold and reports per-fold metrics with their mean and standard deviation,
// rendered as JSON or text.
//
// Conventions: in a two-class dataset class index 1 (Classes[1]) is the
// positive class (malware, attack) and its probability is the score for ROC
// AUC; the false-positive rate is the share of class-0 examples predicted as
// class 1. The predicted class is the arg-max of PredictProba, ties to the
// lowest index. Standard deviations are sample standard deviations (n-1).
package eval
