package opscan

// The dataflow rule for file names (tests/CONTRACT.md, "Unsafe ops"): a reached node whose op
// is in FileInputs is exempt when each of its listed data inputs traces, through PureOps, to
// a tensor that every root group reaching the node feeds. UnsafeUses applies it to the uses
// ReachableOps lists from each group.

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// RootGroup is one group of roots of the unsafe-op scan: what one part of the program runs,
// and the tensors the loader feeds (with paths inside the version folder) while it runs.
type RootGroup struct {
	// Name is GroupSignature, GroupInit or GroupRestore.
	Name string
	// Roots are tensor or node names of the graph, as ReachableOps takes them.
	Roots []string
	// Fed are the tensor names fed while the roots run ("name" is "name:0").
	Fed []string
}

// UnsafeUse is a reached node whose op is one of UnsafeOps and that the dataflow rule does not
// exempt.
type UnsafeUse struct {
	OpUse
	// FileInput is the first data input listed in FileInputs for the op that does not trace
	// to a fed tensor, or -1 for an op without a FileInputs entry.
	FileInput int
}

// Refusal returns the contract's refusal of this use (FAILED_PRECONDITION): OpUse.Refusal
// for an op without a FileInputs entry, else the catalog's op_file_name_not_fed
//
//	op <Op> (node "<node>" in <where>) is not allowed: its file name (input <i>) is not a path the loader feeds inside the version folder; pass --allow-op <Op> to accept it
func (u UnsafeUse) Refusal() error {
	if u.FileInput < 0 {
		return u.OpUse.Refusal()
	}
	return status.OpFileNameNotFed(u.Op, u.Node, u.where(), strconv.Itoa(u.FileInput))
}

// FirstRefused returns the least use of uses in (Op, Function, Node) order whose op allowed
// does not name. uses may come from several graphs, in any order.
func FirstRefused(uses []UnsafeUse, allowed []string) (UnsafeUse, bool) {
	var first UnsafeUse
	found := false
	for _, u := range uses {
		if !slices.Contains(allowed, u.Op) && (!found || u.less(first.OpUse)) {
			first, found = u, true
		}
	}
	return first, found
}

// UnsafeUses returns the nodes of graph reached from any of groups (see ReachableOps) whose op
// is one of UnsafeOps and is not exempt, sorted by (Op, Function, Node).
//
// A node whose op has a FileInputs entry is exempt when every listed data input (control
// inputs are not counted) traces to a tensor fed by every group that reaches the node. An
// input traces to a fed tensor T when it is T, or an output of a pure op whose traced input
// traces to T under that op's condition (pureOps), or, inside a library function, one of
// the function's arguments when the function has at least one caller among the reached
// nodes and every reached node referring to it is a call whose data input at that index
// traces to T. A trace that comes back to a node or argument it is following traces to
// nothing.
func UnsafeUses(graph *graphpb.GraphDef, groups []RootGroup) []UnsafeUse {
	reached := map[OpUse]uint64{} // the groups (bits) reaching each use
	var order []OpUse
	for i, g := range groups {
		for _, u := range ReachableOps(graph, g.Roots) {
			if _, ok := reached[u]; !ok {
				order = append(order, u)
			}
			reached[u] |= 1 << i
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].less(order[j]) })

	fl := newFlow(graph, order)
	tracers := map[uint64]*tracer{}
	var out []UnsafeUse
	for _, u := range order {
		if !IsUnsafeOp(u.Op) {
			continue
		}
		indices, listed := FileInputs[u.Op]
		if !listed {
			out = append(out, UnsafeUse{OpUse: u, FileInput: -1})
			continue
		}
		mask := reached[u]
		tr := tracers[mask]
		if tr == nil {
			tr = fl.tracer(fedByAll(groups, mask))
			tracers[mask] = tr
		}
		n := fl.uses[u]
		for _, i := range indices {
			if _, ok := tr.dataInput(u.Function, n, i); !ok {
				out = append(out, UnsafeUse{OpUse: u, FileInput: i})
				break
			}
		}
	}
	return out
}

