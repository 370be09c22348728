// Package deep holds ScaleMalNet's deep models after Vinayakumar et al.,
// "Robust Intelligent Malware Detection Using Deep Learning" (IEEE Access
// 2019): a fully connected network over static feature vectors (the paper's
// WSBD "dnn"), LSTM and CNN-LSTM models over token sequences (WDBD "lstm",
// "cnn-lstm"), and CNN / CNN-LSTM models over byte images (DIMG
// "image-cnn", "image-cnn-lstm"). Every model implements ml.Classifier and
// uses gorgonia (gorgonia.org/gorgonia v0.9.18) as its engine.
//
// Layers are built from gorgonia ops (layers.go) and each has a plain-Go
// reference forward pass (reference.go) that tests compare against.
//
// gorgonia traps worked around here (see README.md in this directory):
//   - sliceOp hashes its start/end as single bytes, so x[256] is merged with
//     x[0] by the graph's hash-consing; time steps are sliced in two levels
//     (chunks of 255, then within a chunk) so no two slices share a hash.
//   - SoftMax and LogSoftMax hash identically; graphs here only ever use
//     LogSoftMax (training loss) and probabilities are computed in Go.
//   - Input nodes are deduplicated by name, so every node is named.
//   - The tape machine merges distinct nodes whose 32-bit hashes collide
//     (value numbering by hash alone): every graph is checked and rebuilt
//     under salted names until it has no collision (collide.go).
//   - Initialisers and Dropout seed from the clock: weights come from the
//     model's own seeded generator and dropout masks are fed as inputs.
package deep
