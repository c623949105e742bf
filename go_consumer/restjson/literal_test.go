package restjson

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestBoundedLiteral(t *testing.T) {
	zeros := strings.Repeat("0", 200000)
	for _, c := range []struct {
		lit  string
		want float64
	}{
		{"1.5", 1.5},
		{"-0.0", math.Copysign(0, -1)},
		{"0." + zeros + "1e200000", 0.1},                     // strconv alone saturates the exponent
		{"1" + zeros + "e-200000", 1},                        // a long mantissa, a large negative exponent
		{"1e-99999999", 0},                                   // decided by the exponent: zero
		{"-1e-9999999999999999", math.Copysign(0, -1)},       // ... of the literal's sign
		{"2.2250738585072011e-308", 2.2250738585072011e-308}, // near the float64 subnormal edge
		{"4.9406564584124654e-324", 5e-324},
		{"0.1" + strings.Repeat("0", 2000) + "1", 0.1}, // the sticky digit keeps it above 0.1
	} {
		got, err := strconv.ParseFloat(BoundedLiteral(c.lit), 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(c.want) {
			t.Errorf("BoundedLiteral(%.40q...) parses to %v (%v), want %v", c.lit, got, err, c.want)
		}
	}
	for _, lit := range []string{"1e99999999", "-1e400", "1" + zeros, "0." + zeros + "1e200400"} {
		if _, err := strconv.ParseFloat(BoundedLiteral(lit), 64); err == nil {
			t.Errorf("BoundedLiteral(%.40q...) parses in range, want out of range", lit)
		}
	}
	// A tie between two float32 values decided by a digit far past the 800 kept.
	tie := "1.00000005960464477539062500" + strings.Repeat("0", 1000) + "1"
	got, _ := strconv.ParseFloat(BoundedLiteral(tie), 32)
	if float32(got) != math.Nextafter32(1, 2) {
		t.Errorf("tie above half rounds to %v, want the next float32 above 1", float32(got))
	}
}
