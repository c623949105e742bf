package opscan

import (
	"slices"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	functionpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// constString is a Const node holding the DT_STRING scalar value.
func constString(name, value string) *nodepb.NodeDef {
	return node(name, "Const", nil, map[string]any{"value": &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{
		Dtype: typespb.DataType_DT_STRING, StringVal: [][]byte{[]byte(value)},
	}}}})
}

// withAttr sets the string attr name of n.
func withAttr(n *nodepb.NodeDef, name, value string) *nodepb.NodeDef {
	n.Attr[name] = &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte(value)}}
	return n
}

// fn is a library function with input args.
func fn(name string, args []string, nodes ...*nodepb.NodeDef) *functionpb.FunctionDef {
	f := function(name, nodes...)
	for _, a := range args {
		f.Signature.InputArg = append(f.Signature.InputArg, &opdefpb.OpDef_ArgDef{Name: a})
	}
	return f
}

// metaGraph is a "serve" MetaGraphDef: its graph, signatures (key -> output tensor names) and
// node_list collections.
type metaGraph struct {
	nodes       []*nodepb.NodeDef
	fns         []*functionpb.FunctionDef
	sigs        map[string][]string
	collections map[string][]string
	saver       *corepb.SaverDef
	assets      map[string]string // tensor name -> filename, as asset_file_def
	anyAssets   map[string]string // the same, packed in the saved_model_assets collection
}

func (m metaGraph) build(t *testing.T) *corepb.MetaGraphDef {
	t.Helper()
	mg := &corepb.MetaGraphDef{
		GraphDef:      graph(m.nodes, m.fns...),
		SaverDef:      m.saver,
		SignatureDef:  map[string]*corepb.SignatureDef{},
		CollectionDef: map[string]*corepb.CollectionDef{},
	}
	for key, outs := range m.sigs {
		sd := &corepb.SignatureDef{Outputs: map[string]*corepb.TensorInfo{}}
		for i, name := range outs {
			sd.Outputs[string(rune('a'+i))] = &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: name}}
		}
		mg.SignatureDef[key] = sd
	}
	for key, names := range m.collections {
		mg.CollectionDef[key] = &corepb.CollectionDef{Kind: &corepb.CollectionDef_NodeList_{NodeList: &corepb.CollectionDef_NodeList{Value: names}}}
	}
	asset := func(tensor, file string) *corepb.AssetFileDef {
		return &corepb.AssetFileDef{Filename: file, TensorInfo: &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: tensor}}}
	}
	for tensor, file := range m.assets {
		mg.AssetFileDef = append(mg.AssetFileDef, asset(tensor, file))
	}
	if m.anyAssets != nil {
		list := &corepb.CollectionDef_AnyList{}
		for tensor, file := range m.anyAssets {
			a, err := anypb.New(asset(tensor, file))
			if err != nil {
				t.Fatal(err)
			}
			list.Value = append(list.Value, a)
		}
		mg.CollectionDef[assetsCollection] = &corepb.CollectionDef{Kind: &corepb.CollectionDef_AnyList_{AnyList: list}}
	}
	return mg
}

// refusal runs the scan of the SavedModel case with the signatures keys and returns the
// refusal's message, or "".
func (m metaGraph) refusal(t *testing.T, keys ...string) string {
	t.Helper()
	mg := m.build(t)
	u, bad := FirstRefused(UnsafeUses(mg.GetGraphDef(), RootGroups(mg, keys)), nil)
	if !bad {
		return ""
	}
	return u.Refusal().Error()
}

func generic(op, node, where string) string {
	return "op " + op + ` (node "` + node + `" in ` + where + ") is not allowed: it can read or write files or reach outside the process; pass --allow-op " + op + " to accept it"
}

func fileName(op, node, where string, input string) string {
	return "op " + op + ` (node "` + node + `" in ` + where + ") is not allowed: its file name (input " + input + ") is not a path the loader feeds inside the version folder; pass --allow-op " + op + " to accept it"
}

