package training

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

func TestFormatFloat32LikeNumpy(t *testing.T) {
	// Expected texts are numpy 2.4 str(np.float32(v)).
	for _, tc := range []struct {
		bits uint32
		want string
	}{
		{0x40400000, "3.0"},
		{0x3dcccccd, "0.1"},
		{0x42c80000, "100.0"},
		{0x38d1b717, "1e-04"}, // float32(1e-4) is just below 1e-4
		{0x38d1b718, "0.000100000005"},
		{0x497423ff, "999999.94"},
		{0x49742400, "1e+06"},
		{0x4ceb79a3, "1.2345679e+08"},
		{0x80000000, "-0.0"},
		{0x00000000, "0.0"},
		{0x00000001, "1e-45"},
		{0x7f7fffff, "3.4028235e+38"},
		{0x7fc00000, "NaN"},
		{0x7f800000, "Infinity"},
		{0xff800000, "-Infinity"},
		{0x80073705, "-6.62586e-40"},
		{0x0008b0d3, "7.98117e-40"},
		{0xafcb7def, "-3.7014966e-10"},
		{0x38ab69d0, "8.1736245e-05"},
		{0x381c557e, "3.727292e-05"},
		{0x39acb0fd, "0.00032938263"},
		{0xba114095, "-0.00055409345"},
		{0xbc232d2e, "-0.009959502"},
		{0x3e966a0c, "0.29377782"},
		{0xbfa91a8b, "-1.3211225"},
		{0xc0a64470, "-5.195854"},
		{0xc28542bf, "-66.63036"},
		{0x448a44ae, "1106.1462"},
		{0x45e1e250, "7228.289"},
		{0x48d338d6, "432582.7"},
		{0x494ecc2f, "847042.94"},
		{0xca500827, "-3.4083938e+06"},
		{0xcc80e362, "-6.757454e+07"},
		{0xd14f7f2f, "-5.56995e+10"},
		{0x6104fd51, "1.5332647e+20"},
	} {
		f := math.Float32frombits(tc.bits)
		if got := FormatFloat(float64(f), 32); got != tc.want {
			t.Errorf("FormatFloat(%#08x) = %q, want %q", tc.bits, got, tc.want)
		}
	}
}

func TestFormatFloat64LikeRepr(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0.1, "0.1"}, {-1, "-1.0"}, {1e30, "1e+30"}, {1e16, "1e+16"},
		{9999999999999998, "9999999999999998.0"}, {0.0001, "0.0001"}, {9.999e-05, "9.999e-05"},
		{123456789, "123456789.0"},
	} {
		if got := FormatFloat(tc.f, 64); got != tc.want {
			t.Errorf("FormatFloat(%v, 64) = %q, want %q", tc.f, got, tc.want)
		}
	}
	if got := tfjson.PythonRepr(math.NaN()); got != "nan" {
		t.Errorf("tfjson.PythonRepr(NaN) = %q", got)
	}
	if got := tfjson.PythonRepr(math.Inf(-1)); got != "-inf" {
		t.Errorf("tfjson.PythonRepr(-Inf) = %q", got)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		t    *tfjson.Tensor
		want string
	}{
		{&tfjson.Tensor{DType: tfjson.Float, Shape: []int64{}, Data: []float32{2}}, "2.0"},
		{&tfjson.Tensor{DType: tfjson.Int64, Shape: []int64{}, Data: []int64{1000}}, "1000"},
		{&tfjson.Tensor{DType: tfjson.Float, Shape: []int64{2, 1}, Data: []float32{0.5, -3}}, "[0.5, -3.0]"},
		{&tfjson.Tensor{DType: tfjson.Uint8, Shape: []int64{2}, Data: []uint8{0, 255}}, "[0, 255]"},
		{&tfjson.Tensor{DType: tfjson.Bool, Shape: []int64{}, Data: []bool{true}}, "True"},
		{&tfjson.Tensor{DType: tfjson.Double, Shape: []int64{1}, Data: []float64{0.1}}, "[0.1]"},
	} {
		if got := FormatValue(tc.t); got != tc.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tc.t.Data, got, tc.want)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := Options{Steps: 1, BatchSize: 1, LearningRate: 0.1, LogEvery: 1}
	if err := ok.Check(); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Steps = 0 }, "--steps must be at least 1, got 0"},
		{func(o *Options) { o.BatchSize = -3 }, "--batch-size must be at least 1, got -3"},
		{func(o *Options) { o.LearningRate = -1 }, "--learning-rate must be a finite number > 0 in float32, got -1.0"},
		{func(o *Options) { o.LearningRate = math.NaN() }, "got nan"},
		{func(o *Options) { o.LearningRate = 1e39 }, "got 1e+39"},  // finite in float64, not in float32
		{func(o *Options) { o.LearningRate = 1e-46 }, "got 1e-46"}, // rounds to 0 in float32
		{func(o *Options) { o.CheckpointEvery = -1 }, "--checkpoint-every must be 0 or more, got -1"},
		{func(o *Options) { o.LogEvery = 0 }, "--log-every must be at least 1, got 0"},
	} {
		o := ok
		tc.edit(&o)
		err := o.Check()
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want an *Error with %q", o, err, tc.want)
		}
	}
	if r := (&Options{LearningRate: 0.1}).Rate(); r != float32(0.1) {
		t.Errorf("Rate() = %v", r)
	}
}

