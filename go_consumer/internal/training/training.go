// Package training holds the parts of the train command (tests/CONTRACT.md, "Training") that
// do not need TensorFlow: the flags and their ranges, the manifest's training section, the
// CSV data, the batch order, the checkpoint state file, the frozen GraphDef rewrite, the
// values of the stdout lines and the new manifest. The loop itself, which runs the
// SavedModel's signatures, is in the go_consumer command (train.go). Refusals are
// *status.Error values: INVALID_ARGUMENT for flags and data, NOT_FOUND for a --data path that
// does not exist, FAILED_PRECONDITION for a manifest, frozen graph or checkpoint folder that
// does not fit.
package training

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// Defaults of the train flags.
const (
	DefaultBatchSize    = 64
	DefaultLearningRate = "0.1"
	DefaultLogEvery     = 100
	// KeepCheckpoints is how many checkpoints a checkpoint folder keeps (the oldest beyond
	// it are deleted, as tf.train.CheckpointManager(max_to_keep=5) does).
	KeepCheckpoints = 5
	// CheckpointPrefix names checkpoints: <dir>/ckpt-<global_step>.
	CheckpointPrefix = "ckpt"
)

// Options are the train command's flags.
type Options struct {
	// Steps is the number of training steps of this run (>= 1).
	Steps int64
	// BatchSize is the number of rows per step (>= 1).
	BatchSize int64
	// LearningRate is the --learning-rate text as given: a decimal literal whose float32
	// rounding, [Options.Rate], is fed to the model.
	LearningRate string
	// CheckpointEvery saves a checkpoint whenever global_step is a multiple of it (0: only
	// at the end).
	CheckpointEvery int64
	// CheckpointDir is where ckpt-<step> checkpoints and the state file go; "" means
	// <model folder>/checkpoints.
	CheckpointDir string
	// Resume restores the checkpoint named by the state file before training.
	Resume bool
	// LogEvery prints "step: S, loss: L" whenever global_step is a multiple of it (>= 1).
	LogEvery int64
}

// Rate returns the learning rate fed to the model: [Options.LearningRate] read as a decimal
// literal rounded once to float32 ([restjson.ParseDecimal]; tests/CONTRACT.md, "Decimal numbers
// in text input"). The error is an *Error echoing the text as given (bounded, [restjson.Bound])
// when it is not a decimal literal or not a finite float32 > 0.
func (o *Options) Rate() (float32, error) {
	r, err := restjson.ParseDecimal(o.LearningRate, 32)
	if err != nil || math.IsInf(r, 0) || r <= 0 {
		return 0, status.New(status.InvalidArgument, "--learning-rate must be a finite number > 0 in float32, got %s", status.Bound(o.LearningRate))
	}
	return float32(r), nil
}

// Check returns an *Error naming the first flag out of range, in the contract's order
// (--steps, --batch-size, --learning-rate, --checkpoint-every, --log-every).
func (o *Options) Check() error {
	if o.Steps < 1 {
		return status.New(status.InvalidArgument, "--steps must be at least 1, got %d", o.Steps)
	}
	if o.BatchSize < 1 {
		return status.New(status.InvalidArgument, "--batch-size must be at least 1, got %d", o.BatchSize)
	}
	if _, err := o.Rate(); err != nil {
		return err
	}
	if o.CheckpointEvery < 0 {
		return status.New(status.InvalidArgument, "--checkpoint-every must be 0 or more, got %d", o.CheckpointEvery)
	}
	if o.LogEvery < 1 {
		return status.New(status.InvalidArgument, "--log-every must be at least 1, got %d", o.LogEvery)
	}
	return nil
}

// BatchIndices returns the rows of the batch that follows globalStep applied steps:
// (globalStep*batchSize + i) mod rows for i in [0, batchSize), in that order, computed
// without overflow. The data is read in order, wrapping around, so that a resumed run
// continues exactly where it stopped. rows and batchSize must be >= 1, globalStep >= 0.
func BatchIndices(globalStep, batchSize int64, rows int) []int {
	n := int64(rows)
	start := mulMod(uint64(globalStep), uint64(batchSize), uint64(n))
	out := make([]int, batchSize)
	for i := range out {
		out[i] = int(start)
		start++
		if start == n {
			start = 0
		}
	}
	return out
}

// mulMod returns a*b mod m without overflow (m > 0).
func mulMod(a, b, m uint64) int64 {
	hi, lo := bits.Mul64(a%m, b%m)
	return int64(bits.Rem64(hi, lo, m))
}

// CheckpointName returns the checkpoint file prefix name of a global step: "ckpt-<step>".
func CheckpointName(globalStep int64) string {
	return CheckpointPrefix + "-" + strconv.FormatInt(globalStep, 10)
}
