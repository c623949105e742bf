package restjson

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

var linearSpecs = map[string]tensor.Spec{
	"x": {Alias: "x", Name: "serving_default_x:0", DType: tensor.Double, Shape: tensor.Shape{-1, -1}},
}

func decode(t *testing.T, body string, specs map[string]tensor.Spec) (map[string]*tensor.Tensor, *Request, error) {
	t.Helper()
	req, err := ParseRequest([]byte(body))
	if err != nil {
		return nil, nil, err
	}
	out, err := DecodeInputs(req, specs, "serving_default")
	return out, req, err
}

func TestParseTokensAndErrors(t *testing.T) {
	v, err := Parse([]byte(` [NaN, Infinity, -Infinity, -0, 1e5, "a\u00e9\ud83d\ude00\n"] `))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"NaN", "Infinity", "-Infinity", "-0", "1e5"}
	for i, w := range want {
		if v.Items[i].Kind != KindNumber || v.Items[i].Text != w {
			t.Errorf("item %d = %+v, want number %s", i, v.Items[i], w)
		}
	}
	if got := v.Items[5].Text; got != "a\u00e9\U0001F600\n" {
		t.Errorf("string = %q", got)
	}
	for _, bad := range []string{
		``, ` `, `{`, `[1,]`, `[1 2]`, `{"a" 1}`, `{a: 1}`, `01`, `1.`, `.5`, `1e`, `+1`, `-`,
		`nan`, `-NaN`, `inf`, `"\x"`, `"abc`, "\"a\tb\"", `"\ud800"`, `{"instances": [[1.0]]} x`,
		`[1] [2]`, "\xff", "\ufeff{}", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	} {
		_, err := Parse([]byte(bad))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
			continue
		}
		if !strings.Contains(err.Error(), "JSON") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) error %q lacks JSON or has a newline", bad, err)
		}
	}
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(deep)); err != nil {
		t.Errorf("depth %d refused: %v", MaxDepth, err)
	}
}

func TestDuplicateKeysLastWins(t *testing.T) {
	v, err := Parse([]byte(`{"a": 1, "b": 2, "a": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Keys) != 2 || v.Keys[0] != "a" || v.Member("a").Text != "3" {
		t.Errorf("got keys %v a=%v", v.Keys, v.Member("a"))
	}
}

func TestShortestFloatsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	specs64 := map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Double, Shape: tensor.Shape{-1}}}
	specs32 := map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Float, Shape: tensor.Shape{-1}}}
	values := []float64{0, math.Copysign(0, -1), 0.1, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 1e23, 123456789012345678}
	for i := 0; i < 2000; i++ {
		values = append(values, math.Float64frombits(rng.Uint64()))
	}
	f64 := []float64{}
	f32 := []float32{}
	for _, v := range values {
		if !math.IsNaN(v) {
			f64 = append(f64, v)
			f32 = append(f32, float32(v))
		}
	}
	for _, tc := range []struct {
		specs map[string]tensor.Spec
		t     *tensor.Tensor
	}{
		{specs64, &tensor.Tensor{DType: tensor.Double, Shape: []int64{int64(len(f64))}, Data: f64}},
		{specs32, &tensor.Tensor{DType: tensor.Float, Shape: []int64{int64(len(f32))}, Data: f32}},
	} {
		body, err := EncodeResponse(map[string]*tensor.Tensor{"x": tc.t}, false)
		if err != nil {
			t.Fatal(err)
		}
		req := strings.Replace(string(body), `"outputs"`, `"inputs"`, 1)
		back, _, err := decode(t, req, tc.specs)
		if err != nil {
			t.Fatal(err)
		}
		switch want := tc.t.Data.(type) {
		case []float64:
			got := back["x"].Data.([]float64)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("float64 %v came back as %v", want[i], got[i])
				}
			}
		case []float32:
			got := back["x"].Data.([]float32)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("float32 %v came back as %v", want[i], got[i])
				}
			}
		}
	}
	if got := FormatFloat(math.Copysign(0, -1), 64); got != "-0.0" {
		t.Errorf("-0 written as %q", got)
	}
	if got := FormatFloat(float64(float32(0.1)), 32); got != "0.1" {
		t.Errorf("float32 0.1 written as %q", got)
	}
}

func TestFloat32RoundsDirectly(t *testing.T) {
	// 1 + 2^-24 + 2^-60: via float64 this becomes the tie 1 + 2^-24 and rounds to even (1.0);
	// rounded directly it is above the tie and goes up to 1 + 2^-23.
	lit := "1.000000059604644776161" // > 1 + 2^-24 = 1.000000059604644775390625
	specs := map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Float, Shape: tensor.Shape{}}}
	out, _, err := decode(t, `{"inputs": `+lit+`}`, specs)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["x"].Data.([]float32)[0]; got != float32(1+math.Ldexp(1, -23)) {
		t.Errorf("%s -> %v, want 1+2^-23", lit, got)
	}
}

func TestNonFiniteTokens(t *testing.T) {
	out, _, err := decode(t, `{"instances": [[NaN, Infinity, -Infinity, -0.0]]}`, linearSpecs)
	if err != nil {
		t.Fatal(err)
	}
	x := out["x"].Data.([]float64)
	if !math.IsNaN(x[0]) || !math.IsInf(x[1], 1) || !math.IsInf(x[2], -1) || !math.Signbit(x[3]) {
		t.Errorf("decoded %v", x)
	}
	body, err := EncodeResponse(map[string]*tensor.Tensor{"y": out["x"]}, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"predictions": [[NaN, Infinity, -Infinity, -0.0]]}`; string(body) != want {
		t.Errorf("encoded %s, want %s", body, want)
	}
	for _, lit := range []string{"1e999", "-1e400"} {
		_, _, err := decode(t, `{"inputs": [[`+lit+`]]}`, linearSpecs)
		if err == nil || !strings.Contains(err.Error(), "out of range for DT_DOUBLE") {
			t.Errorf("%s: err %v", lit, err)
		}
	}
	f32 := map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Float, Shape: tensor.Shape{}}}
	if _, _, err := decode(t, `{"inputs": 3.5e38}`, f32); err == nil {
		t.Errorf("3.5e38 accepted as DT_FLOAT")
	}
	if out, _, err := decode(t, `{"inputs": 1e-999}`, f32); err != nil || out["x"].Data.([]float32)[0] != 0 {
		t.Errorf("underflow: %v %v", out, err)
	}
}

