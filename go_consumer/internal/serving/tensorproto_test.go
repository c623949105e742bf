package serving

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/go_consumer/internal/status"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/grpc/codes"
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
	width := map[tfjson.DType]int{
		tfjson.Float: 4, tfjson.Double: 8, tfjson.Half: 2, tfjson.Int8: 1, tfjson.Int16: 2,
		tfjson.Int32: 4, tfjson.Uint8: 1, tfjson.Uint16: 2, tfjson.Int64: 8, tfjson.Uint32: 4,
		tfjson.Uint64: 8, tfjson.Bool: 1,
	}
	for _, tc := range []struct {
		dtype tfjson.DType
		data  any
		typed func(*tensorpb.TensorProto)
	}{
		{tfjson.Float, []float32{1.5, float32(math.Inf(-1))}, func(p *tensorpb.TensorProto) { p.FloatVal = []float32{1.5, float32(math.Inf(-1))} }},
		{tfjson.Double, []float64{-0.0, 1e300}, func(p *tensorpb.TensorProto) { p.DoubleVal = []float64{-0.0, 1e300} }},
		{tfjson.Half, []tfjson.Float16{0x3c00, 0xfc00}, func(p *tensorpb.TensorProto) { p.HalfVal = []int32{0x3c00, 0xfc00} }},
		{tfjson.Int8, []int8{-128, 127}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{-128, 127} }},
		{tfjson.Int16, []int16{-32768, 7}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{-32768, 7} }},
		{tfjson.Int32, []int32{math.MinInt32, 3}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{math.MinInt32, 3} }},
		{tfjson.Uint8, []uint8{0, 255}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{0, 255} }},
		{tfjson.Uint16, []uint16{0, 65535}, func(p *tensorpb.TensorProto) { p.IntVal = []int32{0, 65535} }},
		{tfjson.Int64, []int64{math.MinInt64, math.MaxInt64}, func(p *tensorpb.TensorProto) { p.Int64Val = []int64{math.MinInt64, math.MaxInt64} }},
		{tfjson.Uint32, []uint32{0, math.MaxUint32}, func(p *tensorpb.TensorProto) { p.Uint32Val = []uint32{0, math.MaxUint32} }},
		{tfjson.Uint64, []uint64{0, math.MaxUint64}, func(p *tensorpb.TensorProto) { p.Uint64Val = []uint64{0, math.MaxUint64} }},
		{tfjson.Bool, []bool{true, false}, func(p *tensorpb.TensorProto) { p.BoolVal = []bool{true, false} }},
	} {
		spec := tfjson.Spec{Alias: "x", DType: tc.dtype, Shape: tfjson.Shape{-1}}
		in := &tfjson.Tensor{DType: tc.dtype, Shape: []int64{2}, Data: tc.data}
		proto, err := EncodeTensorProto(in)
		if err != nil || len(proto.TensorContent) != 2*width[tc.dtype] {
			t.Fatalf("%s: encode: %v, %d bytes", tc.dtype, err, len(proto.GetTensorContent()))
		}
		back, err := DecodeTensorProto(proto, spec)
		if err != nil || !reflect.DeepEqual(back, in) {
			t.Errorf("%s: decoded %+v, %v; want %+v", tc.dtype, back, err, in)
		}
		typed := &tensorpb.TensorProto{Dtype: typespb.DataType(tc.dtype), TensorShape: shapeProto(2)}
		tc.typed(typed)
		back, err = DecodeTensorProto(typed, spec)
		if err != nil || !reflect.DeepEqual(back, in) {
			t.Errorf("%s: typed decoded %+v, %v; want %+v", tc.dtype, back, err, in)
		}
	}
	strs := &tfjson.Tensor{DType: tfjson.String, Shape: []int64{2}, Data: []string{"a", "\xff"}}
	proto, _ := EncodeTensorProto(strs)
	if len(proto.TensorContent) != 0 || len(proto.StringVal) != 2 {
		t.Errorf("strings: %v", proto)
	}
	back, err := DecodeTensorProto(proto, tfjson.Spec{Alias: "s", DType: tfjson.String, Shape: tfjson.Shape{2}})
	if err != nil || !reflect.DeepEqual(back, strs) {
		t.Errorf("strings decoded %+v, %v", back, err)
	}
	// A shorter repeated field is completed with its last value, as TensorFlow does.
	short := &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: shapeProto(3), FloatVal: []float32{1, 2}}
	back, err = DecodeTensorProto(short, tfjson.Spec{Alias: "x", DType: tfjson.Float, Shape: tfjson.Shape{-1}})
	if err != nil || !reflect.DeepEqual(back.Data, []float32{1, 2, 2}) {
		t.Errorf("short: %+v, %v", back, err)
	}
}

