package training

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

func constNode(name string, dt typespb.DataType, value *tensorpb.TensorProto) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: "Const", Attr: map[string]*attrpb.AttrValue{
		"dtype": {Value: &attrpb.AttrValue_Type{Type: dt}},
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: value}},
	}}
}

func sourceGraph(t *testing.T) []byte {
	t.Helper()
	g := &graphpb.GraphDef{Node: []*nodepb.NodeDef{
		{Name: "x", Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{"dtype": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}}}},
		constNode("W", typespb.DataType_DT_FLOAT, &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: &shapepb.TensorShapeProto{}, FloatVal: []float32{-1}}),
		constNode("step", typespb.DataType_DT_INT64, &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT64, TensorShape: &shapepb.TensorShapeProto{}, Int64Val: []int64{0}}),
		constNode("M", typespb.DataType_DT_FLOAT, &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: 2}, {Size: 2}}}, FloatVal: []float32{0}}),
		{Name: "y", Op: "Mul", Input: []string{"x", "W"}},
	}}
	b, err := proto.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFrozenWithValues(t *testing.T) {
	src := sourceGraph(t)
	values := map[string]*tensor.Tensor{
		"W":           {DType: tensor.Float, Shape: []int64{}, Data: []float32{3.0003152}},
		"global_step": {DType: tensor.Int64, Shape: []int64{}, Data: []int64{1000}},
		"M":           {DType: tensor.Float, Shape: []int64{2, 2}, Data: []float32{1, 2, 3, 4}},
	}
	constants := map[string]string{"W": "W", "global_step": "step", "M": "M"}
	out, err := FrozenWithValues(src, constants, values)
	if err != nil {
		t.Fatal(err)
	}
	var g graphpb.GraphDef
	if err := proto.Unmarshal(out, &g); err != nil {
		t.Fatal(err)
	}
	le := func(v any) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, v)
		return b.Bytes()
	}
	want := map[string]*tensorpb.TensorProto{
		"W":    {Dtype: typespb.DataType_DT_FLOAT, TensorShape: &shapepb.TensorShapeProto{}, TensorContent: le(math.Float32bits(3.0003152))},
		"step": {Dtype: typespb.DataType_DT_INT64, TensorShape: &shapepb.TensorShapeProto{}, TensorContent: []byte{0xe8, 3, 0, 0, 0, 0, 0, 0}},
		"M":    {Dtype: typespb.DataType_DT_FLOAT, TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: 2}, {Size: 2}}}, TensorContent: le([]float32{1, 2, 3, 4})},
	}
	if len(g.Node) != 5 {
		t.Fatalf("%d nodes", len(g.Node))
	}
	for _, n := range g.Node {
		if w, ok := want[n.Name]; ok {
			if got := n.Attr["value"].GetTensor(); !proto.Equal(got, w) {
				t.Errorf("node %s value = %v, want exactly %v", n.Name, got, w)
			}
			if n.Attr["dtype"].GetType() != w.Dtype {
				t.Errorf("node %s dtype changed", n.Name)
			}
		}
	}
	if g.Node[4].Name != "y" || strings.Join(g.Node[4].Input, ",") != "x,W" {
		t.Errorf("other nodes changed: %v", g.Node[4])
	}
	// Deterministic: map entries sorted, the same bytes every time.
	again, _ := FrozenWithValues(src, constants, values)
	if !bytes.Equal(out, again) {
		t.Error("two rewrites differ")
	}
	redo, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&g)
	if !bytes.Equal(out, redo) {
		t.Error("the output is not the deterministic serialization")
	}
	// Nothing named: the graph is only re-serialized.
	same, err := FrozenWithValues(src, nil, nil)
	var g0, g1 graphpb.GraphDef
	proto.Unmarshal(src, &g0)
	proto.Unmarshal(same, &g1)
	if err != nil || !proto.Equal(&g0, &g1) {
		t.Errorf("no constants: %v", err)
	}
	// The text form parses back to the same GraphDef.
	text, err := GraphText(out)
	if err != nil {
		t.Fatal(err)
	}
	var parsed graphpb.GraphDef
	if err := prototext.Unmarshal(text, &parsed); err != nil || !proto.Equal(&parsed, &g) {
		t.Errorf("text does not parse back: %v", err)
	}
}

func TestFrozenWithValuesRefusals(t *testing.T) {
	src := sourceGraph(t)
	f32 := &tensor.Tensor{DType: tensor.Float, Shape: []int64{}, Data: []float32{1}}
	for _, tc := range []struct {
		constants map[string]string
		values    map[string]*tensor.Tensor
		want      string
	}{
		{map[string]string{"W": "nope"}, map[string]*tensor.Tensor{"W": f32}, "no Const node nope for variable W"},
		{map[string]string{"W": "x"}, map[string]*tensor.Tensor{"W": f32}, "no Const node x for variable W"},
		{map[string]string{"W": "step"}, map[string]*tensor.Tensor{"W": f32}, "no Const node step for variable W"}, // dtype
		{map[string]string{"W": "W"}, nil, "variable W"},
		{map[string]string{"W": "W"}, map[string]*tensor.Tensor{"W": {DType: tensor.Float, Shape: []int64{2}, Data: []float32{1}}}, "variable W"},
	} {
		_, err := FrozenWithValues(src, tc.constants, tc.values)
		if status.CodeOf(err) != status.FailedPrecondition || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %s %v, want FAILED_PRECONDITION with %q", tc.constants, status.CodeOf(err), err, tc.want)
		}
	}
	if _, err := FrozenWithValues([]byte("\xff\xff"), nil, nil); err == nil {
		t.Error("garbage accepted as a GraphDef")
	}
}
