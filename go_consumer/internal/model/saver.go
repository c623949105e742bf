package model

import (
	"strings"

	"github.com/polyglot-tf/go_consumer/internal/status"
	"github.com/polyglot-tf/go_consumer/internal/tfjson"

	tf "github.com/wamuir/graft/tensorflow"
)

// saver returns the "serve" MetaGraphDef's saver_def and the SavedModel session it runs in.
func (r *Runner) saver() (*Saver, *graphSession, error) {
	if r.format != FormatSavedModel || r.saved == nil {
		return nil, nil, status.New(status.FailedPrecondition, "saving and restoring variables needs an open SavedModel (--format saved_model)")
	}
	if r.info.Serve == nil || r.info.Serve.Saver == nil || r.info.Serve.Saver.FilenameTensor == "" {
		return nil, nil, status.New(status.FailedPrecondition, "%s/%s has no saver_def in its 'serve' MetaGraphDef; its variables cannot be saved or restored", r.info.Dir, SavedModelFile)
	}
	return r.info.Serve.Saver, r.saved, nil
}

// filenameFeed builds the feed of the saver's filename tensor: prefix as a scalar DT_STRING.
func filenameFeed(gs *graphSession, s *Saver, prefix string) (map[tf.Output]*tf.Tensor, error) {
	out, err := lookupName(gs.graph, s.FilenameTensor, "saver_def filename_tensor_name")
	if err != nil {
		return nil, err
	}
	t, err := tf.NewTensor(prefix)
	if err != nil {
		return nil, status.New(status.Internal, "cannot build the checkpoint prefix tensor: %s", oneLine(err.Error()))
	}
	return map[tf.Output]*tf.Tensor{out: t}, nil
}

// lookupName finds the tensor "op:index" (index 0 if omitted) named by the saver_def.
func lookupName(g *tf.Graph, name, what string) (tf.Output, error) {
	op, idx, err := splitTensorName(name)
	if err != nil {
		return tf.Output{}, status.New(status.FailedPrecondition, "%s: %v", what, err)
	}
	o := g.Operation(op)
	if o == nil || idx >= o.NumOutputs() {
		return tf.Output{}, status.New(status.FailedPrecondition, "%s %s is not in the graph", what, tfjson.Quote(name))
	}
	return o.Output(idx), nil
}

// Save writes the current values of the SavedModel's variables to the checkpoint prefix
// (files prefix+".index" and prefix+".data-00000-of-00001") through the saver_def: the prefix
// is fed to filename_tensor_name and save_tensor_name is fetched. The prefix's folder must
// exist. Errors: FAILED_PRECONDITION when the model has no usable saver_def, INTERNAL when
// TensorFlow fails to write.
func (r *Runner) Save(prefix string) error {
	s, gs, err := r.saver()
	if err != nil {
		return err
	}
	feeds, err := filenameFeed(gs, s, prefix)
	if err != nil {
		return err
	}
	save, err := lookupName(gs.graph, s.SaveTensor, "saver_def save_tensor_name")
	if err != nil {
		return err
	}
	if _, err := gs.session.Run(feeds, []tf.Output{save}, nil); err != nil {
		return status.New(status.Internal, "TensorFlow failed to save the checkpoint %s: %s", prefix, oneLine(err.Error()))
	}
	return nil
}

// Restore reads the SavedModel's variables from the checkpoint prefix through the
// saver_def: the prefix is fed to filename_tensor_name and restore_op_name is run. Any
// checkpoint with the object-graph keys of these variables can be restored, whichever
// language wrote it. Errors: FAILED_PRECONDITION when the model has no usable saver_def,
// INTERNAL when TensorFlow fails to read (missing or incompatible checkpoint).
func (r *Runner) Restore(prefix string) error {
	s, gs, err := r.saver()
	if err != nil {
		return err
	}
	feeds, err := filenameFeed(gs, s, prefix)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(s.RestoreOp, ":0") // an operation; tolerate a tensor-style name
	op := gs.graph.Operation(name)
	if op == nil {
		return status.New(status.FailedPrecondition, "saver_def restore_op_name %s is not in the graph", tfjson.Quote(s.RestoreOp))
	}
	if _, err := gs.session.Run(feeds, nil, []*tf.Operation{op}); err != nil {
		return status.New(status.Internal, "TensorFlow failed to restore the checkpoint %s: %s", prefix, oneLine(err.Error()))
	}
	return nil
}
