package model

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveVersionDir(t *testing.T) {
	root := t.TempDir()
	touch(t, filepath.Join(root, "1", SavedModelFile))
	touch(t, filepath.Join(root, "3", SavedModelFile))
	touch(t, filepath.Join(root, "10", "variables", "x")) // incomplete: no saved_model.pb
	touch(t, filepath.Join(root, ".tmp-12-99", SavedModelFile))
	touch(t, filepath.Join(root, "0", SavedModelFile))

	if dir, err := ResolveVersionDir(root, 0); err != nil || dir != filepath.Join(root, "3") {
		t.Errorf("latest = %q, %v", dir, err)
	}
	if dir, err := ResolveVersionDir(root, 1); err != nil || dir != filepath.Join(root, "1") {
		t.Errorf("version 1 = %q, %v", dir, err)
	}
	if _, err := ResolveVersionDir(root, 10); err == nil || !strings.Contains(err.Error(), "available versions: 1, 3") {
		t.Errorf("version 10: %v", err)
	}
	if dir, err := ResolveVersionDir(filepath.Join(root, "1"), 0); err != nil || dir != filepath.Join(root, "1") {
		t.Errorf("version folder = %q, %v", dir, err)
	}
	if _, err := ResolveVersionDir(filepath.Join(root, "1"), 3); err == nil || !strings.Contains(err.Error(), "--version 3") {
		t.Errorf("mismatched --version: %v", err)
	}
	if _, err := ResolveVersionDir(filepath.Join(root, "does-not-exist"), 0); err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("missing: %v", err)
	}
	if _, err := ResolveVersionDir(filepath.Join(root, "10"), 0); err == nil || !strings.Contains(err.Error(), SavedModelFile) {
		t.Errorf("no model: %v", err)
	}
	touch(t, filepath.Join(root, "file"))
	// Each refusal is the catalog's message with the catalog's code.
	for _, c := range []struct {
		path    string
		version int64
		code    status.Code
		want    string
	}{
		{filepath.Join(root, "does-not-exist"), 0, status.NotFound,
			"model path " + root + "/does-not-exist does not exist; expected a model folder or a version folder"},
		{filepath.Join(root, "file"), 0, status.InvalidArgument,
			"model path " + root + "/file is not a folder; expected a model folder or a version folder"},
		{filepath.Join(root, "1"), 3, status.InvalidArgument, "--version 3 does not match the version folder " + root + "/1"},
		{filepath.Join(root, "10"), 0, status.NotFound,
			root + "/10 is not a model: expected saved_model.pb in it or in an integer version subfolder"},
		{root, 10, status.NotFound, "version 10 not found in " + root + "; available versions: 1, 3"},
	} {
		_, err := ResolveVersionDir(c.path, c.version)
		if status.CodeOf(err) != c.code || err.Error() != c.want {
			t.Errorf("ResolveVersionDir(%q, %d) = %s %v; want %s %q", c.path, c.version, status.CodeOf(err), err, c.code, c.want)
		}
	}
}

// TestResolveVersionDirAsGiven: the version folder is the --model text as given, made
// absolute by concatenation, and the folder name ("Paths in messages"): never cleaned.
func TestResolveVersionDirAsGiven(t *testing.T) {
	root := t.TempDir()
	touch(t, filepath.Join(root, "models", "m", "3", SavedModelFile))
	t.Chdir(root)
	for _, tc := range []struct {
		path    string
		version int64
		want    string
	}{
		{root + "/models/m", 0, root + "/models/m/3"},
		{root + "/models/m/", 3, root + "/models/m/3"},
		{root + "/models/./m//", 0, root + "/models/./m//3"},
		{"models/m", 0, root + "/models/m/3"},
		{"./models/../models/m/3/", 0, root + "/./models/../models/m/3/"},
	} {
		if got, err := ResolveVersionDir(tc.path, tc.version); err != nil || got != tc.want {
			t.Errorf("ResolveVersionDir(%q, %d) = %q, %v; want %q", tc.path, tc.version, got, err, tc.want)
		}
	}
	if _, err := ResolveVersionDir("models/./none/", 0); err == nil || !strings.Contains(err.Error(), "model path "+root+"/models/./none/ does not exist") {
		t.Errorf("missing: %v", err)
	}
}

func TestSplitTensorName(t *testing.T) {
	for in, want := range map[string]struct {
		op  string
		idx int
	}{
		"x:0":                       {"x", 0},
		"StatefulPartitionedCall:3": {"StatefulPartitionedCall", 3},
		"NoOp":                      {"NoOp", 0},
	} {
		op, idx, err := splitTensorName(in)
		if err != nil || op != want.op || idx != want.idx {
			t.Errorf("splitTensorName(%q) = %q, %d, %v", in, op, idx, err)
		}
	}
	for _, bad := range []string{"", "x:", "x:-1", "x:a"} {
		if _, _, err := splitTensorName(bad); err == nil {
			t.Errorf("splitTensorName(%q) accepted", bad)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "007": 7, "0": 0, "-1": 0, "abc": 0, "": 0, "1e3": 0, "+2": 0} {
		got, ok := ParseVersion(in)
		if got != want || ok != (want > 0) {
			t.Errorf("ParseVersion(%q) = %d, %v", in, got, ok)
		}
	}
}

// TestCompleteVersionsLeadingZeros: "007" is version 7, loaded from "007"; of several folders
// naming one version the name sorting last byte by byte wins ("7" over "07" over "007").
func TestCompleteVersionsLeadingZeros(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"007", "07", "2", "002", "0009", "000"} {
		touch(t, filepath.Join(root, name, SavedModelFile))
	}
	versions, names := CompleteVersions(root)
	if want := []int64{2, 7, 9}; !slices.Equal(versions, want) {
		t.Errorf("versions = %v; want %v", versions, want)
	}
	if want := map[int64]string{2: "2", 7: "07", 9: "0009"}; !maps.Equal(names, want) {
		t.Errorf("names = %v; want %v", names, want)
	}
	if dir, err := ResolveVersionDir(root, 9); err != nil || dir != filepath.Join(root, "0009") {
		t.Errorf("version 9 = %q, %v", dir, err)
	}
	touch(t, filepath.Join(root, "7", SavedModelFile))
	if _, names := CompleteVersions(root); names[7] != "7" {
		t.Errorf("with the canonical spelling: version 7 is %q", names[7])
	}
}
