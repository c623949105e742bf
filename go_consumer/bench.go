package main

import (
	"encoding/json"
	"flag"
	"io"
	"math"
	"time"

	"github.com/polyglot-tf/go_consumer/internal/status"

	"github.com/polyglot-tf/go_consumer/internal/bench"
	"github.com/polyglot-tf/go_consumer/internal/model"
	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

// The "runtime" of bench's JSON report for each --path.
const (
	benchRuntime      = "go"       // --path direct: model.DirectCall, one cgo call per predict
	benchRuntimeGraft = "go_graft" // --path graft: model.Runner.Run, the path predict takes
)

// benchFlags are bench's own flags (besides the model flags), before validation.
type benchFlags struct {
	batchSizes   *string
	seconds      *float64
	intra, inter *int64
	path         *string
}

func addBenchFlags(fs *flag.FlagSet) *benchFlags {
	return &benchFlags{
		batchSizes: fs.String("batch-sizes", bench.DefaultBatchSizes, "comma-separated batch sizes"),
		seconds:    fs.Float64("seconds", 2, "seconds of timed calls per batch size"),
		intra:      fs.Int64("intra-op-threads", 0, "ConfigProto.intra_op_parallelism_threads (0: TensorFlow's choice)"),
		inter:      fs.Int64("inter-op-threads", 0, "ConfigProto.inter_op_parallelism_threads (0: TensorFlow's choice)"),
		path:       fs.String("path", "direct", "direct (TF_SessionRun in one cgo call) or graft (graft's Session.Run, as predict does)"),
	}
}

// check validates the flags: the batch sizes, the duration and the session options.
func (b *benchFlags) check() ([]int64, time.Duration, model.Options, error) {
	sizes, err := bench.ParseBatchSizes(*b.batchSizes)
	if err != nil {
		return nil, 0, model.Options{}, err
	}
	if err := bench.CheckSeconds(*b.seconds); err != nil {
		return nil, 0, model.Options{}, err
	}
	if err := bench.CheckThreads("intra-op-threads", *b.intra); err != nil {
		return nil, 0, model.Options{}, err
	}
	if err := bench.CheckThreads("inter-op-threads", *b.inter); err != nil {
		return nil, 0, model.Options{}, err
	}
	switch *b.path {
	case "direct":
	case "graft":
		if *b.intra != 0 || *b.inter != 0 {
			return nil, 0, model.Options{}, usagef("--intra-op-threads and --inter-op-threads apply to --path direct only")
		}
	default:
		return nil, 0, model.Options{}, usagef("unknown --path %q; expected direct or graft", status.Bound(*b.path))
	}
	d := time.Duration(math.Min(*b.seconds*1e9, math.MaxInt64/2))
	return sizes, d, model.Options{IntraOpThreads: int32(*b.intra), InterOpThreads: int32(*b.inter)}, nil
}

// cmdBench times the predict call of one signature in-process (CONTRACT.md, "Benchmark"):
// for each batch size the inputs are generated and turned into TensorFlow tensors once,
// then model.DirectCall.Run (one cgo call: TF_SessionRun and each output read in one
// piece, as bench/floor does) is timed in the loop of bench.TimeCalls. Every refusal
// (flags, model, signature, inputs) comes before the model is loaded.
func cmdBench(args []string, stdout io.Writer) error {
	fs := newFlagSet("bench")
	mf := addRunFlags(fs, model.DefaultSignature)
	bf := addBenchFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sizes, d, opts, err := bf.check()
	if err != nil {
		return err
	}
	info, format, err := mf.loadRun()
	if err != nil {
		return err
	}
	plan, err := info.Plan(*mf.signature, format)
	if err != nil {
		return err
	}
	if _, err := bench.Inputs(plan.Key, plan.Inputs, 1); err != nil {
		return err
	}
	if err := mf.checkOps(info, format, plan.Key); err != nil {
		return err
	}
	var prepare func(inputs map[string]*tfjson.Tensor) (func() error, func(), error)
	runtime := benchRuntime
	if *bf.path == "graft" {
		runner, err := model.Open(info, format)
		if err != nil {
			return err
		}
		defer runner.Close()
		runtime = benchRuntimeGraft
		prepare = func(inputs map[string]*tfjson.Tensor) (func() error, func(), error) {
			call := func() error { _, err := runner.Run(plan, inputs); return err }
			return call, func() {}, nil
		}
	} else {
		direct, err := model.OpenDirect(info, plan, opts)
		if err != nil {
			return err
		}
		defer direct.Close()
		prepare = func(inputs map[string]*tfjson.Tensor) (func() error, func(), error) {
			call, err := direct.Prepare(inputs)
			if err != nil {
				return nil, nil, err
			}
			return call.Run, call.Free, nil
		}
	}
	report := bench.Report{
		Runtime:           runtime,
		TensorFlowVersion: model.TFVersion(),
		Model:             info.Dir,
		Signature:         plan.Key,
		Format:            string(format),
		IntraOpThreads:    *bf.intra,
		InterOpThreads:    *bf.inter,
		Results:           []bench.Result{},
	}
	for _, batch := range sizes {
		result, err := benchBatch(prepare, plan, batch, d)
		if err != nil {
			return err
		}
		report.Results = append(report.Results, result)
	}
	line, err := json.Marshal(report)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(line, '\n'))
	return err
}

// benchBatch times one batch size: the inputs are generated once, outside the timed loop;
// prepare turns them into the call to time (for --path direct, TensorFlow tensors made once;
// for --path graft, Runner.Run converts them on every call, as predict does) and a release.
func benchBatch(prepare func(map[string]*tfjson.Tensor) (func() error, func(), error), plan *model.Plan, batch int64, d time.Duration) (bench.Result, error) {
	inputs, err := bench.Inputs(plan.Key, plan.Inputs, batch)
	if err != nil {
		return bench.Result{}, err
	}
	call, free, err := prepare(inputs)
	if err != nil {
		return bench.Result{}, err
	}
	defer free()
	times, err := bench.TimeCalls(call, d)
	if err != nil {
		return bench.Result{}, err
	}
	return bench.Summarize(batch, times), nil
}
