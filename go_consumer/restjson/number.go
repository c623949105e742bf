package restjson

import (
	"errors"
	"math"
	"regexp"
	"strconv"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// FormatFloat returns the text of f as a value of the floating dtype of width bits (16:
// DT_HALF, 32: DT_FLOAT, 64: DT_DOUBLE), as tests/CONTRACT.md, "Numbers in text", writes every
// number a consumer prints (JSON responses, stdout, the manifest's training.run):
//
//   - NaN, +Inf and -Inf are "NaN", "Infinity" and "-Infinity"; zeros "0.0" and "-0.0";
//   - any other value is the shortest decimal that reads back (round-half-even) to it in its
//     dtype, the nearest of those when several are that short: strconv.FormatFloat(f, 'e', -1,
//     bits) for 32 and 64, [Float16] digits for 16; laid out as ECMAScript's
//     Number::toString lays out digits s (k of them) and exponent n (value s × 10^(n−k)),
//     except that a whole number keeps ".0": "3.0", "1000000.0", "123.45", "0.000123",
//     "1e+21", "5.9604645e-8".
//
// f must be a value of the width (a float32 or binary16 widened exactly); for bits 16 it is
// rounded to binary16 first, for bits 32 to float32 (strconv's rule).
func FormatFloat(f float64, bits int) string {
	return string(AppendFloat(nil, f, bits))
}

// AppendFloat appends [FormatFloat](f, bits) to dst and returns the extended slice.
func AppendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0 && math.Signbit(f):
		return append(dst, "-0.0"...)
	case f == 0:
		return append(dst, "0.0"...)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var digits []byte
	var n int
	if bits == 16 {
		digits, n = float16Digits(tensor.Float16FromFloat64(f))
	} else {
		digits, n = shortestDigits(f, bits)
	}
	return appendDigits(dst, digits, n)
}

// shortestDigits returns the digits s (no leading or trailing zero) and the exponent n with
// s × 10^(n−len(s)) the shortest decimal that reads back to f (> 0, finite) at width bits,
// from strconv's "d.ddde±x" form.
func shortestDigits(f float64, bits int) ([]byte, int) {
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, bits)
	at := len(e) - 1
	for e[at] != 'e' {
		at--
	}
	exp, _ := strconv.Atoi(string(e[at+1:])) // "+21", "-07": always an integer
	digits := make([]byte, 0, at)
	for _, c := range e[:at] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	return trimZeros(digits), exp + 1
}

func trimZeros(digits []byte) []byte {
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	return digits
}

// appendDigits lays out digits s and exponent n (value s × 10^(n−k), k = len(s)) as
// ECMA-262's Number::toString does, a whole number keeping ".0".
func appendDigits(dst, s []byte, n int) []byte {
	k := len(s)
	switch {
	case k <= n && n <= 21:
		dst = append(dst, s...)
		for range n - k {
			dst = append(dst, '0')
		}
		return append(dst, ".0"...)
	case 0 < n && n <= 21:
		dst = append(dst, s[:n]...)
		dst = append(dst, '.')
		return append(dst, s[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for range -n {
			dst = append(dst, '0')
		}
		return append(dst, s...)
	}
	dst = append(dst, s[0])
	if k > 1 {
		dst = append(dst, '.')
		dst = append(dst, s[1:]...)
	}
	dst = append(dst, 'e')
	if n-1 >= 0 {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(n-1), 10)
}

// decimalLiteral is the literal of tests/CONTRACT.md, "Decimal numbers in text input".
var decimalLiteral = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// ErrNotDecimal is [ParseDecimal]'s error for text that is not a decimal literal.
var ErrNotDecimal = errors.New("not a decimal literal")

// ParseDecimal reads a number from text that is not JSON (a CSV field, the --learning-rate
// flag), as tests/CONTRACT.md, "Decimal numbers in text input", says: s must match
// [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? (no white space, "_", hexadecimal,
// inf/nan words or type suffix), else the error is [ErrNotDecimal]; the literal is then
// rounded once, correctly (round-half-even), to the float of width bits (32 or 64) by
// strconv.ParseFloat(s, bits). A literal beyond the width's range gives ±Inf and no error
// (a caller that needs a finite value refuses it); one below it gives a zero of its sign.
func ParseDecimal(s string, bits int) (float64, error) {
	if !decimalLiteral.MatchString(s) {
		return 0, ErrNotDecimal
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, ErrNotDecimal // not reached: every literal of the pattern is a Go float
	}
	return f, nil
}
