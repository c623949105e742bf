package model

// #include "tensorflow/c/c_api.h"
import "C"

import (
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// saverCall prepares a run of the "serve" MetaGraphDef's saver_def: the checkpoint prefix
// fed (a scalar DT_STRING) to filename_tensor_name and, when fetch is set, save_tensor_name
// fetched, else restore_op_name run as a target. The caller holds r.mu for reading.
func (r *Runner) saverCall(fetch bool) (*session, *call, error) {
	if r.closed {
		return nil, nil, status.New(status.FailedPrecondition, "the model %s is closed", r.info.Dir)
	}
	if r.format != FormatSavedModel || r.saved == nil {
		return nil, nil, status.New(status.FailedPrecondition, "saving and restoring variables needs an open SavedModel (--format saved_model)")
	}
	if r.info.Serve == nil || r.info.Serve.Saver == nil || r.info.Serve.Saver.FilenameTensor == "" {
		return nil, nil, status.New(status.FailedPrecondition, "%s/%s has no saver_def in its 'serve' MetaGraphDef; its variables cannot be saved or restored", r.info.Dir, SavedModelFile)
	}
	sv, s := r.info.Serve.Saver, r.saved
	filename, err := saverTensor(s, sv.FilenameTensor, "saver_def filename_tensor_name")
	if err != nil {
		return nil, nil, err
	}
	c := &call{key: "saver_def", inAliases: []string{"filename"}, feeds: []C.TF_Output{filename},
		inSpecs: []tensor.Spec{{Alias: "filename", Name: sv.FilenameTensor, DType: tensor.String}}}
	if fetch {
		save, err := saverTensor(s, sv.SaveTensor, "saver_def save_tensor_name")
		if err != nil {
			return nil, nil, err
		}
		c.outAliases, c.fetches = []string{"save"}, []C.TF_Output{save}
		return s, c, nil
	}
	name := strings.TrimSuffix(sv.RestoreOp, ":0") // an operation; tolerate a tensor-style name
	op := s.operation(name)
	if op == nil {
		return nil, nil, status.New(status.FailedPrecondition, "saver_def restore_op_name %s is not in the graph", restjson.Quote(sv.RestoreOp))
	}
	c.targets = append(c.targets, op)
	return s, c, nil
}

// saverTensor finds the tensor "op:index" (index 0 if omitted) named by the saver_def.
func saverTensor(s *session, name, what string) (C.TF_Output, error) {
	out, ok, err := s.lookup(name)
	if err != nil {
		return C.TF_Output{}, status.New(status.FailedPrecondition, "%s: %v", what, err)
	}
	if !ok {
		return C.TF_Output{}, status.New(status.FailedPrecondition, "%s %s is not in the graph", what, restjson.Quote(name))
	}
	return out, nil
}

// runSaver feeds prefix to the saver_def's call.
func (r *Runner) runSaver(fetch bool, prefix, what string) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, c, err := r.saverCall(fetch)
	if err != nil {
		return err
	}
	c.failure = what + " the checkpoint " + prefix
	feed := map[string]*tensor.Tensor{"filename": {DType: tensor.String, Data: []string{prefix}}}
	_, err = s.run(c, feed, nil)
	return err
}

// Save writes the current values of the SavedModel's variables to the checkpoint prefix
// (files prefix+".index" and prefix+".data-00000-of-00001") through the saver_def: the prefix
// is fed to filename_tensor_name and save_tensor_name is fetched. The prefix's folder must
// exist. Errors: FAILED_PRECONDITION when the model has no usable saver_def or is closed,
// INTERNAL when TensorFlow fails to write.
func (r *Runner) Save(prefix string) error { return r.runSaver(true, prefix, "save") }

// Restore reads the SavedModel's variables from the checkpoint prefix through the
// saver_def: the prefix is fed to filename_tensor_name and restore_op_name is run. Any
// checkpoint with the object-graph keys of these variables can be restored, whichever
// language wrote it. Errors: FAILED_PRECONDITION when the model has no usable saver_def or
// is closed, INTERNAL when TensorFlow fails to read (missing or incompatible checkpoint).
func (r *Runner) Restore(prefix string) error { return r.runSaver(false, prefix, "restore") }
