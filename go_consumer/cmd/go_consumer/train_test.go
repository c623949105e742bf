package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/training"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

func TestTrainFlagRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train"}, "train needs --model PATH --data PATH --steps N"},
		{[]string{"train", "--model", "m", "--steps", "1"}, "train --model needs --data"},
		{[]string{"train", "--model", "m", "--data", "d"}, "train --model needs --steps"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "0"}, "--steps must be at least 1, got 0"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "x"}, `invalid value "x" for flag --steps`},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--batch-size", "0"}, "--batch-size must be at least 1"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--learning-rate", "-1"}, "--learning-rate must be a finite number > 0 in float32, got -1"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--learning-rate", "nan"}, "got nan"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--learning-rate", "1_0"}, "got 1_0"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--learning-rate", "0x1p-3"}, "got 0x1p-3"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--learning-rate", "Infinity"}, "got Infinity"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--learning-rate", "1e39"}, "got 1e39"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--checkpoint-every", "-2"}, "--checkpoint-every must be 0 or more"},
		{[]string{"train", "--model", "m", "--data", "d", "--steps", "1", "--log-every", "0"}, "--log-every must be at least 1"},
		{[]string{"train", "--model", "/nonexistent/m", "--data", "d", "--steps", "1"}, "does not exist"},
		{[]string{"train", "--model", "m", "--bogus"}, "unknown flag --bogus"},
	} {
		checkOneLineRefusal(t, tc.args, tc.want)
	}
}

// trainModel copies the affine model's newest version to <tmp>/affine/1 (with its data) and
// returns the model folder, or skips: models/affine is made by `make models`, or set
// GO_CONSUMER_TRAIN_MODEL to another affine model folder.
func trainModel(t *testing.T) string {
	t.Helper()
	src := os.Getenv("GO_CONSUMER_TRAIN_MODEL")
	if src == "" {
		src = needModel(t, "affine")
	}
	dir, err := model.ResolveVersionDir(src, 0)
	if err != nil {
		t.Skipf("no affine model: %v", err)
	}
	root := filepath.Join(t.TempDir(), "affine")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(dir, filepath.Join(root, "1")); err != nil {
		t.Fatal(err)
	}
	return root
}

var stepLine = regexp.MustCompile(`^step: \d+, loss: \S+$`)