// The checks of the JSON path, before TensorFlow sees anything: each refusal is a
// INVALID_ARGUMENT *status.Error naming the problem.
func TestTensorProtoRefusals(t *testing.T) {
	spec := tfjson.Spec{Alias: "x", DType: tfjson.Double, Shape: tfjson.Shape{-1, 3}}
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
		_, err := DecodeTensorProto(tc.proto, spec)
		if !strings.Contains(fmt.Sprint(err), tc.want) || status.CodeOf(err) != status.InvalidArgument {
			t.Errorf("%v: %s %v; want INVALID_ARGUMENT with %q", tc.proto, status.CodeOf(err), err, tc.want)
		}
	}
	for _, tc := range []struct {
		proto *tensorpb.TensorProto
		spec  tfjson.Spec
		want  string
	}{
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_UINT8, TensorShape: shapeProto(1), IntVal: []int32{256}}, tfjson.Spec{Alias: "u", DType: tfjson.Uint8, Shape: tfjson.Shape{-1}}, "out of range for DT_UINT8"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_BOOL, TensorShape: shapeProto(1), TensorContent: []byte{2}}, tfjson.Spec{Alias: "b", DType: tfjson.Bool, Shape: tfjson.Shape{-1}}, "expected 0 or 1"},
		{&tensorpb.TensorProto{Dtype: typespb.DataType_DT_STRING, TensorShape: shapeProto(1), TensorContent: []byte{1}}, tfjson.Spec{Alias: "s", DType: tfjson.String, Shape: tfjson.Shape{-1}}, "use string_val"},
	} {
		if _, err := DecodeTensorProto(tc.proto, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.proto, err, tc.want)
		}
	}
	specs := map[string]tfjson.Spec{"a": {Alias: "a", DType: tfjson.Float, Shape: tfjson.Shape{-1}}, "b": {Alias: "b", DType: tfjson.Float, Shape: tfjson.Shape{-1}}}
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
		if _, err := DecodeTensorProtos(tc.inputs, specs, "serving_default"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want %q", tc.inputs, err, tc.want)
		}
	}
	if got, err := DecodeTensorProtos(map[string]*tensorpb.TensorProto{"a": vec(2), "b": vec(2)}, specs, "serving_default"); err != nil || len(got) != 2 {
		t.Errorf("agreeing batch: %v, %v", got, err)
	}
}

// TestGRPCStatusOfEveryCode: the gRPC status of an error has the gRPC code of its canonical
// code (the table's grpc_code), through wrapping, and its message on one line; an error
// without a code is INTERNAL; a gRPC status (a cancelled call) is kept.
func TestGRPCStatusOfEveryCode(t *testing.T) {
	for _, code := range status.Codes() {
		err := grpcError(fmt.Errorf("wrapped:\n%w", status.New(code, "refused")))
		if s := grpcstatus.Convert(err); s.Code() != code.GRPCCode() || s.Message() != "wrapped: refused" {
			t.Errorf("%s: %v %q; want %v", code, s.Code(), s.Message(), code.GRPCCode())
		}
	}
	if got := grpcstatus.Code(grpcError(errors.New("boom"))); got != codes.Internal {
		t.Errorf("a plain error: %v", got)
	}
	cancelled := grpcstatus.Error(codes.Canceled, "gone")
	if got := grpcError(cancelled); got != cancelled {
		t.Errorf("a gRPC status: %v", got)
	}
}
