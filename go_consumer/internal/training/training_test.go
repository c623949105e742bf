package training

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		t    *tensor.Tensor
		want string
	}{
		{&tensor.Tensor{DType: tensor.Float, Shape: []int64{}, Data: []float32{2}}, "2.0"},
		{&tensor.Tensor{DType: tensor.Int64, Shape: []int64{}, Data: []int64{1000}}, "1000"},
		{&tensor.Tensor{DType: tensor.Float, Shape: []int64{2, 1}, Data: []float32{0.5, -3}}, "[0.5, -3.0]"},
		{&tensor.Tensor{DType: tensor.Uint8, Shape: []int64{2}, Data: []uint8{0, 255}}, "[0, 255]"},
		{&tensor.Tensor{DType: tensor.Bool, Shape: []int64{}, Data: []bool{true}}, "true"},
		{&tensor.Tensor{DType: tensor.Bool, Shape: []int64{2}, Data: []bool{false, true}}, "[false, true]"},
		{&tensor.Tensor{DType: tensor.Double, Shape: []int64{1}, Data: []float64{0.1}}, "[0.1]"},
		{&tensor.Tensor{DType: tensor.Float, Shape: []int64{}, Data: []float32{0.000027862932}}, "0.000027862932"},
		{&tensor.Tensor{DType: tensor.Float, Shape: []int64{}, Data: []float32{999999.94}}, "999999.94"},
		{&tensor.Tensor{DType: tensor.Float, Shape: []int64{}, Data: []float32{1e6}}, "1000000.0"},
		{&tensor.Tensor{DType: tensor.Double, Shape: []int64{}, Data: []float64{1e21}}, "1e+21"},
		{&tensor.Tensor{DType: tensor.Half, Shape: []int64{2}, Data: []tensor.Float16{0x7bff, 0x2e66}}, "[65500.0, 0.1]"},
		{&tensor.Tensor{DType: tensor.Int32, Shape: []int64{}, Data: []int32{-7}}, "-7"},
	} {
		if got := FormatValue(tc.t); got != tc.want {
			t.Errorf("FormatValue(%v) = %q, want %q", tc.t.Data, got, tc.want)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	ok := Options{Steps: 1, BatchSize: 1, LearningRate: "0.1", LogEvery: 1}
	if err := ok.Check(); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Steps = 0 }, "--steps must be at least 1, got 0"},
		{func(o *Options) { o.BatchSize = -3 }, "--batch-size must be at least 1, got -3"},
		{func(o *Options) { o.LearningRate = "-1" }, "--learning-rate must be a finite number > 0 in float32, got -1"},
		{func(o *Options) { o.LearningRate = "nan" }, "got nan"},
		{func(o *Options) { o.LearningRate = "1e39" }, "got 1e39"},     // finite in float64, not in float32
		{func(o *Options) { o.LearningRate = "1e-46" }, "got 1e-46"},   // rounds to 0 in float32
		{func(o *Options) { o.LearningRate = "0.0" }, "got 0.0"},       // as given, not as a number
		{func(o *Options) { o.LearningRate = "1_0" }, "got 1_0"},       // no underscores
		{func(o *Options) { o.LearningRate = "0x1p-3" }, "got 0x1p-3"}, // no hexadecimal
		{func(o *Options) { o.LearningRate = "inf" }, "got inf"},
		{func(o *Options) { o.LearningRate = " 0.1" }, "got  0.1"}, // no white space
		{func(o *Options) { o.LearningRate = "" }, "got "},
		{func(o *Options) { o.LearningRate = strings.Repeat("9", 300) }, "got " + strings.Repeat("9", 200) + "... (300 characters)"},
		{func(o *Options) { o.CheckpointEvery = -1 }, "--checkpoint-every must be 0 or more, got -1"},
		{func(o *Options) { o.LogEvery = 0 }, "--log-every must be at least 1, got 0"},
	} {
		o := ok
		tc.edit(&o)
		err := o.Check()
		if status.CodeOf(err) != status.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %s %v, want INVALID_ARGUMENT with %q", o, status.CodeOf(err), err, tc.want)
		}
	}
	for lit, want := range map[string]float32{"0.1": 0.1, "+.5": 0.5, "1E-3": 0.001, "16777217": 16777216, "1.000000059604644775390625000001": math.Nextafter32(1, 2)} {
		if r, err := (&Options{LearningRate: lit}).Rate(); err != nil || r != want {
			t.Errorf("Rate(%q) = %v, %v; want %v", lit, r, err, want)
		}
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
		{"under.csv", "x,y\n1,1_000\n", `under.csv:2: column y is "1_000", expected a finite float32`},
		{"hex.csv", "x,y\n0x10,1\n", `hex.csv:2: column x is "0x10"`},
		{"nbsp.csv", "x,y\n1,\u00a02\n", "nbsp.csv:2: column y is \"\u00a02\""}, // only ASCII white space is trimmed
		{"nbsp2.csv", "x,y\n1\u00a0,2\n", "nbsp2.csv:2: column x is \"1\u00a0\""},
		{"lonecr.csv", "x,y\n1,2\r3,4\n", `lonecr.csv:2: 3 fields, expected 2`}, // a lone "\r" ends no line
		{"blankfirst.csv", "\nx,y\n1,2\n", `blankfirst.csv: line 1 must be the header`},
		{"long.csv", "x,y\n1," + strings.Repeat("z", 250) + "\n", `column y is "` + strings.Repeat("z", 200) + `... (250 characters)"`},
		{"norows.csv", "x,y\n\n\n", "norows.csv: no data rows"},
		{"latin1.csv", "x,y\n1,\xe9\n", "latin1.csv: cannot read it as UTF-8 text"},
		{"vt.csv", "x,y\n1,2\v3\n", "vt.csv:2: column y is \"2\v3\""}, // \v ends no line
		{"u2028.csv", "x,y\n1,2\u20283\n", "u2028.csv:2: column y is \"2\u20283\""},
	} {
		path := filepath.Join(dir, tc.name)
		writeFile(t, path, tc.text)
		_, err := ReadData(path, cols)
		if status.CodeOf(err) != status.InvalidArgument || !strings.HasPrefix(err.Error(), "--data ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %s %v, want INVALID_ARGUMENT with %q", tc.name, status.CodeOf(err), err, tc.want)
		}
	}
	empty := filepath.Join(dir, "nocsv")
	writeFile(t, filepath.Join(empty, "a.txt"), "x,y\n1,2\n")
	for _, c := range []struct {
		path string
		code status.Code
		want string
	}{
		{empty, status.InvalidArgument, "--data " + empty + ": no .csv shard in this folder"},
		{filepath.Join(dir, "missing"), status.NotFound, "--data " + filepath.Join(dir, "missing") + ": no such file or folder"},
	} {
		if _, err := ReadData(c.path, cols); status.CodeOf(err) != c.code || err.Error() != c.want {
			t.Errorf("ReadData(%s) = %s %v, want %s %q", c.path, status.CodeOf(err), err, c.code, c.want)
		}
	}
}

