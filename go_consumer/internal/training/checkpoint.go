package training

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/tfspb/checkpointstate"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/protobuf/encoding/prototext"
)

// StateFile is the name of a checkpoint folder's state file.
const StateFile = "checkpoint"

// State is a checkpoint folder's state file: the CheckpointState message of
// tensorflow/python/training/checkpoint_state.proto (its Go code generated at build time from
// the descriptor of the installed tensorflow package, go_consumer/Makefile) in protobuf text
// format, which tf.train.CheckpointManager writes and tf.train.latest_checkpoint reads.
type State = checkpointstate.CheckpointState

// ReadState reads <dir>/checkpoint with prototext (tests/CONTRACT.md, "Training",
// "Checkpoints": the file is compared as a parsed message, so its layout carries no meaning).
// It returns nil and no error when there is no state file or when the file names no
// checkpoint (as tf.train.get_checkpoint_state does), and an *Error when the file cannot be
// read or is not a CheckpointState in text format.
func ReadState(dir string) (*State, error) {
	path := pathtext.Join(dir, StateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot read the checkpoint state file %s: %v", path, err)
	}
	s := &State{}
	if err := prototext.Unmarshal(data, s); err != nil {
		return nil, status.New(status.FailedPrecondition, "%s is not a checkpoint state file: %v", path, err)
	}
	if s.ModelCheckpointPath == "" {
		return nil, nil
	}
	return s, nil
}

// LatestCheckpoint returns the prefix named by <dir>/checkpoint (joined to dir unless
// absolute), or "" when there is no state file. Errors as [ReadState].
func LatestCheckpoint(dir string) (string, error) {
	s, err := ReadState(dir)
	if err != nil || s == nil {
		return "", err
	}
	if strings.HasPrefix(s.ModelCheckpointPath, "/") {
		return s.ModelCheckpointPath, nil
	}
	return pathtext.Join(dir, s.ModelCheckpointPath), nil
}

// RecordCheckpoint updates the state file of dir after the checkpoint <dir>/<name> was
// written: name becomes the newest entry (an earlier entry of the same name is dropped),
// only the newest [KeepCheckpoints] entries are kept, the files <old>.* of the entries
// dropped are deleted, and the state file is rewritten atomically ([WriteState]) with
// model_checkpoint_path name and all_model_checkpoint_paths the kept names, oldest first,
// relative to dir. Errors: an unreadable state file (*Error), a file that cannot be deleted or written.
func RecordCheckpoint(dir, name string) error {
	s, err := ReadState(dir)
	if err != nil {
		return err
	}
	var kept []string
	if s != nil {
		for _, p := range s.AllModelCheckpointPaths {
			if base := filepath.Base(p); base != name {
				kept = append(kept, base)
			}
		}
	}
	kept = append(kept, name)
	if drop := len(kept) - KeepCheckpoints; drop > 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("cannot list the checkpoint folder %s: %v", dir, err)
		}
		for _, old := range kept[:drop] {
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), old+".") {
					continue
				}
				if err := os.Remove(pathtext.Join(dir, e.Name())); err != nil {
					return fmt.Errorf("cannot delete the old checkpoint file: %v", err)
				}
			}
		}
		kept = kept[drop:]
	}
	return WriteState(dir, &State{ModelCheckpointPath: name, AllModelCheckpointPaths: kept})
}

// WriteState writes <dir>/checkpoint atomically (a temporary file renamed over it), the
// message in text format as prototext writes it (multi-line, with a final newline).
func WriteState(dir string, s *State) error {
	path := pathtext.Join(dir, StateFile)
	text, err := prototext.MarshalOptions{Multiline: true}.Marshal(s)
	if err != nil {
		return fmt.Errorf("cannot write the checkpoint state file %s: %v", path, err)
	}
	if len(text) > 0 && text[len(text)-1] != '\n' {
		text = append(text, '\n')
	}
	tmp, err := os.CreateTemp(dir, "."+StateFile+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write the checkpoint state file %s: %v", path, err)
	}
	_, err = tmp.Write(text)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write the checkpoint state file %s: %v", path, err)
	}
	return nil
}
