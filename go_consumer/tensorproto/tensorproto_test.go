package tensorproto

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

func shapeProto(dims ...int64) *shapepb.TensorShapeProto {
	s := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return s
}

// Every fixed-width dtype goes through tensor_content and back unchanged, and its repeated
// field decodes to the same values.
func TestTensorProtoRoundTrip(t *testing.T) {
	// The bytes of one element in tensor_content (TensorFlow's DataTypeSize).
	width := map[tensor.DType]int{
		tensor.Float: 4, tensor.Double: 8, tensor.Half: 2, tensor.Int8: 1, tensor.Int16: 2,
		tensor.Int32: 4, tensor.Uint8: 1, tensor.Uint16: 2, tensor.Int64: 8, tensor.Uint32: 4,
		tensor.Uint64: 8, tensor.Bool: 1,
	}
	for _, tc := range []struct {
		dtype tensor.DType
		data  any
		typed func(*tensorpb.TensorProto)
	}{
		{tensor.Float, []float32{1.5, float32(math.Inf(-1))}, func(p *tensorpb.TensorProto) { p.FloatVal = []float32{1.5, float32(math.Inf(-1))} }},
		{tensor.Double, []float64{-0.0, 1e300}, func(p *tensorpb.TensorProto) { p.DoubleVal = []float64{-0.0, 1e300} }},
		{tensor.Half, []tensor.Float16{0x3c00, 0xfc00}, func(p *tensorpb.TensorProto) { p.HalfVal = []int32{0x3c00, 0xfc00} }},
		{tensor.Int8, []int8{-128, 127}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{-128, 127} }},
		{tensor.Int16, []int16{-32768, 7}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{-32768, 7} }},
		{tensor.Int32, []int32{math.MinInt32, 3}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{math.MinInt32, 3} }},
		{tensor.Uint8, []uint8{0, 255}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{0, 255} }},
		{tensor.Uint16, []uint16{0, 65535}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{0, 65535} }},
		{tensor.Int64, []int64{math.MinInt64, math.MaxInt64}, func(p *tensorpb.TensorProto) { p.Int64Val = []int64{math.MinInt64, math.MaxInt64} }},
		{tensor.Uint32, []uint32{0, math.MaxUint32}, func(p *tensorpb.TensorProto) { p.Uint32Val = []uint32{0, math.MaxUint32} }},
		{tensor.Uint64, []uint64{0, math.MaxUint64}, func(p *tensorpb.TensorProto) { p.Uint64Val = []uint64{0, math.MaxUint64} }},
		{tensor.Bool, []bool{true, false}, func(p *tensorpb.TensorProto) { p.BoolVal = []bool{true, false} }},
	} {
		spec := tensor.Spec{Alias: "x", DType: tc.dtype, Shape: tensor.Shape{-1}}
		in := &tensor.Tensor{DType: tc.dtype, Shape: []int64{2}, Data: tc.data}
		proto, err := Encode(in)
		if err != nil || len(proto.TensorContent) != 2*width[tc.dtype] {
			t.Fatalf("%s: encode: %v, %d bytes", tc.dtype, err, len(proto.GetTensorContent()))
		}
		back, err := Decode(proto, spec)
		if err != nil || !reflect.DeepEqual(back, in) {
			t.Errorf("%s: decoded %+v, %v; want %+v", tc.dtype, back, err, in)
		}
		typed := &tensorpb.TensorProto{Dtype: typespb.DataType(tc.dtype), TensorShape: shapeProto(2)}
		tc.typed(typed)
		back, err = Decode(typed, spec)
		if err != nil || !reflect.DeepEqual(back, in) {
			t.Errorf("%s: typed decoded %+v, %v; want %+v", tc.dtype, back, err, in)
		}
	}
	strs := &tensor.Tensor{DType: tensor.String, Shape: []int64{2}, Data: []string{"a", "\xff"}}
	proto, _ := Encode(strs)
	if len(proto.TensorContent) != 0 || len(proto.StringVal) != 2 {
		t.Errorf("strings: %v", proto)
	}
	back, err := Decode(proto, tensor.Spec{Alias: "s", DType: tensor.String, Shape: tensor.Shape{2}})
	if err != nil || !reflect.DeepEqual(back, strs) {
		t.Errorf("strings decoded %+v, %v", back, err)
	}
	// A shorter repeated field is completed with its last value, as TensorFlow does.
	short := &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: shapeProto(3), FloatVal: []float32{1, 2}}
	back, err = Decode(short, tensor.Spec{Alias: "x", DType: tensor.Float, Shape: tensor.Shape{-1}})
	if err != nil || !reflect.DeepEqual(back.Data, []float32{1, 2, 2}) {
		t.Errorf("short: %+v, %v", back, err)
	}
}

