package training

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

const sampleManifest = `{
  "manifest_version": 1,
  "unknown_entry": {"kept": [1.50, 12345678901234567890123, "x\u00e9"]},
  "signatures": {
    "serving_default": {
      "frozen": {
        "graph": "frozen/serving_default.pb",
        "graph_text": "frozen/serving_default.pbtxt"
      }
    },
    "b_other": {"frozen": {"graph": "frozen/b_other.pb"}},
    "train_step": {}
  },
  "training": {
    "train_signature": "train_step",
    "variables_signature": "get_variables",
    "learning_rate_input": "learning_rate",
    "loss_output": "loss",
    "step_output": "global_step",
    "columns": ["x", "y"],
    "frozen_constants": {"serving_default": {"W": "ReadVariableOp/resource"}},
    "future_member": [true, null]
  },
  "version": 1,
  "files": {}
}
`

// parsed returns JSON text as a value of encoding/json's generic types (numbers as
// json.Number, so exactly as written): manifests are compared parsed, never as bytes.
func parsed(t *testing.T, text []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(text)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v in:\n%s", err, text)
	}
	return v
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ManifestFile), sampleManifest)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	text, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(text), "}\n") {
		t.Errorf("no final newline: %q", text)
	}
	if got, want := parsed(t, text), parsed(t, []byte(sampleManifest)); !reflect.DeepEqual(got, want) {
		t.Errorf("not written back unchanged:\n%s", text)
	}
	want := &Section{
		TrainSignature: "train_step", VariablesSignature: "get_variables", LearningRateInput: "learning_rate",
		LossOutput: "loss", StepOutput: "global_step", Columns: []string{"x", "y"},
		FrozenConstants: map[string]map[string]string{"serving_default": {"W": "ReadVariableOp/resource"}},
	}
	if !reflect.DeepEqual(m.Training, want) {
		t.Errorf("section %+v", m.Training)
	}
	if !reflect.DeepEqual(m.Frozen, []FrozenGraph{{"b_other", "frozen/b_other.pb", ""}, {"serving_default", "frozen/serving_default.pb", "frozen/serving_default.pbtxt"}}) {
		t.Errorf("frozen %+v", m.Frozen)
	}

	resumed := "ckpt-20"
	run := &Run{Language: "go", TensorFlowVersion: "2.21.0", SourceVersion: 1, Steps: 10, GlobalStep: 30,
		BatchSize: 64, LearningRate: "0.1", ResumedFrom: &resumed, FinalLoss: "0.5", Data: []DataFile{{"a.csv", "ab", 3}}}
	if err := m.SetRun(run); err != nil {
		t.Fatal(err)
	}
	files := map[string]FileEntry{"saved_model.pb": {"00", 7}}
	for key, v := range map[string]any{"version": 2, "created": "2026-01-01T00:00:00Z", "files": files} {
		if err := m.Set(key, v); err != nil {
			t.Fatal(err)
		}
	}
	if text, err = m.Encode(); err != nil {
		t.Fatal(err)
	}
	wantDoc := parsed(t, []byte(sampleManifest)).(map[string]any)
	wantDoc["version"] = json.Number("2")
	wantDoc["created"] = "2026-01-01T00:00:00Z"
	wantDoc["files"] = map[string]any{"saved_model.pb": map[string]any{"sha256": "00", "bytes": json.Number("7")}}
	wantDoc["training"].(map[string]any)["run"] = parsed(t, []byte(`{"language": "go", "tensorflow_version": "2.21.0",
		"source_version": 1, "steps": 10, "global_step": 30, "batch_size": 64, "learning_rate": "0.1",
		"resumed_from": "ckpt-20", "final_loss": "0.5", "data": [{"file": "a.csv", "sha256": "ab", "rows": 3}]}`))
	if got := parsed(t, text); !reflect.DeepEqual(got, any(wantDoc)) {
		t.Errorf("manifest:\n%s", text)
	}
	run.ResumedFrom = nil
	if err := m.SetRun(run); err != nil {
		t.Fatal(err)
	}
	text, _ = m.Encode()
	if r := parsed(t, text).(map[string]any)["training"].(map[string]any)["run"].(map[string]any); r["resumed_from"] != nil {
		t.Errorf("resumed_from = %v, want null", r["resumed_from"])
	}
}

func TestReadManifestRefusals(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"none":        {"", "has no manifest.json"},
		"invalid":     {"{", "cannot read"},
		"array":       {"[]", "cannot read"},
		"null":        {"null", "is not a JSON object"},
		"latin1":      {"{\"a\": \"\xe9\"}", "it is not UTF-8 text"},
		"notraining":  {`{"signatures": {}}`, "has no training section in manifest.json"},
		"trainingnum": {`{"training": 3}`, "has no training section in manifest.json"},
		"nocolumns":   {`{"training": {"train_signature": "t", "variables_signature": "v", "learning_rate_input": "r", "loss_output": "l", "step_output": "s"}}`, "has no columns"},
		"badcolumn":   {`{"training": {"train_signature": "t", "variables_signature": "v", "learning_rate_input": "r", "loss_output": "l", "step_output": "s", "columns": ["x", 1]}}`, "columns must be non-empty strings"},
		"badconst":    {`{"training": {"train_signature": "t", "variables_signature": "v", "learning_rate_input": "r", "loss_output": "l", "step_output": "s", "columns": ["x"], "frozen_constants": {"s": {"W": null}}}}`, `"W" must name a node`},
		"nosig":       {`{"training": {"columns": ["x"]}}`, "has no train_signature"},
		"numbersig":   {`{"training": {"train_signature": 1}}`, "has no train_signature"},
		"nograph":     {`{"signatures": {"s": {"frozen": {"graph_text": "a"}}}, "training": {"train_signature": "t", "variables_signature": "v", "learning_rate_input": "r", "loss_output": "l", "step_output": "s", "columns": ["x"]}}`, "has a frozen entry without a graph path"},
	} {
		dir := t.TempDir()
		if tc.text != "" {
			writeFile(t, filepath.Join(dir, ManifestFile), tc.text)
		}
		_, err := ReadManifest(dir)
		if e, ok := err.(*status.Error); !ok || e.Code != status.FailedPrecondition || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %s %v, want FAILED_PRECONDITION with %q", name, status.CodeOf(err), err, tc.want)
		}
	}
}

func TestFileHashes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a-c"), "1")
	writeFile(t, filepath.Join(dir, "a", "b"), "")
	writeFile(t, filepath.Join(dir, ManifestFile), "{}")
	writeFile(t, filepath.Join(dir, "sub", ManifestFile), "listed: not the top-level manifest")
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := FileHashes(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]FileEntry{
		"a-c":               {"6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b", 1},
		"a/b":               {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0},
		"sub/manifest.json": {"7a6b86908ca6c1f534452463c36510f762bb25c78014b34d85f619ee4b46c5ea", 34},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
}