func TestInt64Exact(t *testing.T) {
	specs := map[string]tensor.Spec{"n": {Alias: "n", DType: tensor.Int64, Shape: tensor.Shape{-1}}}
	body := `{"inputs": [9007199254740993, -9223372036854775808, 9223372036854775807, -0]}`
	out, _, err := decode(t, body, specs)
	if err != nil {
		t.Fatal(err)
	}
	got := out["n"].Data.([]int64)
	want := []int64{9007199254740993, math.MinInt64, math.MaxInt64, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("n[%d] = %d, want %d", i, got[i], want[i])
		}
	}
	enc, _ := EncodeResponse(out, false)
	if want := `{"outputs": [9007199254740993, -9223372036854775808, 9223372036854775807, 0]}`; string(enc) != want {
		t.Errorf("encoded %s", enc)
	}
	for _, bad := range []string{"9223372036854775808", "1.0", "1e3", "NaN", `"1"`} {
		_, _, err := decode(t, `{"inputs": [`+bad+`]}`, specs)
		if err == nil || !strings.Contains(err.Error(), "DT_INT64") {
			t.Errorf("%s: err %v", bad, err)
		}
	}
	u8 := map[string]tensor.Spec{"u": {Alias: "u", DType: tensor.Uint8, Shape: tensor.Shape{-1}}}
	if _, _, err := decode(t, `{"inputs": [256]}`, u8); err == nil || !strings.Contains(err.Error(), "[0, 255]") {
		t.Errorf("uint8 256: %v", err)
	}
	if _, _, err := decode(t, `{"inputs": [-1]}`, u8); err == nil {
		t.Errorf("uint8 -1 accepted")
	}
}

