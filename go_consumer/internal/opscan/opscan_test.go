package opscan

import (
	"reflect"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	functionpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
)

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

func use(op, fn, node string) OpUse { return OpUse{Op: op, Function: fn, Node: node} }

func checkUses(t *testing.T, got, want []OpUse) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReachableOps:\n got %v\nwant %v", got, want)
	}
}

// TestReachableOpsInputs: data inputs ("name", "name:N") and control inputs ("^name") are
// followed transitively from the roots; nodes nothing reaches are not listed.
func TestReachableOpsInputs(t *testing.T) {
	g := graph([]*nodepb.NodeDef{
		node("path", "Placeholder", nil, nil),
		node("read", "ReadFile", []string{"path"}, nil),
		node("split", "Split", []string{"read:0", "path"}, nil),
		node("log", "PrintV2", []string{"split:1"}, nil),
		node("out", "Identity", []string{"split:1", "^log"}, nil),
		node("unused_write", "WriteFile", []string{"path", "read"}, nil),
		node("saver/RestoreV2", "RestoreV2", []string{"path"}, nil),
	})
	checkUses(t, ReachableOps(g, []string{"out:0"}), []OpUse{
		use("Identity", "", "out"),
		use("Placeholder", "", "path"),
		use("PrintV2", "", "log"),
		use("ReadFile", "", "read"),
		use("Split", "", "split"),
	})
	// A root may be a node name, a tensor name or a control name; unknown roots are ignored.
	checkUses(t, ReachableOps(g, []string{"^log", "missing:0", "path"}), []OpUse{
		use("Placeholder", "", "path"),
		use("PrintV2", "", "log"),
		use("ReadFile", "", "read"),
		use("Split", "", "split"),
	})
	if got := ReachableOps(g, nil); len(got) != 0 {
		t.Errorf("no roots: %v", got)
	}
}

// TestReachableOpsFunctions: functions are reached through the op of a node (a library
// function called directly), func attrs (f of StatefulPartitionedCall, If and While
// branches), list(func) attrs and func values nested in a func's attrs; a function brings
// in all of its nodes, whose functions are reached in turn. Functions of the library that
// nothing refers to are not listed.
func TestReachableOpsFunctions(t *testing.T) {
	nested := &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{
		Name: "generic",
		Attr: map[string]*attrpb.AttrValue{"body_fn": funcAttr("higher_order_arg")},
	}}}
	g := graph(
		[]*nodepb.NodeDef{
			node("x", "Placeholder", nil, nil),
			node("call", "StatefulPartitionedCall", []string{"x"}, map[string]any{"f": "outer"}),
			node("y", "Identity", []string{"call:0"}, nil),
			node("other", "StatefulPartitionedCall", []string{"x"}, map[string]any{"f": "unreached"}),
		},
		function("outer",
			node("direct", "inner", []string{"x"}, nil), // op names a library function
			node("cond", "If", []string{"x"}, map[string]any{"then_branch": "then_fn", "else_branch": "else_fn"}),
			node("loop", "While", []string{"x"}, map[string]any{"cond": "loop_cond", "body": "loop_body"}),
			node("case", "Case", []string{"x"}, map[string]any{"branches": []string{"branch_0", "branch_1"}}),
			node("gen", "PartitionedCall", nil, map[string]any{"f": nested}),
			node("undefined", "StatefulPartitionedCall", nil, map[string]any{"f": "not_in_library"}),
		),
		function("inner", node("read", "ReadFile", []string{"x"}, nil)),
		function("then_fn", node("t", "Identity", nil, nil)),
		function("else_fn", node("p", "PrintV2", nil, nil)),
		function("loop_cond", node("less", "Less", nil, nil)),
		function("loop_body", node("write", "WriteFile", nil, nil)),
		function("branch_0", node("b0", "Const", nil, nil)),
		function("branch_1", node("b1", "MatchingFiles", nil, nil)),
		function("generic", node("g", "Identity", nil, nil)),
		function("higher_order_arg", node("h", "SaveV2", nil, nil)),
		function("unreached", node("evil", "PyFunc", nil, nil)),
	)
	checkUses(t, ReachableOps(g, []string{"y:0"}), []OpUse{
		use("Case", "outer", "case"),
		use("Const", "branch_0", "b0"),
		use("Identity", "", "y"),
		use("Identity", "generic", "g"),
		use("Identity", "then_fn", "t"),
		use("If", "outer", "cond"),
		use("Less", "loop_cond", "less"),
		use("MatchingFiles", "branch_1", "b1"),
		use("PartitionedCall", "outer", "gen"),
		use("Placeholder", "", "x"),
		use("PrintV2", "else_fn", "p"),
		use("ReadFile", "inner", "read"),
		use("SaveV2", "higher_order_arg", "h"),
		use("StatefulPartitionedCall", "", "call"),
		use("StatefulPartitionedCall", "outer", "undefined"),
		use("While", "outer", "loop"),
		use("WriteFile", "loop_body", "write"),
		use("inner", "outer", "direct"),
	})
}

