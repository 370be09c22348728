package plugins

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	pb "github.com/scalemalnet/scalemalnet/plugins/proto/pluginv1"
)

// MaxMessageBytes bounds one gRPC message between host and plugin: a
// sample's bytes plus its compressed trace must fit.
const MaxMessageBytes = 160 << 20

// Bounds on the trace a featurizer decodes, whatever its compressed size
// (a gzip bomb of empty events compresses about 1000:1): the decompressed
// bytes read, and the calls kept with their details (the rest are counted
// as dropped, see trace.Bounder). MaxTraceEvents is above the 200,000 calls
// the orchestrator keeps per run, so a trace it recorded is read whole.
const (
	MaxTraceBytes  = 256 << 20
	MaxTraceEvents = 250_000
)

// GRPCServerOptions are the server options plugins must use (the SDK does).
func GRPCServerOptions(opts []grpc.ServerOption) []grpc.ServerOption {
	return append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
}

// GRPCDialOptions are the client options the host uses.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))}
}

// Trace decodes the run's trace, bounded by MaxTraceBytes decompressed and
// MaxTraceEvents calls kept (and trace.DefaultKept bytes of them): what was
// cut is in the summary's Bounded, and Truncated is set.
func (in FeaturizeInput) Trace() (*trace.Trace, error) {
	if len(in.TraceGz) == 0 {
		return nil, fmt.Errorf("%w: no trace given: this featurizer reads a run's trace and none was sent (the run left no trace, or `scalemalnet features` was run without --trace)", ErrNotApplicable)
	}
	return DecodeTrace(bytes.NewReader(in.TraceGz))
}

// DecodeTrace decodes a gzip-compressed JSONL trace within MaxTraceBytes
// and MaxTraceEvents.
func DecodeTrace(gz io.Reader) (*trace.Trace, error) {
	zr, err := gzip.NewReader(gz)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", trace.ErrMalformed, err)
	}
	lr := &io.LimitedReader{R: zr, N: MaxTraceBytes + 1}
	t, err := trace.ReadJSONLLimits(lr, trace.Limits{MaxEvents: MaxTraceEvents})
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: trace larger than %d bytes decompressed", trace.ErrMalformed, MaxTraceBytes)
	}
	return t, err
}

// PluginMap returns go-plugin's versioned plugin sets: with an
// implementation, the set a plugin process serves (the SDK); with nil
// arguments, the set the host dispenses from.
func PluginMap(f Featurizer, c Classifier) map[int]plugin.PluginSet {
	set := plugin.PluginSet{}
	if f != nil || c == nil {
		set[string(KindFeaturizer)] = &FeaturizerPlugin{Impl: f}
	}
	if c != nil || f == nil {
		set[string(KindClassifier)] = &ClassifierPlugin{Impl: c}
	}
	return map[int]plugin.PluginSet{APIVersion: set}
}

// FeaturizerPlugin is go-plugin's glue for the Featurizer kind.
type FeaturizerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Featurizer
}

func (p *FeaturizerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("no featurizer implementation")
	}
	pb.RegisterPluginServer(s, &baseServer{impl: p.Impl})
	pb.RegisterFeaturizerServer(s, &featurizerServer{impl: p.Impl})
	return nil
}

func (p *FeaturizerPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &featurizerClient{baseClient: baseClient{pb.NewPluginClient(c)}, f: pb.NewFeaturizerClient(c)}, nil
}

// ClassifierPlugin is go-plugin's glue for the Classifier kind.
type ClassifierPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Classifier
}

func (p *ClassifierPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("no classifier implementation")
	}
	pb.RegisterPluginServer(s, &baseServer{impl: p.Impl})
	pb.RegisterClassifierServer(s, &classifierServer{impl: p.Impl})
	return nil
}

func (p *ClassifierPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &classifierClient{baseClient: baseClient{pb.NewPluginClient(c)}, c: pb.NewClassifierClient(c)}, nil
}

// ---- server side (runs in the plugin process)

type baseServer struct {
	pb.UnimplementedPluginServer
	impl Base
}