func TestRagged(t *testing.T) {
	for _, body := range []string{
		`{"instances": [[1.0, 2.0], [3.0]]}`,
		`{"inputs": [[1.0], [2.0, 3.0]]}`,
		`{"inputs": [[1.0], 2.0]}`,
		`{"inputs": [1.0, [2.0]]}`,
		`{"inputs": [[], [1.0]]}`,
		`{"inputs": [[1.0], []]}`,
	} {
		_, _, err := decode(t, body, linearSpecs)
		if err == nil || !strings.Contains(err.Error(), "ragged") || !strings.Contains(err.Error(), "x (DT_DOUBLE") {
			t.Errorf("%s: err %v", body, err)
		}
	}
	out, _, err := decode(t, `{"inputs": [[], []]}`, linearSpecs)
	if err != nil || len(out["x"].Shape) != 2 || out["x"].Shape[1] != 0 {
		t.Errorf("empty rows: %v %v", out, err)
	}
}

func TestStringsAndB64(t *testing.T) {
	specs := map[string]tensor.Spec{"s": {Alias: "s", DType: tensor.String, Shape: tensor.Shape{-1}}}
	out, _, err := decode(t, `{"instances": ["héllo", {"b64": "/wA="}, ""]}`, specs)
	if err != nil {
		t.Fatal(err)
	}
	got := out["s"].Data.([]string)
	if got[0] != "héllo" || got[1] != "\xff\x00" || got[2] != "" {
		t.Errorf("decoded %q", got)
	}
	enc, _ := EncodeResponse(map[string]*tensor.Tensor{"s": out["s"]}, true)
	if want := `{"predictions": ["héllo", {"b64": "/wA="}, ""]}`; string(enc) != want {
		t.Errorf("encoded %s", enc)
	}
	enc, _ = EncodeResponse(map[string]*tensor.Tensor{"s_bytes": out["s"]}, false)
	if want := `{"outputs": [{"b64": "aMOpbGxv"}, {"b64": "/wA="}, {"b64": ""}]}`; string(enc) != want {
		t.Errorf("encoded %s", enc)
	}
	// A single string input may be given as a bare {"b64": ...} in both formats.
	scalar := map[string]tensor.Spec{"s": {Alias: "s", DType: tensor.String, Shape: tensor.Shape{}}}
	if out, _, err := decode(t, `{"inputs": {"b64": "YWI="}}`, scalar); err != nil || out["s"].Data.([]string)[0] != "ab" {
		t.Errorf("bare b64: %v %v", out, err)
	}
	for _, bad := range []string{`{"b64": "YW"}`, `{"b64": "Y!=="}`, `{"b64": 5}`, `{"b64": "YWI=", "x": 1}`, `5`} {
		_, _, err := decode(t, `{"instances": [`+bad+`]}`, specs)
		if err == nil || !strings.Contains(err.Error(), "DT_STRING") && !strings.Contains(err.Error(), "unknown input") {
			t.Errorf("%s: err %v", bad, err)
		}
	}
	var s string
	if err := json.Unmarshal(ErrorBody("a \"quoted\"\nline\x01"), &struct{ Error *string }{&s}); err != nil || s != "a \"quoted\"\nline\x01" {
		t.Errorf("ErrorBody round trip: %q %v", s, err)
	}
}

