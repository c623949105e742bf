package model

import (
	"fmt"
	"os"
	"strings"

	"github.com/polyglot-tf/go_consumer/internal/status"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	_ "github.com/polyglot-tf/go_consumer/internal/tfquiet" // silence TensorFlow's logging
	tf "github.com/wamuir/graft/tensorflow"
)

// TFVersion returns the version of the TensorFlow C library in use (TF_Version()).
func TFVersion() string { return tf.Version() }

// Runner runs signature plans of one model version. For FormatSavedModel it holds the
// SavedModel's session (loaded with tags {"serve"}); for FormatFrozen one session per frozen
// GraphDef, imported the first time a plan needs it. Close releases the sessions.
type Runner struct {
	info   *Info
	format Format
	opts   *tf.SessionOptions       // of every session: sessionOptions()
	saved  *graphSession            // FormatSavedModel
	frozen map[string]*graphSession // FormatFrozen, by GraphDef path
}

type graphSession struct {
	graph   *tf.Graph
	session *tf.Session
	cast    *tf.Operation // Placeholder(DT_FLOAT) -> Cast(DT_HALF), made on first use
	castIn  tf.Output
}

// Open prepares a Runner. The SavedModel is loaded now; frozen graphs on first use. Every
// session it creates gets the contract's ConfigProto ([SessionConfig] with TensorFlow's
// thread counts: Grappler's constant folding off, tests/CONTRACT.md "Numeric
// configuration").
func Open(info *Info, format Format) (*Runner, error) {
	opts, err := sessionOptions()
	if err != nil {
		return nil, err
	}
	r := &Runner{info: info, format: format, opts: opts, frozen: map[string]*graphSession{}}
	if format == FormatSavedModel {
		m, err := tf.LoadSavedModel(info.Dir, []string{ServeTag}, opts)
		if err != nil {
			return nil, status.New(status.FailedPrecondition, "cannot load the SavedModel in %s: %s", info.Dir, oneLine(err.Error()))
		}
		r.saved = &graphSession{graph: m.Graph, session: m.Session}
	}
	return r, nil
}

// Close closes and deletes every TensorFlow session the Runner opened and frees their
// graphs, so that the model's C memory is released now, not when the garbage collector
// gets to graft's finalizers. The Runner cannot be used afterwards.
func (r *Runner) Close() error {
	var first error
	if r.saved != nil {
		first = r.saved.close()
		r.saved = nil
	}
	for path, gs := range r.frozen {
		if err := gs.close(); err != nil && first == nil {
			first = err
		}
		delete(r.frozen, path)
	}
	return first
}

// close closes and deletes the session, then frees the graph (only once the session is
// deleted: if closing fails, graft leaves the session undeleted and the graph is left to
// graft's finalizer).
func (gs *graphSession) close() error {
	if err := gs.session.Close(); err != nil {
		return err
	}
	deleteGraph(gs.graph)
	gs.graph, gs.cast = nil, nil
	return nil
}

func (r *Runner) sessionFor(plan *Plan) (*graphSession, error) {
	if plan.Format != r.format {
		return nil, status.New(status.Internal, "plan for --format %s given to a %s runner", plan.Format, r.format)
	}
	if r.format == FormatSavedModel {
		if r.saved == nil {
			return nil, status.New(status.Internal, "the model is closed")
		}
		return r.saved, nil
	}
	if gs := r.frozen[plan.Graph]; gs != nil {
		return gs, nil
	}
	def, err := os.ReadFile(plan.Graph)
	if err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot read the frozen graph of signature %s: %v", tfjson.Quote(plan.Key), err)
	}
	graph := tf.NewGraph()
	if err := graph.Import(def, ""); err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot import the frozen graph %s: %s", plan.Graph, oneLine(err.Error()))
	}
	session, err := tf.NewSession(graph, r.opts)
	if err != nil {
		return nil, status.New(status.Internal, "cannot create a TensorFlow session: %s", oneLine(err.Error()))
	}
	gs := &graphSession{graph: graph, session: session}
	r.frozen[plan.Graph] = gs
	return gs, nil
}

