package training

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

// FormatFloat writes f as the Python reference prints a number of its dtype on stdout (the
// contract's "shortest round-trip of its dtype"), byte for byte:
//
//   - bits 32 (DT_FLOAT): numpy's str() of a float32: the shortest digits that round-trip
//     in float32, positional ("0.1", "3.0", "999999.94") for 1e-4 <= |f| < 1e6 and for zero,
//     scientific ("2.7862932e-05", "1e+06") otherwise;
//   - bits 64 (DT_DOUBLE): Python's repr() of a float: positional when the decimal exponent
//     is in [-4, 16), scientific otherwise;
//
// and NaN, Infinity, -Infinity as the bare JSON tokens; -0 keeps its sign. f must already be
// a value of the width (a float32 widened exactly for bits 32).
func FormatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if bits != 32 {
		return tfjson.PythonRepr(f)
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-4 || abs >= 1e6) {
		return strconv.FormatFloat(f, 'e', -1, bits)
	}
	s := strconv.FormatFloat(f, 'f', -1, bits)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// FormatValue writes a tensor as the reference's stdout lines do: a scalar as one number,
// any other shape as the flat list "[a, b, ...]" in row-major order. Floats are written with
// [FormatFloat] of their width (DT_HALF like DT_FLOAT, which numpy's float16 str() can
// differ from), integers in decimal, booleans as True/False (Python's str()), strings as
// they are.
func FormatValue(t *tfjson.Tensor) string {
	v := reflect.ValueOf(t.Data)
	items := make([]string, v.Len())
	for i := range items {
		switch d := t.Data.(type) {
		case []float32:
			items[i] = FormatFloat(float64(d[i]), 32)
		case []float64:
			items[i] = FormatFloat(d[i], 64)
		case []tfjson.Float16:
			items[i] = FormatFloat(d[i].Float64(), 32)
		case []bool:
			items[i] = "False"
			if d[i] {
				items[i] = "True"
			}
		case []string:
			items[i] = d[i]
		default:
			e := v.Index(i)
			if e.CanInt() {
				items[i] = strconv.FormatInt(e.Int(), 10)
			} else {
				items[i] = strconv.FormatUint(e.Uint(), 10)
			}
		}
	}
	if len(t.Shape) == 0 && len(items) == 1 {
		return items[0]
	}
	return "[" + strings.Join(items, ", ") + "]"
}
