package model

// Refusing unsafe ops (tests/CONTRACT.md, "Unsafe ops"). A SavedModel is a program: after
// the version folder is verified and before any TensorFlow session is created, the ops
// reachable from what a command will run are listed, and the first op of UnsafeOps that the
// user did not accept with --allow-op is refused. ReachableOps is the walk itself, a pure
// function over the GraphDef protos; CheckOps finds the graphs and roots of a command.

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// AllowOpFlag is the repeatable command-line flag that accepts one unsafe op by name.
const AllowOpFlag = "--allow-op"

// InitOpSignature is the signature key whose outputs a SavedModel runs when it is loaded.
const InitOpSignature = "__saved_model_init_op"

// UnsafeOps are the ops refused by default when they are reachable from what a command
// runs: they read, write or list files, run Python, print or send data off the process, or
// open databases and readers. It is tests/cases/unsafe_ops.json's "ops", in that order (a
// unit test checks that the two are equal), embedded so that the binary runs alone.
var UnsafeOps = []string{
	"CacheDataset", "CacheDatasetV2", "CloseSummaryWriter", "CreateSummaryDbWriter",
	"CreateSummaryFileWriter", "CSVDataset", "CSVDatasetV2", "DatasetToTFRecord",
	"DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "EagerPyFunc",
	"ExperimentalCSVDataset", "ExperimentalDatasetToTFRecord", "ExperimentalLMDBDataset",
	"ExperimentalSqlDataset", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2",
	"FixedLengthRecordReader", "FixedLengthRecordReaderV2", "FlushSummaryWriter",
	"ImmutableConst", "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
	"LMDBDataset", "LMDBReader", "LoadAndRemapMatrix", "LoadDataset", "MatchingFiles",
	"MatchingFilesDataset", "MergeV2Checkpoints", "Print", "PrintV2", "PyFunc",
	"PyFuncStateless", "ReadFile", "Restore", "RestoreSlice", "RestoreV2", "Save",
	"SaveDataset", "SaveDatasetV2", "SaveSlices", "SaveV2", "SnapshotDataset",
	"SnapshotDatasetV2", "SqlDataset", "TextLineDataset", "TextLineReader", "TextLineReaderV2",
	"TFRecordDataset", "TFRecordDatasetV2", "TFRecordReader", "TFRecordReaderV2",
	"WholeFileReader", "WholeFileReaderV2", "WriteAudioSummary", "WriteFile",
	"WriteGraphSummary", "WriteHistogramSummary", "WriteImageSummary", "WriteRawProtoSummary",
	"WriteScalarSummary", "WriteSummary",
}

var unsafeOpSet = func() map[string]bool {
	set := make(map[string]bool, len(UnsafeOps))
	for _, op := range UnsafeOps {
		set[op] = true
	}
	return set
}()

// IsUnsafeOp reports whether op is one of UnsafeOps.
func IsUnsafeOp(op string) bool { return unsafeOpSet[op] }

// OpUse is one node reached by ReachableOps.
type OpUse struct {
	// Op is the node's op, e.g. "ReadFile" or the name of a library function.
	Op string
	// Function is the name of the library function whose node_def the node is, or "" for a
	// node of the graph itself.
	Function string
	// Node is the node's name.
	Node string
}

// less orders uses by (Op, Function, Node); the graph ("") sorts before every function.
func (u OpUse) less(v OpUse) bool {
	if u.Op != v.Op {
		return u.Op < v.Op
	}
	if u.Function != v.Function {
		return u.Function < v.Function
	}
	return u.Node < v.Node
}

// Refusal returns the contract's refusal of this use, an *Error:
//
//	op <Op> (node "<node>" in function "<fn>") is not allowed: it can read or write files or reach outside the process; pass --allow-op <Op> to accept it
//
// with "in the graph" instead of `in function "<fn>"` for a node of the graph itself.
func (u OpUse) Refusal() error {
	where := "the graph"
	if u.Function != "" {
		where = "function " + tfjson.Quote(u.Function)
	}
	return errorf("op %s (node %s in %s) is not allowed: it can read or write files or reach outside the process; pass %s %s to accept it",
		u.Op, tfjson.Quote(u.Node), where, AllowOpFlag, u.Op)
}