// tf2Init is the init shape tf.saved_model.save writes for a table of an asset: the asset
// path placeholder is assigned to a resource variable that the initialiser reads and passes
// to a function doing InitializeTableFromTextFileV2(handle, path). mutate changes a copy.
func tf2Init(mutate func(m *metaGraph)) metaGraph {
	m := metaGraph{
		nodes: []*nodepb.NodeDef{
			node("asset_path_initializer", "Placeholder", nil, nil),
			node("Variable", "VarHandleOp", nil, nil),
			node("Variable/Assign", "AssignVariableOp", []string{"Variable", "asset_path_initializer"}, nil),
			node("Variable/IsInitialized", "VarIsInitializedOp", []string{"Variable"}, nil),
			node("table", "HashTableV2", nil, nil),
			node("Variable/Read", "ReadVariableOp", []string{"Variable", "^Variable/Assign"}, nil),
			node("StatefulPartitionedCall", "StatefulPartitionedCall", []string{"table", "Variable/Read"},
				map[string]any{"f": "__inference__initializer_10"}),
			node("NoOp", "NoOp", []string{"^StatefulPartitionedCall"}, nil),
			node("x", "Placeholder", nil, nil),
			node("lookup", "LookupTableFindV2", []string{"table", "x"}, nil),
		},
		fns: []*functionpb.FunctionDef{
			fn("__inference__initializer_10", []string{"handle", "filepath"},
				node("id", "Identity", []string{"filepath"}, nil),
				node("init", "InitializeTableFromTextFileV2", []string{"handle", "id:output:0", "^id"}, nil)),
		},
		sigs:   map[string][]string{InitOpSignature: {"NoOp"}, "serving_default": {"lookup:0"}},
		assets: map[string]string{"asset_path_initializer:0": "vocab.txt"},
	}
	if mutate != nil {
		mutate(&m)
	}
	return m
}

// tf2Restore is the restore shape of tf.saved_model.save: saver_def's restore op is a
// StatefulPartitionedCall of __inference__traced_restore with the filename tensor, whose
// RestoreV2 reads file_prefix. mutate changes a copy.
func tf2Restore(mutate func(m *metaGraph)) metaGraph {
	m := metaGraph{
		nodes: []*nodepb.NodeDef{
			node("saver_filename", "Placeholder", nil, nil),
			node("Variable", "VarHandleOp", nil, nil),
			node("StatefulPartitionedCall_2", "StatefulPartitionedCall", []string{"saver_filename", "Variable"},
				map[string]any{"f": "__inference__traced_restore_50"}),
			node("StatefulPartitionedCall_1", "StatefulPartitionedCall", []string{"saver_filename", "Variable"},
				map[string]any{"f": "__inference__traced_save_40"}),
		},
		fns: []*functionpb.FunctionDef{
			fn("__inference__traced_restore_50", []string{"file_prefix", "variable"},
				constString("RestoreV2/tensor_names", "v/.ATTRIBUTES/VARIABLE_VALUE"),
				constString("RestoreV2/shape_and_slices", ""),
				node("RestoreV2", "RestoreV2", []string{"file_prefix", "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"}, nil),
				node("Identity", "Identity", []string{"RestoreV2:tensors:0"}, nil),
				node("AssignVariableOp", "AssignVariableOp", []string{"variable", "Identity:output:0"}, nil)),
			fn("__inference__traced_save_40", []string{"file_prefix", "variable"},
				node("SaveV2", "SaveV2", []string{"file_prefix"}, nil)),
		},
		sigs:  map[string][]string{"serving_default": {"Variable:0"}},
		saver: &corepb.SaverDef{FilenameTensorName: "saver_filename:0", SaveTensorName: "StatefulPartitionedCall_1:0", RestoreOpName: "StatefulPartitionedCall_2"},
	}
	if mutate != nil {
		mutate(&m)
	}
	return m
}

