package restjson

import (
	"math"
	"math/big"
	"strconv"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// float16Digits returns the digits s (no leading or trailing zero) and the exponent n of
// the shortest decimal s × 10^(n−len(s)) that [tensor.ParseFloat16] reads back as h (finite, > 0),
// the nearest to h of those when two are that short, the one with an even last digit at a tie
// (as strconv's shortest digits of float32 and float64 are chosen; tests/CONTRACT.md, "Numbers
// in text"). For each length k it tries the two k-digit decimals on either side of h, nearest
// first: any k-digit decimal that reads back as h lies between h's neighbours, so one of those
// two does too when any does.
func float16Digits(h tensor.Float16) ([]byte, int) {
	f := h.Float64()
	exact := new(big.Rat).SetFloat64(f)
	// decade: 10^decade <= f < 10^(decade+1)
	decade := int(math.Floor(math.Log10(f)))
	if exact.Cmp(ratPow10(decade)) < 0 {
		decade--
	} else if exact.Cmp(ratPow10(decade+1)) >= 0 {
		decade++
	}
	for k := 1; ; k++ {
		grid := decade - k + 1 // the k-digit decimals are the multiples of 10^grid
		q := new(big.Rat).Quo(exact, ratPow10(grid))
		below, rem := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
		above := new(big.Int).Add(below, big.NewInt(1))
		candidates := []*big.Int{below, above}
		switch twice := new(big.Int).Lsh(rem, 1); {
		case rem.Sign() == 0:
			candidates = candidates[:1] // h is itself a k-digit decimal
		case twice.Cmp(q.Denom()) > 0, twice.Cmp(q.Denom()) == 0 && below.Bit(0) == 1:
			candidates[0], candidates[1] = above, below
		}
		for _, m := range candidates {
			digits := m.String()
			if back, ok := tensor.ParseFloat16(digits + "e" + strconv.Itoa(grid)); ok && back == h {
				return trimZeros([]byte(digits)), len(digits) + grid
			}
		}
	}
}

// ratPow10 returns 10^e exactly.
func ratPow10(e int) *big.Rat {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(e, -e))), nil)
	if e >= 0 {
		return new(big.Rat).SetInt(p)
	}
	return new(big.Rat).SetFrac(big.NewInt(1), p)
}