// TestReadDataLines: lines end at "\n" with an optional "\r" before it, the last line may lack
// an end, blank lines (ASCII white space only) are skipped but counted, fields are trimmed
// of ASCII white space only, and the header is compared field by field.
func TestReadDataLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.csv")
	writeFile(t, path, " x\t, y \r\n1,2\r\n \t\v\f\r\n\n3 ,\t4\n5,6")
	d, err := ReadData(path, []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]float32{{1, 3, 5}, {2, 4, 6}}; d.Rows != 3 || !reflect.DeepEqual(d.Values, want) {
		t.Errorf("rows %d values %v; want 3 %v", d.Rows, d.Values, want)
	}
	// The line numbers count the blank lines: the bad value is on line 5.
	writeFile(t, path, "x,y\r\n1,2\r\n\r\n\n3,four\r\n")
	if _, err := ReadData(path, []string{"x", "y"}); err == nil || err.Error() != "--data "+path+`:5: column y is "four", expected a finite float32` {
		t.Errorf("line numbers: %v", err)
	}
	for text, want := range map[string][]string{
		"":             nil,
		"a":            {"a"},
		"a\n":          {"a"},
		"a\r\n\r\nb\r": {"a", "", "b"},
		"a\rb\n\n":     {"a\rb", ""},
		"a\r\r\n":      {"a\r"},
		"\n":           {""},
	} {
		if got := splitLines(text); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("splitLines(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestReadDataPathsAsGiven: files of a folder are named as the folder was given, joined with
// "/" only when the text does not end with one; only names longer than ".csv" count.
func TestReadDataPathsAsGiven(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "shards", "b.csv"), "x,y\n1,2\n")
	writeFile(t, filepath.Join(dir, "shards", "a.csv"), "x,y\n1,z\n")
	writeFile(t, filepath.Join(dir, "shards", ".csv"), "not a shard")
	t.Chdir(dir)
	for given, want := range map[string]string{
		"shards":             "--data shards/a.csv:2: ",
		"shards/":            "--data shards/a.csv:2: ",
		"./shards//":         "--data ./shards//a.csv:2: ",
		"shards/../shards/.": "--data shards/../shards/./a.csv:2: ",
	} {
		if _, err := ReadData(given, []string{"x", "y"}); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ReadData(%q): %v, want a message starting %q", given, err, want)
		}
	}
	if _, err := ReadData("./shards/a.csv", []string{"x", "y"}); err == nil || !strings.HasPrefix(err.Error(), "--data ./shards/a.csv:2: ") {
		t.Errorf("a file as given: %v", err)
	}
	only := filepath.Join(dir, "only")
	writeFile(t, filepath.Join(only, ".csv"), "x,y\n1,2\n")
	writeFile(t, filepath.Join(only, "a.CSV"), "x,y\n1,2\n")
	if _, err := ReadData("only/", []string{"x", "y"}); err == nil || err.Error() != "--data only/: no .csv shard in this folder" {
		t.Errorf("only .csv and .CSV: %v", err)
	}
	// Byte order of the names: "B.csv" < "a.csv" < "b.csv".
	writeFile(t, filepath.Join(dir, "order", "b.csv"), "x,y\n2,2\n")
	writeFile(t, filepath.Join(dir, "order", "a.csv"), "x,y\n1,1\n")
	writeFile(t, filepath.Join(dir, "order", "B.csv"), "x,y\n0,0\n")
	d, err := ReadData("order", []string{"x", "y"})
	if err != nil || !reflect.DeepEqual(d.Values[0], []float32{0, 1, 2}) || d.Files[0].Name != "B.csv" {
		t.Errorf("order: %+v, %v", d, err)
	}
}
