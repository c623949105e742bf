package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	versionspb "github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

func typeAttr(dt typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: dt}}
}

func stringAttr(s string) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte(s)}}
}

func tensorInfo(name string, dt typespb.DataType, dims ...int64) *corepb.TensorInfo {
	shape := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: name}, Dtype: dt, TensorShape: shape}
}

// unsafeModel writes a SavedModel that TensorFlow can load (no variables) into
// <tmp>/unsafe/1 and returns that folder. Its signatures:
//
//	serving_default  x (DT_FLOAT, [-1]) -> y = x                      (safe)
//	read             path (DT_STRING, []) -> contents = ReadFile(path)
//	printing         x (DT_FLOAT, [-1]) -> y = x after PrintV2("hi")   (a control input)
func unsafeModel(t *testing.T) string {
	t.Helper()
	str := typespb.DataType_DT_STRING
	flt := typespb.DataType_DT_FLOAT
	hi := &tensorpb.TensorProto{Dtype: str, TensorShape: &shapepb.TensorShapeProto{}, StringVal: [][]byte{[]byte("hi")}}
	nodes := []*nodepb.NodeDef{
		{Name: "x", Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{"dtype": typeAttr(flt)}},
		{Name: "y", Op: "Identity", Input: []string{"x"}, Attr: map[string]*attrpb.AttrValue{"T": typeAttr(flt)}},
		{Name: "path", Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{"dtype": typeAttr(str)}},
		{Name: "read_file", Op: "ReadFile", Input: []string{"path"}},
		{Name: "message", Op: "Const", Attr: map[string]*attrpb.AttrValue{
			"dtype": typeAttr(str), "value": {Value: &attrpb.AttrValue_Tensor{Tensor: hi}}}},
		{Name: "log", Op: "PrintV2", Input: []string{"message"}, Attr: map[string]*attrpb.AttrValue{
			"output_stream": stringAttr("stderr"), "end": stringAttr("\n")}},
		{Name: "printed", Op: "Identity", Input: []string{"x", "^log"}, Attr: map[string]*attrpb.AttrValue{"T": typeAttr(flt)}},
	}
	sig := func(in, inName string, inType typespb.DataType, inDims []int64, out, outName string, outType typespb.DataType, outDims []int64) *corepb.SignatureDef {
		return &corepb.SignatureDef{
			Inputs:     map[string]*corepb.TensorInfo{in: tensorInfo(inName, inType, inDims...)},
			Outputs:    map[string]*corepb.TensorInfo{out: tensorInfo(outName, outType, outDims...)},
			MethodName: "tensorflow/serving/predict",
		}
	}
	sm := &corepb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*corepb.MetaGraphDef{{
		MetaInfoDef: &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "2.21.0"},
		GraphDef:    &graphpb.GraphDef{Node: nodes, Versions: &versionspb.VersionDef{Producer: 1882}},
		SignatureDef: map[string]*corepb.SignatureDef{
			"serving_default": sig("x", "x:0", flt, []int64{-1}, "y", "y:0", flt, []int64{-1}),
			"read":            sig("path", "path:0", str, nil, "contents", "read_file:0", str, nil),
			"printing":        sig("x", "x:0", flt, []int64{-1}, "y", "printed:0", flt, []int64{-1}),
		},
	}}}
	data, err := proto.Marshal(sm)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "unsafe", "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func unsafeRefusal(op, node string) string {
	return "op " + op + ` (node "` + node + `" in the graph) is not allowed: it can read or write files or reach outside the process; pass --allow-op ` + op + " to accept it"
}

// TestUnsafeOpsRefused: every command that runs a signature refuses an unsafe op reachable
// from it before loading the model, naming the first in (op, function, node) order;
// predict and serve-stdio check every signature a request may name, the other commands
// only theirs.
func TestUnsafeOpsRefused(t *testing.T) {
	dir := unsafeModel(t)
	png := writePNG(t, t.TempDir(), "one.png", 8)
	printRefusal := unsafeRefusal("PrintV2", "log")
	// ReadFile has a file_inputs entry: its path comes from the request, which the loader
	// does not feed.
	readRefusal := `op ReadFile (node "read_file" in the graph) is not allowed: its file name (input 0) is not a path the loader feeds inside the version folder; pass --allow-op ReadFile to accept it`
	base := []string{"--model", dir, "--skip-verification"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"predict"}, printRefusal},
		{[]string{"predict", "--allow-op", "PrintV2"}, readRefusal},
		{[]string{"predict", "--allow-op", "ReadFile"}, printRefusal},
		{[]string{"predict", "--allow-op=PrintV2", "--allow-op", "Print", "--signature", "serving_default"}, readRefusal},
		{[]string{"serve-stdio"}, printRefusal},
		{[]string{"serve-stdio", "--allow-op", "PrintV2"}, readRefusal},
		{[]string{"classify", "--signature", "read", png}, readRefusal},
		{[]string{"classify", "--signature", "printing", png}, printRefusal},
		{[]string{"generate", "--signature", "read", "--prefix", "a"}, readRefusal},
		{[]string{"bench", "--signature", "printing", "--seconds", "0.01", "--batch-sizes", "1"}, printRefusal},
	} {
		args := append(append([]string{c.args[0]}, base...), c.args[1:]...)
		code, stdout, stderr := runWithStdin(`{"inputs": {"x": [1.0]}}`+"\n", args...)
		checkExactRefusal(t, args, code, stdout, stderr, c.want)
	}
	// inspect runs nothing: it neither checks ops nor has the flag.
	if code, _, stderr := runWithStdin("", "inspect", "--model", dir); code != 0 {
		t.Errorf("inspect: exit %d: %s", code, stderr)
	}
	checkOneLineRefusal(t, []string{"inspect", "--model", dir, "--allow-op", "ReadFile"}, "unknown flag --allow-op")
}

