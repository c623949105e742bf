// Package tensorproto converts between tensorflow.TensorProto (tensorflow/core/framework/
// tensor.proto, the tensors of TensorFlow Serving's gRPC API; Go types from graft's generated
// packages) and tensor.Tensor, with the checks of the REST JSON path: every input against its
// signature spec (dtype, rank, known dims) before TensorFlow sees anything ([DecodeInputs],
// [Decode]). Both tensor_content (little-endian, encoding/binary) and the typed repeated
// fields (float_val, half_val, ...) are read; [Encode] writes tensor_content, string_val for
// DT_STRING.
package tensorproto

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// requestError is a refusal of a gRPC request (INVALID_ARGUMENT), as restjson's refusals are
// for a JSON body.
func requestError(format string, args ...any) error {
	return status.New(status.InvalidArgument, format, args...)
}

// contentSlice returns n zero elements of the Go type that holds a fixed-width dtype in
// tensor.Tensor.Data (the layout of tensor_content, read and written with encoding/binary);
// nil for DT_STRING and unsupported dtypes.
func contentSlice(d tensor.DType, n int) any {
	switch d {
	case tensor.Float:
		return make([]float32, n)
	case tensor.Double:
		return make([]float64, n)
	case tensor.Half:
		return make([]tensor.Float16, n)
	case tensor.Int8:
		return make([]int8, n)
	case tensor.Uint8:
		return make([]uint8, n)
	case tensor.Int16:
		return make([]int16, n)
	case tensor.Uint16:
		return make([]uint16, n)
	case tensor.Int32:
		return make([]int32, n)
	case tensor.Uint32:
		return make([]uint32, n)
	case tensor.Int64:
		return make([]int64, n)
	case tensor.Uint64:
		return make([]uint64, n)
	case tensor.Bool:
		return make([]bool, n)
	}
	return nil
}

