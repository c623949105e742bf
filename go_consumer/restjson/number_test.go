package restjson

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// numberCases is tests/cases/number_text.json: tests/CONTRACT.md's "Numbers in text" and
// "Decimal numbers in text input" as data shared by every language's unit tests.
type numberCases struct {
	Format []struct {
		DType string `json:"dtype"`
		Bits  string `json:"bits"`
		Text  string `json:"text"`
	} `json:"format"`
	ParseFloat32 struct {
		Accepted []struct {
			Literal string  `json:"literal"`
			Bits    *string `json:"bits"` // null: finite in decimal, beyond float32's range
		} `json:"accepted"`
		Refused []string `json:"refused"`
	} `json:"parse_float32"`
}

// readNumberCases finds tests/cases/number_text.json in the first folder above the package
// that has it (the repository root), so the test runs from any checkout location.
func readNumberCases(t *testing.T) *numberCases {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "tests", "cases", "number_text.json"))
		if err == nil {
			var c numberCases
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatalf("number_text.json: %v", err)
			}
			if len(c.Format) == 0 || len(c.ParseFloat32.Accepted) == 0 || len(c.ParseFloat32.Refused) == 0 {
				t.Fatal("number_text.json has no cases")
			}
			return &c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("tests/cases/number_text.json not found in any folder above the package")
		}
		dir = parent
	}
}

func parseBits(t *testing.T, hex string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(hex, 0, 64)
	if err != nil {
		t.Fatalf("bits %q: %v", hex, err)
	}
	return v
}

func TestFormatFloatCases(t *testing.T) {
	for _, c := range readNumberCases(t).Format {
		bits := parseBits(t, c.Bits)
		var f float64
		var width int
		switch c.DType {
		case "DT_HALF":
			f, width = tensor.Float16(bits).Float64(), 16
		case "DT_FLOAT":
			f, width = float64(math.Float32frombits(uint32(bits))), 32
		case "DT_DOUBLE":
			f, width = math.Float64frombits(bits), 64
		default:
			t.Fatalf("unknown dtype %s", c.DType)
		}
		if got := FormatFloat(f, width); got != c.Text {
			t.Errorf("%s %s: %q, want %q", c.DType, c.Bits, got, c.Text)
		}
		if got := string(AppendFloat([]byte("x"), f, width)); got != "x"+c.Text {
			t.Errorf("AppendFloat %s %s: %q", c.DType, c.Bits, got)
		}
	}
}

func TestParseDecimalCases(t *testing.T) {
	cases := readNumberCases(t).ParseFloat32
	for _, c := range cases.Accepted {
		f, err := ParseDecimal(c.Literal, 32)
		if err != nil {
			t.Errorf("%q refused: %v", c.Literal, err)
			continue
		}
		if c.Bits == nil {
			if !math.IsInf(f, 0) {
				t.Errorf("%q = %v, want an infinity (beyond float32)", c.Literal, f)
			}
			continue
		}
		if got, want := math.Float32bits(float32(f)), uint32(parseBits(t, *c.Bits)); got != want || float64(float32(f)) != f {
			t.Errorf("%q = %#08x, want %s", c.Literal, got, *c.Bits)
		}
	}
	for _, lit := range cases.Refused {
		if f, err := ParseDecimal(lit, 32); !errors.Is(err, ErrNotDecimal) {
			t.Errorf("%q accepted as %v", lit, f)
		}
	}
}

// TestFormatFloatEveryHalf: every finite binary16 is written with digits that read back to
// it, and never with more digits than a decimal found by trying every shorter length.
func TestFormatFloatEveryHalf(t *testing.T) {
	for bits := 0; bits < 1<<16; bits++ {
		h := tensor.Float16(bits)
		f := h.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		s := FormatFloat(f, 16)
		if back, ok := tensor.ParseFloat16(s); !ok || back != h {
			t.Fatalf("%#04x written as %s, read back as %#04x (ok=%v)", bits, s, back, ok)
		}
	}
	for _, tc := range []struct {
		bits tensor.Float16
		want string
	}{
		{0x2400, "0.01563"}, // 2^-6: the nearest 4 digits (0.01562) is outside, the other one inside
		{0x40a0, "2.312"},   // 2.3125: a tie between 2.312 and 2.313, the even one
		{0x4060, "2.188"},   // 2.1875: a tie, the even one
		{0x7bff, "65500.0"},
		{0x0001, "6e-8"},
		{0x3555, "0.3333"},
		{0xfbff, "-65500.0"},
	} {
		if got := FormatFloat(tc.bits.Float64(), 16); got != tc.want {
			t.Errorf("%#04x: %q, want %q", tc.bits, got, tc.want)
		}
	}
}

// TestFormatFloatLayout: the ECMAScript layout boundaries at every width.
func TestFormatFloatLayout(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{1e21, 64, "1e+21"},
		{1e20, 64, "100000000000000000000.0"},
		{123e18, 64, "123000000000000000000.0"},
		{1.5e21, 64, "1.5e+21"},
		{1e-6, 64, "0.000001"},
		{1.25e-6, 64, "0.00000125"},
		{1e-7, 64, "1e-7"},
		{1.5e-7, 64, "1.5e-7"},
		{-123.45, 64, "-123.45"},
		{0.5, 64, "0.5"},
		{12, 64, "12.0"},
		{1e300, 64, "1e+300"},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(0.1)), 64, "0.10000000149011612"},
		{float64(float32(1e-4)), 32, "0.0001"},
		{float64(float32(1e6)), 32, "1000000.0"},
		{float64(float32(1.2345679e8)), 32, "123456790.0"},
		{math.Copysign(0, -1), 16, "-0.0"},
		{math.Inf(-1), 16, "-Infinity"},
		{math.NaN(), 32, "NaN"},
	} {
		if got := FormatFloat(tc.f, tc.bits); got != tc.want {
			t.Errorf("FormatFloat(%v, %d) = %q, want %q", tc.f, tc.bits, got, tc.want)
		}
	}
}

// TestParseDecimal: the pattern alone decides what is a literal; white space, signs and
// words other than the pattern's are refused whatever strconv would accept.
func TestParseDecimal(t *testing.T) {
	for lit, want := range map[string]float64{
		"1":        1,
		"-2.5":     -2.5,
		"+.25":     0.25,
		"7.":       7,
		"1e-3":     0.001,
		"00012":    12,
		"1E+2":     100,
		"-0":       math.Copysign(0, -1),
		"1e999999": math.Inf(1),
		"-1e39":    math.Inf(-1),
	} {
		f, err := ParseDecimal(lit, 64)
		if lit == "-1e39" {
			f, err = ParseDecimal(lit, 32)
		}
		if err != nil || f != want || math.Signbit(f) != math.Signbit(want) {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v", lit, f, err, want)
		}
	}
	for _, lit := range []string{"1_000", "0x10", "0x1p3", "Inf", "+inf", "nan", "infinity", "1.5f", "\u00a01", "1\u00a0", "1\t", "\n1", "1e+", "+", "-", "1,5", "１"} {
		if _, err := ParseDecimal(lit, 64); !errors.Is(err, ErrNotDecimal) {
			t.Errorf("ParseDecimal(%q) accepted", lit)
		}
	}
}