func TestBatchIndices(t *testing.T) {
	if got, want := BatchIndices(0, 4, 10), []int{0, 1, 2, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("step 0: %v, want %v", got, want)
	}
	if got, want := BatchIndices(2, 4, 10), []int{8, 9, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("step 2 wraps: %v, want %v", got, want)
	}
	if got, want := BatchIndices(1, 7, 3), []int{1, 2, 0, 1, 2, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("batch larger than the data: %v, want %v", got, want)
	}
	// A resumed run continues where an uninterrupted one would be.
	var all []int
	for step := int64(0); step < 5; step++ {
		all = append(all, BatchIndices(step, 3, 8)...)
	}
	for i, r := range all {
		if r != i%8 {
			t.Fatalf("row %d of the stream is %d, want %d", i, r, i%8)
		}
	}
	// No overflow: global_step * batch_size beyond int64.
	step, batch, rows := int64(1)<<62, int64(1000), 8191
	start := new(big.Int).Mul(big.NewInt(step), big.NewInt(batch))
	start.Mod(start, big.NewInt(int64(rows)))
	if got := BatchIndices(step, batch, rows)[0]; int64(got) != start.Int64() {
		t.Errorf("huge step: first row %d, want %d", got, start.Int64())
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadData(t *testing.T) {
	dir := t.TempDir()
	b := "x,y\r\n3,4\r\n\r\n  5 , 6e-1 \r\n"
	writeFile(t, filepath.Join(dir, "b.csv"), b)
	writeFile(t, filepath.Join(dir, "a.csv"), "x,y\n1,2\n0.1,16777217\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not data")
	writeFile(t, filepath.Join(dir, "sub.csv", "x.csv"), "x,y\n9,9\n") // a folder: skipped
	d, err := ReadData(dir+"/", []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	wantX := []float32{1, 0.1, 3, 5}
	wantY := []float32{2, 16777216, 4, 0.6} // 16777217 rounds to even in float32
	if d.Rows != 4 || !reflect.DeepEqual(d.Values[0], wantX) || !reflect.DeepEqual(d.Values[1], wantY) {
		t.Errorf("rows %d values %v %v; want 4 %v %v", d.Rows, d.Values[0], d.Values[1], wantX, wantY)
	}
	sum := sha256.Sum256([]byte(b))
	if len(d.Files) != 2 || d.Files[0] != (DataFile{"a.csv", d.Files[0].SHA256, 2}) ||
		d.Files[1] != (DataFile{"b.csv", hex.EncodeToString(sum[:]), 2}) {
		t.Errorf("files %+v", d.Files)
	}
	if got := d.Batch([]int{3, 0}); !reflect.DeepEqual(got, [][]float32{{5, 1}, {0.6, 2}}) {
		t.Errorf("Batch = %v", got)
	}
	one, err := ReadData(filepath.Join(dir, "a.csv"), []string{"x", "y"})
	if err != nil || one.Rows != 2 || len(one.Files) != 1 {
		t.Errorf("one file: %+v, %v", one, err)
	}
}

func TestReadDataRefusals(t *testing.T) {
	dir := t.TempDir()
	cols := []string{"x", "y"}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"header.csv", "x,z\n1,2\n", `header.csv: line 1 must be the header "x,y"`},
		{"empty.csv", "", `empty.csv: line 1 must be the header "x,y"`},
		{"short.csv", "x,y\n1,2\n\n3\n", "short.csv:4: 1 fields, expected 2 (x,y)"},
		{"long.csv", "x,y\n1,2,3\n", "long.csv:2: 3 fields, expected 2 (x,y)"},
		{"word.csv", "x,y\n1,abc\n", `word.csv:2: column y is "abc", expected a finite float32`},
		{"blank.csv", "x,y\n ,1\n", `blank.csv:2: column x is "", expected a finite float32`},
		{"big.csv", "x,y\n1e39,1\n", `big.csv:2: column x is "1e39", expected a finite float32`},
		{"nan.csv", "x,y\n1,nan\n", `nan.csv:2: column y is "nan", expected a finite float32`},
		{"inf.csv", "x,y\n1,-Inf\n", `column y is "-Inf"`},
		{"norows.csv", "x,y\n\n\n", "norows.csv: no data rows"},
		{"latin1.csv", "x,y\n1,\xe9\n", "latin1.csv: cannot read it as UTF-8 text"},
		{"vt.csv", "x,y\n1,2\v3,x\n", `vt.csv:3: column y is "x"`}, // \v ends a line, as in Python
	} {
		path := filepath.Join(dir, tc.name)
		writeFile(t, path, tc.text)
		_, err := ReadData(path, cols)
		var e *Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "--data ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an *Error with %q", tc.name, err, tc.want)
		}
	}
	empty := filepath.Join(dir, "nocsv")
	writeFile(t, filepath.Join(empty, "a.txt"), "x,y\n1,2\n")
	for path, want := range map[string]string{
		empty:                         "--data " + empty + ": no .csv shard in this folder",
		filepath.Join(dir, "missing"): "--data " + filepath.Join(dir, "missing") + ": no such file or folder",
	} {
		if _, err := ReadData(path, cols); err == nil || err.Error() != want {
			t.Errorf("ReadData(%s) = %v, want %q", path, err, want)
		}
	}
}

func TestSplitLinesAndPaths(t *testing.T) {
	got := splitLines("a\r\nb\rc\n\nd\x1ce\u2028f\n")
	if want := []string{"a", "b", "c", "", "d", "e", "f"}; !reflect.DeepEqual(got, want) {
		t.Errorf("splitLines = %q, want %q", got, want)
	}
	if got := splitLines(""); len(got) != 0 {
		t.Errorf("splitLines(\"\") = %q", got)
	}
	for in, want := range map[string]string{
		"data/": "data", "./data//x.csv": "data/x.csv", "": ".", ".": ".", "/a/./b/": "/a/b",
		"//a": "//a", "///a": "/a", "../x": "../x",
	} {
		if got := pyPath(in); got != want {
			t.Errorf("pyPath(%q) = %q, want %q", in, got, want)
		}
	}
	if got := joinPath(".", "a.csv"); got != "a.csv" {
		t.Errorf("joinPath = %q", got)
	}
	if got := pyStrip(" \t\x1fx y\u00a0"); got != "x y" {
		t.Errorf("pyStrip = %q", got)
	}
}
