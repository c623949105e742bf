package training

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

func TestEncodeJSONLikePython(t *testing.T) {
	v := ObjectValue(
		Member{"b", ArrayValue()},
		Member{"a", ObjectValue()},
		Member{"s", StringValue("h\u00e9\"\\\n\t\x01\x7f\U0001F600/")},
		Member{"n", ArrayValue(IntValue(1), tfjson.Value{Kind: tfjson.KindNumber, Text: "2.5"}, NullValue(), tfjson.Value{Kind: tfjson.KindBool, Bool: true}, tfjson.Value{Kind: tfjson.KindBool})},
		Member{"o", ObjectValue(Member{"k", ObjectValue(Member{"z", ArrayValue(ObjectValue(Member{"x", IntValue(1)}))})})},
	)
	// json.dumps(v, indent=2) of the same dict in Python 3.11.
	want := "{\n  \"b\": [],\n  \"a\": {},\n  \"s\": \"h\\u00e9\\\"\\\\\\n\\t\\u0001\\u007f\\ud83d\\ude00/\",\n  \"n\": [\n    1,\n    2.5,\n    null,\n    true,\n    false\n  ],\n  \"o\": {\n    \"k\": {\n      \"z\": [\n        {\n          \"x\": 1\n        }\n      ]\n    }\n  }\n}\n"
	if got := string(EncodeJSON(&v)); got != want {
		t.Errorf("EncodeJSON:\n%s\nwant:\n%s", got, want)
	}
}

const sampleManifest = `{
  "manifest_version": 1,
  "unknown_entry": {
    "kept": [
      1.5,
      "x"
    ]
  },
  "signatures": {
    "serving_default": {
      "frozen": {
        "graph": "frozen/serving_default.pb",
        "graph_text": "frozen/serving_default.pbtxt"
      }
    },
    "train_step": {}
  },
  "training": {
    "train_signature": "train_step",
    "variables_signature": "get_variables",
    "learning_rate_input": "learning_rate",
    "loss_output": "loss",
    "step_output": "global_step",
    "columns": [
      "x",
      "y"
    ],
    "frozen_constants": {
      "serving_default": {
        "W": "ReadVariableOp/resource"
      }
    }
  },
  "version": 1,
  "files": {}
}
`

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ManifestFile), sampleManifest)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(EncodeJSON(m.Doc)); got != sampleManifest {
		t.Errorf("not written back unchanged:\n%s", got)
	}
	want := &Section{
		TrainSignature: "train_step", VariablesSignature: "get_variables", LearningRateInput: "learning_rate",
		LossOutput: "loss", StepOutput: "global_step", Columns: []string{"x", "y"},
		FrozenConstants: map[string]map[string]string{"serving_default": {"W": "ReadVariableOp/resource"}},
	}
	if !reflect.DeepEqual(m.Training, want) {
		t.Errorf("section %+v", m.Training)
	}
	if !reflect.DeepEqual(m.Frozen, []FrozenGraph{{"serving_default", "frozen/serving_default.pb", "frozen/serving_default.pbtxt"}}) {
		t.Errorf("frozen %+v", m.Frozen)
	}
	// The run goes last in training; replaced keys keep their place, new ones are appended.
	run := &Run{Language: "go", TensorFlowVersion: "2.21.0", SourceVersion: 1, Steps: 10, GlobalStep: 10,
		BatchSize: 64, LearningRate: "0.1", FinalLoss: "0.5", Data: []DataFile{{"a.csv", "ab", 3}}}
	Set(m.Doc.Member("training"), "run", run.Value())
	Set(m.Doc, "version", IntValue(2))
	Set(m.Doc, "created", StringValue("2026-01-01T00:00:00Z"))
	text := string(EncodeJSON(m.Doc))
	for _, want := range []string{
		"    \"frozen_constants\": {\n      \"serving_default\": {\n        \"W\": \"ReadVariableOp/resource\"\n      }\n    },\n    \"run\": {\n      \"language\": \"go\",\n      \"tensorflow_version\": \"2.21.0\",\n      \"source_version\": 1,\n      \"steps\": 10,\n      \"global_step\": 10,\n      \"batch_size\": 64,\n      \"learning_rate\": \"0.1\",\n      \"resumed_from\": null,\n      \"final_loss\": \"0.5\",\n      \"data\": [\n        {\n          \"file\": \"a.csv\",\n          \"sha256\": \"ab\",\n          \"rows\": 3\n        }\n      ]\n    }\n  },\n  \"version\": 2,\n  \"files\": {},\n  \"created\": \"2026-01-01T00:00:00Z\"\n}\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("manifest:\n%s\nlacks:\n%s", text, want)
		}
	}
}

func TestReadManifestRefusals(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"none":       {"", "has no manifest.json"},
		"invalid":    {"{", "cannot read"},
		"notraining": {`{"signatures": {}}`, "has no training section in manifest.json"},
		"nocolumns":  {`{"training": {"train_signature": "t", "variables_signature": "v", "learning_rate_input": "r", "loss_output": "l", "step_output": "s"}}`, "has no columns"},
		"nosig":      {`{"training": {"columns": ["x"]}}`, "has no train_signature"},
	} {
		dir := t.TempDir()
		if tc.text != "" {
			writeFile(t, filepath.Join(dir, ManifestFile), tc.text)
		}
		_, err := ReadManifest(dir)
		if e, ok := err.(*Error); !ok || !strings.Contains(e.Msg, tc.want) {
			t.Errorf("%s: %v, want an *Error with %q", name, err, tc.want)
		}
	}
}

func TestFileHashes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a-c"), "1")
	writeFile(t, filepath.Join(dir, "a", "b"), "")
	writeFile(t, filepath.Join(dir, ManifestFile), "{}")
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := FileHashes(dir)
	if err != nil {
		t.Fatal(err)
	}
	// pathlib order (by component): a/b before a-c, although "-" < "/" as bytes.
	if !reflect.DeepEqual(v.Keys, []string{"a/b", "a-c"}) {
		t.Errorf("keys %v", v.Keys)
	}
	entry := v.Member("a-c")
	if entry.Member("sha256").Text != "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b" || entry.Member("bytes").Text != "1" {
		t.Errorf("a-c: %+v", entry)
	}
}
