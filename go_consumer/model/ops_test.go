package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	functionpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// The scan itself (the walk, the root groups, the dataflow rule) is tested in
// internal/opscan; these tests check that CheckOps finds the graphs and roots of a command.

// node builds a NodeDef; attrs maps an attr name to a function name (type func) or to a
// []string of function names (type list(func)).
func node(name, op string, inputs []string, attrs map[string]any) *nodepb.NodeDef {
	n := &nodepb.NodeDef{Name: name, Op: op, Input: inputs, Attr: map[string]*attrpb.AttrValue{}}
	for k, v := range attrs {
		n.Attr[k] = funcAttr(v)
	}
	return n
}

func funcAttr(v any) *attrpb.AttrValue {
	switch v := v.(type) {
	case string:
		return &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: v}}}
	case []string:
		list := &attrpb.AttrValue_ListValue{}
		for _, f := range v {
			list.Func = append(list.Func, &attrpb.NameAttrList{Name: f})
		}
		return &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: list}}
	case *attrpb.AttrValue:
		return v
	}
	panic("bad attr")
}

func function(name string, nodes ...*nodepb.NodeDef) *functionpb.FunctionDef {
	return &functionpb.FunctionDef{Signature: &opdefpb.OpDef{Name: name}, NodeDef: nodes}
}

func graph(nodes []*nodepb.NodeDef, fns ...*functionpb.FunctionDef) *graphpb.GraphDef {
	return &graphpb.GraphDef{Node: nodes, Library: &functionpb.FunctionDefLibrary{Function: fns}}
}

// writeOpsModel writes <tmp>/m/1 with a saved_model.pb whose "serve" MetaGraphDef has the
// graph g and the signatures (key -> output tensor names), plus the manifest.json entries
// of frozen graphs (key -> GraphDef and output tensor name) and their .pb files.
func writeOpsModel(t *testing.T, g *graphpb.GraphDef, sigs map[string][]string, saver *corepb.SaverDef, frozen map[string]*graphpb.GraphDef, frozenOut string) *Info {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m", "1")
	mg := &corepb.MetaGraphDef{
		MetaInfoDef:  &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{ServeTag}},
		GraphDef:     g,
		SaverDef:     saver,
		SignatureDef: map[string]*corepb.SignatureDef{},
	}
	for key, outs := range sigs {
		sd := &corepb.SignatureDef{Outputs: map[string]*corepb.TensorInfo{}}
		for i, name := range outs {
			sd.Outputs[string(rune('a'+i))] = &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: name}, Dtype: 1}
		}
		mg.SignatureDef[key] = sd
	}
	// A MetaGraphDef with other tags comes first: only the "serve" one counts.
	other := &corepb.MetaGraphDef{
		MetaInfoDef:  &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{"train"}},
		GraphDef:     graph([]*nodepb.NodeDef{node("bad", "WriteFile", nil, nil)}),
		SignatureDef: map[string]*corepb.SignatureDef{"serving_default": {Outputs: map[string]*corepb.TensorInfo{"o": {Encoding: &corepb.TensorInfo_Name{Name: "bad:0"}}}}},
	}
	data, err := proto.Marshal(&corepb.SavedModel{MetaGraphs: []*corepb.MetaGraphDef{other, mg}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, SavedModelFile), string(data))
	sigsJSON := map[string]any{}
	for key, fg := range frozen {
		b, err := proto.Marshal(fg)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "frozen", key+".pb"), string(b))
		sigsJSON[key] = map[string]any{"frozen": map[string]any{
			"graph":   "frozen/" + key + ".pb",
			"inputs":  map[string]any{},
			"outputs": map[string]any{"o": map[string]any{"name": frozenOut, "dtype": "DT_FLOAT", "shape": []int{}}},
		}}
	}
	if frozen != nil {
		m, _ := json.Marshal(map[string]any{"signatures": sigsJSON})
		writeFile(t, filepath.Join(dir, ManifestFile), string(m))
	}
	info, err := ReadInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func checkOpsResult(t *testing.T, what string, err error, want string) {
	t.Helper()
	got := ""
	if err != nil {
		got = err.Error()
		if code := status.CodeOf(err); code != status.FailedPrecondition {
			t.Errorf("%s: %s %T is not a FAILED_PRECONDITION refusal", what, code, err)
		}
	}
	if want == "" && got != "" || want != "" && !strings.HasPrefix(got, want) {
		t.Errorf("%s: CheckOps = %q; want %q", what, got, want)
	}
}

