package tfjson

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EncodeResponse writes a predict response on one line (no trailing newline):
// {"predictions": ...} for row-format requests, {"outputs": ...} for columnar ones.
// With one output the value is that tensor (row i = prediction i); with several, row format
// gives one object per row keyed by output alias and columnar format one object of tensors.
func EncodeResponse(outputs map[string]*Tensor, rowFormat bool) ([]byte, error) {
	aliases := sortedAliases(outputs)
	for _, a := range aliases {
		t := outputs[a]
		if !t.DType.Supported() {
			return nil, errorf("output %s has dtype %s, which cannot be written as JSON", Quote(a), t.DType)
		}
		if int64(t.Len()) != NumElements(t.Shape) {
			return nil, errorf("output %s holds %d elements for shape %s", Quote(a), t.Len(), Shape(t.Shape))
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
			per := NumElements(t.Shape[1:])
			w := writer{t: t, asB64: strings.HasSuffix(a, "_bytes"), next: int(row * per)}
			b = w.nested(b, t.Shape[1:])
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// AppendTensor appends t as nested JSON arrays (a bare value for a scalar). alias decides
// how strings are written: {"b64": ...} if it ends in "_bytes" or the bytes are not UTF-8.
func AppendTensor(dst []byte, t *Tensor, alias string) []byte {
	w := writer{t: t, asB64: strings.HasSuffix(alias, "_bytes")}
	return w.nested(dst, t.Shape)
}

// ErrorBody returns TF Serving's error body {"error": "<message>"}.
func ErrorBody(msg string) []byte {
	b := append([]byte(`{"error": `), appendString(nil, msg)...)
	return append(b, '}')
}

type writer struct {
	t     *Tensor
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
		return appendFloat(b, d[i], 64)
	case []float32:
		return appendFloat(b, float64(d[i]), 32)
	case []Float16:
		return appendFloat16(b, d[i])
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

// appendFloat writes the shortest decimal that round-trips at the given width, or one of
// the bare tokens NaN, Infinity, -Infinity.
//
// A negative zero is written "-0.0", as the Python reference, the Java consumer and
// TensorFlow Serving write it, never strconv's "-0": "-0" is a JSON integer token, and
// readers that type numbers by their token (Python's json module, Jackson) read it as the
// integer 0, so the value arrives as +0.0 (tests/CONTRACT.md, "Values": -0.0 keeps its sign).
// Every other value keeps strconv's shortest form, since reading it as an integer does not
// change its value.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0 && math.Signbit(f):
		return append(b, "-0.0"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
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

// PythonRepr writes a float64 as Python's repr() does ("0.1", "-1.0", "1e+30", "nan", "inf"): the shortest round-trip digits,
// positional with ".0" for 1e-4 <= |f| < 1e16, otherwise scientific with a signed exponent
// of at least two digits.
func PythonRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e16) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+16, 1.5e-05
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[:1]
	exp = strings.TrimLeft(exp[1:], "0")
	if len(exp) < 2 {
		exp = strings.Repeat("0", 2-len(exp)) + exp
	}
	return mant + "e" + sign + exp
}
