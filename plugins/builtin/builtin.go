// Package builtin holds the plugins that ship inside the scalemalnet binary.
// They run through exactly the same contract as external plugins: the
// orchestrator starts `scalemalnet plugin serve NAME` as a separate process
// and talks to it over go-plugin's gRPC, so a crash in a built-in model is
// contained like any other.
package builtin

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/featurizers/header"
	"github.com/scalemalnet/scalemalnet/featurizers/image"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// Version of the built-in plugins: the scalemalnet release.
const Version = "0.1.0"

// ErrUnknown is returned for a name that is not a built-in plugin.
var ErrUnknown = errors.New("no such built-in plugin")

var featurizers = map[string]func() plugins.Featurizer{
	"pe-header":  func() plugins.Featurizer { return peHeader{} },
	"elf-header": func() plugins.Featurizer { return elfHeader{} },
	"byteimage":  func() plugins.Featurizer { return byteImage{} },
	"callseq":    newCallSeq,
	"apiseq":     newAPISeq,
	"trace-args": func() plugins.Featurizer { return traceArgs{} },
	"signatures": newSignatures,
}

var classifiers = map[string]func() plugins.Classifier{
	SignatureClassifier: newSigClassifier,
}

// Names lists the built-in plugins, featurizers and classifiers.
func Names() []string {
	out := FeaturizerNames()
	for n := range classifiers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FeaturizerNames lists the built-in featurizers.
func FeaturizerNames() []string {
	var out []string
	for n := range featurizers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Featurizer returns a built-in featurizer implementation, in process
// (classifiers/cmd/votetable runs them without plugin processes).
func Featurizer(name string) (plugins.Featurizer, error) {
	if f, ok := featurizers[name]; ok {
		return f(), nil
	}
	return nil, fmt.Errorf("%w: featurizer %q (have %v)", ErrUnknown, name, FeaturizerNames())
}

// Classifier returns a built-in classifier implementation, in process.
func Classifier(name string) (plugins.Classifier, error) {
	if c, ok := classifiers[name]; ok {
		return c(), nil
	}
	return nil, fmt.Errorf("%w: classifier %q", ErrUnknown, name)
}

// Serve runs the named built-in as a plugin process (`scalemalnet plugin
// serve NAME`); it returns when the host ends it.
func Serve(name string) error {
	if f, ok := featurizers[name]; ok {
		sdk.ServeFeaturizer(f())
		return nil
	}
	if c, ok := classifiers[name]; ok {
		sdk.ServeClassifier(c())
		return nil
	}
	return fmt.Errorf("%w: %q (have %v)", ErrUnknown, name, Names())
}

func info(name, desc string, in plugins.Input, produces ...string) plugins.Info {
	return plugins.Info{Name: name, Kind: plugins.KindFeaturizer, Version: Version, APIVersions: []uint32{plugins.APIVersion},
		Inputs: []plugins.Input{in}, Description: desc, Produces: produces}
}

// peHeader: ClaMP's Raw and Integrated PE header feature sets.
type peHeader struct{ sdk.NoConfig }

func (peHeader) Info(context.Context) (plugins.Info, error) {
	return info("pe-header", "ClaMP Raw (55) and Integrated (69) PE header features, at parity with pefile",
		plugins.InputStatic, "clamp-raw", "clamp-integrated"), nil
}

func (peHeader) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	raw, err := header.ClaMPRawSet(in.Content)
	if err != nil {
		return nil, err
	}
	integ, err := header.ClaMPIntegratedSet(in.Content)
	if err != nil {
		return nil, err
	}
	return []*features.Set{raw, integ}, nil
}

// elfHeader: the ELF header feature set (featurizers/header/ELF_FEATURES.md).
type elfHeader struct{ sdk.NoConfig }

func (elfHeader) Info(context.Context) (plugins.Info, error) {
	return info("elf-header", "ELF header features (featurizers/header/ELF_FEATURES.md)", plugins.InputStatic, "elf-header"), nil
}

func (elfHeader) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	s, err := header.ELFHeaderSet(in.Content)
	if err != nil {
		return nil, err
	}
	return []*features.Set{s}, nil
}

// byteImage: the sample's bytes as a grayscale image, resized to 32x32 and 64x64.
type byteImage struct{ sdk.NoConfig }

func (byteImage) Info(context.Context) (plugins.Info, error) {
	return info("byteimage", "the file's bytes as a Malimg-style grayscale image, resized to 32x32 and 64x64 (area averaging)",
		plugins.InputImage, image.NameResized32, image.NameResized64), nil
}

func (byteImage) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	var out []*features.Set
	for _, n := range []string{image.NameResized32, image.NameResized64} {
		f, err := image.ByName(n)
		if err != nil {
			return nil, err
		}
		s, err := f.Featurize(in.Content)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
