// Package tensor holds dense TensorFlow tensors as flat row-major Go slices: the dtype
// ([DType], TensorFlow's DataType enum of types.proto), the shape (dims, -1 for an unknown dim
// in a [Spec]) and the elements, with the Go type of each dtype given in [Tensor]. A tensor
// is made from a slice and read back into one without per-element conversion ([New],
// [Values]); DT_STRING elements are arbitrary bytes ([NewBytes], [Bytes]); DT_HALF values are
// [Float16] bits. It has no cgo dependency: the model package hands these slices to
// TensorFlow's C API (TF_NewTensor/TF_AllocateTensor) and copies outputs back into them.
package tensor

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// DType is a TensorFlow DataType enum value (tensorflow/core/framework/types.proto).
type DType int32

// The DataType values this package knows how to decode and encode.
const (
	Invalid DType = 0  // DT_INVALID
	Float   DType = 1  // DT_FLOAT, held as []float32
	Double  DType = 2  // DT_DOUBLE, held as []float64
	Int32   DType = 3  // DT_INT32, held as []int32
	Uint8   DType = 4  // DT_UINT8, held as []uint8
	Int16   DType = 5  // DT_INT16, held as []int16
	Int8    DType = 6  // DT_INT8, held as []int8
	String  DType = 7  // DT_STRING, held as []string (arbitrary bytes)
	Int64   DType = 9  // DT_INT64, held as []int64
	Bool    DType = 10 // DT_BOOL, held as []bool
	Uint16  DType = 17 // DT_UINT16, held as []uint16
	Half    DType = 19 // DT_HALF, held as []Float16
	Uint32  DType = 22 // DT_UINT32, held as []uint32
	Uint64  DType = 23 // DT_UINT64, held as []uint64
)

// String returns the enum name, e.g. "DT_DOUBLE".
func (d DType) String() string {
	if name, ok := typespb.DataType_name[int32(d)]; ok {
		return name
	}
	return "DT_UNKNOWN_" + strconv.Itoa(int(d))
}

// ParseDType returns the DType for an enum name such as "DT_FLOAT".
func ParseDType(name string) (DType, bool) {
	v, ok := typespb.DataType_value[name]
	return DType(v), ok
}

// Supported reports whether tensors of this dtype can be decoded from and encoded to JSON.
func (d DType) Supported() bool {
	switch d {
	case Float, Double, Half, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Bool, String:
		return true
	}
	return false
}

// IsFloat reports whether d is a floating dtype (DT_HALF, DT_FLOAT, DT_DOUBLE).
func (d DType) IsFloat() bool { return d == Half || d == Float || d == Double }

// IsInteger reports whether d is one of the signed or unsigned integer dtypes.
func (d DType) IsInteger() bool {
	switch d {
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64:
		return true
	}
	return false
}

// Shape is a signature shape: one entry per dimension, -1 for an unknown dimension.
// Unknown rank is expressed by [Spec.UnknownRank], not by the slice.
type Shape []int64

// maxShownDims is the most dims [Shape.String] writes out in full; a longer shape is
// abbreviated to its first three dims, "..." and its last dim.
const maxShownDims = 8

