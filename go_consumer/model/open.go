package model

import (
	"context"
	"sort"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// Load finds, verifies and reads one version without starting TensorFlow: path (a model
// folder models/NAME or a version folder) is resolved with [ResolveVersionDir], the folder is
// checked against its manifest.json ([VerifyVersion], unless SkipVerification), its
// SignatureDefs and manifest are read ([ReadInfo]) and the ops its signatures can reach are
// checked ([CheckOps]). It is the one loading path of every command and of the server.
//
// Errors are *status.Error values: NOT_FOUND (no such folder or version), INVALID_ARGUMENT
// (a path that is not a model, a bad option), FAILED_PRECONDITION (a file that does not
// match the manifest, an unreadable SavedModel, an unsafe op), with the contract's messages.
func Load(path string, opts Options) (*Info, Format, error) {
	format := opts.Format
	if format == "" {
		format = FormatSavedModel
	}
	if _, err := ParseFormat(string(format)); err != nil {
		return nil, "", err
	}
	dir, err := ResolveVersionDir(path, opts.Version)
	if err != nil {
		return nil, "", err
	}
	if !opts.SkipVerification {
		if err := VerifyVersion(dir); err != nil {
			return nil, "", err
		}
	}
	info, err := ReadInfo(dir)
	if err != nil {
		return nil, "", err
	}
	keys := opts.Signatures
	if keys != nil && len(keys) == 0 {
		return info, format, nil // the caller checks the ops it runs itself, later
	}
	if format == FormatSavedModel && info.Serve == nil {
		return nil, "", status.New(status.FailedPrecondition, "%s has no MetaGraphDef with tag-set 'serve'", pathtext.Join(dir, SavedModelFile))
	}
	if keys == nil {
		keys = info.RunKeys(format)
	}
	if err := CheckOps(info, format, keys, opts.AllowOps); err != nil {
		return nil, "", err
	}
	return info, format, nil
}

// Model is one model version opened for running its signatures, in the spirit of
// TensorFlow Java's SavedModelBundle and tfgo's LoadModel: [Open] it, list its
// [Model.Signatures], [Model.Run] one by key with named tensors, [Model.Close] it. Its
// methods are safe for concurrent use.
type Model struct {
	info   *Info
	format Format
	runner *Runner
}

// Open loads one version for running: [Load] (resolution, manifest verification, unsafe-op
// refusal, all on by default), then one TensorFlow session with opts' threads (Grappler's
// constant folding is always off, tests/CONTRACT.md "Numeric configuration"). The SavedModel is loaded with tags {"serve"}; frozen graphs are imported
// on first use. Errors are [Load]'s, and FAILED_PRECONDITION when TensorFlow cannot load the
// SavedModel.
func Open(path string, opts Options) (*Model, error) {
	info, format, err := Load(path, opts)
	if err != nil {
		return nil, err
	}
	runner, err := NewRunner(info, format, opts)
	if err != nil {
		return nil, err
	}
	return &Model{info: info, format: format, runner: runner}, nil
}

// Info describes the opened version: its folder, version number, MetaGraphDefs and manifest.
func (m *Model) Info() *Info { return m.info }

// Format is what the model runs: the SavedModel or its frozen GraphDefs.
func (m *Model) Format() Format { return m.format }

// Runner is the model's session, for callers that resolve plans themselves (the server's
// batcher, training).
func (m *Model) Runner() *Runner { return m.runner }

// Signatures returns the signatures a request may name in the model's format, sorted by key:
// for each its input and output specs (alias, graph tensor name, dtype, shape; -1 for an
// unknown dim) and method name.
func (m *Model) Signatures() []*Signature {
	keys := m.info.RunKeys(m.format)
	out := make([]*Signature, 0, len(keys))
	for _, k := range keys {
		out = append(out, m.info.Serve.Signatures[k])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Run runs the signature key (DefaultSignature when empty) on inputs, the tensors by input
// alias, and returns every output by alias as new tensors. Each input must be present, of its
// spec's dtype, of a shape its spec accepts (rank and known dims), and the inputs must agree
// on the batch size; otherwise Run refuses with INVALID_ARGUMENT before TensorFlow sees them
// (an unknown key is NOT_FOUND or INVALID_ARGUMENT as for a request). ctx's deadline bounds
// the run (DEADLINE_EXCEEDED). TensorFlow failing is INTERNAL.
func (m *Model) Run(ctx context.Context, key string, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	if key == "" {
		key = DefaultSignature
	}
	plan, err := m.info.Plan(key, m.format)
	if err != nil {
		return nil, err
	}
	given := make([]string, 0, len(inputs))
	for alias := range inputs {
		given = append(given, alias)
	}
	sort.Strings(given) // the first refusal is the same on every call
	if err := restjson.CheckAliases(given, plan.Inputs, plan.Key); err != nil {
		return nil, err
	}
	for _, alias := range given {
		t := inputs[alias]
		if t == nil {
			return nil, status.New(status.InvalidArgument, "input %s is nil", restjson.Quote(alias))
		}
		if err := restjson.CheckShape(t.Shape, plan.Inputs[alias]); err != nil {
			return nil, err
		}
	}
	if err := restjson.CheckBatch(inputs, plan.Inputs); err != nil {
		return nil, err
	}
	return m.runner.RunContext(ctx, plan, inputs)
}

// Close waits for the runs in flight, then frees the model's TensorFlow sessions and graphs
// (their C memory) at once. Runs after Close fail with FAILED_PRECONDITION.
func (m *Model) Close() error { return m.runner.Close() }
