package model

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	_ "github.com/polyglot-tf/polyglot-tf/go_consumer/internal/tfquiet" // silence TensorFlow's logging
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Options says which version [Load] and [Open] read, which safety checks they make and how
// the TensorFlow session is configured. The zero value is the safe default: the highest
// complete version, the SavedModel, verified against its manifest.json, no unsafe op
// allowed, TensorFlow's thread counts.
type Options struct {
	// Version is the version number to read when the path is a model folder; 0 means the
	// highest complete version. With a version folder it must be 0 or that folder's number.
	Version int64
	// Format selects what runs: FormatSavedModel (the default when empty) or FormatFrozen
	// (the frozen GraphDefs listed in manifest.json).
	Format Format
	// SkipVerification loads the version without checking its files against manifest.json
	// (the command line's --skip-verification).
	SkipVerification bool
	// AllowOps are unsafe ops (tests/cases/unsafe_ops.json) accepted although they can read
	// or write files or reach outside the process (the command line's --allow-op).
	AllowOps []string
	// Signatures are the signature keys whose reachable ops [Load] checks (with the init op);
	// nil checks every signature a request may name in Format ([Info.RunKeys]). An empty,
	// non-nil list makes Load check no op, for a caller that calls [CheckOps] itself once it
	// knows which signatures it runs.
	Signatures []string
	// IntraOpThreads and InterOpThreads set ConfigProto.intra_op_parallelism_threads and
	// inter_op_parallelism_threads of the session; 0 leaves the choice to TensorFlow (the
	// number of cores).
	IntraOpThreads, InterOpThreads int32
}

// Config returns the serialized ConfigProto of o: [SessionConfig] with o's thread counts,
// so Grappler's constant folding is off whatever the thread counts (tests/CONTRACT.md,
// "Numeric configuration"). It is never empty. Errors: INVALID_ARGUMENT for a negative
// thread count.
func (o Options) Config() ([]byte, error) {
	return SessionConfig(o.IntraOpThreads, o.InterOpThreads)
}

// Runner runs signature plans of one model version through TensorFlow's C API (capi.go).
// For FormatSavedModel it holds the SavedModel's session (loaded with tags {"serve"}); for
// FormatFrozen one session per frozen GraphDef, imported the first time a plan needs it.
//
// Run, RunContext, Save and Restore are safe for concurrent use; Close waits for the runs in
// flight, then frees the C memory of every session at once.
type Runner struct {
	info   *Info
	format Format
	config []byte // serialized ConfigProto of every session

	mu     sync.RWMutex // read: a run in flight; write: Close
	closed bool
	saved  *session            // FormatSavedModel
	frozen map[string]*session // FormatFrozen, by GraphDef path; guarded by frozenMu
	// frozenMu guards frozen (imports happen under it, so each graph is imported once).
	frozenMu sync.Mutex
}

// NewRunner prepares a Runner of info's version in format, with sessions configured by
// opts' thread counts ([Options.Config]); it makes none of [Load]'s checks. The SavedModel is loaded now; frozen graphs on first use. Errors:
// INVALID_ARGUMENT for bad options, FAILED_PRECONDITION when TensorFlow cannot load the
// SavedModel.
func NewRunner(info *Info, format Format, opts Options) (*Runner, error) {
	config, err := opts.Config()
	if err != nil {
		return nil, err
	}
	r := &Runner{info: info, format: format, config: config, frozen: map[string]*session{}}
	if format == FormatSavedModel {
		if r.saved, err = loadSavedModel(info.Dir, ServeTag, config); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Close waits for the runs in flight, then closes and deletes every TensorFlow session the
// Runner opened and frees their graphs, so that the model's C memory is released now. Later
// runs fail with FAILED_PRECONDITION; closing again does nothing.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var first error
	if r.saved != nil {
		first = r.saved.close()
		r.saved = nil
	}
	r.frozenMu.Lock()
	defer r.frozenMu.Unlock()
	for path, s := range r.frozen {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
		delete(r.frozen, path)
	}
	return first
}

// sessionFor returns the session that runs plan (importing its frozen graph on first use).
// The caller holds r.mu for reading.
func (r *Runner) sessionFor(plan *Plan) (*session, error) {
	if r.closed {
		return nil, status.New(status.FailedPrecondition, "the model %s is closed", r.info.Dir)
	}
	if plan.Format != r.format {
		return nil, status.New(status.Internal, "plan for --format %s given to a %s runner", plan.Format, r.format)
	}
	if r.format == FormatSavedModel {
		return r.saved, nil
	}
	r.frozenMu.Lock()
	defer r.frozenMu.Unlock()
	if s := r.frozen[plan.Graph]; s != nil {
		return s, nil
	}
	def, err := os.ReadFile(plan.Graph)
	if err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot read the frozen graph of signature %s: %v", restjson.Quote(plan.Key), err)
	}
	s, err := importGraphDef(plan.Graph, def, r.config)
	if err != nil {
		return nil, err
	}
	r.frozen[plan.Graph] = s
	return s, nil
}

// Run is [Runner.RunContext] without a deadline.
func (r *Runner) Run(plan *Plan, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return r.RunContext(context.Background(), plan, inputs)
}

// RunContext feeds inputs (by alias) to the plan's input tensors and returns its outputs by
// alias, each a new flat tensor. Every input must be present, of its spec's dtype and hold as
// many elements as its shape says (INVALID_ARGUMENT otherwise); shapes beyond that are
// TensorFlow's to check. A deadline of ctx becomes RunOptions.timeout_in_ms, and a context
// already done is refused before the run (DEADLINE_EXCEEDED). TensorFlow failing to run is
// INTERNAL (DEADLINE_EXCEEDED when its timeout struck), naming the signature.
func (r *Runner) RunContext(ctx context.Context, plan *Plan, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	runOptions, err := deadlineOptions(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, err := r.sessionFor(plan)
	if err != nil {
		return nil, err
	}
	c, err := s.resolve(plan)
	if err != nil {
		return nil, err
	}
	return s.run(c, inputs, runOptions)
}

// deadlineOptions returns the serialized RunOptions that carries ctx's deadline (nil
// without one), or DEADLINE_EXCEEDED when ctx is already done.
func deadlineOptions(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.New(status.DeadlineExceeded, "the request's deadline passed before the run: %v", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, nil
	}
	ms := time.Until(deadline).Milliseconds()
	if ms < 1 {
		ms = 1 // 0 would mean no timeout
	}
	b, err := proto.Marshal(&corepb.RunOptions{TimeoutInMs: ms})
	if err != nil {
		return nil, status.New(status.Internal, "cannot serialize RunOptions: %v", err)
	}
	return b, nil
}

// oneLine folds TensorFlow's multi-line messages into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