// String formats a shape for messages: "[-1, 2]", "[]" for a scalar, and for a rank above
// 8 the first three dims, "..." and the last one ("[1, 1, 1, ..., 1]"), so that a message
// about a deeply nested body stays short (messages that print it also give the rank).
func (s Shape) String() string {
	shown := []int64(s)
	if len(s) > maxShownDims {
		shown = append(append([]int64(nil), s[:3]...), s[len(s)-1])
	}
	parts := make([]string, len(shown))
	for i, d := range shown {
		parts[i] = strconv.FormatInt(d, 10)
	}
	if len(s) > maxShownDims {
		parts = append(parts[:3], "...", parts[3])
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Spec describes one input or output of a signature.
type Spec struct {
	// Alias is the key in the SignatureDef's inputs or outputs map, e.g. "x".
	Alias string
	// Name is the graph tensor name, e.g. "serving_default_x:0".
	Name string
	// DType is the tensor's element type.
	DType DType
	// Shape holds the dims (-1 for unknown); ignored when UnknownRank is set.
	Shape Shape
	// UnknownRank is set when the signature does not fix the rank.
	UnknownRank bool
}

// ShapeString formats the spec's shape for messages: "[-1, -1]" or "unknown rank".
func (s Spec) ShapeString() string {
	if s.UnknownRank {
		return "unknown rank"
	}
	return s.Shape.String()
}

// Describe returns "alias (DT_X, shape [..])" for error messages.
func (s Spec) Describe() string {
	return fmt.Sprintf("%s (%s, shape %s)", status.Bound(s.Alias), s.DType, s.ShapeString())
}

// Tensor is a dense tensor held as a flat row-major slice.
type Tensor struct {
	// DType is the element type; it selects the concrete type of Data.
	DType DType
	// Shape is the concrete shape (no unknown dims); empty for a scalar.
	Shape []int64
	// Data is the flat element slice: []float32 (DT_FLOAT), []float64 (DT_DOUBLE),
	// []Float16 (DT_HALF), []int8, []int16, []int32, []int64, []uint8, []uint16, []uint32,
	// []uint64, []bool or []string (DT_STRING, raw bytes).
	Data any
}

// NumElements returns the product of the shape's dims (1 for a scalar).
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len returns the number of elements held in Data.
func (t *Tensor) Len() int {
	switch d := t.Data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []Float16:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []uint8:
		return len(d)
	case []uint16:
		return len(d)
	case []uint32:
		return len(d)
	case []uint64:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	}
	return 0
}

// DescribeSpecs returns the specs' [Spec.Describe] texts sorted by alias and joined with
// ", ", or "none" when there are none: the list refusals name as what was expected.
func DescribeSpecs(specs map[string]Spec) string {
	if len(specs) == 0 {
		return "none"
	}
	aliases := make([]string, 0, len(specs))
	for a := range specs {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	parts := make([]string, len(aliases))
	for i, a := range aliases {
		parts[i] = specs[a].Describe()
	}
	return strings.Join(parts, ", ")
}

// Element is the Go type of one element of a dtype's flat slice (see [Tensor.Data]).
type Element interface {
	float32 | float64 | Float16 | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | bool | string
}

// DTypeOf returns the dtype whose elements Go holds as T.
func DTypeOf[T Element]() DType {
	switch any(*new(T)).(type) {
	case float32:
		return Float
	case float64:
		return Double
	case Float16:
		return Half
	case int8:
		return Int8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint8:
		return Uint8
	case uint16:
		return Uint16
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	case bool:
		return Bool
	default:
		return String
	}
}

// New returns the tensor of dtype DTypeOf[T] and the given shape holding data, which it
// keeps (no copy): data must hold the product of the dims, row-major (one element for a
// scalar, shape nil or empty). Errors: INVALID_ARGUMENT for a negative dim or a wrong count.
func New[T Element](shape []int64, data []T) (*Tensor, error) {
	for _, d := range shape {
		if d < 0 {
			return nil, status.New(status.InvalidArgument, "tensor shape %v has a negative dim", shape)
		}
	}
	if n := NumElements(shape); int64(len(data)) != n {
		return nil, status.New(status.InvalidArgument, "a tensor of shape %v needs %d elements, got %d", shape, n, len(data))
	}
	return &Tensor{DType: DTypeOf[T](), Shape: append([]int64{}, shape...), Data: data}, nil
}

// Values returns t's flat element slice itself (no copy) when T is the Go type of t's dtype.
// Errors: INVALID_ARGUMENT when it is not.
func Values[T Element](t *Tensor) ([]T, error) {
	v, ok := t.Data.([]T)
	if !ok || t.DType != DTypeOf[T]() {
		return nil, status.New(status.InvalidArgument, "a %s tensor holding %T cannot be read as []%T", t.DType, t.Data, *new(T))
	}
	return v, nil
}

// NewBytes returns a DT_STRING tensor of the given shape whose elements are copies of the
// byte strings in data (any bytes, not only UTF-8). Errors are [New]'s.
func NewBytes(shape []int64, data [][]byte) (*Tensor, error) {
	s := make([]string, len(data))
	for i, b := range data {
		s[i] = string(b)
	}
	return New(shape, s)
}

// Bytes returns copies of the elements of a DT_STRING tensor as byte strings, row-major.
// Errors: INVALID_ARGUMENT for another dtype.
func Bytes(t *Tensor) ([][]byte, error) {
	s, err := Values[string](t)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(s))
	for i, e := range s {
		out[i] = []byte(e)
	}
	return out, nil
}