// TestUnsafeOpsAllowed: --allow-op (repeatable) accepts exactly the ops it names; a
// command whose signature reaches no unsafe op needs none.
func TestUnsafeOpsAllowed(t *testing.T) {
	dir := unsafeModel(t)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("file contents\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	request, _ := json.Marshal(map[string]any{"signature_name": "read", "inputs": map[string]any{"path": secret}})
	args := []string{"predict", "--model", dir, "--skip-verification", "--allow-op", "PrintV2", "--allow-op", "ReadFile"}
	code, stdout, stderr := runWithStdin(string(request), args...)
	if want := `{"outputs": "file contents\n"}` + "\n"; code != 0 || stdout != want {
		t.Errorf("%q: exit %d, stdout %q (want %q), stderr %q", args, code, stdout, want, stderr)
	}
	// bench of the safe signature: only it is a root.
	args = []string{"bench", "--model", dir, "--skip-verification", "--seconds", "0.01", "--batch-sizes", "1"}
	if code, stdout, stderr := runWithStdin("", args...); code != 0 || !strings.Contains(stdout, `"signature":"serving_default"`) {
		t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
	}
}

// TestUnsafeOpsTrain: train checks its train and variables signatures.
func TestUnsafeOpsTrain(t *testing.T) {
	src := needModel(t, "affine")
	srcDir, err := model.ResolveVersionDir(src, 0)
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(t.TempDir(), "affine", "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"saved_model.pb", "manifest.json"} {
		data, err := os.ReadFile(filepath.Join(srcDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, err := model.ReadInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Training struct {
			Train   string   `json:"train_signature"`
			Vars    string   `json:"variables_signature"`
			Loss    string   `json:"loss_output"`
			Columns []string `json:"columns"`
		} `json:"training"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(data, &man); err != nil || info.Serve.Signatures[man.Training.Train] == nil {
		t.Skipf("models/affine has no usable training section (%v)", err)
	}
	csv := filepath.Join(t.TempDir(), "data.csv")
	row := strings.TrimSuffix(strings.Repeat("1,", len(man.Training.Columns)), ",")
	if err := os.WriteFile(csv, []byte(strings.Join(man.Training.Columns, ",")+"\n"+row+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "--model", dir, "--skip-verification", "--data", csv, "--steps", "1"}

	// The copy as it is passes the check.
	keys := []string{man.Training.Train, man.Training.Vars}
	if err := model.CheckOps(info, model.FormatSavedModel, keys, nil); err != nil {
		t.Fatalf("the unchanged train signature is refused: %v", err)
	}
	// A WriteFile the loss output depends on (through a control input) is refused.
	pb := filepath.Join(dir, "saved_model.pb")
	raw, _ := os.ReadFile(pb)
	var sm corepb.SavedModel
	if err := proto.Unmarshal(raw, &sm); err != nil {
		t.Fatal(err)
	}
	for _, mg := range sm.MetaGraphs {
		loss := mg.SignatureDef[man.Training.Train].GetOutputs()[man.Training.Loss].GetName()
		lossNode := strings.SplitN(loss, ":", 2)[0]
		for _, n := range mg.GraphDef.Node {
			if n.Name == lossNode {
				n.Input = append(n.Input, "^go_consumer_test_write")
			}
		}
		mg.GraphDef.Node = append(mg.GraphDef.Node, &nodepb.NodeDef{Name: "go_consumer_test_write", Op: "WriteFile"})
	}
	if raw, err = proto.Marshal(&sm); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runWithStdin("", args...)
	checkExactRefusal(t, args, code, stdout, stderr, unsafeRefusal("WriteFile", "go_consumer_test_write"))
}
