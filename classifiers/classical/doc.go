// Package classical holds the classical baselines the paper compares deep
// models with, over feature vectors (ml.Input.Vector): multinomial logistic
// regression, Gaussian naive Bayes, k-nearest neighbours, a CART decision
// tree, a random forest and a one-vs-rest linear SVM. Each implements
// ml.Classifier: the same data and seed give the same model, and Save/Load
// (encoding/gob) round-trips to bit-identical predictions.
//
// Models that depend on feature scale (logistic regression, kNN, SVM)
// standardise inputs with means and standard deviations fitted on the
// training set. Fit rejects bad data with errors wrapping ml.ErrData: no
// examples, fewer than two classes present, missing, ragged or non-finite
// vectors; PredictProba rejects a vector of the wrong length the same way,
// and ErrNotFitted before Fit or Load.
//
// Linear algebra uses gonum (gonum.org/v1/gonum): the logistic regression is
// fitted with gonum/optimize's L-BFGS, and it and the SVM use gonum/floats'
// vector kernels. Trees and forests are implemented here (see tree.go for
// why no library).
package classical