func TestTrainAffine(t *testing.T) {
	root := trainModel(t)
	data := filepath.Join(root, "1", "data")
	ckpt := filepath.Join(root, "ck")
	args := []string{"train", "--model", root, "--data", data, "--steps", "20", "--batch-size", "8",
		"--log-every", "10", "--checkpoint-every", "5", "--checkpoint-dir", ckpt}
	code, stdout, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 || !stepLine.MatchString(lines[0]) || !strings.HasPrefix(lines[0], "step: 10,") ||
		!strings.HasPrefix(lines[1], "step: 20,") || !strings.HasPrefix(lines[2], "final: W: ") ||
		!strings.HasSuffix(lines[2], ", global_step: 20") {
		t.Errorf("stdout:\n%s", stdout)
	}
	v2 := filepath.Join(root, "2")
	if !regexp.MustCompile(`^trained 20 steps in \d+\.\d{3} s \(\d+\.\d steps/s\)\nexported ` + regexp.QuoteMeta(v2) + "\n$").MatchString(stderr) {
		t.Errorf("stderr:\n%s", stderr)
	}
	// The state file is compared as a parsed CheckpointState, not as bytes.
	text, _ := os.ReadFile(filepath.Join(ckpt, "checkpoint"))
	state := &training.State{}
	want := &training.State{ModelCheckpointPath: "ckpt-20", AllModelCheckpointPaths: []string{"ckpt-5", "ckpt-10", "ckpt-15", "ckpt-20"}}
	if err := prototext.Unmarshal(text, state); err != nil || !proto.Equal(state, want) {
		t.Errorf("state file %q: %v, %v; want %v", text, state, err, want)
	}

	// The new version: manifest, files, golden responses = predict on it, frozen = saved_model.
	raw, err := os.ReadFile(filepath.Join(v2, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Version  int64
		Files    map[string]struct{ Bytes int64 }
		Training struct {
			Run struct {
				Language      string
				SourceVersion int64   `json:"source_version"`
				GlobalStep    int64   `json:"global_step"`
				LearningRate  string  `json:"learning_rate"`
				FinalLoss     string  `json:"final_loss"`
				ResumedFrom   *string `json:"resumed_from"`
			}
		}
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	run := man.Training.Run
	if man.Version != 2 || run.Language != "go" || run.SourceVersion != 1 || run.GlobalStep != 20 || run.ResumedFrom != nil ||
		run.LearningRate != "0.1" || !strings.HasSuffix(lines[1], ", loss: "+run.FinalLoss) {
		t.Errorf("manifest: %+v", man)
	}
	for _, f := range []string{"saved_model.pb", "variables/variables.index", "checkpoint/ckpt-20.index", "checkpoint/checkpoint"} {
		if _, ok := man.Files[f]; !ok {
			t.Errorf("manifest files lack %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(v2, "fingerprint.pb")); !os.IsNotExist(err) {
		t.Error("fingerprint.pb was copied")
	}
	// The published version verifies against its own manifest (every file listed, sizes
	// and SHA-256 right), so every consumer loads it without --skip-verification.
	if err := model.VerifyVersion(v2); err != nil {
		t.Errorf("the trained version does not verify: %v", err)
	}
	info, err := model.ReadInfo(v2)
	if err != nil {
		t.Fatal(err)
	}
	requests, _ := filepath.Glob(filepath.Join(v2, "golden", "*.request.json"))
	if len(requests) == 0 {
		t.Error("no golden requests")
	}
	for _, req := range requests {
		body, _ := os.ReadFile(req)
		golden, _ := os.ReadFile(strings.TrimSuffix(req, ".request.json") + ".response.json")
		for _, format := range []model.Format{model.FormatSavedModel, model.FormatFrozen} {
			open, closeRunner := lazyRunner(info, format)
			resp, err := handle(info, open, body, model.DefaultSignature, format)
			closeRunner()
			if err != nil {
				t.Errorf("%s %s: %v", req, format, err)
				continue
			}
			if !bytes.Equal(append(resp, '\n'), golden) {
				t.Errorf("%s %s: %s, golden %s", filepath.Base(req), format, resp, golden)
			}
		}
	}

	// Without --resume the checkpoint folder is refused; with it, training continues. Paths
	// are written as given: --model <root>/./ gives the version folder <root>/./1 and the new
	// version <root>/./3 (tests/CONTRACT.md, "Paths in messages").
	checkOneLineRefusal(t, args, ckpt+" holds checkpoints of an earlier run; pass --resume")
	checkCode(t, args, status.FailedPrecondition)
	code, stdout, stderr = runCmd("train", "--model", root+"/./", "--version", "1", "--data", data, "--steps", "5",
		"--batch-size", "8", "--log-every", "5", "--checkpoint-dir", ckpt, "--resume")
	if code != 0 || !strings.HasPrefix(stdout, "step: 25, loss: ") || !strings.Contains(stdout, "global_step: 25\n") ||
		!strings.HasSuffix(stderr, "\nexported "+root+"/./3\n") {
		t.Errorf("resume: exit %d\n%s%s", code, stdout, stderr)
	}
	if err := model.VerifyVersion(filepath.Join(root, "3")); err != nil {
		t.Errorf("the resumed version does not verify: %v", err)
	}
	raw, _ = os.ReadFile(filepath.Join(root, "3", "manifest.json"))
	man.Training.Run.ResumedFrom = nil
	if err := json.Unmarshal(raw, &man); err != nil || man.Training.Run.ResumedFrom == nil || *man.Training.Run.ResumedFrom != "ckpt-20" {
		t.Errorf("version 3 does not record resumed_from ckpt-20: %v", err)
	}
	noCheckpoint := []string{"train", "--model", root, "--data", data, "--steps", "1", "--checkpoint-dir", root + "//none/", "--resume"}
	checkOneLineRefusal(t, noCheckpoint, "--resume: no checkpoint to resume in "+root+"//none/")
	checkCode(t, noCheckpoint, status.NotFound)
	checkCode(t, []string{"train", "--model", root, "--data", root + "/no-such-data", "--steps", "1"}, status.NotFound)
	checkCode(t, []string{"train", "--model", root, "--data", data, "--steps", "0"}, status.InvalidArgument)
}

// checkCode checks that the command line args ends with code (runCode).
func checkCode(t *testing.T, args []string, code status.Code) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if got := runCode(args, strings.NewReader(""), &stdout, &stderr); got != code {
		t.Errorf("%q: %s (%s); want %s", args, got, stderr.String(), code)
	}
}

func TestTrainDiverges(t *testing.T) {
	root := trainModel(t)
	var out, errOut bytes.Buffer
	got := runCode([]string{"train", "--model", root, "--data", filepath.Join(root, "1", "data"), "--steps", "50", "--learning-rate", "1e30"}, strings.NewReader(""), &out, &errOut)
	code, stdout, stderr := got.ExitStatus(), out.String(), errOut.String()
	if got != status.Internal || code != 1 || !strings.HasPrefix(stderr, "go_consumer: error: training diverged at step ") ||
		!strings.HasSuffix(stderr, "; lower --learning-rate\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "2")); !os.IsNotExist(err) {
		t.Error("a diverged run published a version")
	}
}
