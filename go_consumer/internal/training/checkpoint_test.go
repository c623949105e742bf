package training

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// readStateFile parses <dir>/checkpoint: the state file is compared as a parsed message,
// never as bytes (tests/CONTRACT.md, "Training", "Checkpoints").
func readStateFile(t *testing.T, dir string) *State {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	s := &State{}
	if err := prototext.Unmarshal(text, s); err != nil {
		t.Fatalf("state file %q: %v", text, err)
	}
	return s
}

func TestRecordCheckpointKeepsFive(t *testing.T) {
	dir := t.TempDir()
	if p, err := LatestCheckpoint(dir); err != nil || p != "" {
		t.Fatalf("empty folder: %q, %v", p, err)
	}
	for step := int64(100); step <= 800; step += 100 {
		name := CheckpointName(step)
		for _, suffix := range []string{".index", ".data-00000-of-00001"} {
			writeFile(t, filepath.Join(dir, name+suffix), "x")
		}
		if err := RecordCheckpoint(dir, name); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "ckpt-3000.index"), "not a checkpoint of the run")     // kept
	writeFile(t, filepath.Join(dir, "ckpt-30.index"), "ckpt-300's name is a prefix of it") // kept
	if err := RecordCheckpoint(dir, "ckpt-800"); err != nil {                              // saving a step again
		t.Fatal(err)
	}
	want := &State{
		ModelCheckpointPath:     "ckpt-800",
		AllModelCheckpointPaths: []string{"ckpt-400", "ckpt-500", "ckpt-600", "ckpt-700", "ckpt-800"},
	}
	if got := readStateFile(t, dir); !proto.Equal(got, want) {
		t.Errorf("state file: %v, want %v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	wantNames := []string{"checkpoint", "ckpt-30.index", "ckpt-3000.index"}
	for _, s := range []string{"400", "500", "600", "700", "800"} {
		wantNames = append(wantNames, "ckpt-"+s+".data-00000-of-00001", "ckpt-"+s+".index")
	}
	sort.Strings(wantNames)
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("files %v, want %v", names, wantNames)
	}
	if p, err := LatestCheckpoint(dir); err != nil || p != dir+"/ckpt-800" {
		t.Errorf("LatestCheckpoint = %q, %v", p, err)
	}
}

// TestReadState: a state file as Python's CheckpointManager writes it (timestamps, single
// quotes, comments, any white space) is read by prototext; absolute paths stay absolute.
func TestReadState(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, StateFile), `model_checkpoint_path: "/abs/ckpt-7"
all_model_checkpoint_paths: "ckpt-6"
all_model_checkpoint_paths:   '/abs/ckpt-7'
all_model_checkpoint_timestamps: 1795221412.2204
all_model_checkpoint_timestamps: 1.7e9
# a comment
last_preserved_timestamp: 1795221400.5
`)
	s, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.ModelCheckpointPath != "/abs/ckpt-7" || !reflect.DeepEqual(s.AllModelCheckpointPaths, []string{"ckpt-6", "/abs/ckpt-7"}) ||
		s.LastPreservedTimestamp != 1795221400.5 {
		t.Errorf("parsed %v", s)
	}
	if p, err := LatestCheckpoint(dir); err != nil || p != "/abs/ckpt-7" {
		t.Errorf("absolute path: %q, %v", p, err)
	}
	// Any name round-trips through the file (prototext's escapes).
	odd := &State{ModelCheckpointPath: "a \"b\"\\c\n\u00e9", AllModelCheckpointPaths: []string{"x'y", "ü"}}
	if err := WriteState(dir, odd); err != nil {
		t.Fatal(err)
	}
	if back := readStateFile(t, dir); !proto.Equal(back, odd) {
		t.Errorf("round trip: %v, want %v", back, odd)
	}
	for _, bad := range []string{`model_checkpoint_path "x"`, `other: "x"`, `model_checkpoint_path: "x`, `model_checkpoint_path: x`, "garbage"} {
		writeFile(t, filepath.Join(dir, StateFile), bad)
		if _, err := LatestCheckpoint(dir); err == nil {
			t.Errorf("the state file %q was accepted", bad)
		} else if code := status.CodeOf(err); code != status.FailedPrecondition {
			t.Errorf("%q: %s %v, want FAILED_PRECONDITION", bad, code, err)
		}
	}
	writeFile(t, filepath.Join(dir, StateFile), "")
	if p, err := LatestCheckpoint(dir); err != nil || p != "" {
		t.Errorf("a state file without a checkpoint: %q, %v", p, err)
	}
}
