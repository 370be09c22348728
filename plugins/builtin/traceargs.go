package builtin

import (
	"context"

	"github.com/scalemalnet/scalemalnet/featurizers/argfeat"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// traceArgs: the argument-aware features of the run's trace (path classes
// opened, written, executed; programs executed by kind; privilege, process
// and network calls; files written then executed), one fixed vector
// documented in docs/features.md.
type traceArgs struct{ sdk.NoConfig }

func (traceArgs) Info(context.Context) (plugins.Info, error) {
	return info(argfeat.SetName, "decoded-argument features of the trace: path classes × operations, programs executed by kind, privilege, process and network calls, files written then executed (docs/features.md)",
		plugins.InputDynamic, argfeat.SetName), nil
}

func (traceArgs) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	t, err := in.Trace()
	if err != nil {
		return nil, err
	}
	return []*features.Set{argfeat.Set(t)}, nil
}