// DecodeInputs turns the inputs of a PredictRequest into one tensor per input alias
// of the signature: the aliases must be exactly the signature's, each TensorProto must have
// the spec's dtype, a known shape that agrees with the spec's rank and known dims, and as
// many values as its shape holds (in tensor_content or in the dtype's repeated field; a
// shorter repeated field is completed with its last value, as TensorFlow does); then the
// batched inputs must agree on their batch size (restjson.CheckBatch).
func DecodeInputs(inputs map[string]*tensorpb.TensorProto, specs map[string]tensor.Spec, signature string) (map[string]*tensor.Tensor, error) {
	given := make([]string, 0, len(inputs))
	for a := range inputs {
		given = append(given, a)
	}
	sort.Strings(given)
	for _, a := range given {
		if _, ok := specs[a]; !ok {
			return nil, requestError("unknown input %s for signature %s; expected inputs: %s", restjson.Quote(a), restjson.Quote(signature), tensor.DescribeSpecs(specs))
		}
	}
	aliases := make([]string, 0, len(specs))
	for a := range specs {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	out := make(map[string]*tensor.Tensor, len(specs))
	for _, a := range aliases {
		tp := inputs[a]
		if tp == nil {
			return nil, requestError("missing input %s for signature %s; expected inputs: %s", restjson.Quote(a), restjson.Quote(signature), tensor.DescribeSpecs(specs))
		}
		t, err := Decode(tp, specs[a])
		if err != nil {
			return nil, err
		}
		out[a] = t
	}
	if err := restjson.CheckBatch(out, specs); err != nil {
		return nil, err
	}
	return out, nil
}

// Decode converts one TensorProto for spec (see DecodeInputs).
func Decode(tp *tensorpb.TensorProto, spec tensor.Spec) (*tensor.Tensor, error) {
	want := spec.DType
	if !want.Supported() {
		return nil, requestError("input %s: dtype %s is not supported", spec.Describe(), want)
	}
	if got := tensor.DType(tp.GetDtype()); got != want {
		return nil, requestError("input %s: got a tensor of dtype %s, expected %s", spec.Describe(), got, want)
	}
	shp := tp.GetTensorShape()
	if shp.GetUnknownRank() {
		return nil, requestError("input %s: the tensor's shape has an unknown rank", spec.Describe())
	}
	shape := make([]int64, len(shp.GetDim()))
	n := int64(1)
	for i, d := range shp.GetDim() {
		if d.GetSize() < 0 {
			return nil, requestError("input %s: dimension %d of the tensor's shape is %d", spec.Describe(), i, d.GetSize())
		}
		shape[i] = d.GetSize()
		if shape[i] != 0 && n > math.MaxInt32/shape[i] {
			return nil, requestError("input %s: the tensor's shape %s holds too many elements", spec.Describe(), tensor.Shape(shape[:i+1]))
		}
		n *= shape[i]
	}
	if err := restjson.CheckShape(shape, spec); err != nil {
		return nil, err
	}
	data, err := protoValues(tp, spec, int(n))
	if err != nil {
		return nil, err
	}
	return &tensor.Tensor{DType: want, Shape: shape, Data: data}, nil
}

// protoValues reads the n values of tp: from tensor_content when it is set (fixed-width
// dtypes), else from the dtype's repeated field.
func protoValues(tp *tensorpb.TensorProto, spec tensor.Spec, n int) (any, error) {
	d := spec.DType
	if content := tp.GetTensorContent(); len(content) > 0 {
		one := contentSlice(d, 1)
		if one == nil {
			return nil, requestError("input %s: tensor_content cannot hold %s values; use string_val", spec.Describe(), d)
		}
		size := binary.Size(one)
		if len(content) != n*size {
			return nil, requestError("input %s: tensor_content has %d bytes, expected %d (%d values of %d bytes)", spec.Describe(), len(content), n*size, n, size)
		}
		return fromContent(content, d, n, spec)
	}
	switch d {
	case tensor.Float:
		return repeated(tp.GetFloatVal(), n, spec, "float_val", same[float32])
	case tensor.Double:
		return repeated(tp.GetDoubleVal(), n, spec, "double_val", same[float64])
	case tensor.Half:
		return repeated(tp.GetHalfVal(), n, spec, "half_val", func(v int32) (tensor.Float16, bool) {
			return tensor.Float16(v), v >= 0 && v <= math.MaxUint16
		})
	case tensor.Int8:
		return repeated(tp.GetIntVal(), n, spec, "int_val", narrow[int8](math.MinInt8, math.MaxInt8))
	case tensor.Int16:
		return repeated(tp.GetIntVal(), n, spec, "int_val", narrow[int16](math.MinInt16, math.MaxInt16))
	case tensor.Int32:
		return repeated(tp.GetIntVal(), n, spec, "int_val", same[int32])
	case tensor.Uint8:
		return repeated(tp.GetIntVal(), n, spec, "int_val", narrow[uint8](0, math.MaxUint8))
	case tensor.Uint16:
		return repeated(tp.GetIntVal(), n, spec, "int_val", narrow[uint16](0, math.MaxUint16))
	case tensor.Int64:
		return repeated(tp.GetInt64Val(), n, spec, "int64_val", same[int64])
	case tensor.Uint32:
		return repeated(tp.GetUint32Val(), n, spec, "uint32_val", same[uint32])
	case tensor.Uint64:
		return repeated(tp.GetUint64Val(), n, spec, "uint64_val", same[uint64])
	case tensor.Bool:
		return repeated(tp.GetBoolVal(), n, spec, "bool_val", same[bool])
	case tensor.String:
		return repeated(tp.GetStringVal(), n, spec, "string_val", func(v []byte) (string, bool) { return string(v), true })
	}
	return nil, requestError("input %s: dtype %s is not supported", spec.Describe(), d)
}

func same[T any](v T) (T, bool) { return v, true }

func narrow[T int8 | int16 | uint8 | uint16](lo, hi int32) func(int32) (T, bool) {
	return func(v int32) (T, bool) { return T(v), v >= lo && v <= hi }
}

// repeated converts a repeated field of n values. As TensorFlow's Tensor::FromProto, fewer
// values (at least one) are completed with the last one; more than n, or none for a
// non-empty tensor, are refused.
func repeated[S, T any](vals []S, n int, spec tensor.Spec, field string, conv func(S) (T, bool)) ([]T, error) {
	switch {
	case len(vals) > n:
		return nil, requestError("input %s: %s has %d values, expected %d", spec.Describe(), field, len(vals), n)
	case len(vals) == 0 && n > 0:
		return nil, requestError("input %s: no values; expected %d in tensor_content or %s", spec.Describe(), n, field)
	}
	out := make([]T, n)
	for i := range out {
		src := vals[min(i, len(vals)-1)]
		v, ok := conv(src)
		if !ok {
			return nil, requestError("input %s: %s value %v is out of range for %s", spec.Describe(), field, src, spec.DType)
		}
		out[i] = v
	}
	return out, nil
}

// fromContent decodes little-endian tensor_content (TensorFlow's in-memory layout) of n
// values of a fixed-width dtype; its length was checked by the caller.
func fromContent(b []byte, d tensor.DType, n int, spec tensor.Spec) (any, error) {
	if d == tensor.Bool {
		for i, c := range b {
			if c > 1 {
				return nil, requestError("input %s: tensor_content byte %d is %d, expected 0 or 1 for DT_BOOL", spec.Describe(), i, c)
			}
		}
	}
	out := contentSlice(d, n)
	if out == nil {
		return nil, requestError("input %s: tensor_content cannot hold %s values", spec.Describe(), d)
	}
	if _, err := binary.Decode(b, binary.LittleEndian, out); err != nil {
		return nil, requestError("input %s: tensor_content: %v", spec.Describe(), err)
	}
	return out, nil
}

// Encode converts an output tensor as TensorFlow Serving does
// (Tensor::AsProtoTensorContent): the values of a fixed-width dtype in tensor_content,
// little-endian; strings in string_val.
func Encode(t *tensor.Tensor) (*tensorpb.TensorProto, error) {
	dims := make([]*shapepb.TensorShapeProto_Dim, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = &shapepb.TensorShapeProto_Dim{Size: d}
	}
	tp := &tensorpb.TensorProto{Dtype: typespb.DataType(t.DType), TensorShape: &shapepb.TensorShapeProto{Dim: dims}}
	if v, ok := t.Data.([]string); ok {
		tp.StringVal = make([][]byte, len(v))
		for i, s := range v {
			tp.StringVal[i] = []byte(s)
		}
		return tp, nil
	}
	if contentSlice(t.DType, 0) == nil {
		return nil, fmt.Errorf("output of dtype %s cannot be written as a TensorProto", t.DType)
	}
	b, err := binary.Append(nil, binary.LittleEndian, t.Data)
	if err != nil {
		return nil, fmt.Errorf("output of dtype %s cannot be written as a TensorProto: %v", t.DType, err)
	}
	tp.TensorContent = b
	return tp, nil
}
