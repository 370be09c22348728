// Package image turns files into 8-bit grayscale images the way the Malimg
// data set does (Nataraj et al., VizSec 2011), as used by the CNN and
// CNN-LSTM image models of Vinayakumar et al. (IEEE Access 2019).
//
// The pieces:
//
//   - [WidthFor] and [Widths]: the Malimg row width chosen by file size.
//   - [FromBytes]: a file's bytes as an image, row by row at that width,
//     the last row zero-padded.
//   - [Resize]: a deterministic resize to a fixed size (area averaging
//     when shrinking an axis, bilinear when enlarging it), in exact integer
//     arithmetic.
//   - [Featurizer]: the features.Set adapters "byteimage", "byteimage-32",
//     "byteimage-64" (and any other size via [NewResized]).
//   - [LoadMalimg] and [DecodePNG]: the Malimg layout (one folder per family
//     of PNG files) with bounded decoding and per-file error reporting.
//   - [GenerateSynthetic]: a small, deterministic Malimg-layout set whose
//     families are separable, for tests of the image models.
//
// The package name shadows the standard library's image package; importers
// that need both can rename one, e.g. byteimage "github.com/scalemalnet/scalemalnet/featurizers/image".
package image
