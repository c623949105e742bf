package model

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/go_consumer/internal/status"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

func latestVersion(t *testing.T, name string) *Info {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", "..", "..", "models", name))
	if _, err := os.Stat(root); err != nil {
		t.Skipf("models/%s is absent; run `make models` in the repository root", name)
	}
	dir, err := ResolveVersionDir(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// rawBytes is the little-endian memory of a flat tfjson tensor (as TensorFlow holds it).
func rawBytes(t *testing.T, x *tfjson.Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, x.Data); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDirectMatchesRunner: the direct call path gives the same output bytes as the graft
// path of predict, for both formats, thread options and a DT_HALF input.
func TestDirectMatchesRunner(t *testing.T) {
	for _, tc := range []struct {
		model, signature string
		format           Format
		opts             Options
		inputs           map[string]*tfjson.Tensor
	}{
		{"linear", DefaultSignature, FormatSavedModel, Options{}, map[string]*tfjson.Tensor{
			"x": {DType: tfjson.Double, Shape: []int64{3, 1}, Data: []float64{-1.5, 0, 2.25}}}},
		{"linear", DefaultSignature, FormatFrozen, Options{IntraOpThreads: 1, InterOpThreads: 1}, map[string]*tfjson.Tensor{
			"x": {DType: tfjson.Double, Shape: []int64{2, 1}, Data: []float64{1e-3, 7}}}},
		{"dtypes", "half_matrix", FormatSavedModel, Options{InterOpThreads: 2}, map[string]*tfjson.Tensor{
			"x": {DType: tfjson.Half, Shape: []int64{2, 2}, Data: []tfjson.Float16{0x3C00, 0x1419, 0xC000, 0x7BFF}}}},
		{"dtypes", "matrix", FormatSavedModel, Options{}, map[string]*tfjson.Tensor{
			"a": {DType: tfjson.Float, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
			"b": {DType: tfjson.Double, Shape: []int64{2}, Data: []float64{0.5, -2}}}},
	} {
		info := latestVersion(t, tc.model)
		plan, err := info.Plan(tc.signature, tc.format)
		if err != nil {
			t.Fatal(err)
		}
		runner, err := Open(info, tc.format)
		if err != nil {
			t.Fatal(err)
		}
		want, err := runner.Run(plan, tc.inputs)
		runner.Close()
		if err != nil {
			t.Fatal(err)
		}
		d, err := OpenDirect(info, plan, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		call, err := d.Prepare(tc.inputs)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ { // the output buffers are reused from call to call
			if err := call.Run(); err != nil {
				t.Fatal(err)
			}
			for alias, w := range want {
				if got := call.Output(alias); !bytes.Equal(got, rawBytes(t, w)) {
					t.Errorf("%s %s %s output %s: % x, want % x", tc.model, tc.signature, tc.format, alias, got, rawBytes(t, w))
				}
			}
		}
		if call.Output("nope") != nil {
			t.Errorf("unknown alias has an output")
		}
		call.Free()
		call.Free()
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestDirectErrors(t *testing.T) {
	info := latestVersion(t, "linear")
	plan, err := info.Plan(DefaultSignature, FormatSavedModel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDirect(info, plan, Options{IntraOpThreads: -1}); err == nil {
		t.Errorf("negative threads accepted")
	}
	d, err := OpenDirect(info, plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Prepare(map[string]*tfjson.Tensor{}); err == nil || !strings.Contains(err.Error(), `missing input "x"`) {
		t.Errorf("missing input: %v", err)
	}
	// A wrong element count is caught before TensorFlow sees it.
	bad := map[string]*tfjson.Tensor{"x": {DType: tfjson.Double, Shape: []int64{2, 2}, Data: []float64{1}}}
	if _, err := d.Prepare(bad); err == nil {
		t.Errorf("short tensor accepted")
	}
	if _, err := d.Prepare(map[string]*tfjson.Tensor{"x": {DType: tfjson.Float, Shape: []int64{1, 1}, Data: []float32{1}}}); err == nil ||
		!strings.Contains(err.Error(), "DT_FLOAT") {
		t.Errorf("wrong dtype: %v", err)
	}
	// TensorFlow failing to run is INTERNAL, naming the signature: dtypes' matrix
	// signature cannot combine 2 rows of a with 5 of b (predict's checks would refuse it).
	dtypes := latestVersion(t, "dtypes")
	mplan, err := dtypes.Plan("matrix", FormatSavedModel)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := OpenDirect(dtypes, mplan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	call, err := dm.Prepare(map[string]*tfjson.Tensor{
		"a": {DType: tfjson.Float, Shape: []int64{2, 3}, Data: make([]float32, 6)},
		"b": {DType: tfjson.Double, Shape: []int64{5}, Data: make([]float64, 5)}})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Free()
	err = call.Run()
	if status.CodeOf(err) != status.Internal || !strings.Contains(err.Error(), `TensorFlow failed to run signature "matrix"`) {
		t.Errorf("run error: %T %v", err, err)
	}
	// Graph names that do not exist are refusals.
	ghost := &Plan{Key: "ghost", Format: FormatSavedModel,
		Inputs:  map[string]tfjson.Spec{},
		Outputs: map[string]tfjson.Spec{"y": {Alias: "y", Name: "no_such_op:0", DType: tfjson.Double}}}
	d2, err := OpenDirect(info, ghost, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if _, err := d2.Prepare(nil); err == nil || !strings.Contains(err.Error(), "not in the graph") {
		t.Errorf("ghost output: %v", err)
	}
}
