package main

import (
	"encoding/json"
	"flag"
	"io"
	"math"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/bench"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
)

// benchRuntime is the "runtime" of bench's JSON report.
const benchRuntime = "go"

// benchFlags are bench's own flags (besides the model flags), before validation.
type benchFlags struct {
	batchSizes   *string
	seconds      *float64
	intra, inter *int64
}

func addBenchFlags(fs *flag.FlagSet) *benchFlags {
	return &benchFlags{
		batchSizes: fs.String("batch-sizes", bench.DefaultBatchSizes, "comma-separated batch sizes"),
		seconds:    fs.Float64("seconds", 2, "seconds of timed calls per batch size"),
		intra:      fs.Int64("intra-op-threads", 0, "ConfigProto.intra_op_parallelism_threads (0: TensorFlow's choice)"),
		inter:      fs.Int64("inter-op-threads", 0, "ConfigProto.inter_op_parallelism_threads (0: TensorFlow's choice)"),
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
	d := time.Duration(math.Min(*b.seconds*1e9, math.MaxInt64/2))
	return sizes, d, model.Options{IntraOpThreads: int32(*b.intra), InterOpThreads: int32(*b.inter)}, nil
}

// cmdBench times the predict call of one signature in-process (CONTRACT.md, "Benchmark"):
// for each batch size the inputs are generated once as flat Go tensors, then
// model.Runner.Run, the call every command and the server make, is timed in the loop of
// bench.TimeCalls. Every refusal (flags, model, signature, inputs) comes before the model is
// loaded.
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
	info, format, err := mf.loadRun(false)
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
	runner, err := model.NewRunner(info, format, opts)
	if err != nil {
		return err
	}
	defer runner.Close()
	report := bench.Report{
		Runtime:           benchRuntime,
		TensorFlowVersion: model.TFVersion(),
		Model:             info.Dir,
		Signature:         plan.Key,
		Format:            string(format),
		IntraOpThreads:    *bf.intra,
		InterOpThreads:    *bf.inter,
		Results:           []bench.Result{},
	}
	for _, batch := range sizes {
		result, err := benchBatch(runner, plan, batch, d)
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

// benchBatch times one batch size: the inputs are generated once, outside the timed loop,
// and each timed call is runner.Run on them, as predict and serve run a decoded request.
func benchBatch(runner *model.Runner, plan *model.Plan, batch int64, d time.Duration) (bench.Result, error) {
	inputs, err := bench.Inputs(plan.Key, plan.Inputs, batch)
	if err != nil {
		return bench.Result{}, err
	}
	times, err := bench.TimeCalls(func() error { _, err := runner.Run(plan, inputs); return err }, d)
	if err != nil {
		return bench.Result{}, err
	}
	return bench.Summarize(batch, times), nil
}