// TestUnsafeUsesLoaderRoots: the init (__saved_model_init_op, saved_model_main_op and
// legacy_init_op collections) and restore (saver_def.restore_op_name) groups are roots of
// the scan, and a file op among them is exempt only when its file name traces to a tensor
// the loader feeds.
func TestUnsafeUsesLoaderRoots(t *testing.T) {
	const graphWhere = "the graph"
	tf1Restore := func(extra ...*nodepb.NodeDef) metaGraph {
		return metaGraph{
			nodes: append([]*nodepb.NodeDef{
				node("save/Const", "Placeholder", nil, nil),
				constString("save/RestoreV2/tensor_names", "w"),
				constString("save/RestoreV2/shape_and_slices", ""),
				node("save/RestoreV2", "RestoreV2", []string{"save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"}, nil),
				node("save/Assign", "Assign", []string{"w", "save/RestoreV2"}, nil),
				node("save/restore_all", "NoOp", []string{"^save/Assign", "^redirect"}, nil),
			}, extra...),
			saver: &corepb.SaverDef{FilenameTensorName: "save/Const:0", RestoreOpName: "save/restore_all"},
		}
	}
	for _, c := range []struct {
		what string
		m    metaGraph
		keys []string
		want string
	}{
		{"main_op writes", metaGraph{
			nodes: []*nodepb.NodeDef{
				constString("path", "/tmp/x"),
				node("WriteFile", "WriteFile", []string{"path", "path"}, nil),
				node("main_op", "NoOp", []string{"^WriteFile"}, nil),
			},
			collections: map[string][]string{mainOpCollection: {"main_op"}},
		}, nil, generic("WriteFile", "WriteFile", graphWhere)},
		{"legacy_init_op reads a constant path", metaGraph{
			nodes: []*nodepb.NodeDef{
				constString("path", "/etc/passwd"),
				node("ReadFile", "ReadFile", []string{"path"}, nil),
				node("legacy_init_op", "NoOp", []string{"^ReadFile"}, nil),
			},
			collections: map[string][]string{legacyInitOpCollection: {"legacy_init_op:0"}},
		}, nil, fileName("ReadFile", "ReadFile", graphWhere, "0")},
		{"a collection naming no node", metaGraph{
			nodes:       []*nodepb.NodeDef{node("w", "WriteFile", nil, nil)},
			collections: map[string][]string{mainOpCollection: {"missing"}, "other": {"w"}},
		}, nil, ""},
		{"TF1 restore reads the filename tensor", tf1Restore(), nil, ""},
		{"TF1 restore also writes", tf1Restore(node("redirect", "WriteFile", []string{"save/Const", "save/Const"}, nil)),
			nil, generic("WriteFile", "redirect", graphWhere)},
		{"TF2 table of its own asset", tf2Init(nil), []string{"serving_default"}, ""},
		{"TF2 table, asset in the collection", tf2Init(func(m *metaGraph) {
			m.anyAssets, m.assets = m.assets, nil
		}), []string{"serving_default"}, ""},
		{"TF2 table reached from a signature", tf2Init(func(m *metaGraph) {
			m.sigs["read"] = []string{"StatefulPartitionedCall:0"}
		}), []string{"read"}, fileName("InitializeTableFromTextFileV2", "init", `function "__inference__initializer_10"`, "1")},
		{"TF2 table, asset outside the folder", tf2Init(func(m *metaGraph) {
			m.assets = map[string]string{"asset_path_initializer:0": "../vocab.txt"}
		}), nil, fileName("InitializeTableFromTextFileV2", "init", `function "__inference__initializer_10"`, "1")},
		{"TF2 table, variable shared by a function", tf2Init(func(m *metaGraph) {
			m.fns = append(m.fns, function("other", withAttr(node("h", "VarHandleOp", nil, nil), "shared_name", "Variable")))
		}), nil, fileName("InitializeTableFromTextFileV2", "init", `function "__inference__initializer_10"`, "1")},
		{"TF2 table, variable assigned another value", tf2Init(func(m *metaGraph) {
			m.nodes = append(m.nodes, constString("evil", "/etc/passwd"),
				node("Variable/Assign2", "AssignVariableOp", []string{"Variable", "evil"}, nil))
		}), nil, fileName("InitializeTableFromTextFileV2", "init", `function "__inference__initializer_10"`, "1")},
		{"TF2 table, variable used otherwise", tf2Init(func(m *metaGraph) {
			m.nodes = append(m.nodes, node("leak", "Identity", []string{"Variable"}, nil))
		}), nil, fileName("InitializeTableFromTextFileV2", "init", `function "__inference__initializer_10"`, "1")},
		{"TF2 table, function also a While body", tf2Init(func(m *metaGraph) {
			m.nodes = append(m.nodes, node("loop", "While", nil, map[string]any{"body": "__inference__initializer_10"}))
			m.sigs[InitOpSignature] = append(m.sigs[InitOpSignature], "loop")
		}), nil, fileName("InitializeTableFromTextFileV2", "init", `function "__inference__initializer_10"`, "1")},
		{"TF2 restore", tf2Restore(nil), []string{"serving_default"}, ""},
		{"TF2 restore, no filename tensor", tf2Restore(func(m *metaGraph) {
			m.saver.FilenameTensorName = ""
		}), nil, fileName("RestoreV2", "RestoreV2", `function "__inference__traced_restore_50"`, "0")},
		{"TF2 restore also called by a signature", tf2Restore(func(m *metaGraph) {
			m.sigs["restore"] = []string{"StatefulPartitionedCall_2:0"}
		}), []string{"restore"}, fileName("RestoreV2", "RestoreV2", `function "__inference__traced_restore_50"`, "0")},
		{"TF2 restore, file prefix joined with a name", tf2Restore(func(m *metaGraph) {
			f := m.fns[0]
			f.NodeDef = append(f.NodeDef, constString("part", "_temp_part"),
				withAttr(node("join", "StringJoin", []string{"file_prefix", "part:output:0"}, nil), "separator", "."),
				node("shard", "ShardedFilename", []string{"join:output:0", "num", "num"}, nil),
				node("r2", "RestoreV2", []string{"shard:filename:0"}, nil))
		}), nil, ""},
		{"TF2 restore, joined with a path", tf2Restore(func(m *metaGraph) {
			f := m.fns[0]
			f.NodeDef = append(f.NodeDef, constString("part", "../../etc"),
				node("join", "StringJoin", []string{"file_prefix", "part:output:0"}, nil),
				node("r2", "RestoreV2", []string{"join:output:0"}, nil))
		}), nil, fileName("RestoreV2", "r2", `function "__inference__traced_restore_50"`, "0")},
		{"TF2 restore, separator is a path", tf2Restore(func(m *metaGraph) {
			f := m.fns[0]
			f.NodeDef = append(f.NodeDef, withAttr(node("join", "StringJoin", []string{"file_prefix"}, nil), "separator", "/"),
				node("r2", "RestoreV2", []string{"join:output:0"}, nil))
		}), nil, fileName("RestoreV2", "r2", `function "__inference__traced_restore_50"`, "0")},
		{"restore and init reach one reader of the filename tensor", tf2Restore(func(m *metaGraph) {
			m.collections = map[string][]string{mainOpCollection: {"StatefulPartitionedCall_2"}}
		}), nil, fileName("RestoreV2", "RestoreV2", `function "__inference__traced_restore_50"`, "0")},
		{"a cycle of pure ops", metaGraph{
			nodes: []*nodepb.NodeDef{
				node("saver_filename", "Placeholder", nil, nil),
				node("a", "Identity", []string{"b"}, nil),
				node("b", "Identity", []string{"a"}, nil),
				node("restore", "RestoreV2", []string{"a"}, nil),
			},
			saver: &corepb.SaverDef{FilenameTensorName: "saver_filename", RestoreOpName: "restore"},
		}, nil, fileName("RestoreV2", "restore", graphWhere, "0")},
		{"too few inputs", metaGraph{
			nodes: []*nodepb.NodeDef{node("init", "InitializeTableFromTextFileV2", []string{"^x"}, nil)},
			sigs:  map[string][]string{InitOpSignature: {"init"}},
		}, nil, fileName("InitializeTableFromTextFileV2", "init", graphWhere, "1")},
	} {
		if got := c.m.refusal(t, c.keys...); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.what, got, c.want)
		}
	}
}