func TestRowAndColumnarRules(t *testing.T) {
	specs := map[string]tensor.Spec{
		"a": {Alias: "a", DType: tensor.Float, Shape: tensor.Shape{-1, 2}},
		"b": {Alias: "b", DType: tensor.Bool, Shape: tensor.Shape{-1}},
	}
	out, _, err := decode(t, `{"instances": [{"a": [1, 2], "b": true}, {"b": false, "a": [3, 4]}]}`, specs)
	if err != nil {
		t.Fatal(err)
	}
	if got := out["a"].Shape; len(got) != 2 || got[0] != 2 || got[1] != 2 {
		t.Errorf("a shape %v", got)
	}
	if got := out["b"].Data.([]bool); !got[0] || got[1] {
		t.Errorf("b = %v", got)
	}
	rows, err := EncodeResponse(out, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"predictions": [{"a": [1.0, 2.0], "b": true}, {"a": [3.0, 4.0], "b": false}]}`; string(rows) != want {
		t.Errorf("rows %s", rows)
	}
	cols, _ := EncodeResponse(out, false)
	if want := `{"outputs": {"a": [[1.0, 2.0], [3.0, 4.0]], "b": [true, false]}}`; string(cols) != want {
		t.Errorf("cols %s", cols)
	}
	for body, want := range map[string]string{
		`{"instances": [[1, 2]]}`:                          "each instance must be an object",
		`{"inputs": [[1, 2]]}`:                             `"inputs" must be an object`,
		`{"instances": [{"a": [1, 2]}]}`:                   `missing input "b"`,
		`{"inputs": {"a": [[1, 2, 3]], "b": [true]}}`:      "dimension 1 is 3, expected 2",
		`{"inputs": {"a": [[1, 2]], "b": [true], "c": 1}}`: `unknown input "c"`,
		`{"instances": 5}`:                                 `"instances" must be a list`,
	} {
		_, _, err := decode(t, body, specs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", body, err, want)
		}
	}
	if _, err := EncodeResponse(map[string]*tensor.Tensor{
		"p": {DType: tensor.Int32, Shape: []int64{2}, Data: []int32{1, 2}},
		"q": {DType: tensor.Int32, Shape: []int64{3}, Data: []int32{1, 2, 3}},
	}, true); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("mismatched batch: %v", err)
	}
	if _, err := EncodeResponse(map[string]*tensor.Tensor{"p": {DType: tensor.Int32, Data: []int32{1}}}, true); err == nil {
		t.Errorf("scalar row output accepted")
	}
}

// TestFloat16FromFloat64 checks the float64 rounding against the exact rounding of
// ParseFloat16 (given the double's exact decimal expansion) and the ties to even.
func TestFloat16FromFloat64(t *testing.T) {
	exact := func(f float64) tensor.Float16 {
		h, ok := tensor.ParseFloat16(strconv.FormatFloat(f, 'e', 1100, 64))
		if !ok {
			t.Fatalf("ParseFloat16 overflow for %v", f)
		}
		return h
	}
	for bits := 0; bits < 1<<16; bits++ {
		h := tensor.Float16(bits)
		f := h.Float64()
		if math.IsNaN(f) {
			if got := tensor.Float16FromFloat64(f); !math.IsNaN(got.Float64()) {
				t.Fatalf("NaN -> %#x", got)
			}
			continue
		}
		if got := tensor.Float16FromFloat64(f); got != h {
			t.Fatalf("Float16FromFloat64(%v) = %#x, want %#x", f, got, bits)
		}
		// the midpoint to the next half up (ties to even), and just either side of it
		if next := tensor.Float16(bits + 1); bits&0x7FFF < 0x7BFF && !math.Signbit(f) {
			mid := (f + next.Float64()) / 2
			for _, g := range []float64{mid, math.Nextafter(mid, 0), math.Nextafter(mid, 1)} {
				if got, want := tensor.Float16FromFloat64(g), exact(g); got != want {
					t.Fatalf("Float16FromFloat64(%v) = %#x, want %#x", g, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		f := math.Ldexp(rng.Float64(), rng.Intn(40)-30)
		if i%2 == 1 {
			f = -f
		}
		if got, want := tensor.Float16FromFloat64(f), exact(f); got != want {
			t.Fatalf("Float16FromFloat64(%v) = %#x, want %#x", f, got, want)
		}
	}
	for f, want := range map[float64]tensor.Float16{
		65519.99: 0x7BFF, 65520: 0x7C00, -65520: 0xFC00, math.Inf(1): 0x7C00, 1e300: 0x7C00,
		0.001: 0x1419, 0.5: 0x3800, 1e-300: 0, math.Copysign(0, -1): 0x8000, -1e-300: 0x8000,
	} {
		if got := tensor.Float16FromFloat64(f); got != want {
			t.Errorf("Float16FromFloat64(%v) = %#x, want %#x", f, got, want)
		}
	}
}

func TestFloat16(t *testing.T) {
	for bits := 0; bits < 1<<16; bits++ {
		h := tensor.Float16(bits)
		f := h.Float64()
		if math.IsNaN(f) {
			continue
		}
		if back := tensor.Float16FromFloat64(f); !math.IsInf(f, 0) && back != h {
			t.Fatalf("Float16FromFloat64(%v) = %#x, want %#x", f, back, bits)
		}
		s := FormatFloat(f, 16)
		back, ok := tensor.ParseFloat16(s)
		if !ok || back != h {
			t.Fatalf("%#x written as %s, parsed back as %#x (ok=%v)", bits, s, back, ok)
		}
	}
	for lit, want := range map[string]tensor.Float16{
		"2049":                   0x6800, // tie between 2048 and 2050 -> even (2048)
		"2051":                   0x6802, // tie between 2050 and 2052 -> even (2052)
		"65519.99":               0x7BFF,
		"2.98023223876953125e-8": 0, // exactly half the smallest subnormal -> even (0)
		"2.9802322387695313e-8":  1,
		"-0":                     0x8000,
		"0.1":                    0x2E66,
		"1e-30":                  0,
	} {
		if got, ok := tensor.ParseFloat16(lit); !ok || got != want {
			t.Errorf("ParseFloat16(%s) = %#x, %v; want %#x", lit, got, ok, want)
		}
	}
	for _, lit := range []string{"65520", "1e5", "-70000", "1e999"} {
		if _, ok := tensor.ParseFloat16(lit); ok {
			t.Errorf("ParseFloat16(%s) did not overflow", lit)
		}
	}
}

// depthBody is {"instances": [[...1.0...]]} nested depth levels deep, counting the object.
func depthBody(depth int) string {
	return `{"instances": ` + strings.Repeat("[", depth-1) + "1.0" + strings.Repeat("]", depth-1) + "}"
}

// FuzzDecodeRequest checks that no body makes the decoder panic, that refusals are one-line
// INVALID_ARGUMENT *status.Error values, and that accepted tensors survive an encode/decode round trip.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"instances": [[1.0, 2.0], [3.0, 4.0]]}`,
		`{"inputs": {"x": [[NaN, -Infinity]]}}`,
		`{"signature_name": "serving_default", "inputs": [[1e308, -0.0]]}`,
		`{"instances": [{"x": [1.5]}]}`,
		`{"instances": [[1.0, 2.0], [3.0]]}`,
		`{"inputs": [[{"b64": "AAAA"}]]}`,
		`{"instances": []}`,
		`[[1.0]]`,
		`{"inputs": [[1e999]]}`,
		`{"instances": [[1.0]]} x`,
		`{"inputs": {"a": [[1, 2]], "b": [true], "n": [9007199254740993], "s": ["\u00e9", {"b64": "/w=="}]}}`,
		`{"inputs": {"a": [[1, 2], [3, 4]], "b": [true], "n": [1, 2, 3], "s": "x"}}`,
		`{"inputs": {"a": [[1, 2]], "b": true, "n": [], "s": [["x"]]}}`,
		depthBody(MaxDepth),
		depthBody(MaxDepth + 1),
		`{"inputs": "` + strings.Repeat("[", 2*MaxDepth) + `"}`,
		"{\"instances\": [[1.0]], \"\xc0\x80\": 1}",
		"{\"inputs\": [\"\xed\xa0\x80\"]}",
		`{"inputs": ` + strings.Repeat("[", 12) + "1" + strings.Repeat("]", 12) + "}",
	} {
		f.Add([]byte(seed))
	}
	specSets := []map[string]tensor.Spec{
		linearSpecs,
		{
			"a": {Alias: "a", DType: tensor.Float, Shape: tensor.Shape{-1, 2}},
			"b": {Alias: "b", DType: tensor.Bool, Shape: tensor.Shape{-1}},
			"n": {Alias: "n", DType: tensor.Int64, Shape: tensor.Shape{-1}},
			"s": {Alias: "s", DType: tensor.String, UnknownRank: true},
		},
		{"h": {Alias: "h", DType: tensor.Half, UnknownRank: true}},
		{"u": {Alias: "u", DType: tensor.Uint16, Shape: tensor.Shape{-1, -1}}},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		for _, specs := range specSets {
			out, err := DecodeInputs(req, specs, "serving_default")
			if err != nil {
				checkRefusal(t, err)
				continue
			}
			enc, err := EncodeResponse(out, false)
			if err != nil {
				t.Fatalf("encoding decoded tensors: %v", err)
			}
			back, err := ParseRequest([]byte(`{"inputs": ` + string(enc[len(`{"outputs": `):])))
			if err != nil {
				t.Fatalf("re-parsing %s: %v", enc, err)
			}
			again, err := DecodeInputs(back, specs, "serving_default")
			if err != nil {
				t.Fatalf("re-decoding %s: %v", enc, err)
			}
			for alias, t1 := range out {
				if !sameTensor(t1, again[alias]) {
					t.Fatalf("%s changed in a round trip: %+v -> %+v", alias, t1, again[alias])
				}
			}
		}
	})
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if e, ok := err.(*status.Error); !ok || e.Code != status.InvalidArgument {
		t.Fatalf("error %T %v is not an INVALID_ARGUMENT *status.Error", err, err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("message has a line break: %q", err)
	}
}