// ReachableOps lists every node of graph that running the roots can execute, sorted by
// (Op, Function, Node) without duplicates. roots are tensor or node names of the graph
// ("name", "name:N" or "^name"); names that are not in the graph are ignored.
//
// From the roots the walk follows each graph node's inputs ("name", "name:N" and control
// inputs "^name") transitively. Every reached node, in the graph or in a function, brings in
// every function of graph.library it refers to: its op when the op names a library
// function, and every attr value of type func or list(func) (the f of PartitionedCall and
// StatefulPartitionedCall, then_branch, else_branch, cond, body, ...; including func values
// nested in the attrs of such a value). A function brings in all of its node_defs, which
// are reached nodes in turn; each function is listed once, so recursive functions end.
func ReachableOps(graph *graphpb.GraphDef, roots []string) []OpUse {
	nodes := make(map[string]*nodepb.NodeDef, len(graph.GetNode()))
	for _, n := range graph.GetNode() {
		if _, dup := nodes[n.GetName()]; !dup { // TensorFlow refuses duplicates; keep the first
			nodes[n.GetName()] = n
		}
	}
	w := &opWalk{
		functions: map[string]*functionNodes{},
		seenNodes: map[string]bool{},
		seenFns:   map[string]bool{},
	}
	for _, f := range graph.GetLibrary().GetFunction() {
		name := f.GetSignature().GetName()
		if _, dup := w.functions[name]; !dup {
			w.functions[name] = &functionNodes{nodes: f.GetNodeDef()}
		}
	}

	var stack []string
	push := func(input string) {
		name := nodeName(input)
		if nodes[name] != nil && !w.seenNodes[name] {
			w.seenNodes[name] = true
			stack = append(stack, name)
		}
	}
	for _, r := range roots {
		push(r)
	}
	for len(stack) > 0 {
		n := nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		w.uses = append(w.uses, OpUse{Op: n.GetOp(), Node: n.GetName()})
		for _, in := range n.GetInput() {
			push(in)
		}
		w.functionsOf(n)
	}
	// Function bodies are taken whole: every node_def of a reached function is reached.
	for len(w.pending) > 0 {
		name := w.pending[len(w.pending)-1]
		w.pending = w.pending[:len(w.pending)-1]
		for _, n := range w.functions[name].nodes {
			w.uses = append(w.uses, OpUse{Op: n.GetOp(), Function: name, Node: n.GetName()})
			w.functionsOf(n)
		}
	}

	sort.Slice(w.uses, func(i, j int) bool { return w.uses[i].less(w.uses[j]) })
	out := w.uses[:0]
	for i, u := range w.uses {
		if i == 0 || u != w.uses[i-1] {
			out = append(out, u)
		}
	}
	return out
}

type functionNodes struct {
	nodes []*nodepb.NodeDef
}

// opWalk is the state of one ReachableOps walk.
type opWalk struct {
	functions map[string]*functionNodes // graph.library by name
	seenNodes map[string]bool           // graph nodes reached
	seenFns   map[string]bool           // functions reached
	pending   []string                  // reached functions whose nodes are still to list
	uses      []OpUse
}

// functionsOf marks the library functions node n refers to as reached.
func (w *opWalk) functionsOf(n *nodepb.NodeDef) {
	w.reachFunction(n.GetOp())
	for _, v := range n.GetAttr() { // the order does not matter: the result is a sorted set
		w.attrFunctions(v)
	}
}

// attrFunctions marks the functions an attr value names: a func, or a list(func), and the
// func values in their own attrs.
func (w *opWalk) attrFunctions(v *attrpb.AttrValue) {
	if f := v.GetFunc(); f != nil {
		w.nameAttrList(f)
	}
	for _, f := range v.GetList().GetFunc() {
		w.nameAttrList(f)
	}
}

func (w *opWalk) nameAttrList(f *attrpb.NameAttrList) {
	w.reachFunction(f.GetName())
	for _, v := range f.GetAttr() {
		w.attrFunctions(v)
	}
}

func (w *opWalk) reachFunction(name string) {
	if _, ok := w.functions[name]; ok && !w.seenFns[name] {
		w.seenFns[name] = true
		w.pending = append(w.pending, name)
	}
}

// nodeName returns the node of an input or tensor name: "^name", "name:N" and "name" all
// name the node "name".
func nodeName(input string) string {
	input = strings.TrimPrefix(input, "^")
	if i := strings.LastIndexByte(input, ':'); i >= 0 {
		return input[:i]
	}
	return input
}

