// Command synthimages writes a small synthetic Malimg-layout image set
// (featurizers/image.GenerateSynthetic: one folder per family of PNG byte
// images), for trying the image models without the Malimg set and for the
// inference benchmark (scripts/bench-models.sh).
//
//	go run ./classifiers/cmd/synthimages [-families 3] [-per-family 40] [-seed 1] DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/scalemalnet/scalemalnet/featurizers/image"
)

func main() {
	families := flag.Int("families", 3, "families (folders)")
	per := flag.Int("per-family", 40, "images per family")
	seed := flag.Int64("seed", 1, "generator seed (same seed, same pixels)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: synthimages [flags] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := image.GenerateSynthetic(flag.Arg(0), *families, *per, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "synthimages:", err)
		os.Exit(1)
	}
}
