package training

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

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
	writeFile(t, filepath.Join(dir, "ckpt-3000.index"), "not a checkpoint of the run") // kept
	if err := RecordCheckpoint(dir, "ckpt-800"); err != nil {                          // saving a step again
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	want := `model_checkpoint_path: "ckpt-800"
all_model_checkpoint_paths: "ckpt-400"
all_model_checkpoint_paths: "ckpt-500"
all_model_checkpoint_paths: "ckpt-600"
all_model_checkpoint_paths: "ckpt-700"
all_model_checkpoint_paths: "ckpt-800"
`
	if string(text) != want {
		t.Errorf("state file:\n%s\nwant:\n%s", text, want)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	wantNames := []string{"checkpoint", "ckpt-3000.index"}
	for _, s := range []string{"400", "500", "600", "700", "800"} {
		wantNames = append(wantNames, "ckpt-"+s+".data-00000-of-00001", "ckpt-"+s+".index")
	}
	sort.Strings(wantNames)
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("files %v, want %v", names, wantNames)
	}
	if p, err := LatestCheckpoint(dir); err != nil || p != filepath.Join(dir, "ckpt-800") {
		t.Errorf("LatestCheckpoint = %q, %v", p, err)
	}
}

func TestParseState(t *testing.T) {
	// As Python's CheckpointManager writes it, with timestamps; absolute paths; escapes.
	text := `model_checkpoint_path: "/abs/ckpt-7"
all_model_checkpoint_paths: "ckpt-6"
all_model_checkpoint_paths: '/abs/ckpt-7'
all_model_checkpoint_timestamps: 1795221412.2204
all_model_checkpoint_timestamps: 1.7e9
# a comment
last_preserved_timestamp: 1795221400.5
`
	s, err := ParseState(text)
	if err != nil {
		t.Fatal(err)
	}
	if s.ModelCheckpointPath != "/abs/ckpt-7" || !reflect.DeepEqual(s.AllModelCheckpointPaths, []string{"ckpt-6", "/abs/ckpt-7"}) {
		t.Errorf("parsed %+v", s)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, StateFile), text)
	if p, err := LatestCheckpoint(dir); err != nil || p != "/abs/ckpt-7" {
		t.Errorf("absolute path: %q, %v", p, err)
	}
	odd := &State{ModelCheckpointPath: "a \"b\"\\c\n\xe9", AllModelCheckpointPaths: []string{"x'y"}}
	back, err := ParseState(odd.Format())
	if err != nil || !reflect.DeepEqual(back, odd) {
		t.Errorf("round trip of %q: %+v, %v (text %q)", odd.ModelCheckpointPath, back, err, odd.Format())
	}
	if got := odd.Format(); got != "model_checkpoint_path: \"a \\\"b\\\"\\\\c\\n\\351\"\nall_model_checkpoint_paths: \"x\\'y\"\n" {
		t.Errorf("Format = %q", got)
	}
	for _, bad := range []string{`model_checkpoint_path "x"`, `other: "x"`, `model_checkpoint_path: "x`, `model_checkpoint_path: x`} {
		if _, err := ParseState(bad); err == nil {
			t.Errorf("ParseState(%q) succeeded", bad)
		}
	}
	writeFile(t, filepath.Join(dir, StateFile), "garbage")
	if _, err := LatestCheckpoint(dir); err == nil {
		t.Error("a broken state file was accepted")
	}
	writeFile(t, filepath.Join(dir, StateFile), "")
	if p, err := LatestCheckpoint(dir); err != nil || p != "" {
		t.Errorf("a state file without a checkpoint: %q, %v", p, err)
	}
}