// fedByAll returns the tensors fed by every group of mask.
func fedByAll(groups []RootGroup, mask uint64) map[string]bool {
	var fed map[string]bool
	for i, g := range groups {
		if mask&(1<<i) == 0 {
			continue
		}
		mine := map[string]bool{}
		for _, t := range g.Fed {
			if fed == nil || fed[tensorName(t)] {
				mine[tensorName(t)] = true
			}
		}
		fed = mine
	}
	return fed
}

// tensorName returns the canonical name of a graph tensor: "name" is "name:0".
func tensorName(input string) string {
	if strings.IndexByte(input, ':') < 0 {
		return input + ":0"
	}
	return input
}

// funcInfo is a library function as the trace sees it.
type funcInfo struct {
	nodes map[string]*nodepb.NodeDef // by name, the first of each
	args  map[string]int             // input_arg name -> index
}

// funcRef is a reference of a reached node to a library function.
type funcRef struct {
	ctx  string // the function the node is in, "" for the graph
	node *nodepb.NodeDef
	call bool // a call: op names the function, or a (Stateful)PartitionedCall's f does
}

// flow holds what the traces of one graph look up.
type flow struct {
	graph     *graphpb.GraphDef
	nodes     map[string]*nodepb.NodeDef // graph nodes by name, the first of each
	functions map[string]*funcInfo
	uses      map[OpUse]*nodepb.NodeDef // every reached use's node
	refs      map[string][]funcRef      // function name -> the reached nodes referring to it
	varNames  map[string]int            // VarHandleOp shared_name -> count, graph and library
	handleUse map[string][]handleUse    // graph node name -> its data uses among graph nodes
}

// handleUse is one data input of a graph node naming another node.
type handleUse struct {
	node  *nodepb.NodeDef
	index int // among the node's data inputs
}

func newFlow(graph *graphpb.GraphDef, reached []OpUse) *flow {
	fl := &flow{
		graph:     graph,
		nodes:     map[string]*nodepb.NodeDef{},
		functions: map[string]*funcInfo{},
		uses:      map[OpUse]*nodepb.NodeDef{},
		refs:      map[string][]funcRef{},
		varNames:  map[string]int{},
		handleUse: map[string][]handleUse{},
	}
	byUse := func(fn string, n *nodepb.NodeDef) {
		u := OpUse{Op: n.GetOp(), Function: fn, Node: n.GetName()}
		if _, ok := fl.uses[u]; !ok {
			fl.uses[u] = n
		}
	}
	countVar := func(n *nodepb.NodeDef) {
		if n.GetOp() == "VarHandleOp" {
			name := string(n.GetAttr()["shared_name"].GetS())
			if name == "" {
				name = n.GetName()
			}
			fl.varNames[name]++
		}
	}
	for _, n := range graph.GetNode() {
		if _, dup := fl.nodes[n.GetName()]; !dup {
			fl.nodes[n.GetName()] = n
		}
		byUse("", n)
		countVar(n)
		j := 0
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				fl.handleUse[nodeName(in)] = append(fl.handleUse[nodeName(in)], handleUse{n, j})
				j++
			}
		}
	}
	for _, f := range graph.GetLibrary().GetFunction() {
		name := f.GetSignature().GetName()
		if _, dup := fl.functions[name]; dup {
			continue
		}
		fi := &funcInfo{nodes: map[string]*nodepb.NodeDef{}, args: map[string]int{}}
		for i, a := range f.GetSignature().GetInputArg() {
			if _, dup := fi.args[a.GetName()]; !dup {
				fi.args[a.GetName()] = i
			}
		}
		for _, n := range f.GetNodeDef() {
			if _, dup := fi.nodes[n.GetName()]; !dup {
				fi.nodes[n.GetName()] = n
			}
			byUse(name, n)
		}
		fl.functions[name] = fi
	}
	for _, f := range graph.GetLibrary().GetFunction() {
		for _, n := range f.GetNodeDef() {
			countVar(n)
		}
	}
	for _, u := range reached {
		fl.addRefs(u.Function, fl.uses[u])
	}
	return fl
}

