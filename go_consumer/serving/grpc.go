package serving

// TensorFlow Serving's gRPC API (tensorflow.serving.PredictionService Predict and
// GetModelMetadata, tensorflow.serving.ModelService GetModelStatus), answered from the same
// Manager as the REST API: the same versions, reference counting and refusals, with gRPC
// status codes instead of HTTP ones. The Go code of the protocol is generated at build time
// into internal/tfspb (go_consumer/Makefile).

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/tfspb/apis"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensorproto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	tslpb "github.com/wamuir/graft/tensorflow/tsl/protobuf/for_core_protos_go_proto"
	"google.golang.org/grpc"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// GRPC answers TensorFlow Serving's gRPC API from a Manager's loaded versions. Register it
// on a grpc.Server built with NewGRPCServer.
type GRPC struct {
	Manager *Manager
	// RequestTimeout bounds one Predict (the client's own deadline applies when shorter);
	// past it the answer is DEADLINE_EXCEEDED.
	RequestTimeout time.Duration
	// Logf writes one line of the server's log (access lines); nil: none.
	Logf func(format string, args ...any)
	// Metrics, when not nil, records every Predict call (Metrics.Request, API "Predict",
	// entrypoint "GRPC", as TF Serving's prediction_service_impl.cc); NewGRPCServer's
	// interceptor does the recording.
	Metrics *Metrics

	// running counts predictions still running after their call was answered
	// DEADLINE_EXCEEDED; Wait waits for them.
	running sync.WaitGroup
}

// Wait waits for the predictions that were still running when their call timed out.
func (g *GRPC) Wait() { g.running.Wait() }

// Register registers TensorFlow Serving's PredictionService (Predict, GetModelMetadata) and
// ModelService (GetModelStatus) of g on s, a server of the caller's own. Each method turns
// its errors into gRPC statuses itself (the code of tests/cases/messages.json) and a panic
// into INTERNAL, so the services answer alike with or without NewGRPCServer's options.
func (g *GRPC) Register(s *grpc.Server) {
	apis.RegisterPredictionServiceServer(s, &predictionService{g: g})
	apis.RegisterModelServiceServer(s, &modelService{g: g})
}

// edge is the edge of one service method (tests/CONTRACT.md, "Errors"): a panic becomes
// INTERNAL, and an error its gRPC status (grpcError).
func edge(err *error) {
	if p := recover(); p != nil {
		*err = status.New(status.Internal, "internal error: %s", oneLine(fmt.Sprint(p)))
	}
	if *err != nil {
		*err = grpcError(*err)
	}
}

// NewGRPCServer returns a grpc.Server answering g's services (Register): messages over maxRequestBytes
// are refused RESOURCE_EXHAUSTED by grpc itself, a panic is answered INTERNAL, and every
// call writes one access line.
func NewGRPCServer(g *GRPC, maxRequestBytes int64) *grpc.Server {
	limit := int(min(maxRequestBytes, int64(^uint32(0)>>1)))
	s := grpc.NewServer(
		grpc.MaxRecvMsgSize(limit),
		grpc.MaxSendMsgSize(1<<31-1),
		grpc.UnaryInterceptor(g.intercept),
	)
	g.Register(s)
	return s
}

// intercept is the edge of the gRPC API (tests/CONTRACT.md, "Errors"): it turns the error of
// a call into its gRPC status (grpcError), a panic into INTERNAL, and writes the call's
// access line.
func (g *GRPC) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	note := &RunNote{}
	ctx = context.WithValue(ctx, runNoteKey{}, note)
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, status.New(status.Internal, "internal error: %s", oneLine(fmt.Sprint(p)))
		}
		if err != nil {
			resp, err = nil, grpcError(err)
		}
		if r, ok := req.(*apis.PredictRequest); ok && info.FullMethod == apis.PredictionService_Predict_FullMethodName {
			g.Metrics.Request(r.GetModelSpec().GetName(), "Predict", "GRPC", CodeName(err), time.Since(start), note.Runtime)
		}
		if g.Logf != nil {
			size := 0
			if m, ok := resp.(proto.Message); ok && err == nil {
				size = proto.Size(m)
			}
			g.Logf("access: gRPC %s %s %d %.3fms%s", info.FullMethod, grpcstatus.Code(err), size,
				float64(time.Since(start).Microseconds())/1000, note.String())
		}
	}()
	return handler(ctx, req)
}

// runNoteKey is the context key of a call's *RunNote (set by intercept).
type runNoteKey struct{}

