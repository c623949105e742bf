// Package opscan is the graph-level unsafe-op scan of the Go consumer (tests/CONTRACT.md,
// "Unsafe ops"): pure functions over TensorFlow's GraphDef and MetaGraphDef protos that
// list what running a set of roots can execute and pick out the ops that can read or write
// files or reach outside the process. It creates no TensorFlow session and reads no file;
// model.CheckOps finds the graphs and roots of a command and calls it.
//
// ReachableOps is the walk: from the roots it follows node inputs (data and control)
// transitively, and every reached node brings in the library functions it refers to (its
// op, func and list(func) attrs), whose nodes are all reached in turn. RootGroups gives the
// roots of a SavedModel's MetaGraphDef (the signatures run, the loader's init op, the
// saver's restore op), each with the tensors the loader feeds while it runs them.
// UnsafeUses applies the dataflow rule (fileflow.go) to the uses of each group: a reached
// node whose op is in FileInputs is exempt when each of its listed file-name inputs traces,
// through PureOps, to a tensor that every group reaching the node feeds; FirstRefused
// picks the use to refuse, unless --allow-op names its op.
//
// UnsafeOps, FileInputs and PureOps (unsafeops_gen.go) are tests/cases/unsafe_ops.json's
// "ops", "file_inputs" and "pure_ops", generated into the binary so that it runs alone; the
// test TestGeneratedUnsafeOpsAreCurrent fails when the generated file is stale.
package opscan

//go:generate go run ../shareddata/generate -root ../../.. -from unsafe_ops -out unsafeops_gen.go -pkg opscan

import (
	"slices"
	"sort"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// InitOpSignature is the signature key whose outputs a SavedModel runs when it is loaded.
const InitOpSignature = "__saved_model_init_op"

var unsafeOpSet = func() map[string]bool {
	set := make(map[string]bool, len(UnsafeOps))
	for _, op := range UnsafeOps {
		set[op] = true
	}
	return set
}()

// IsUnsafeOp reports whether op is one of UnsafeOps.
func IsUnsafeOp(op string) bool { return unsafeOpSet[op] }

// isPureOp reports whether op is one of PureOps.
func isPureOp(op string) bool { return slices.Contains(PureOps, op) }

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

// Refusal returns the contract's refusal of this use, the catalog's op_not_allowed
// (FAILED_PRECONDITION):
//
//	op <Op> (node "<node>" in function "<fn>") is not allowed: it can read or write files or reach outside the process; pass --allow-op <Op> to accept it
//
// with "in the graph" instead of `in function "<fn>"` for a node of the graph itself.
func (u OpUse) Refusal() error {
	return status.OpNotAllowed(u.Op, u.Node, u.where())
}

// where names the use's graph in a refusal: "the graph" or `function "<fn>"`.
func (u OpUse) where() string {
	if u.Function == "" {
		return "the graph"
	}
	return `function "` + u.Function + `"`
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

// Root groups of the unsafe-op scan (tests/CONTRACT.md, "Roots: what runs").
const (
	// GroupSignature roots the outputs of the signatures a command runs; nothing is fed.
	GroupSignature = "signature"
	// GroupInit roots what the loader runs as the init op; the asset tensors are fed.
	GroupInit = "init"
	// GroupRestore roots the saver's restore op; its filename tensor and the assets are fed.
	GroupRestore = "restore"
)

// Collections whose nodes the loader runs as the init op, and the one holding AssetFileDefs
// when the MetaGraphDef has no asset_file_def.
const (
	mainOpCollection       = "saved_model_main_op"
	legacyInitOpCollection = "legacy_init_op"
	assetsCollection       = "saved_model_assets"
)

// RootGroups returns the three root groups of a SavedModel's MetaGraphDef when the
// signatures keys are run, each with the tensors the loader feeds while running it:
//
//   - GroupSignature: the outputs of the keys' SignatureDefs; nothing fed.
//   - GroupInit: the outputs of the __saved_model_init_op signature and every node of the
//     saved_model_main_op and legacy_init_op collections (node_list); the asset tensors fed.
//   - GroupRestore: saver_def.restore_op_name; saver_def.filename_tensor_name and the asset
//     tensors fed.
//
// All are taken whether or not a loader would run them. The asset tensors are those of
// AssetTensors.
func RootGroups(mg *corepb.MetaGraphDef, keys []string) []RootGroup {
	sigOutputs := func(keys ...string) []string {
		var roots []string
		for _, key := range keys {
			sd := mg.GetSignatureDef()[key]
			for _, alias := range sortedKeys(sd.GetOutputs()) {
				roots = appendTensorNames(roots, sd.GetOutputs()[alias])
			}
		}
		return roots
	}
	assets := AssetTensors(mg)
	init := sigOutputs(InitOpSignature)
	for _, c := range []string{mainOpCollection, legacyInitOpCollection} {
		init = append(init, mg.GetCollectionDef()[c].GetNodeList().GetValue()...)
	}
	var restoreRoots, restoreFed []string
	if sd := mg.GetSaverDef(); sd != nil {
		if sd.GetRestoreOpName() != "" {
			restoreRoots = []string{sd.GetRestoreOpName()}
		}
		if sd.GetFilenameTensorName() != "" {
			restoreFed = []string{sd.GetFilenameTensorName()}
		}
	}
	return []RootGroup{
		{Name: GroupSignature, Roots: sigOutputs(keys...)},
		{Name: GroupInit, Roots: init, Fed: assets},
		{Name: GroupRestore, Roots: restoreRoots, Fed: append(restoreFed, assets...)},
	}
}

// AssetTensors returns the tensors the loader feeds with a path inside the version folder's
// assets/: the tensor_info names of mg's asset_file_def entries or, when it has none, of the
// AssetFileDefs packed as google.protobuf.Any in the saved_model_assets collection, keeping
// only those whose filename is a clean relative path (see cleanRelative).
func AssetTensors(mg *corepb.MetaGraphDef) []string {
	defs := mg.GetAssetFileDef()
	if len(defs) == 0 {
		for _, a := range mg.GetCollectionDef()[assetsCollection].GetAnyList().GetValue() {
			var def corepb.AssetFileDef
			if a.MessageIs(&def) && a.UnmarshalTo(&def) == nil {
				defs = append(defs, &def)
			}
		}
	}
	var names []string
	for _, d := range defs {
		if cleanRelative(d.GetFilename()) && d.GetTensorInfo().GetName() != "" {
			names = append(names, d.GetTensorInfo().GetName())
		}
	}
	return names
}

// cleanRelative reports whether name is a clean relative path: not empty, no leading '/',
// no '\', and no empty, "." or ".." segment.
func cleanRelative(name string) bool {
	if name == "" || strings.ContainsRune(name, '\\') {
		return false
	}
	for _, seg := range strings.Split(name, "/") { // a leading '/' gives an empty segment
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
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

// sortedKeys returns the keys of m, sorted.
func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
