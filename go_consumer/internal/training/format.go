package training

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// FormatValue writes a tensor as train's stdout lines do (tests/CONTRACT.md, "Training",
// "Numbers on stdout"): a scalar as one number, any other shape as the flat list
// "[a, b, ...]" of its elements in row-major order. Numbers are written as "Numbers in
// text" says, in the tensor's dtype ([restjson.FormatFloat] at the width of DT_HALF, DT_FLOAT or
// DT_DOUBLE; integers in decimal; booleans true/false); strings as they are.
func FormatValue(t *tensor.Tensor) string {
	v := reflect.ValueOf(t.Data)
	items := make([]string, v.Len())
	for i := range items {
		switch d := t.Data.(type) {
		case []float32:
			items[i] = restjson.FormatFloat(float64(d[i]), 32)
		case []float64:
			items[i] = restjson.FormatFloat(d[i], 64)
		case []tensor.Float16:
			items[i] = restjson.FormatFloat(d[i].Float64(), 16)
		case []bool:
			items[i] = strconv.FormatBool(d[i])
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
