// Package tfjson converts between TensorFlow Serving REST predict bodies (JSON) and dense
// tensors held as flat Go slices, following tests/CONTRACT.md.
//
// Decoding is driven by the signature: each input alias has a [Spec] (dtype and shape) and
// every request is checked against it (rank, known dims, rectangularity, dtype, value
// ranges) before anything is handed to TensorFlow. Encoding writes numbers as the contract's
// "Numbers in text" says ([FormatFloat]: the dtype's shortest round-trip digits in
// ECMAScript's layout, NaN/Infinity/-Infinity, -0.0) and {"b64": ...} for binary strings.
// [ParseDecimal] reads the decimal literals of text that is not JSON (CSV fields, flags).
//
// The package has no cgo dependency; internal/model converts its [Tensor] values to and from
// TensorFlow tensors.
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