// Run feeds the decoded inputs to the plan's input tensors and fetches its outputs.
// Inputs must already match the plan's specs (tfjson.DecodeInputs checks them).
func (r *Runner) Run(plan *Plan, inputs map[string]*tfjson.Tensor) (map[string]*tfjson.Tensor, error) {
	gs, err := r.sessionFor(plan)
	if err != nil {
		return nil, err
	}
	feeds := make(map[tf.Output]*tf.Tensor, len(inputs))
	for _, alias := range sortedKeys(plan.Inputs) {
		spec := plan.Inputs[alias]
		in := inputs[alias]
		if in == nil {
			return nil, status.New(status.InvalidArgument, "missing input %s", tfjson.Quote(alias))
		}
		out, err := lookup(gs.graph, spec)
		if err != nil {
			return nil, err
		}
		var t *tf.Tensor
		if in.DType == tfjson.Half {
			t, err = gs.halfTensor(in)
		} else {
			t, err = toTF(in)
		}
		if err != nil {
			return nil, err
		}
		feeds[out] = t
	}
	aliases := sortedKeys(plan.Outputs)
	fetches := make([]tf.Output, len(aliases))
	for i, alias := range aliases {
		out, err := lookup(gs.graph, plan.Outputs[alias])
		if err != nil {
			return nil, err
		}
		fetches[i] = out
	}
	results, err := gs.session.Run(feeds, fetches, nil)
	if err != nil {
		return nil, status.New(status.Internal, "TensorFlow failed to run signature %s: %s", tfjson.Quote(plan.Key), oneLine(err.Error()))
	}
	outputs := make(map[string]*tfjson.Tensor, len(aliases))
	for i, alias := range aliases {
		t, err := fromTF(results[i])
		if err != nil {
			return nil, status.New(status.Internal, "output %s: %v", tfjson.Quote(alias), err)
		}
		outputs[alias] = t
	}
	return outputs, nil
}

func lookup(g *tf.Graph, spec tfjson.Spec) (tf.Output, error) {
	name, idx, err := splitTensorName(spec.Name)
	if err != nil {
		return tf.Output{}, status.New(status.FailedPrecondition, "%s: %v", spec.Describe(), err)
	}
	op := g.Operation(name)
	if op == nil || idx >= op.NumOutputs() {
		return tf.Output{}, status.New(status.FailedPrecondition, "tensor %s of %s is not in the graph", tfjson.Quote(spec.Name), spec.Describe())
	}
	return op.Output(idx), nil
}

// halfTensor builds a DT_HALF tensor. graft cannot allocate DT_HALF tensors from Go, so the
// values (exact in float32) are fed as DT_FLOAT to a Cast op added to the session's graph.
func (gs *graphSession) halfTensor(in *tfjson.Tensor) (*tf.Tensor, error) {
	if gs.cast == nil {
		prefix := "go_consumer_half"
		for i := 1; gs.graph.Operation(prefix+"_in") != nil; i++ {
			prefix = fmt.Sprintf("go_consumer_half_%d", i)
		}
		ph, err := gs.graph.AddOperation(tf.OpSpec{Type: "Placeholder", Name: prefix + "_in", Attrs: map[string]any{"dtype": tf.Float}})
		if err != nil {
			return nil, status.New(status.Internal, "cannot add a DT_HALF cast: %s", oneLine(err.Error()))
		}
		cast, err := gs.graph.AddOperation(tf.OpSpec{Type: "Cast", Name: prefix + "_cast", Input: []tf.Input{ph.Output(0)}, Attrs: map[string]any{"DstT": tf.Half}})
		if err != nil {
			return nil, status.New(status.Internal, "cannot add a DT_HALF cast: %s", oneLine(err.Error()))
		}
		gs.cast, gs.castIn = cast, ph.Output(0)
	}
	halves := in.Data.([]tfjson.Float16)
	wide := make([]float32, len(halves))
	for i, h := range halves {
		wide[i] = float32(h.Float64())
	}
	ft, err := toTF(&tfjson.Tensor{DType: tfjson.Float, Shape: in.Shape, Data: wide})
	if err != nil {
		return nil, err
	}
	res, err := gs.session.Run(map[tf.Output]*tf.Tensor{gs.castIn: ft}, []tf.Output{gs.cast.Output(0)}, nil)
	if err != nil {
		return nil, status.New(status.Internal, "cannot build a DT_HALF tensor: %s", oneLine(err.Error()))
	}
	return res[0], nil
}

// oneLine folds TensorFlow's multi-line messages into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
