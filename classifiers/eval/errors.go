package eval

import "errors"

// ErrEval is wrapped by errors about invalid arguments to the protocol
// (mismatched lengths, k out of range, a probability vector of the wrong
// size). Errors about the dataset itself wrap ml.ErrData.
var ErrEval = errors.New("invalid evaluation")