// addRefs records the functions of the library that node n (in function ctx, "" for the
// graph) refers to, as calls or not (see funcRef).
func (fl *flow) addRefs(ctx string, n *nodepb.NodeDef) {
	ref := func(name string, call bool) {
		if _, ok := fl.functions[name]; ok {
			fl.refs[name] = append(fl.refs[name], funcRef{ctx: ctx, node: n, call: call})
		}
	}
	ref(n.GetOp(), true)
	callOp := n.GetOp() == "PartitionedCall" || n.GetOp() == "StatefulPartitionedCall"
	var walk func(v *attrpb.AttrValue, call bool)
	walk = func(v *attrpb.AttrValue, call bool) {
		funcs := v.GetList().GetFunc()
		if f := v.GetFunc(); f != nil {
			funcs = append(funcs, f)
		}
		for _, f := range funcs {
			ref(f.GetName(), call && f == v.GetFunc())
			for _, nested := range f.GetAttr() {
				walk(nested, false)
			}
		}
	}
	for k, v := range n.GetAttr() {
		walk(v, callOp && k == "f")
	}
}

// traceKey names what a trace follows: a node of the graph or of a function, or (arg >= 0)
// an argument of a function.
type traceKey struct {
	ctx  string
	node string
	arg  int
}

// traced is the result of a trace: the fed tensor reached, if ok.
type traced struct {
	tensor string
	ok     bool
}

// tracer traces inputs to the tensors of one set of fed tensors.
type tracer struct {
	fl     *flow
	fed    map[string]bool
	memo   map[traceKey]traced
	active map[traceKey]bool
}

func (fl *flow) tracer(fed map[string]bool) *tracer {
	return &tracer{fl: fl, fed: fed, memo: map[traceKey]traced{}, active: map[traceKey]bool{}}
}

// dataInput traces the data input i (control inputs not counted) of node n in ctx.
func (t *tracer) dataInput(ctx string, n *nodepb.NodeDef, i int) (string, bool) {
	in, ok := dataInput(n, i)
	if !ok {
		return "", false
	}
	return t.input(ctx, in)
}

// dataInput returns the data input i of n (control inputs not counted).
func dataInput(n *nodepb.NodeDef, i int) (string, bool) {
	for _, in := range n.GetInput() {
		if strings.HasPrefix(in, "^") {
			continue
		}
		if i == 0 {
			return in, true
		}
		i--
	}
	return "", false
}

// input traces an input string of a node in ctx (the graph when ""): a fed tensor itself, an
// output of a pure op, or an argument of the function ctx.
func (t *tracer) input(ctx string, in string) (string, bool) {
	if ctx == "" {
		if name := tensorName(in); t.fed[name] {
			return name, true
		}
		return t.node(ctx, t.fl.nodes[nodeName(in)])
	}
	fn := t.fl.functions[ctx]
	if i, ok := fn.args[in]; ok {
		return t.guarded(traceKey{ctx: ctx, arg: i}, func() (string, bool) { return t.arg(ctx, i) })
	}
	name, _, _ := strings.Cut(in, ":") // "node:output:index" names the node "node"
	return t.node(ctx, fn.nodes[name])
}

// node traces an output of node n in ctx: n must be one of PureOps whose condition holds.
func (t *tracer) node(ctx string, n *nodepb.NodeDef) (string, bool) {
	if n == nil || !isPureOp(n.GetOp()) {
		return "", false
	}
	return t.guarded(traceKey{ctx: ctx, node: n.GetName(), arg: -1}, func() (string, bool) { return t.pure(ctx, n) })
}

// pure applies the condition of n's op, one of PureOps, and returns the fed tensor its
// traced input reaches.
func (t *tracer) pure(ctx string, n *nodepb.NodeDef) (string, bool) {
	switch n.GetOp() {
	case "Identity", "ShardedFilename":
		return t.dataInput(ctx, n, 0)
	case "StringJoin":
		return t.stringJoin(ctx, n)
	case "ReadVariableOp":
		return t.readVariable(ctx, n)
	}
	return "", false // not reached: TestPureOpsHandled
}

// guarded runs trace once per key: a key met again while it is followed traces to nothing.
func (t *tracer) guarded(key traceKey, trace func() (string, bool)) (string, bool) {
	if r, ok := t.memo[key]; ok {
		return r.tensor, r.ok
	}
	if t.active[key] {
		return "", false
	}
	t.active[key] = true
	tensor, ok := trace()
	delete(t.active, key)
	// Every condition is a conjunction, so a result that met a cycle holds in any context.
	t.memo[key] = traced{tensor, ok}
	return tensor, ok
}

