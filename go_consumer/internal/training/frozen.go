package training

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// FrozenWithValues returns a frozen GraphDef whose variable Const nodes hold new values.
//
// graphDef is the serialized source GraphDef; constants maps a variable name to the name of
// the Const node that holds it (the manifest's training.frozen_constants of one signature);
// values maps a variable name to its value (any dtype but DT_STRING, any shape). Each named
// node's "value" attribute becomes a TensorProto with exactly dtype (the node's), tensor_shape
// (the value's) and tensor_content (the value's little-endian bytes); everything else is kept.
// The result is serialized deterministically (map entries sorted by key), as the Python
// reference and the Java consumer do, so all three write the same bytes.
//
// Errors: *Error when the GraphDef cannot be parsed, a node is missing, is not a Const or
// has another dtype than the value, or a variable has no value.
func FrozenWithValues(graphDef []byte, constants map[string]string, values map[string]*tensor.Tensor) ([]byte, error) {
	var g graphpb.GraphDef
	if err := proto.Unmarshal(graphDef, &g); err != nil {
		return nil, status.New(status.FailedPrecondition, "the frozen graph is not a GraphDef: %v", err)
	}
	nodes := make(map[string]int, len(g.GetNode()))
	for i, n := range g.GetNode() {
		nodes[n.GetName()] = i // the last of a repeated name, as the reference's dict does
	}
	variables := make([]string, 0, len(constants))
	for v := range constants {
		variables = append(variables, v)
	}
	sort.Strings(variables)
	for _, variable := range variables {
		nodeName := constants[variable]
		value := values[variable]
		if value == nil {
			return nil, status.New(status.FailedPrecondition, "the frozen graph's Const node %s is for variable %s, which the variables signature does not output", nodeName, variable)
		}
		i, ok := nodes[nodeName]
		if !ok || g.Node[i].GetOp() != "Const" || g.Node[i].GetAttr()["dtype"].GetType() != typespb.DataType(value.DType) {
			return nil, status.New(status.FailedPrecondition, "frozen graph has no Const node %s for variable %s", nodeName, variable)
		}
		content, err := littleEndian(value)
		if err != nil {
			return nil, status.New(status.FailedPrecondition, "variable %s: %v", variable, err)
		}
		shape := &shapepb.TensorShapeProto{}
		for _, d := range value.Shape {
			shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
		}
		node := g.Node[i]
		if node.Attr == nil {
			node.Attr = map[string]*attrpb.AttrValue{}
		}
		node.Attr["value"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{
			Dtype:         typespb.DataType(value.DType),
			TensorShape:   shape,
			TensorContent: content,
		}}}
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&g)
	if err != nil {
		return nil, fmt.Errorf("cannot serialize the frozen graph: %v", err)
	}
	return out, nil
}

// littleEndian returns the tensor's elements as little-endian bytes (TensorProto's
// tensor_content layout): 1 byte per DT_BOOL, the IEEE bits for floats.
func littleEndian(t *tensor.Tensor) ([]byte, error) {
	if t.DType == tensor.String {
		return nil, fmt.Errorf("a DT_STRING value has no tensor_content")
	}
	if int64(t.Len()) != tensor.NumElements(t.Shape) {
		return nil, fmt.Errorf("%d elements for shape %v", t.Len(), t.Shape)
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, t.Data); err != nil {
		return nil, fmt.Errorf("cannot encode a %s value: %v", t.DType, err)
	}
	return buf.Bytes(), nil
}

// GraphText returns a serialized GraphDef in protobuf text format (the manifest's
// graph_text), which protobuf parsers of any language read back to the same GraphDef. The
// white space is not that of Python's text_format. Errors when graphDef cannot be parsed.
func GraphText(graphDef []byte) ([]byte, error) {
	var g graphpb.GraphDef
	if err := proto.Unmarshal(graphDef, &g); err != nil {
		return nil, status.New(status.FailedPrecondition, "the frozen graph is not a GraphDef: %v", err)
	}
	text, err := prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&g)
	if err != nil {
		return nil, fmt.Errorf("cannot write the frozen graph as text: %v", err)
	}
	return text, nil
}