// FirstUnsafe returns the first use in uses (sorted as ReachableOps returns them) whose op
// is one of UnsafeOps and not in allowed.
func FirstUnsafe(uses []OpUse, allowed []string) (OpUse, bool) {
	for _, u := range uses {
		if IsUnsafeOp(u.Op) && !contains(allowed, u.Op) {
			return u, true
		}
	}
	return OpUse{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RunKeys returns the signature keys a request may name in format: for FormatSavedModel
// every signature of the "serve" MetaGraphDef that does not start with "__", for
// FormatFrozen every signature with a frozen graph in manifest.json. Sorted.
func (info *Info) RunKeys(format Format) []string {
	var keys []string
	if format == FormatFrozen {
		return sortedKeys(info.Frozen)
	}
	if info.Serve != nil {
		for _, k := range info.Serve.SignatureKeys() {
			if servable(k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// CheckOps refuses the first unsafe op that running the signatures keys in format can
// execute, unless allowed names it (see ReachableOps and OpUse.Refusal). It reads the graphs
// again from the version folder and creates no TensorFlow session.
//
// With FormatSavedModel the graph is the "serve" MetaGraphDef's and the roots are the
// outputs of each key's SignatureDef plus those of the __saved_model_init_op signature
// (run at load); the saver_def's ops are not roots. With FormatFrozen each key's frozen
// GraphDef is walked from manifest.json's output tensor names. Keys without a signature
// (or frozen graph) are skipped: planning them is refused elsewhere. Errors are *Error.
func CheckOps(info *Info, format Format, keys []string, allowed []string) error {
	if format == FormatFrozen {
		// All graphs are checked together: the op named is the first over all of them.
		var uses []OpUse
		for _, key := range keys {
			f := info.Frozen[key]
			if f == nil {
				continue
			}
			path := filepath.Join(info.Dir, filepath.FromSlash(f.Graph))
			data, err := os.ReadFile(path)
			if err != nil {
				return errorf("cannot read the frozen graph of signature %s: %v", tfjson.Quote(key), err)
			}
			var graph graphpb.GraphDef
			if err := proto.Unmarshal(data, &graph); err != nil {
				return errorf("%s is not a GraphDef: %v", path, err)
			}
			var roots []string
			for _, alias := range sortedKeys(f.Outputs) {
				roots = append(roots, f.Outputs[alias].Name)
			}
			uses = append(uses, ReachableOps(&graph, roots)...)
		}
		sort.SliceStable(uses, func(i, j int) bool { return uses[i].less(uses[j]) })
		if u, bad := FirstUnsafe(uses, allowed); bad {
			return u.Refusal()
		}
		return nil
	}

	pbPath := filepath.Join(info.Dir, SavedModelFile)
	data, err := os.ReadFile(pbPath)
	if err != nil {
		return errorf("cannot read %s: %v", pbPath, err)
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(data, &sm); err != nil {
		return errorf("%s is not a SavedModel: %v", pbPath, err)
	}
	mg := serveMetaGraph(&sm)
	if mg == nil {
		return nil // nothing can be loaded; Plan and Open refuse it
	}
	var roots []string
	for _, key := range append([]string{InitOpSignature}, keys...) {
		sd := mg.GetSignatureDef()[key]
		for _, alias := range sortedKeys(sd.GetOutputs()) {
			roots = appendTensorNames(roots, sd.GetOutputs()[alias])
		}
	}
	if u, bad := FirstUnsafe(ReachableOps(mg.GetGraphDef(), roots), allowed); bad {
		return u.Refusal()
	}
	return nil
}

// serveMetaGraph returns the first MetaGraphDef tagged exactly {"serve"}, the one ReadInfo
// describes and TensorFlow loads.
func serveMetaGraph(sm *corepb.SavedModel) *corepb.MetaGraphDef {
	for _, m := range sm.GetMetaGraphs() {
		if tags := m.GetMetaInfoDef().GetTags(); len(tags) == 1 && tags[0] == ServeTag {
			return m
		}
	}
	return nil
}

// appendTensorNames appends every tensor name of a TensorInfo: the dense name, the
// components of a sparse tensor, and those of a composite tensor, recursively.
func appendTensorNames(names []string, ti *corepb.TensorInfo) []string {
	if ti == nil {
		return names
	}
	if n := ti.GetName(); n != "" {
		names = append(names, n)
	}
	if coo := ti.GetCooSparse(); coo != nil {
		names = append(names, coo.GetValuesTensorName(), coo.GetIndicesTensorName(), coo.GetDenseShapeTensorName())
	}
	for _, c := range ti.GetCompositeTensor().GetComponents() {
		names = appendTensorNames(names, c)
	}
	return names
}