// arg traces argument i of function fn: it needs at least one caller, every reached node
// referring to fn must be a call, and each call's data input i must trace to the same
// tensor.
func (t *tracer) arg(fn string, i int) (string, bool) {
	refs := t.fl.refs[fn]
	if len(refs) == 0 {
		return "", false
	}
	var all sameTensor
	for _, r := range refs {
		if !r.call {
			return "", false
		}
		if !all.add(t.dataInput(r.ctx, r.node, i)) {
			return "", false
		}
	}
	return all.result()
}

// sameTensor collects the traces that must all reach one tensor.
type sameTensor struct {
	tensor string
	n      int
}

// add records one trace; false when it failed or reached another tensor.
func (s *sameTensor) add(tensor string, ok bool) bool {
	if !ok || s.n > 0 && tensor != s.tensor {
		return false
	}
	s.tensor = tensor
	s.n++
	return true
}

func (s *sameTensor) result() (string, bool) { return s.tensor, s.n > 0 }

// stringJoin: input 0 traces; every other data input is a Const of ctx holding one DT_STRING
// value without '/' or '\', and the separator attr has neither.
func (t *tracer) stringJoin(ctx string, n *nodepb.NodeDef) (string, bool) {
	if pathChars(n.GetAttr()["separator"].GetS()) {
		return "", false
	}
	for i := 1; ; i++ {
		in, ok := dataInput(n, i)
		if !ok {
			break
		}
		if !t.plainStringConst(ctx, in) {
			return "", false
		}
	}
	return t.dataInput(ctx, n, 0)
}

// plainStringConst reports whether input in of ctx is a Const node holding one DT_STRING
// value without '/' or '\'.
func (t *tracer) plainStringConst(ctx, in string) bool {
	var c *nodepb.NodeDef
	if ctx == "" {
		c = t.fl.nodes[nodeName(in)]
	} else {
		fn := t.fl.functions[ctx]
		if _, isArg := fn.args[in]; isArg {
			return false
		}
		name, _, _ := strings.Cut(in, ":")
		c = fn.nodes[name]
	}
	if c.GetOp() != "Const" {
		return false
	}
	v := c.GetAttr()["value"].GetTensor()
	if v.GetDtype() != typespb.DataType_DT_STRING || len(v.GetStringVal()) != 1 {
		return false
	}
	elements := int64(1)
	for _, d := range v.GetTensorShape().GetDim() {
		elements *= d.GetSize()
	}
	return elements == 1 && !pathChars(v.GetStringVal()[0])
}

func pathChars(s []byte) bool { return strings.ContainsAny(string(s), `/\`) }

// readVariable (in the graph only): input 0 is a VarHandleOp of the graph with a shared_name
// no other VarHandleOp of the graph or library has, whose every data use among the graph's
// nodes is input 0 of ReadVariableOp, VarIsInitializedOp or AssignVariableOp, with at least
// one AssignVariableOp, and each AssignVariableOp's input 1 traces to the same tensor.
func (t *tracer) readVariable(ctx string, n *nodepb.NodeDef) (string, bool) {
	if ctx != "" {
		return "", false
	}
	in, ok := dataInput(n, 0)
	if !ok {
		return "", false
	}
	h := t.fl.nodes[nodeName(in)]
	if h.GetOp() != "VarHandleOp" {
		return "", false
	}
	name := string(h.GetAttr()["shared_name"].GetS())
	if name == "" {
		name = h.GetName()
	}
	if t.fl.varNames[name] != 1 {
		return "", false
	}
	var all sameTensor
	for _, u := range t.fl.handleUse[h.GetName()] {
		if u.index != 0 {
			return "", false
		}
		switch u.node.GetOp() {
		case "ReadVariableOp", "VarIsInitializedOp":
		case "AssignVariableOp":
			if !all.add(t.dataInput("", u.node, 1)) {
				return "", false
			}
		default:
			return "", false
		}
	}
	return all.result()
}