func sameTensor(a, b *tensor.Tensor) bool {
	if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
		return false
	}
	// The shortest form is unique per value (and NaN is written as one token).
	ea, _ := EncodeResponse(map[string]*tensor.Tensor{"v": a}, false)
	eb, _ := EncodeResponse(map[string]*tensor.Tensor{"v": b}, false)
	return string(ea) == string(eb)
}

func TestFormatShape(t *testing.T) {
	if got := (tensor.Spec{Alias: "x", DType: tensor.Double, Shape: tensor.Shape{-1, 3}}).Describe(); got != "x (DT_DOUBLE, shape [-1, 3])" {
		t.Errorf("Describe = %q", got)
	}
	if got := (tensor.Spec{Alias: "x", DType: tensor.Int32, UnknownRank: true}).Describe(); got != "x (DT_INT32, shape unknown rank)" {
		t.Errorf("Describe = %q", got)
	}
	if got := tensor.DType(8).String(); got != "DT_COMPLEX64" {
		t.Errorf("DType(8) = %s", got)
	}
	if d, ok := tensor.ParseDType("DT_UINT16"); !ok || d != tensor.Uint16 {
		t.Errorf("ParseDType = %v %v", d, ok)
	}
}

func TestFormatLongShape(t *testing.T) {
	for _, tc := range []struct {
		shape tensor.Shape
		want  string
	}{
		{tensor.Shape{}, "[]"},
		{tensor.Shape{1, 2, 3, 4, 5, 6, 7, 8}, "[1, 2, 3, 4, 5, 6, 7, 8]"},
		{tensor.Shape{1, 2, 3, 4, 5, 6, 7, 8, 9}, "[1, 2, 3, ..., 9]"},
		{tensor.Shape(slices.Repeat([]int64{1}, 999)), "[1, 1, 1, ..., 1]"},
	} {
		if got := tc.shape.String(); got != tc.want {
			t.Errorf("Shape(%d dims) = %q, want %q", len(tc.shape), got, tc.want)
		}
	}
	// A body 1000 levels deep is legal JSON; the rank error says rank 999 in a short line.
	_, _, err := decode(t, depthBody(MaxDepth), linearSpecs)
	if err == nil {
		t.Fatal("rank 999 accepted for rank 2")
	}
	const want = "input x (DT_DOUBLE, shape [-1, -1]): expected rank 2, got rank 999 with shape [1, 1, 1, ..., 1]"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestNestingLimit: the top-level value is level 1; level 1000 is accepted and level 1001
// refused, arrays and objects alike, brackets inside strings do not count, and a body a
// million levels deep is refused at once (no recursion, no decoder).
func TestNestingLimit(t *testing.T) {
	nest := func(depth int, open, close string) string {
		return strings.Repeat(open, depth-1) + "[]" + strings.Repeat(close, depth-1)
	}
	for _, tc := range []struct {
		name string
		body string
		ok   bool
	}{
		{"arrays 1000", nest(MaxDepth, "[", "]"), true},
		{"arrays 1001", nest(MaxDepth+1, "[", "]"), false},
		{"objects 1000", nest(MaxDepth, `{"a":`, "}"), true},
		{"objects 1001", nest(MaxDepth+1, `{"a":`, "}"), false},
		{"mixed 999", nest((MaxDepth+1)/2, `{"a": [`, "]}"), true},
		{"mixed 1001", `[[` + nest((MaxDepth+1)/2, `{"a": [`, "]}") + `]]`, false},
		{"request 1000", depthBody(MaxDepth), true},
		{"request 1001", depthBody(MaxDepth + 1), false},
		{"brackets in strings", `["` + strings.Repeat("[{", 2*MaxDepth) + `"]`, true},
		{"escaped quote", `["\"` + strings.Repeat("[", 2*MaxDepth) + `"]`, true},
		{"unclosed 1001", strings.Repeat("[", MaxDepth+1), false},
	} {
		_, err := Parse([]byte(tc.body))
		tooDeep := err != nil && strings.Contains(err.Error(), "nesting")
		if tc.ok && tooDeep || !tc.ok && !tooDeep {
			t.Errorf("%s: error %v", tc.name, err)
		}
		if tooDeep && !strings.HasPrefix(err.Error(), "invalid JSON: nesting deeper than 1000 levels at line 1 column ") {
			t.Errorf("%s: message %q", tc.name, err)
		}
	}
	_, err := Parse([]byte(nest(MaxDepth+1, "[", "]")))
	if want := "invalid JSON: nesting deeper than 1000 levels at line 1 column 1001"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	start := time.Now()
	for _, depth := range []int{100000, 1000000} {
		_, err := ParseRequest([]byte(depthBody(depth)))
		if err == nil || !strings.Contains(err.Error(), "nesting deeper than 1000 levels") {
			t.Errorf("depth %d: error %v", depth, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("deep bodies took %v", d)
	}
}

func TestInvalidUTF8(t *testing.T) {
	for _, body := range []string{
		"{\"instances\": [[1.0]], \"\xc0\x80\": 1}", // overlong NUL
		"[\"\xed\xa0\x80\"]",                        // UTF-8-encoded surrogate U+D800
		"[\"caf\xe9\"]",                             // Latin-1
		"[\"\x80\"]",                                // continuation byte alone
		"[\"\xf4\x90\x80\x80\"]",                    // beyond U+10FFFF
	} {
		_, err := Parse([]byte(body))
		if err == nil || !strings.HasPrefix(err.Error(), "invalid JSON: body is not valid UTF-8 (byte 0x") {
			t.Errorf("Parse(%q): %v", body, err)
		}
	}
	_, err := Parse([]byte("[1,\n \"caf\xe9\"]"))
	if want := "invalid JSON: body is not valid UTF-8 (byte 0xE9 at line 2 column 6)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

// TestBatchMismatch: in the columnar format every input whose signature shape starts with
// -1 must have the same dimension 0; the first such input in alias order is named first.
func TestBatchMismatch(t *testing.T) {
	specs := map[string]tensor.Spec{
		"a": {Alias: "a", DType: tensor.Float, Shape: tensor.Shape{-1, 3}},
		"b": {Alias: "b", DType: tensor.Double, Shape: tensor.Shape{-1}},
		"c": {Alias: "c", DType: tensor.Int32, Shape: tensor.Shape{2}},     // not batched
		"d": {Alias: "d", DType: tensor.Int32, UnknownRank: true},          // not batched
		"e": {Alias: "e", DType: tensor.Int64, Shape: tensor.Shape{}},      // a scalar
		"f": {Alias: "f", DType: tensor.Bool, Shape: tensor.Shape{-1, -1}}, // batched
	}
	for _, tc := range []struct {
		body, err string
	}{
		{`{"inputs": {"a": [[1, 2, 3], [4, 5, 6]], "b": [1, 2], "c": [1, 2], "d": [1, 2, 3], "e": 5, "f": [[true], [false]]}}`, ""},
		{`{"inputs": {"a": [[1, 2, 3], [4, 5, 6]], "b": [1, 2, 3], "c": [1, 2], "d": 1, "e": 5, "f": [[true]]}}`,
			`batch size mismatch: input "a" has 2 rows but input "b" has 3; inputs whose shape starts with -1 must have the same batch size`},
		{`{"inputs": {"a": [[1, 2, 3]], "b": [], "c": [1, 2], "d": 1, "e": 5, "f": [[true], [false]]}}`,
			`batch size mismatch: input "a" has 1 rows but input "b" has 0; inputs whose shape starts with -1 must have the same batch size`},
		{`{"inputs": {"a": [[1, 2, 3]], "b": [7], "c": [1, 2], "d": 1, "e": 5, "f": [[true], [false]]}}`,
			`batch size mismatch: input "a" has 1 rows but input "f" has 2; inputs whose shape starts with -1 must have the same batch size`},
	} {
		_, _, err := decode(t, tc.body, specs)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%s: error %v, want %q", tc.body, err, tc.err)
		}
	}
	// The shared case, against the dtypes model's matrix signature.
	matrix := map[string]tensor.Spec{
		"a": {Alias: "a", DType: tensor.Float, Shape: tensor.Shape{-1, 3}},
		"b": {Alias: "b", DType: tensor.Double, Shape: tensor.Shape{-1}},
	}
	if _, _, err := decode(t, `{"instances": [{"a": [1, 2, 3], "b": 1}, {"a": [4, 5, 6], "b": 2}]}`, matrix); err != nil {
		t.Errorf("row format: %v", err)
	}
	_, _, err := decode(t, `{"inputs": {"a": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "b": [1.0, 2.0, 3.0]}}`, matrix)
	if want := `batch size mismatch: input "a" has 2 rows but input "b" has 3; inputs whose shape starts with -1 must have the same batch size`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

// TestLoneSurrogateEscapes: a \u escape of U+D800-U+DFFF that is not a high surrogate
// followed at once by a low one is refused, in keys and values alike, naming the first
// offending escape in upper-case hex; an escaped backslash before "ud800" is no escape.
func TestLoneSurrogateEscapes(t *testing.T) {
	const tail = "; a \\u escape of U+D800-U+DFFF must be a high surrogate followed by a low one"
	for body, want := range map[string]string{
		`{"inputs": ["\ud800"]}`:                        `\uD800`,
		`{"inputs": ["a\udfffb"]}`:                      `\uDFFF`,
		`{"inputs": ["\udc00\ud800"]}`:                  `\uDC00`, // reversed pair
		`{"inputs": ["\ud800\ud800"]}`:                  `\uD800`, // high then high
		`{"inputs": ["\ud83d"], "signature_name": "x"}`: `\uD83D`,
		`{"\udbff": 1, "inputs": [1]}`:                  `\uDBFF`, // a key
		`{"inputs": ["\u00e9", "\uDaBc", "\udc01"]}`:    `\uDABC`, // the first one
		`{"inputs": ["\ud83d\ude00"]}`:                  "",       // a pair
		`{"inputs": ["\\ud800"]}`:                       "",       // an escaped backslash
		`{"inputs": ["\\\ud800"]}`:                      `\uD800`,
	} {
		_, err := ParseRequest([]byte(body))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if want != "" {
			want = "invalid JSON: a string holds a lone surrogate escape " + want + tail
		}
		if got != want {
			t.Errorf("ParseRequest(%s):\n got %q\nwant %q", body, got, want)
		}
	}
}

// TestQuoteBounds: Quote bounds a value (status.Bound) before it escapes it, and a refusal
// quoting a 1 MB alias stays short.
func TestQuoteBounds(t *testing.T) {
	if got, want := Quote(strings.Repeat(`"`, 300)), `"`+strings.Repeat(`\"`, 200)+`... (300 characters)"`; got != want {
		t.Errorf("Quote = %s; want %s", got, want)
	}
	// An unknown input alias of 1 MB gives a short refusal.
	body := `{"inputs": {"` + strings.Repeat("k", 1<<20) + `": [1]}}`
	req, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeInputs(req, map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Float, Shape: tensor.Shape{-1}}}, "serving_default")
	if status.CodeOf(err) != status.InvalidArgument || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "... (1048576 characters)") {
		t.Errorf("1 MB alias: %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}

// TestRefusalCodes: request refusals are INVALID_ARGUMENT, a body over the limit is the
// catalog's request_too_large (RESOURCE_EXHAUSTED).
func TestRefusalCodes(t *testing.T) {
	for _, body := range []string{``, `{`, `[]`, `{"instances": [[1]], "inputs": {}}`, `{"nope": 1}`, "\xff"} {
		if _, err := ParseRequest([]byte(body)); status.CodeOf(err) != status.InvalidArgument {
			t.Errorf("ParseRequest(%q): %s %v", body, status.CodeOf(err), err)
		}
	}
	_, _, err := decode(t, `{"instances": [[1.0], [2.0, 3.0]]}`, linearSpecs)
	if status.CodeOf(err) != status.InvalidArgument || !strings.Contains(fmt.Sprint(err), "ragged") {
		t.Errorf("ragged: %s %v", status.CodeOf(err), err)
	}
	err = TooLarge(16)
	if status.CodeOf(err) != status.ResourceExhausted || err.Error() != "request is larger than the limit of 16 bytes (--max-request-bytes)" {
		t.Errorf("TooLarge: %s %v", status.CodeOf(err), err)
	}
}
