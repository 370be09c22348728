package analysis

import (
	"context"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
	"io"
	"os"
	"sort"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// setOutcome is what happened to one named feature set.
type setOutcome struct {
	set           *features.Set
	featurizer    string
	notApplicable bool
	err           string
}

// featurize runs every featurizer plugin. A featurizer that fails or does
// not apply is recorded; it never fails the job.
func (r *jobRun) featurize(ctx context.Context) error {
	r.sets = map[string]*setOutcome{}
	r.signatures = nil
	fzs := r.pluginSet().Plugins(plugins.KindFeaturizer)
	if len(fzs) == 0 {
		return nil
	}
	in := plugins.FeaturizeInput{Sample: r.pluginSample()}
	var contentErr, traceErr error
	loaded := map[plugins.Input]bool{}
	for _, p := range fzs {
		info := p.Info()
		if (info.Needs(plugins.InputStatic) || info.Needs(plugins.InputImage)) && !loaded[plugins.InputStatic] {
			loaded[plugins.InputStatic] = true
			in.Content, contentErr = r.readSample()
		}
		if info.Needs(plugins.InputDynamic) && !loaded[plugins.InputDynamic] {
			loaded[plugins.InputDynamic] = true
			in.TraceGz, traceErr = r.readTrace()
		}
		start := time.Now()
		var sets []*features.Set
		err := errors.Join(contentErr, traceErr)
		if err == nil {
			sets, err = p.Featurize(ctx, in)
		}
		dur := time.Since(start)
		na := errors.Is(err, plugins.ErrNotApplicable)
		if err != nil {
			for _, name := range info.Produces {
				r.sets[name] = &setOutcome{featurizer: p.Name(), notApplicable: na, err: err.Error()}
			}
			if !na {
				r.a.Log.Warn("featurizer failed", "job", r.job.ID, "plugin", p.Name(), "err", err)
			}
			r.features = append(r.features, report.Feature{Featurizer: p.Name(), Duration: dur, NotApplicable: na, Error: err.Error()})
			continue
		}
		for _, s := range sets {
			r.sets[s.Name] = &setOutcome{set: s, featurizer: p.Name()}
			f := report.Feature{Featurizer: p.Name(), Set: s.Name, Version: s.Version,
				Kind: string(s.Kind), Size: setSize(s), Duration: dur, Meta: s.Meta}
			if features.IsMatches(s) {
				f.Meta = r.addMatches(p.Name(), s)
			}
			r.features = append(r.features, f)
		}
	}
	return nil
}

// classify asks every classifier plugin for its vote. Missing inputs give an
// abstention (input kind not applicable) or a failed vote (featurizer
// failed); a crashed, hung or misbehaving classifier gives a failed vote.
func (r *jobRun) classify(ctx context.Context) error {
	for _, p := range r.pluginSet().Plugins(plugins.KindClassifier) {
		info := p.Info()
		v := verdict.ReportVote(p.Name(), info, plugins.Vote{})
		var sets []*features.Set
		for _, name := range info.Consumes {
			o := r.sets[name]
			switch {
			case o == nil:
				v.Error = fmt.Sprintf("input %q: no featurizer produces it", name)
			case o.notApplicable:
				v.Abstained, v.Reason = true, fmt.Sprintf("input %q does not apply: %s", name, o.err)
			case o.set == nil:
				v.Error = fmt.Sprintf("input %q unavailable: featurizer %s failed: %s", name, o.featurizer, o.err)
			default:
				sets = append(sets, o.set)
			}
		}
		if v.Error == "" && !v.Abstained {
			start := time.Now()
			pv, err := p.Classify(ctx, r.pluginSample(), sets)
			v.Duration = time.Since(start)
			if err != nil {
				v.Error = err.Error()
				r.a.Log.Warn("classifier failed", "job", r.job.ID, "plugin", p.Name(), "err", err)
			} else {
				d := v.Duration
				v = verdict.ReportVote(p.Name(), info, pv)
				v.Duration = d
			}
		}
		r.votes = append(r.votes, v)
	}
	return nil
}

// pluginSet is the job's plugins (taken by runPostSteps), or the current
// ones when the steps run on their own (tests).
func (r *jobRun) pluginSet() interface {
	Plugins(plugins.Kind) []*host.Plugin
} {
	if r.plugins != nil {
		return r.plugins
	}
	return r.a.Plugins
}

// pluginProblems lists plugins that are refused or failed: they are in no
// featurizer or classifier list, so this is where the report says why.
func (r *jobRun) pluginProblems() []report.PluginProblem {
	var out []report.PluginProblem
	for _, st := range r.a.Plugins.List() {
		if st.State == host.StateRefused || st.State == host.StateFailed {
			out = append(out, report.PluginProblem{Plugin: st.Name, Kind: string(st.Info.Kind), State: st.State, Error: st.LastError})
		}
	}
	return out
}

func (r *jobRun) pluginSample() plugins.Sample {
	s := r.job.Sample
	return plugins.Sample{SHA256: s.SHA256, Name: s.Name, Size: s.Size, Type: s.Type}
}

func (r *jobRun) readSample() ([]byte, error) {
	f, err := r.a.Store.OpenSample(r.job.Sample.SHA256)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, plugins.MaxMessageBytes/2, "sample")
}

func (r *jobRun) readTrace() ([]byte, error) {
	if r.traceRef.Path == "" {
		return nil, fmt.Errorf("%w: the run left no trace", plugins.ErrNotApplicable)
	}
	f, err := r.a.Store.OpenArtifact(r.job.ID, defaults.TraceArtifact)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, plugins.MaxMessageBytes/2, "trace")
}

// readBounded reads at most limit bytes, failing beyond.
func readBounded(f *os.File, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s larger than %d bytes: too large to send to plugins", what, limit)
	}
	return b, nil
}

func setSize(s *features.Set) int {
	switch s.Kind {
	case features.KindVector:
		return len(s.Vector)
	case features.KindSequence:
		return len(s.Tokens)
	case features.KindImage:
		if s.Image != nil {
			return len(s.Image.Pix)
		}
	}
	return 0
}

// addMatches lists a matches set's rules in the report's signatures
// section and returns the set's Meta without the matches themselves (the
// signatures section has them). A set that breaks the matches bounds adds
// nothing; its Meta says why.
func (r *jobRun) addMatches(featurizer string, s *features.Set) map[string]string {
	meta := make(map[string]string, len(s.Meta))
	for k, v := range s.Meta {
		if k != features.MetaMatches {
			meta[k] = v
		}
	}
	ms, err := features.DecodeMatches(s)
	if err != nil {
		r.a.Log.Warn("matches set refused", "job", r.job.ID, "plugin", featurizer, "set", s.Name, "err", err)
		meta["error"] = err.Error()
		return meta
	}
	for _, m := range ms {
		r.signatures = append(r.signatures, report.Signature{Match: m, Featurizer: featurizer, Set: s.Name})
	}
	return meta
}

// sortedSignatures orders the report's signatures: highest severity
// first, then by id.
func sortedSignatures(sigs []report.Signature) []report.Signature {
	out := append([]report.Signature(nil), sigs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// MaxJobSignatures bounds the signature names kept on a job for search.
const MaxJobSignatures = 64

// signatureNames are the distinct ids of the matched signatures, for the
// job's search index.
func signatureNames(sigs []report.Signature) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range sigs {
		if !seen[s.ID] && len(out) < MaxJobSignatures {
			seen[s.ID] = true
			out = append(out, s.ID)
		}
	}
	return out
}