// TestCheckOpsSavedModel: the roots are the outputs of the keys' signatures and of
// __saved_model_init_op; the saver's restore op is a root, whose RestoreV2 of the fed
// filename tensor is exempt, and its save op is not; --allow-op accepts an op by name.
func TestCheckOpsSavedModel(t *testing.T) {
	g := graph(
		[]*nodepb.NodeDef{
			node("x", "Placeholder", nil, nil),
			node("safe", "Identity", []string{"x"}, nil),
			node("read", "StatefulPartitionedCall", []string{"x"}, map[string]any{"f": "reader"}),
			node("init", "NoOp", []string{"^table_init"}, nil),
			node("table_init", "InitializeTableFromTextFileV2", []string{"x"}, nil),
			node("saver_filename", "Placeholder", nil, nil),
			node("save", "SaveV2", []string{"saver_filename"}, nil),
			node("restore", "RestoreV2", []string{"saver_filename"}, nil),
		},
		function("reader", node("ReadFile", "ReadFile", nil, nil)),
	)
	saver := &corepb.SaverDef{FilenameTensorName: "saver_filename:0", SaveTensorName: "save:0", RestoreOpName: "restore"}
	info := writeOpsModel(t, g, map[string][]string{
		"serving_default": {"safe:0"},
		"read":            {"read:0", "safe:0"},
	}, saver, nil, "")
	noInit := writeOpsModel(t, g, map[string][]string{"serving_default": {"safe:0"}, "read": {"read:0"}}, saver, nil, "")
	withInit := writeOpsModel(t, g, map[string][]string{"serving_default": {"safe:0"}, InitOpSignature: {"init"}}, saver, nil, "")

	if got := info.RunKeys(FormatSavedModel); !reflect.DeepEqual(got, []string{"read", "serving_default"}) {
		t.Errorf("RunKeys = %q", got)
	}
	const readMsg = `op ReadFile (node "ReadFile" in function "reader") is not allowed`
	const initMsg = `op InitializeTableFromTextFileV2 (node "table_init" in the graph) is not allowed`
	for _, c := range []struct {
		what    string
		info    *Info
		keys    []string
		allowed []string
		want    string
	}{
		{"serving_default", info, []string{"serving_default"}, nil, ""},
		{"every key", info, info.RunKeys(FormatSavedModel), nil, readMsg},
		{"read", noInit, []string{"read"}, nil, readMsg},
		{"read, allowed", noInit, []string{"read"}, []string{"ReadFile"}, ""},
		{"no keys", info, nil, nil, ""},
		{"unknown key", info, []string{"nope"}, nil, ""},
		{"init op", withInit, []string{"serving_default"}, nil, initMsg},
		{"init op, no keys", withInit, nil, nil, initMsg},
		{"init op, allowed", withInit, []string{"serving_default"}, []string{"InitializeTableFromTextFileV2"}, ""},
	} {
		checkOpsResult(t, c.what, CheckOps(c.info, FormatSavedModel, c.keys, c.allowed), c.want)
	}

	// An unparsable saved_model.pb is a refusal.
	writeFile(t, filepath.Join(info.Dir, SavedModelFile), "\xff\xff\xff")
	checkOpsResult(t, "damaged", CheckOps(info, FormatSavedModel, []string{"serving_default"}, nil), info.Dir+"/saved_model.pb is not a SavedModel")
}

// TestCheckOpsFrozen: with --format frozen each key's frozen GraphDef is walked from the
// manifest's output tensor names.
func TestCheckOpsFrozen(t *testing.T) {
	frozenSafe := graph([]*nodepb.NodeDef{
		node("out", "Identity", []string{"c"}, nil),
		node("c", "Const", nil, nil),
		node("unused", "WriteFile", nil, nil),
	})
	frozenBad := graph(
		[]*nodepb.NodeDef{node("out", "While", nil, map[string]any{"cond": "c", "body": "b"})},
		function("c"),
		function("b", node("p", "Print", nil, nil)),
	)
	info := writeOpsModel(t, graph(nil), map[string][]string{"serving_default": {"out:0"}, "bad": {"out:0"}}, nil,
		map[string]*graphpb.GraphDef{"serving_default": frozenSafe, "bad": frozenBad}, "out:0")
	if got := info.RunKeys(FormatFrozen); !reflect.DeepEqual(got, []string{"bad", "serving_default"}) {
		t.Errorf("RunKeys(frozen) = %q", got)
	}
	const printMsg = `op Print (node "p" in function "b") is not allowed: it can read or write files or reach outside the process; pass --allow-op Print to accept it`
	checkOpsResult(t, "safe", CheckOps(info, FormatFrozen, []string{"serving_default"}, nil), "")
	checkOpsResult(t, "bad", CheckOps(info, FormatFrozen, []string{"bad"}, nil), printMsg)
	checkOpsResult(t, "every key", CheckOps(info, FormatFrozen, info.RunKeys(FormatFrozen), nil), printMsg)
	checkOpsResult(t, "allowed", CheckOps(info, FormatFrozen, info.RunKeys(FormatFrozen), []string{"Print"}), "")
	// The SavedModel's own graph is empty: nothing to refuse in that format.
	checkOpsResult(t, "saved_model", CheckOps(info, FormatSavedModel, info.RunKeys(FormatSavedModel), nil), "")

	if err := os.Remove(filepath.Join(info.Dir, "frozen", "bad.pb")); err != nil {
		t.Fatal(err)
	}
	checkOpsResult(t, "missing", CheckOps(info, FormatFrozen, []string{"bad"}, nil), `cannot read the frozen graph of signature "bad"`)
}
