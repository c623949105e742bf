package model

import (
	"github.com/polyglot-tf/go_consumer/internal/status"
	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

// PrepareConcurrent readies a SavedModel Runner for Run calls from several goroutines at
// once (the serve command). TensorFlow's TF_SessionRun and graft's Session.Run are safe to
// call concurrently, and Run on a FormatSavedModel Runner only reads the Runner, except
// for the DT_HALF cast that halfTensor adds to the session's graph on first use: this adds
// it now when a signature a request may name has a DT_HALF input. Close must not be called
// while a Run is in flight (the server counts references for that).
func (r *Runner) PrepareConcurrent() error {
	if r.format != FormatSavedModel || r.saved == nil {
		return status.New(status.Internal, "only an open SavedModel runner can serve concurrent requests")
	}
	for _, key := range r.info.RunKeys(FormatSavedModel) {
		for _, spec := range r.info.Serve.Signatures[key].Inputs {
			if spec.DType == tfjson.Half {
				zero := &tfjson.Tensor{DType: tfjson.Half, Shape: []int64{1}, Data: []tfjson.Float16{0}}
				_, err := r.saved.halfTensor(zero)
				return err
			}
		}
	}
	return nil
}