// TestAssetTensors: asset_file_def wins over the saved_model_assets collection; only clean
// relative file names count.
func TestAssetTensors(t *testing.T) {
	mg := metaGraph{
		assets:    map[string]string{"a:0": "vocab.txt"},
		anyAssets: map[string]string{"b:0": "other.txt"},
	}.build(t)
	if got := AssetTensors(mg); !slices.Equal(got, []string{"a:0"}) {
		t.Errorf("AssetTensors = %q; want [a:0]", got)
	}
	mg = metaGraph{anyAssets: map[string]string{"b:0": "sub/other.txt"}}.build(t)
	if got := AssetTensors(mg); !slices.Equal(got, []string{"b:0"}) {
		t.Errorf("AssetTensors (collection) = %q; want [b:0]", got)
	}
	for name, clean := range map[string]bool{
		"vocab.txt": true, "a/b.txt": true, "..a": true,
		"": false, "/etc/x": false, `a\b`: false, "a//b": false, "a/": false, "./a": false, "a/../b": false, "..": false,
	} {
		if cleanRelative(name) != clean {
			t.Errorf("cleanRelative(%q) = %v", name, !clean)
		}
	}
}

// TestPureOpsHandled: every op of PureOps has a condition (tracer.pure): its output traces
// through it in the simplest graph.
func TestPureOpsHandled(t *testing.T) {
	for _, op := range PureOps {
		nodes := []*nodepb.NodeDef{
			node("fed", "Placeholder", nil, nil),
			node("pure", op, []string{"fed"}, nil),
		}
		if op == "ReadVariableOp" {
			nodes = append(nodes, node("v", "VarHandleOp", nil, nil),
				node("assign", "AssignVariableOp", []string{"v", "fed"}, nil))
			nodes[1].Input = []string{"v"}
		}
		fl := newFlow(graph(nodes), nil)
		got, ok := fl.tracer(map[string]bool{"fed:0": true}).input("", "pure:0")
		if !ok || got != "fed:0" {
			t.Errorf("%s: traces to %q, %v; want fed:0", op, got, ok)
		}
	}
}