// The checks of the JSON path, before TensorFlow sees anything: each refusal is a
// INVALID_ARGUMENT *status.Error naming the problem.
func TestTensorProtoRefusals(t *testing.T) {
	spec := tensor.Spec{Alias: "x", DType: tensor.Double, Shape: tensor.Shape{-1, 3}}
	content := func(n int) []byte { return make([]byte, 8*n) }
	for _, tc := range []struct {
		proto *tensorpb.TensorProto
		want  string
	}{
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: shapeProto(1, 3), TensorContent: make([]byte, 12)}, "got a tensor of dtype DT_FLOAT, expected DT_DOUBLE"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(3), TensorContent: content(3)}, "expected rank 2"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(1, 4), TensorContent: content(4)}, "dimension 1 is 4, expected 3"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: &shapepb.TensorShapeProto{UnknownRank: true}}, "unknown rank"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(1, -1)}, "dimension 1 of the tensor's shape is -1"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(1, 3), TensorContent: content(2)}, "tensor_content has 16 bytes, expected 24"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(1, 3), DoubleVal: []float64{1, 2, 3, 4}}, "double_val has 4 values, expected 3"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(1, 3)}, "no values"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_DOUBLE, TensorShape: shapeProto(1<<20, 1<<20)}, "too many elements"},
	} {
		_, err := Decode(tc.proto, spec)
		if !strings.Contains(fmt.Sprint(err), tc.want) || status.CodeOf(err) != status.InvalidArgument {
			t.Errorf("%v: %s %v; want INVALID_ARGUMENT with %q", tc.proto, status.CodeOf(err), err, tc.want)
		}
	}
	for _, tc := range []struct {
		proto *tensorpb.TensorProto
		spec  tensor.Spec
		want  string
	}{
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_UINT8, TensorShape: shapeProto(1), IntVal: []int32{256}}, tensor.Spec{Alias: "u", DType: tensor.Uint8, Shape: tensor.Shape{-1}}, "out of range for DT_UINT8"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_BOOL, TensorShape: shapeProto(1), TensorContent: []byte{2}}, tensor.Spec{Alias: "b", DType: tensor.Bool, Shape: tensor.Shape{-1}}, "expected 0 or 1"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_STRING, TensorShape: shapeProto(1), TensorContent: []byte{1}}, tensor.Spec{Alias: "s", DType: tensor.String, Shape: tensor.Shape{-1}}, "use string_val"},
	} {
		if _, err := Decode(tc.proto, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.proto, err, tc.want)
		}
	}
	specs := map[string]tensor.Spec{"a": {Alias: "a", DType: tensor.Float, Shape: tensor.Shape{-1}}, "b": {Alias: "b", DType: tensor.Float, Shape: tensor.Shape{-1}}}
	vec := func(n int) *tensorpb.TensorProto {
		return &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: shapeProto(int64(n)), TensorContent: binary.LittleEndian.AppendUint32(make([]byte, 4*(n-1)), 0)}
	}
	for _, tc := range []struct {
		inputs map[string]*tensorpb.TensorProto
		want   string
	}{
		{map[string]*tensorpb.TensorProto{"a": vec(1)}, `missing input "b"`},
		{map[string]*tensorpb.TensorProto{"a": vec(1), "b": vec(1), "c": vec(1)}, `unknown input "c"`},
		{map[string]*tensorpb.TensorProto{"a": vec(1), "b": vec(2)}, "batch size mismatch"},
	} {
		if _, err := DecodeInputs(tc.inputs, specs, "serving_default"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.inputs, err, tc.want)
		}
	}
	if got, err := DecodeInputs(map[string]*tensorpb.TensorProto{"a": vec(2), "b": vec(2)}, specs, "serving_default"); err != nil || len(got) != 2 {
		t.Errorf("agreeing batch: %v, %v", got, err)
	}
}
