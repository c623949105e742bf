package restjson

import (
	"strconv"
	"strings"
)

// keptDigits is how many significant digits BoundedLiteral keeps of a long literal (plus one
// sticky digit): more than the 767 that deciding a float64 tie can need, so rounding to any
// float dtype is unchanged.
const keptDigits = 800

// Decimal exponents beyond which every float dtype overflows (expOverflow) or rounds to zero
// (expUnderflow), for a value written 0.DIGITS × 10^scale.
const (
	expOverflow  = 310
	expUnderflow = -330
)

// BoundedLiteral rewrites a JSON number literal (RFC 8259 §6 grammar, already validated) so
// that parsing it takes time linear in its length and strconv's exponent saturation (at
// 10000) never matters (tests/CONTRACT.md, "Values"): as "[-]0.DIGITSeSCALE" with at most
// keptDigits+1 significant digits, or, when the exponent alone decides, as "[-]0" (below
// every float dtype) or "[-]1e400" (beyond every float dtype). The value rounds to the same
// float of every width as the literal. Text that is not a JSON number is returned unchanged.
func BoundedLiteral(lit string) string {
	s := lit
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	mantissa, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, fraction, _ := strings.Cut(mantissa, ".")
	if whole == "" || !allDigits(whole) || !allDigits(fraction) {
		return lit
	}
	digits := whole + fraction
	significant := strings.TrimLeft(digits, "0")
	if significant == "" {
		return sign + "0"
	}
	negExp := false
	if hasExp {
		if strings.HasPrefix(exp, "+") || strings.HasPrefix(exp, "-") {
			negExp, exp = exp[0] == '-', exp[1:]
		}
		if exp == "" || !allDigits(exp) {
			return lit
		}
	}
	exp = strings.TrimLeft(exp, "0")
	if len(exp) > 6 {
		if negExp {
			return sign + "0"
		}
		return sign + "1e400"
	}
	e := 0
	if exp != "" {
		e, _ = strconv.Atoi(exp)
	}
	if negExp {
		e = -e
	}
	// The value is 0.SIGNIFICANT × 10^scale.
	scale := e + len(whole) - (len(digits) - len(significant))
	switch {
	case scale > expOverflow:
		return sign + "1e400"
	case scale < expUnderflow:
		return sign + "0"
	}
	significant = strings.TrimRight(significant, "0")
	if len(significant) > keptDigits {
		significant = significant[:keptDigits] + "1" // the rest is not zero: a sticky digit
	}
	return sign + "0." + significant + "e" + strconv.Itoa(scale)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