func (s *baseServer) GetInfo(ctx context.Context, _ *pb.Empty) (*pb.PluginInfo, error) {
	i, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return infoToPB(i), nil
}

func (s *baseServer) GetConfigSchema(ctx context.Context, _ *pb.Empty) (*pb.ConfigSchema, error) {
	sch, err := s.impl.ConfigSchema(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ConfigSchema{JsonSchema: sch}, nil
}

func (s *baseServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.Empty, error) {
	if err := s.impl.Configure(ctx, r.GetConfigJson()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

type featurizerServer struct {
	pb.UnimplementedFeaturizerServer
	impl Featurizer
}

func (s *featurizerServer) Featurize(ctx context.Context, r *pb.FeaturizeRequest) (*pb.FeaturizeResponse, error) {
	sets, err := s.impl.Featurize(ctx, FeaturizeInput{Sample: sampleFromPB(r.GetSample()), Content: r.GetContent(), TraceGz: r.GetTraceJsonlGz()})
	if errors.Is(err, ErrNotApplicable) {
		return &pb.FeaturizeResponse{NotApplicable: true, Reason: err.Error()}, nil
	}
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.FeaturizeResponse{}
	for _, fs := range sets {
		out.Sets = append(out.Sets, SetToPB(fs))
	}
	return out, nil
}

type classifierServer struct {
	pb.UnimplementedClassifierServer
	impl Classifier
}

func (s *classifierServer) Classify(ctx context.Context, r *pb.ClassifyRequest) (*pb.Vote, error) {
	var sets []*features.Set
	for _, fs := range r.GetFeatures() {
		sets = append(sets, SetFromPB(fs))
	}
	v, err := s.impl.Classify(ctx, sampleFromPB(r.GetSample()), sets)
	if errors.Is(err, ErrNotApplicable) {
		return &pb.Vote{Abstained: true, Reason: err.Error()}, nil
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return voteToPB(v), nil
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, features.ErrInvalid), errors.Is(err, trace.ErrMalformed):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

// ---- client side (runs in the host)

// ErrPlugin is wrapped by errors a plugin returned (as opposed to transport
// failures such as a crashed process, which come back as gRPC errors).
var ErrPlugin = errors.New("plugin error")

func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unknown, codes.InvalidArgument:
		return fmt.Errorf("%w: %s", ErrPlugin, st.Message())
	default:
		return err
	}
}

type baseClient struct{ b pb.PluginClient }

func (c baseClient) Info(ctx context.Context) (Info, error) {
	i, err := c.b.GetInfo(ctx, &pb.Empty{})
	if err != nil {
		return Info{}, fromStatus(err)
	}
	return infoFromPB(i), nil
}

func (c baseClient) ConfigSchema(ctx context.Context) (string, error) {
	s, err := c.b.GetConfigSchema(ctx, &pb.Empty{})
	if err != nil {
		return "", fromStatus(err)
	}
	return s.GetJsonSchema(), nil
}

func (c baseClient) Configure(ctx context.Context, cfg []byte) error {
	_, err := c.b.Configure(ctx, &pb.ConfigureRequest{ConfigJson: cfg})
	return fromStatus(err)
}

type featurizerClient struct {
	baseClient
	f pb.FeaturizerClient
}

func (c *featurizerClient) Featurize(ctx context.Context, in FeaturizeInput) ([]*features.Set, error) {
	r, err := c.f.Featurize(ctx, &pb.FeaturizeRequest{Sample: sampleToPB(in.Sample), Content: in.Content, TraceJsonlGz: in.TraceGz})
	if err != nil {
		return nil, fromStatus(err)
	}
	if r.GetNotApplicable() {
		return nil, notApplicable(r.GetReason())
	}
	var sets []*features.Set
	for _, fs := range r.GetSets() {
		sets = append(sets, SetFromPB(fs))
	}
	return sets, nil
}

type classifierClient struct {
	baseClient
	c pb.ClassifierClient
}

func (c *classifierClient) Classify(ctx context.Context, s Sample, sets []*features.Set) (Vote, error) {
	req := &pb.ClassifyRequest{Sample: sampleToPB(s)}
	for _, fs := range sets {
		req.Features = append(req.Features, SetToPB(fs))
	}
	v, err := c.c.Classify(ctx, req)
	if err != nil {
		return Vote{}, fromStatus(err)
	}
	return voteFromPB(v), nil
}

// notApplicable is an abstention carried over the wire: its text is the
// plugin's reason, and it matches ErrNotApplicable.
type notApplicable string

func (n notApplicable) Error() string {
	if n == "" {
		return ErrNotApplicable.Error()
	}
	return string(n)
}

func (n notApplicable) Is(target error) bool { return target == ErrNotApplicable }

// ---- conversions

func infoToPB(i Info) *pb.PluginInfo {
	p := &pb.PluginInfo{Name: i.Name, Kind: string(i.Kind), Version: i.Version, ApiVersions: i.APIVersions,
		Description: i.Description, Produces: i.Produces, Consumes: i.Consumes, Stage: string(i.Stage), Classes: i.Classes}
	for _, in := range i.Inputs {
		p.Inputs = append(p.Inputs, string(in))
	}
	return p
}

func infoFromPB(p *pb.PluginInfo) Info {
	i := Info{Name: p.GetName(), Kind: Kind(p.GetKind()), Version: p.GetVersion(), APIVersions: p.GetApiVersions(),
		Description: p.GetDescription(), Produces: p.GetProduces(), Consumes: p.GetConsumes(), Stage: Stage(p.GetStage()), Classes: p.GetClasses()}
	for _, in := range p.GetInputs() {
		i.Inputs = append(i.Inputs, Input(in))
	}
	return i
}

func sampleToPB(s Sample) *pb.Sample {
	return &pb.Sample{Sha256: s.SHA256, Name: s.Name, Size: s.Size, Type: s.Type}
}

func sampleFromPB(p *pb.Sample) Sample {
	return Sample{SHA256: p.GetSha256(), Name: p.GetName(), Size: p.GetSize(), Type: p.GetType()}
}

// SetToPB converts a feature set to its wire form.
func SetToPB(s *features.Set) *pb.FeatureSet {
	p := &pb.FeatureSet{Name: s.Name, Version: s.Version, Kind: string(s.Kind), Schema: s.Schema,
		Vector: s.Vector, Tokens: s.Tokens, Meta: s.Meta}
	if s.Image != nil {
		p.Image = &pb.Image{Width: int32(s.Image.Width), Height: int32(s.Image.Height), Pix: s.Image.Pix}
	}
	return p
}

// SetFromPB converts a feature set from its wire form.
func SetFromPB(p *pb.FeatureSet) *features.Set {
	s := &features.Set{Name: p.GetName(), Version: p.GetVersion(), Kind: features.Kind(p.GetKind()), Schema: p.GetSchema(),
		Vector: p.GetVector(), Tokens: p.GetTokens(), Meta: p.GetMeta()}
	if im := p.GetImage(); im != nil {
		s.Image = &features.Image{Width: int(im.GetWidth()), Height: int(im.GetHeight()), Pix: im.GetPix()}
	}
	return s
}

func voteToPB(v Vote) *pb.Vote {
	p := &pb.Vote{Label: v.Label, Model: v.Model, ModelVersion: v.ModelVersion, Abstained: v.Abstained,
		Reason: v.Reason, Explanation: v.Explanation}
	for _, s := range v.Scores {
		p.Scores = append(p.Scores, &pb.ClassScore{Class: s.Class, Score: s.Score})
	}
	return p
}

func voteFromPB(p *pb.Vote) Vote {
	v := Vote{Label: p.GetLabel(), Model: p.GetModel(), ModelVersion: p.GetModelVersion(), Abstained: p.GetAbstained(),
		Reason: p.GetReason(), Explanation: p.GetExplanation()}
	for _, s := range p.GetScores() {
		v.Scores = append(v.Scores, ClassScore{Class: s.GetClass(), Score: s.GetScore()})
	}
	return v
}
