package restjson

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// readTyped reads every number of a response body as a JSON reader that types numbers by
// their token does (Python's json module, Jackson): an integer token (no fraction, no
// exponent) is an integer, converted to float64 afterwards, so "-0" becomes +0.0.
func readTyped(t *testing.T, body []byte) (lits []string, values []float64) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		n, ok := tok.(json.Number)
		if !ok {
			continue
		}
		lits = append(lits, string(n))
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			values = append(values, float64(i))
		} else {
			f, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				t.Fatalf("number %q: %v", n, err)
			}
			values = append(values, f)
		}
	}
	return lits, values
}

// TestNegativeZeroReadsBackNegative: the review case. For a signature computing
// reduce_sum(a, axis=1) * cast(b, float32), rows with a negative sum and b = 0 give -0.0,
// which Python, Java and TF Serving write "-0.0". Written "-0" (strconv's shortest form, an
// integer token), a client reading the response with Python's json or Jackson got +0.0,
// whatever the input literals. Every float dtype, both formats and several outputs.
func TestNegativeZeroReadsBackNegative(t *testing.T) {
	negZero := math.Copysign(0, -1)
	// The rows of the review, 17 significant digits, and short literals.
	req := `{"inputs": {"a": [[-0.73645406961441040, -0.16290995478630066, -0.48211932182312012],` +
		` [-1.0, 0.5, 0.25], [0.5, 0.25, 0.125]], "b": [0, 0, 0]}}`
	specs := map[string]tensor.Spec{
		"a": {Alias: "a", DType: tensor.Float, Shape: tensor.Shape{-1, 3}},
		"b": {Alias: "b", DType: tensor.Int32, Shape: tensor.Shape{-1}},
	}
	in, _, err := decode(t, req, specs)
	if err != nil {
		t.Fatal(err)
	}
	a, b := in["a"].Data.([]float32), in["b"].Data.([]int32)
	y := make([]float32, len(b))
	for i := range y {
		y[i] = (a[3*i] + a[3*i+1] + a[3*i+2]) * float32(b[i])
	}
	wantBits := []uint32{0x80000000, 0x80000000, 0}
	for i := range y {
		if math.Float32bits(y[i]) != wantBits[i] {
			t.Fatalf("row %d computes %08x, want %08x", i, math.Float32bits(y[i]), wantBits[i])
		}
	}
	outputs := map[string]*tensor.Tensor{
		"y":    {DType: tensor.Float, Shape: []int64{3}, Data: y},
		"y64":  {DType: tensor.Double, Shape: []int64{3}, Data: []float64{negZero, negZero, 0}},
		"y16":  {DType: tensor.Half, Shape: []int64{3}, Data: []tensor.Float16{0x8000, 0x8000, 0}},
		"keep": {DType: tensor.Float, Shape: []int64{3}, Data: []float32{-1.5, 2, 1e6}},
	}
	for _, rowFormat := range []bool{false, true} {
		for alias, out := range outputs {
			for _, one := range []map[string]*tensor.Tensor{{alias: out}, outputs} {
				body, err := EncodeResponse(one, rowFormat)
				if err != nil {
					t.Fatal(err)
				}
				lits, values := readTyped(t, body)
				var want []float64
				for _, a := range sortedAliases(one) {
					want = append(want, floats(one[a])...)
				}
				if rowFormat && len(one) > 1 { // one object per row: row-major over outputs
					want = want[:0]
					for row := 0; row < 3; row++ {
						for _, a := range sortedAliases(one) {
							want = append(want, floats(one[a])[row])
						}
					}
				}
				if len(values) != len(want) {
					t.Fatalf("%s: %d numbers, want %d", body, len(values), len(want))
				}
				for i := range want {
					if math.Float64bits(values[i]) != math.Float64bits(want[i]) {
						t.Errorf("%s: number %d %q reads back as %v, want %v", body, i, lits[i], values[i], want[i])
					}
					if want[i] == 0 && math.Signbit(want[i]) && lits[i] != "-0.0" {
						t.Errorf("%s: -0.0 written %q, want -0.0 as Python, Java and TF Serving write it", body, lits[i])
					}
				}
			}
		}
	}
	// The consumers' own decoder reads "-0.0" back as -0.0 for every float dtype.
	for _, dt := range []tensor.DType{tensor.Float, tensor.Double, tensor.Half} {
		out, _, err := decode(t, `{"inputs": [-0.0]}`, map[string]tensor.Spec{"x": {Alias: "x", DType: dt, Shape: tensor.Shape{-1}}})
		if err != nil {
			t.Fatal(err)
		}
		if f := floats(out["x"])[0]; f != 0 || !math.Signbit(f) {
			t.Errorf("%s: -0.0 decodes to %v", dt, f)
		}
	}
	if s := FormatFloat(tensor.Float16(0x8000).Float64(), 16); s != "-0.0" {
		t.Errorf("DT_HALF -0 written %q", s)
	}
	if s := FormatFloat(0, 32); strings.HasPrefix(s, "-") {
		t.Errorf("+0 written %q", s)
	}
}