// TestReachableOpsCycles: cycles of graph nodes (as in tf.while_loop's NextIteration) and of
// functions (recursion, mutual recursion) end, and each node is listed once.
func TestReachableOpsCycles(t *testing.T) {
	g := graph(
		[]*nodepb.NodeDef{
			node("enter", "Enter", []string{"x"}, nil),
			node("merge", "Merge", []string{"enter", "next"}, nil),
			node("body", "StatefulPartitionedCall", []string{"merge"}, map[string]any{"f": "a"}),
			node("next", "NextIteration", []string{"body", "^merge"}, nil),
			node("exit", "Exit", []string{"merge"}, nil),
			node("x", "Const", []string{"^exit"}, nil), // a control cycle back to the start
		},
		function("a",
			node("self", "a", nil, nil),
			node("to_b", "PartitionedCall", nil, map[string]any{"f": "b"}),
		),
		function("b",
			node("to_a", "a", nil, nil),
			node("w", "WriteFile", nil, nil),
		),
	)
	checkUses(t, ReachableOps(g, []string{"exit:0", "exit", "^exit"}), []OpUse{
		use("Const", "", "x"),
		use("Enter", "", "enter"),
		use("Exit", "", "exit"),
		use("Merge", "", "merge"),
		use("NextIteration", "", "next"),
		use("PartitionedCall", "a", "to_b"),
		use("StatefulPartitionedCall", "", "body"),
		use("WriteFile", "b", "w"),
		use("a", "a", "self"),
		use("a", "b", "to_a"),
	})
}

// TestReachableOpsOrder: the first unsafe use is the least (op, function, node), the graph
// sorting before every function.
func TestReachableOpsOrder(t *testing.T) {
	g := graph(
		[]*nodepb.NodeDef{
			node("z_read", "ReadFile", nil, nil),
			node("a_print", "PrintV2", nil, nil),
			node("call", "PartitionedCall", []string{"z_read", "a_print"}, map[string]any{"f": "fn"}),
		},
		function("fn",
			node("a_read", "ReadFile", nil, nil),
			node("0_print", "PrintV2", nil, nil),
		),
	)
	uses := ReachableOps(g, []string{"call"})
	checkUses(t, uses, []OpUse{
		use("PartitionedCall", "", "call"),
		use("PrintV2", "", "a_print"),
		use("PrintV2", "fn", "0_print"),
		use("ReadFile", "", "z_read"),
		use("ReadFile", "fn", "a_read"),
	})
	unsafe := UnsafeUses(g, []RootGroup{{Name: GroupSignature, Roots: []string{"call"}}})
	for _, c := range []struct {
		allowed []string
		want    OpUse
		bad     bool
	}{
		{nil, use("PrintV2", "", "a_print"), true},
		{[]string{"PrintV2"}, use("ReadFile", "", "z_read"), true},
		{[]string{"ReadFile", "PrintV2"}, OpUse{}, false},
		{[]string{"printv2", "Print"}, use("PrintV2", "", "a_print"), true}, // names are exact
	} {
		got, bad := FirstRefused(unsafe, c.allowed)
		if got.OpUse != c.want || bad != c.bad {
			t.Errorf("FirstRefused(allowed %q) = %v, %v; want %v, %v", c.allowed, got, bad, c.want, c.bad)
		}
	}
}

// TestRefusalMessage: the contract's text, for a node of a function and of the graph.
func TestRefusalMessage(t *testing.T) {
	for _, c := range []struct {
		use  OpUse
		want string
	}{
		{use("ReadFile", "map_while_body_28", "map/while/ReadFile"),
			`op ReadFile (node "map/while/ReadFile" in function "map_while_body_28") is not allowed: it can read or write files or reach outside the process; pass --allow-op ReadFile to accept it`},
		{use("PrintV2", "", "PrintV2"),
			`op PrintV2 (node "PrintV2" in the graph) is not allowed: it can read or write files or reach outside the process; pass --allow-op PrintV2 to accept it`},
	} {
		err := c.use.Refusal()
		if status.CodeOf(err) != status.FailedPrecondition || err.Error() != c.want {
			t.Errorf("%v.Refusal() = %s %q\nwant FAILED_PRECONDITION %q", c.use, status.CodeOf(err), err, c.want)
		}
	}
}

// TestUnsafeOpsList: the embedded list has no duplicates and IsUnsafeOp knows each op.
// (The main package's tests check it against tests/cases/unsafe_ops.json.)
func TestUnsafeOpsList(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range UnsafeOps {
		if seen[op] || !IsUnsafeOp(op) {
			t.Errorf("UnsafeOps: %q duplicate or unknown to IsUnsafeOp", op)
		}
		seen[op] = true
	}
	for _, op := range []string{"Identity", "StatefulPartitionedCall", "readfile", ""} {
		if IsUnsafeOp(op) {
			t.Errorf("IsUnsafeOp(%q) = true", op)
		}
	}
}
