package restjson

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// EncodeResponse writes a predict response on one line (no trailing newline):
// {"predictions": ...} for row-format requests, {"outputs": ...} for columnar ones.
// With one output the value is that tensor (row i = prediction i); with several, row format
// gives one object per row keyed by output alias and columnar format one object of tensors.
func EncodeResponse(outputs map[string]*tensor.Tensor, rowFormat bool) ([]byte, error) {
	aliases := sortedAliases(outputs)
	for _, a := range aliases {
		t := outputs[a]
		if !t.DType.Supported() {
			return nil, errorf("output %s has dtype %s, which cannot be written as JSON", Quote(a), t.DType)
		}
		if int64(t.Len()) != tensor.NumElements(t.Shape) {
			return nil, errorf("output %s holds %d elements for shape %s", Quote(a), t.Len(), tensor.Shape(t.Shape))
		}
	}
	var b []byte
	if !rowFormat {
		b = append(b, `{"outputs": `...)
		if len(aliases) == 1 {
			b = AppendTensor(b, outputs[aliases[0]], aliases[0])
			return append(b, '}'), nil
		}
		b = append(b, '{')
		for i, a := range aliases {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, a)
			b = append(b, ": "...)
			b = AppendTensor(b, outputs[a], a)
		}
		return append(b, "}}"...), nil
	}
	if len(aliases) == 1 {
		t := outputs[aliases[0]]
		if len(t.Shape) == 0 {
			return nil, errorf("output %s is a scalar; row format needs a batch dimension", Quote(aliases[0]))
		}
		b = append(b, `{"predictions": `...)
		b = AppendTensor(b, t, aliases[0])
		return append(b, '}'), nil
	}
	if len(aliases) == 0 {
		return nil, errorf("the signature has no outputs")
	}
	batch := int64(-1)
	for _, a := range aliases {
		t := outputs[a]
		if len(t.Shape) == 0 || (batch >= 0 && t.Shape[0] != batch) {
			return nil, errorf(`outputs do not share a batch dimension; use the columnar "inputs" format`)
		}
		batch = t.Shape[0]
	}
	b = append(b, `{"predictions": [`...)
	for row := int64(0); row < batch; row++ {
		if row > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '{')
		for i, a := range aliases {
			if i > 0 {
				b = append(b, ", "...)
			}
			t := outputs[a]
			b = appendString(b, a)
			b = append(b, ": "...)
			per := tensor.NumElements(t.Shape[1:])
			w := writer{t: t, asB64: strings.HasSuffix(a, "_bytes"), next: int(row * per)}
			b = w.nested(b, t.Shape[1:])
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// AppendTensor appends t as nested JSON arrays (a bare value for a scalar): numbers as
// [AppendFloat] writes them at the dtype's width (integers in decimal, booleans true/false).
// alias decides how strings are written: {"b64": ...} if it ends in "_bytes" or the bytes
// are not UTF-8.
func AppendTensor(dst []byte, t *tensor.Tensor, alias string) []byte {
	w := writer{t: t, asB64: strings.HasSuffix(alias, "_bytes")}
	return w.nested(dst, t.Shape)
}

// ErrorBody returns TF Serving's error body {"error": "<message>"}.
func ErrorBody(msg string) []byte {
	b := append([]byte(`{"error": `), appendString(nil, msg)...)
	return append(b, '}')
}

type writer struct {
	t     *tensor.Tensor
	asB64 bool
	next  int // index of the next flat element to write
}

func (w *writer) nested(b []byte, shape []int64) []byte {
	if len(shape) == 0 {
		b = w.leaf(b, w.next)
		w.next++
		return b
	}
	b = append(b, '[')
	for i := int64(0); i < shape[0]; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = w.nested(b, shape[1:])
	}
	return append(b, ']')
}

func (w *writer) leaf(b []byte, i int) []byte {
	switch d := w.t.Data.(type) {
	case []float64:
		return AppendFloat(b, d[i], 64)
	case []float32:
		return AppendFloat(b, float64(d[i]), 32)
	case []tensor.Float16:
		return AppendFloat(b, d[i].Float64(), 16)
	case []int8:
		return strconv.AppendInt(b, int64(d[i]), 10)
	case []int16:
		return strconv.AppendInt(b, int64(d[i]), 10)
	case []int32:
		return strconv.AppendInt(b, int64(d[i]), 10)
	case []int64:
		return strconv.AppendInt(b, d[i], 10)
	case []uint8:
		return strconv.AppendUint(b, uint64(d[i]), 10)
	case []uint16:
		return strconv.AppendUint(b, uint64(d[i]), 10)
	case []uint32:
		return strconv.AppendUint(b, uint64(d[i]), 10)
	case []uint64:
		return strconv.AppendUint(b, d[i], 10)
	case []bool:
		return strconv.AppendBool(b, d[i])
	case []string:
		if !w.asB64 && utf8.ValidString(d[i]) {
			return appendString(b, d[i])
		}
		b = append(b, `{"b64": "`...)
		b = base64.StdEncoding.AppendEncode(b, []byte(d[i]))
		return append(b, `"}`...)
	}
	return append(b, "null"...)
}

// appendString writes s as a JSON string literal (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