// floats returns a float tensor's values as float64 (exactly).
func floats(t *tensor.Tensor) []float64 {
	var out []float64
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			out = append(out, float64(v))
		}
	case []float64:
		out = append(out, d...)
	case []tensor.Float16:
		for _, v := range d {
			out = append(out, v.Float64())
		}
	}
	return out
}

// exactFloat32 rounds the decimal literal lit to float32 with exact rational arithmetic,
// round-half-even, subnormals included (the reference for TestFloat32LiteralsRoundOnce).
func exactFloat32(t *testing.T, lit string) float32 {
	t.Helper()
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		t.Fatalf("bad literal %q", lit)
	}
	r.Abs(r)
	f, _ := new(big.Float).SetPrec(24).SetMode(big.ToNearestEven).SetRat(r).Float32()
	if f < 0x1p-126 { // subnormal range: round to a multiple of 2^-149
		s := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 149)))
		q, m := new(big.Int).QuoRem(s.Num(), s.Denom(), new(big.Int))
		if c := new(big.Int).Lsh(m, 1).Cmp(s.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
			q.Add(q, big.NewInt(1))
		}
		f = float32(math.Ldexp(float64(q.Int64()), -149))
	}
	if strings.HasPrefix(lit, "-") {
		f = -f
	}
	return f
}

// TestFloat32LiteralsRoundOnce: 17-significant-digit literals (as %.17g prints a float64),
// most of them of the float64 halfway between two neighbouring float32 values, where rounding
// through float64 first (double rounding) and rounding the decimal directly differ in about
// half the cases. DT_FLOAT decoding must match exact rounding (tests/CONTRACT.md, "Values").
func TestFloat32LiteralsRoundOnce(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var lits []string
	for len(lits) < 30000 {
		x := float32(rng.NormFloat64() * math.Pow(10, float64(rng.Intn(80)-46)))
		if math.IsInf(float64(x), 0) || math.Abs(float64(x)) > math.MaxFloat32/2 {
			continue
		}
		mid := (float64(x) + float64(math.Nextafter32(x, float32(math.Inf(1))))) / 2
		switch len(lits) % 4 {
		case 0, 1:
			lits = append(lits, strconv.FormatFloat(mid, 'g', 17, 64))
		case 2:
			lits = append(lits, strconv.FormatFloat(mid, 'e', 16, 64))
		default:
			lits = append(lits, strconv.FormatFloat(float64(x)*(1+rng.Float64()*1e-7), 'g', 17, 64))
		}
	}
	out, _, err := decode(t, `{"inputs": [`+strings.Join(lits, ", ")+`]}`,
		map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Float, Shape: tensor.Shape{-1}}})
	if err != nil {
		t.Fatal(err)
	}
	got, bad := out["x"].Data.([]float32), 0
	for i, lit := range lits {
		if want := exactFloat32(t, lit); math.Float32bits(got[i]) != math.Float32bits(want) {
			if bad++; bad <= 5 {
				t.Errorf("%s -> %08x, want %08x", lit, math.Float32bits(got[i]), math.Float32bits(want))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d literals misrounded", bad, len(lits))
	}
}
