// Package bench holds the parts of the bench command (tests/CONTRACT.md, "Benchmark
// (`bench`)") that do not touch TensorFlow: the flags' values, the generated inputs, the
// timing loop and the statistics of the call times. The command itself (main package)
// runs a model.Call in the loop.
//
// Refusals are INVALID_ARGUMENT *status.Error values.
package bench

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// The loop's constants from the contract.
const (
	// WarmupCalls and WarmupDuration: the warm-up lasts for WarmupCalls calls or
	// WarmupDuration, whichever is longer.
	WarmupCalls    = 10
	WarmupDuration = 200 * time.Millisecond
	// MinCalls is the fewest timed calls per batch size, however short --seconds is.
	MinCalls = 5
)

// DefaultBatchSizes is the default of --batch-sizes.
const DefaultBatchSizes = "1,8,64,512,4096"

// maxElements bounds one generated input (2^31 elements), far above any useful benchmark.
const maxElements = 1 << 31

// refusef is a refusal of a flag or of a signature bench cannot generate inputs for
// (INVALID_ARGUMENT).
func refusef(format string, args ...any) error {
	return status.New(status.InvalidArgument, format, args...)
}

// ParseBatchSizes parses --batch-sizes, a comma-separated list of positive integers such as
// "1,8,64". An empty list, an empty item or a size below 1 is a refusal.
func ParseBatchSizes(text string) ([]int64, error) {
	var sizes []int64
	for _, part := range strings.Split(text, ",") {
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil || n < 1 || strings.HasPrefix(part, "+") {
			return nil, refusef("--batch-sizes %s: expected positive integers such as 1,8,64", restjson.Quote(text))
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// CheckSeconds refuses a --seconds value that is not a finite number > 0.
func CheckSeconds(s float64) error {
	if !(s > 0) || math.IsInf(s, 0) {
		return refusef("--seconds must be a number > 0, got %v", s)
	}
	return nil
}

// CheckThreads refuses a negative (or beyond int32) --intra-op-threads or
// --inter-op-threads value; flag is the flag's name for the message.
func CheckThreads(flag string, n int64) error {
	if n < 0 || n > math.MaxInt32 {
		return refusef("--%s must be 0 or more (0: TensorFlow's choice), got %d", flag, n)
	}
	return nil
}

// Shape returns the shape of a generated input: dim 0 is the batch size, every other
// unknown dim (-1) is 1, known dims stay; a rank-0 spec is a scalar.
func Shape(spec tensor.Spec, batch int64) []int64 {
	shape := make([]int64, len(spec.Shape))
	for i, d := range spec.Shape {
		switch {
		case i == 0:
			shape[i] = batch
		case d < 0:
			shape[i] = 1
		default:
			shape[i] = d
		}
	}
	return shape
}

// Input generates one input of the contract for a batch size: element k (row-major) is
// (k % 1000) / 1000 for floating dtypes (computed in float64, then rounded once to the
// dtype), k % 100 for integer dtypes and k % 2 == 1 for bool, in one flat slice. key and
// the spec's alias name the input in the refusal of a string input or an unknown rank.
func Input(key string, spec tensor.Spec, batch int64) (*tensor.Tensor, error) {
	if spec.UnknownRank || !(spec.DType.IsFloat() || spec.DType.IsInteger() || spec.DType == tensor.Bool) {
		return nil, refusef("bench needs numeric or bool inputs of known rank; signature %s input %s cannot be generated", restjson.Quote(key), spec.Describe())
	}
	shape := Shape(spec, batch)
	n := int64(1)
	for _, d := range shape {
		if d != 0 && n > maxElements/d {
			return nil, refusef("signature %s input %s: batch size %d makes shape %v, more than %d elements", restjson.Quote(key), spec.Describe(), batch, tensor.Shape(shape), int64(maxElements))
		}
		n *= d
	}
	return &tensor.Tensor{DType: spec.DType, Shape: shape, Data: fill(spec.DType, int(n))}, nil
}

// Inputs generates every input of a signature (by alias) for a batch size; see [Input].
func Inputs(key string, specs map[string]tensor.Spec, batch int64) (map[string]*tensor.Tensor, error) {
	aliases := make([]string, 0, len(specs))
	for alias := range specs {
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases) // the first refusal is the same on every run
	inputs := make(map[string]*tensor.Tensor, len(specs))
	for _, alias := range aliases {
		t, err := Input(key, specs[alias], batch)
		if err != nil {
			return nil, err
		}
		inputs[alias] = t
	}
	return inputs, nil
}

func floatAt(k int) float64 { return float64(k%1000) / 1000 }

// fill returns the n generated elements of dtype dt as its flat slice type.
func fill(dt tensor.DType, n int) any {
	switch dt {
	case tensor.Float:
		return fillWith(n, func(k int) float32 { return float32(floatAt(k)) })
	case tensor.Double:
		return fillWith(n, floatAt)
	case tensor.Half:
		return fillWith(n, func(k int) tensor.Float16 { return tensor.Float16FromFloat64(floatAt(k)) })
	case tensor.Int8:
		return fillWith(n, func(k int) int8 { return int8(k % 100) })
	case tensor.Int16:
		return fillWith(n, func(k int) int16 { return int16(k % 100) })
	case tensor.Int32:
		return fillWith(n, func(k int) int32 { return int32(k % 100) })
	case tensor.Int64:
		return fillWith(n, func(k int) int64 { return int64(k % 100) })
	case tensor.Uint8:
		return fillWith(n, func(k int) uint8 { return uint8(k % 100) })
	case tensor.Uint16:
		return fillWith(n, func(k int) uint16 { return uint16(k % 100) })
	case tensor.Uint32:
		return fillWith(n, func(k int) uint32 { return uint32(k % 100) })
	case tensor.Uint64:
		return fillWith(n, func(k int) uint64 { return uint64(k % 100) })
	case tensor.Bool:
		return fillWith(n, func(k int) bool { return k%2 == 1 })
	}
	panic("bench: no generator for " + dt.String())
}

func fillWith[T any](n int, at func(k int) T) []T {
	s := make([]T, n)
	for k := range s {
		s[k] = at(k)
	}
	return s
}

// TimeCalls runs the contract's loop for one batch size: a warm-up of [WarmupCalls] calls
// or [WarmupDuration], whichever is longer, then timed calls, each alone on the monotonic
// clock, until d has passed and at least [MinCalls] were made. It stops at the first error.
func TimeCalls(call func() error, d time.Duration) ([]time.Duration, error) {
	start := time.Now()
	for done := 0; done < WarmupCalls || time.Since(start) < WarmupDuration; done++ {
		if err := call(); err != nil {
			return nil, err
		}
	}
	times := make([]time.Duration, 0, 1<<16)
	deadline := time.Now().Add(d)
	for {
		t0 := time.Now()
		err := call()
		t1 := time.Now()
		if err != nil {
			return nil, err
		}
		times = append(times, t1.Sub(t0))
		if len(times) >= MinCalls && !t1.Before(deadline) {
			return times, nil
		}
	}
}

// Result is the statistics of one batch size, as the contract's JSON writes them.
type Result struct {
	// BatchSize is the batch size (dim 0 of every input).
	BatchSize int64 `json:"batch_size"`
	// Calls is the number of timed calls.
	Calls int `json:"calls"`
	// MedianUS is the median call time in µs (the mean of the two middle ones for an even
	// number of calls).
	MedianUS float64 `json:"median_us"`
	// P99US is the nearest-rank 99th percentile in µs.
	P99US float64 `json:"p99_us"`
	// MeanUS is the mean call time in µs.
	MeanUS float64 `json:"mean_us"`
	// RowsPerSecond is BatchSize × Calls / the total measured time (the sum of the calls).
	RowsPerSecond float64 `json:"rows_per_second"`
}

// Summarize sorts the call times (in place) and computes their [Result]. times must not be
// empty.
func Summarize(batch int64, times []time.Duration) Result {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	var total float64
	for _, t := range times {
		total += float64(t)
	}
	n := len(times)
	return Result{
		BatchSize:     batch,
		Calls:         n,
		MedianUS:      Median(times) / 1e3,
		P99US:         float64(NearestRank(times, 99)) / 1e3,
		MeanUS:        total / float64(n) / 1e3,
		RowsPerSecond: float64(batch) * float64(n) / (total / 1e9),
	}
}

// Median returns the median of sorted times in ns: the middle one, or the mean of the two
// middle ones for an even count.
func Median(sorted []time.Duration) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return float64(sorted[n/2])
	}
	return (float64(sorted[n/2-1]) + float64(sorted[n/2])) / 2
}

// NearestRank returns the p-th percentile (0 < p <= 100) of sorted times by the
// nearest-rank method: the ceil(p/100 × n)-th smallest (at least the first).
func NearestRank(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// Report is the JSON object bench prints, in the contract's key order.
type Report struct {
	// Runtime is "go" for this consumer.
	Runtime string `json:"runtime"`
	// TensorFlowVersion is TF_Version() of the loaded library.
	TensorFlowVersion string `json:"tensorflow_version"`
	// Model is the absolute version folder.
	Model string `json:"model"`
	// Signature is the signature key, Format "saved_model" or "frozen".
	Signature string `json:"signature"`
	Format    string `json:"format"`
	// IntraOpThreads and InterOpThreads are the ConfigProto thread counts (0: TensorFlow's
	// choice).
	IntraOpThreads int64 `json:"intra_op_threads"`
	InterOpThreads int64 `json:"inter_op_threads"`
	// Results holds one entry per batch size, in the order given.
	Results []Result `json:"results"`
}