// grpcError is the gRPC status of err: the gRPC status code of its canonical code
// (status.CodeOf, the table's grpc_code) with its message on one line. An error that already
// is a gRPC status (a call the client cancelled) is kept.
func grpcError(err error) error {
	if _, ok := grpcstatus.FromError(err); ok {
		return err
	}
	return grpcstatus.Error(status.CodeOf(err).GRPCCode(), oneLine(err.Error()))
}

// specVersion reads a ModelSpec: the model name and version (0: the latest); a version
// label is the version it points at (Manager.LabelVersion), as on the REST API.
func specVersion(m *Manager, spec *apis.ModelSpec) (string, int64, error) {
	name := spec.GetName()
	if spec == nil || name == "" {
		return "", 0, status.New(status.InvalidArgument, "Missing model name in request.")
	}
	switch v := spec.GetVersionChoice().(type) {
	case *apis.ModelSpec_VersionLabel:
		n, err := m.LabelVersion(name, v.VersionLabel)
		if err != nil {
			return "", 0, err
		}
		return name, n, nil
	case *apis.ModelSpec_Version:
		n := v.Version.GetValue()
		if n <= 0 {
			return "", 0, status.New(status.NotFound, "Servable not found for request: Specific(%s, %d)", status.Bound(name), n)
		}
		return name, n, nil
	}
	return name, 0, nil
}

func answeredSpec(name string, version int64, signature string) *apis.ModelSpec {
	return &apis.ModelSpec{
		Name:          name,
		VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(version)},
		SignatureName: signature,
	}
}

type predictionService struct {
	apis.UnimplementedPredictionServiceServer
	g *GRPC
}

type predictResult struct {
	resp *apis.PredictResponse
	err  error
}

// Predict checks the request against the signature (as the JSON path does), runs it on the
// acquired version in a goroutine, so that a call past its deadline is answered
// DEADLINE_EXCEEDED at once (the version stays acquired until the run ends), and answers
// the outputs (all, or those of output_filter) as TensorFlow Serving does.
func (p *predictionService) Predict(ctx context.Context, req *apis.PredictRequest) (_ *apis.PredictResponse, err error) {
	defer edge(&err)
	name, number, err := specVersion(p.g.Manager, req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	h, err := p.g.Manager.Acquire(name, number)
	if err != nil {
		return nil, err
	}
	done := make(chan predictResult, 1)
	p.g.running.Add(1)
	var mine RunNote // written by the run, read once it has answered
	go func() {
		defer p.g.running.Done()
		defer h.Release()
		defer func() {
			if r := recover(); r != nil {
				done <- predictResult{err: status.New(status.Internal, "internal error: %s", oneLine(fmt.Sprint(r)))}
			}
		}()
		resp, err := predictProto(h, req, &mine)
		done <- predictResult{resp: resp, err: err}
	}()
	timeout := p.g.RequestTimeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case res := <-done:
		if note, ok := ctx.Value(runNoteKey{}).(*RunNote); ok {
			*note = mine
		}
		if res.err != nil {
			return nil, res.err
		}
		return res.resp, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, status.New(status.DeadlineExceeded, "deadline exceeded: the request took longer than its deadline or %s (--request-timeout)", timeout)
		}
		return nil, grpcstatus.FromContextError(ctx.Err()).Err()
	}
}

// predictProto answers one PredictRequest from an acquired version.
func predictProto(h *Handle, req *apis.PredictRequest, note *RunNote) (*apis.PredictResponse, error) {
	signature := req.GetModelSpec().GetSignatureName()
	if signature == "" {
		signature = model.DefaultSignature
	}
	plan, err := h.Servable.Info.Plan(signature, model.FormatSavedModel)
	if err != nil {
		return nil, err
	}
	inputs, err := tensorproto.DecodeInputs(req.GetInputs(), plan.Inputs, plan.Key)
	if err != nil {
		return nil, err
	}
	if filter := req.GetOutputFilter(); len(filter) > 0 {
		outs := make(map[string]tensor.Spec, len(filter))
		for _, alias := range filter {
			spec, ok := plan.Outputs[alias]
			if !ok {
				return nil, status.New(status.InvalidArgument, "output tensor alias not found in signature: %s; outputs of signature %s: %s", status.Bound(alias), restjson.Quote(plan.Key), tensor.DescribeSpecs(plan.Outputs))
			}
			if _, dup := outs[alias]; dup {
				return nil, status.New(status.InvalidArgument, "duplicate output tensor alias in output_filter: %s", alias)
			}
			outs[alias] = spec
		}
		filtered := *plan
		filtered.Outputs = outs
		plan = &filtered
	}
	outputs, err := h.Servable.Run(plan, inputs, note)
	if err != nil {
		return nil, err
	}
	resp := &apis.PredictResponse{
		ModelSpec: answeredSpec(h.Model, h.Version, plan.Key),
		Outputs:   make(map[string]*tensorpb.TensorProto, len(outputs)),
	}
	for alias, t := range outputs {
		tp, err := tensorproto.Encode(t)
		if err != nil {
			return nil, status.New(status.Internal, "output %s: %v", restjson.Quote(alias), err)
		}
		resp.Outputs[alias] = tp
	}
	return resp, nil
}

