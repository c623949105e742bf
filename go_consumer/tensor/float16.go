package tensor

import (
	"math"
	"math/big"
	"strconv"
)

// Float16 is an IEEE 754 binary16 value (DT_HALF) held as its bits.
type Float16 uint16

// Special binary16 bit patterns.
const (
	float16NaN    Float16 = 0x7E00
	float16PosInf Float16 = 0x7C00
	float16NegInf Float16 = 0xFC00
)

// Float64 returns the exact value of h.
func (h Float16) Float64() float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1F
	frac := float64(h & 0x3FF)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1F:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// float16FromExact converts a float64 that is exactly representable as binary16.
func float16FromExact(f float64) Float16 {
	var sign Float16
	if math.Signbit(f) {
		sign = 0x8000
		f = -f
	}
	if f == 0 {
		return sign
	}
	frac, exp := math.Frexp(f) // f = frac * 2^exp, frac in [0.5, 1)
	e := exp - 1               // f = (2*frac) * 2^e
	if e < -14 {
		return sign | Float16(math.Ldexp(f, 24)) // subnormal: f = m * 2^-24
	}
	m := Float16(math.Ldexp(frac, 11)) // in [1024, 2048)
	return sign | Float16(e+15)<<10 | (m - 1024)
}

// Float16FromFloat64 rounds f to binary16, round-half-even (as numpy's astype(float16) and
// C's (_Float16) conversion do): NaN stays NaN, values beyond the binary16 range become
// infinities.
func Float16FromFloat64(f float64) Float16 {
	switch {
	case math.IsNaN(f):
		return float16NaN
	case math.Abs(f) >= 65520: // 65504 + half an ulp rounds up to infinity
		if f < 0 {
			return float16NegInf
		}
		return float16PosInf
	case f == 0:
		return float16FromExact(f)
	}
	_, exp := math.Frexp(math.Abs(f))
	e := exp - 1 // 2^e <= |f| < 2^(e+1)
	if e < -14 {
		e = -14 // subnormals share the smallest normal exponent's spacing, 2^-24
	}
	// |f| * 2^(10-e) is exact (a power-of-two scaling), so rounding it to an integer is
	// the correctly rounded significand; 2^11 carries into the next binade, which
	// float16FromExact handles.
	m := math.RoundToEven(math.Ldexp(math.Abs(f), 10-e))
	return float16FromExact(math.Copysign(math.Ldexp(m, e-10), f))
}

// ParseFloat16 rounds a JSON number literal (or NaN, Infinity, -Infinity) directly to
// binary16, round-half-even, as the contract asks (never through another width).
// ok is false when a finite literal overflows binary16.
func ParseFloat16(lit string) (h Float16, ok bool) {
	switch lit {
	case "NaN":
		return float16NaN, true
	case "Infinity":
		return float16PosInf, true
	case "-Infinity":
		return float16NegInf, true
	}
	wide, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.Abs(wide) >= 131072 {
		return 0, false // overflows float64, or far beyond binary16's max 65504
	}
	neg := math.Signbit(wide)
	if wide == 0 {
		// Zero, or smaller than the float64 range and thus far below 2^-25.
		if neg {
			return 0x8000, true
		}
		return 0, true
	}
	exact, good := new(big.Rat).SetString(lit)
	if !good {
		return 0, false
	}
	exact.Abs(exact)
	// e = floor(log2(exact)); the float64 estimate can only be one too high.
	_, exp := math.Frexp(math.Abs(wide))
	e := exp - 1
	if exact.Cmp(ratPow2(e)) < 0 {
		e--
	}
	if e < -14 {
		e = -14
	}
	// m = round-half-even(exact / 2^(e-10)), an integer in [0, 2048].
	scaled := new(big.Rat).Mul(exact, ratPow2(10-e))
	q, r := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	twice := new(big.Int).Lsh(r, 1)
	switch twice.Cmp(scaled.Denom()) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	value := math.Ldexp(float64(q.Int64()), e-10)
	if value > 65504 {
		return 0, false
	}
	if neg {
		value = -value
	}
	return float16FromExact(value), true
}

func ratPow2(e int) *big.Rat {
	one := big.NewInt(1)
	if e >= 0 {
		return new(big.Rat).SetInt(new(big.Int).Lsh(one, uint(e)))
	}
	return new(big.Rat).SetFrac(one, new(big.Int).Lsh(one, uint(-e)))
}