// signatureDefField is the one metadata field TensorFlow Serving's GetModelMetadata knows.
const signatureDefField = "signature_def"

// GetModelMetadata answers the signature_def metadata of a version: a SignatureDefMap of
// every signature of its "serve" MetaGraphDef, packed in a google.protobuf.Any.
func (p *predictionService) GetModelMetadata(ctx context.Context, req *apis.GetModelMetadataRequest) (_ *apis.GetModelMetadataResponse, err error) {
	defer edge(&err)
	name, number, err := specVersion(p.g.Manager, req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	fields := req.GetMetadataField()
	if len(fields) == 0 {
		return nil, status.New(status.InvalidArgument, "GetModelMetadataRequest must specify at least one metadata_field")
	}
	for _, f := range fields {
		if f != signatureDefField {
			return nil, status.New(status.InvalidArgument, "Metadata field %s is not supported", status.Bound(f))
		}
	}
	h, err := p.g.Manager.Acquire(name, number)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	defs := &apis.SignatureDefMap{}
	doc := append(append([]byte(`{"signature_def":`), h.Servable.SignatureDefs...), '}')
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(doc, defs); err != nil {
		return nil, status.New(status.Internal, "the signatures of %s version %d cannot be read back: %v", status.Bound(name), h.Version, err)
	}
	packed, err := anypb.New(defs)
	if err != nil {
		return nil, status.New(status.Internal, "cannot pack the signatures: %v", err)
	}
	return &apis.GetModelMetadataResponse{
		ModelSpec: answeredSpec(name, h.Version, ""),
		Metadata:  map[string]*anypb.Any{signatureDefField: packed},
	}, nil
}

type modelService struct {
	apis.UnimplementedModelServiceServer
	g *GRPC
}

var stateProto = map[State]apis.ModelVersionStatus_State{
	StateLoading:   apis.ModelVersionStatus_LOADING,
	StateAvailable: apis.ModelVersionStatus_AVAILABLE,
	StateUnloading: apis.ModelVersionStatus_UNLOADING,
	StateEnd:       apis.ModelVersionStatus_END,
}

// HandleReloadConfigRequest applies a new ModelServerConfig (model_config_list only, as TF
// Serving's model_service_impl.cc), through Manager.Reconfigure: new models are loaded,
// models left out are unloaded once their requests in flight have finished, labels are
// checked. The answer's status is the outcome (OK, or the error's code and message), which is
// also the call's gRPC status. metric_names are not answered (no metrics in the response).
func (m *modelService) HandleReloadConfigRequest(ctx context.Context, req *apis.ReloadConfigRequest) (_ *apis.ReloadConfigResponse, err error) {
	defer edge(&err)
	models, err := ModelConfigs(req.GetConfig())
	if err == nil {
		m.g.Logf("reloading the model config: %d models (ModelService.HandleReloadConfigRequest)", len(models))
		err = m.g.Manager.Reconfigure(models)
	}
	if err != nil {
		return nil, err
	}
	return &apis.ReloadConfigResponse{Status: &apis.StatusProto{ErrorCode: tslpb.Code_OK}}, nil
}

// GetModelStatus answers the status of every version of a model the server tracks (or of
// one), highest first, as the REST status endpoint does.
func (m *modelService) GetModelStatus(ctx context.Context, req *apis.GetModelStatusRequest) (_ *apis.GetModelStatusResponse, err error) {
	defer edge(&err)
	name, number, err := specVersion(m.g.Manager, req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	statuses, err := m.g.Manager.Status(name, number)
	if err != nil {
		return nil, err
	}
	resp := &apis.GetModelStatusResponse{}
	for _, s := range statuses {
		code := tslpb.Code(tslpb.Code_value[strings.ToUpper(s.ErrorCode)])
		resp.ModelVersionStatus = append(resp.ModelVersionStatus, &apis.ModelVersionStatus{
			Version: s.Version,
			State:   stateProto[s.State],
			Status:  &apis.StatusProto{ErrorCode: code, ErrorMessage: s.ErrorMessage},
		})
	}
	sort.SliceStable(resp.ModelVersionStatus, func(i, j int) bool {
		return resp.ModelVersionStatus[i].Version > resp.ModelVersionStatus[j].Version
	})
	return resp, nil
}
