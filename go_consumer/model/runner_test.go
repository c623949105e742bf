package model

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

func latestVersion(t testing.TB, name string) *Info {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", "..", "models", name))
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

func openRunner(t testing.TB, info *Info, format Format, opts Options) *Runner {
	t.Helper()
	r, err := NewRunner(info, format, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func plan(t testing.TB, info *Info, key string, format Format) *Plan {
	t.Helper()
	p, err := info.Plan(key, format)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunFormatsAndOptionsAgree: both formats and any thread options give the same bits,
// for numeric, DT_HALF (fed and fetched as its bits), DT_BOOL and DT_STRING tensors, small
// (copied into TensorFlow) and large (lent in place).
func TestRunFormatsAndOptionsAgree(t *testing.T) {
	big := make([]float64, wrapMinBytes/8*3)
	for i := range big {
		big[i] = float64(i)/7 - 100
	}
	for _, tc := range []struct {
		model, signature string
		inputs           map[string]*tensor.Tensor
	}{
		{"linear", DefaultSignature, map[string]*tensor.Tensor{
			"x": {DType: tensor.Double, Shape: []int64{3, 1}, Data: []float64{-1.5, 0, 2.25}}}},
		{"linear", DefaultSignature, map[string]*tensor.Tensor{
			"x": {DType: tensor.Double, Shape: []int64{int64(len(big)), 1}, Data: big}}},
		{"dtypes", "half_matrix", map[string]*tensor.Tensor{
			"x": {DType: tensor.Half, Shape: []int64{2, 2}, Data: []tensor.Float16{0x3C00, 0x1419, 0xC000, 0x7BFF}}}},
		{"dtypes", "matrix", map[string]*tensor.Tensor{
			"a": {DType: tensor.Float, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
			"b": {DType: tensor.Double, Shape: []int64{2}, Data: []float64{0.5, -2}}}},
	} {
		info := latestVersion(t, tc.model)
		var want map[string]*tensor.Tensor
		for _, format := range []Format{FormatSavedModel, FormatFrozen} {
			for _, opts := range []Options{{}, {IntraOpThreads: 1, InterOpThreads: 1}} {
				r := openRunner(t, info, format, opts)
				p := plan(t, info, tc.signature, format)
				for i := 0; i < 2; i++ { // the second call reuses the resolved feeds and fetches
					got, err := r.Run(p, tc.inputs)
					if err != nil {
						t.Fatalf("%s %s %s %+v: %v", tc.model, tc.signature, format, opts, err)
					}
					if want == nil {
						want = got
					} else if !reflect.DeepEqual(got, want) {
						t.Errorf("%s %s %s %+v: %v, want %v", tc.model, tc.signature, format, opts, got, want)
					}
				}
			}
		}
		if len(want) != len(plan(t, info, tc.signature, FormatSavedModel).Outputs) {
			t.Errorf("%s %s: %d outputs", tc.model, tc.signature, len(want))
		}
	}
}

// TestRunMatchesGolden: every golden request of dtypes (one tensor of each dtype, DT_STRING
// with arbitrary bytes, DT_HALF fed and fetched as its bits) and linear, decoded, run and
// encoded, gives the golden response.
func TestRunMatchesGolden(t *testing.T) {
	for _, name := range []string{"dtypes", "linear"} {
		info := latestVersion(t, name)
		r := openRunner(t, info, FormatSavedModel, Options{})
		requests, _ := filepath.Glob(filepath.Join(info.Dir, "golden", "*.request.json"))
		if len(requests) == 0 {
			t.Fatalf("%s has no golden requests", info.Dir)
		}
		for _, path := range requests {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			req, err := restjson.ParseRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			key := req.SignatureName
			if key == "" {
				key = DefaultSignature
			}
			p := plan(t, info, key, FormatSavedModel)
			inputs, err := restjson.DecodeInputs(req, p.Inputs, p.Key)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Run(p, inputs)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			got, err := restjson.EncodeResponse(out, req.RowFormat)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, ".request.json") + ".response.json")
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, want) {
				t.Errorf("%s: %s, want %s", path, got, want)
			}
		}
	}
}

// sameJSON compares two JSON texts parsed by restjson.Parse (numbers by their literal text,
// NaN and Infinity included).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	va, err := restjson.Parse(a)
	if err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	vb, err := restjson.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestRunRefusals: the library checks its inputs itself, whatever the caller did before.
func TestRunRefusals(t *testing.T) {
	info := latestVersion(t, "linear")
	p := plan(t, info, DefaultSignature, FormatSavedModel)
	r := openRunner(t, info, FormatSavedModel, Options{})
	for _, tc := range []struct {
		inputs map[string]*tensor.Tensor
		code   status.Code
		text   string
	}{
		{map[string]*tensor.Tensor{}, status.InvalidArgument, `missing input "x"`},
		{map[string]*tensor.Tensor{"x": {DType: tensor.Float, Shape: []int64{1, 1}, Data: []float32{1}}}, status.InvalidArgument, "given a DT_FLOAT tensor"},
		{map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{2, 2}, Data: []float64{1}}}, status.InvalidArgument, "holds 1 elements for shape [2 2]"},
		{map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{1}, Data: []int32{1}}}, status.InvalidArgument, "cannot be fed"},
	} {
		_, err := r.Run(p, tc.inputs)
		if status.CodeOf(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%v: %v, want %s %q", tc.inputs, err, tc.code, tc.text)
		}
	}
	// TensorFlow failing to run is INTERNAL, naming the signature: dtypes' matrix signature
	// cannot combine 2 rows of a with 5 of b (predict's checks would refuse it).
	dtypes := latestVersion(t, "dtypes")
	dr := openRunner(t, dtypes, FormatSavedModel, Options{})
	_, err := dr.Run(plan(t, dtypes, "matrix", FormatSavedModel), map[string]*tensor.Tensor{
		"a": {DType: tensor.Float, Shape: []int64{2, 3}, Data: make([]float32, 6)},
		"b": {DType: tensor.Double, Shape: []int64{5}, Data: make([]float64, 5)}})
	if status.CodeOf(err) != status.Internal || !strings.Contains(err.Error(), `TensorFlow failed to run signature "matrix"`) {
		t.Errorf("run error: %v", err)
	}
	// Graph names that do not exist are refusals.
	ghost := &Plan{Key: "ghost", Format: FormatSavedModel, Inputs: map[string]tensor.Spec{},
		Outputs: map[string]tensor.Spec{"y": {Alias: "y", Name: "no_such_op:0", DType: tensor.Double}}}
	if _, err := r.Run(ghost, nil); status.CodeOf(err) != status.FailedPrecondition || !strings.Contains(err.Error(), "not in the graph") {
		t.Errorf("ghost output: %v", err)
	}
	if _, err := NewRunner(info, FormatSavedModel, Options{IntraOpThreads: -1}); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("negative threads: %v", err)
	}
}

// TestRunContext: a context already done is refused before the run; a live deadline runs.
func TestRunContext(t *testing.T) {
	info := latestVersion(t, "linear")
	p := plan(t, info, DefaultSignature, FormatSavedModel)
	r := openRunner(t, info, FormatSavedModel, Options{})
	in := map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{1, 1}, Data: []float64{2}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.RunContext(ctx, p, in); err != nil {
		t.Fatal(err)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := r.RunContext(done, p, in); status.CodeOf(err) != status.DeadlineExceeded {
		t.Errorf("done context: %v", err)
	}
}

// TestRunConcurrentAndClose: runs from several goroutines agree; Close waits for them, and
// after it runs are FAILED_PRECONDITION and a second Close does nothing.
func TestRunConcurrentAndClose(t *testing.T) {
	info := latestVersion(t, "linear")
	for _, format := range []Format{FormatSavedModel, FormatFrozen} {
		p := plan(t, info, DefaultSignature, format)
		r, err := NewRunner(info, format, Options{})
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{4, 1}, Data: []float64{1, 2, 3, 4}}}
		want, err := r.Run(p, in)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					got, err := r.Run(p, in)
					if err == nil && !reflect.DeepEqual(got, want) {
						err = status.New(status.Internal, "got %v, want %v", got, want)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", format, err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if r.saved != nil || len(r.frozen) != 0 {
			t.Errorf("%s: Close left sessions open", format)
		}
		if _, err := r.Run(p, in); status.CodeOf(err) != status.FailedPrecondition {
			t.Errorf("%s: Run after Close: %v", format, err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: second Close: %v", format, err)
		}
	}
}

// BenchmarkRun times Runner.Run on linear at batch 1 and 4096 (go test -bench Run).
func BenchmarkRun(b *testing.B) {
	info := latestVersion(b, "linear")
	p := plan(b, info, DefaultSignature, FormatSavedModel)
	r := openRunner(b, info, FormatSavedModel, Options{})
	for _, batch := range []int{1, 4096} {
		in := map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{int64(batch), 1}, Data: make([]float64, batch)}}
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := r.Run(p, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRunFiltersOutputs: a plan fetching fewer outputs of a signature (gRPC's output_filter)
// gets only those, before and after the whole signature ran, and the whole one still all.
func TestRunFiltersOutputs(t *testing.T) {
	info := latestVersion(t, "dtypes")
	full := plan(t, info, "matrix", FormatSavedModel)
	r := openRunner(t, info, FormatSavedModel, Options{})
	in := map[string]*tensor.Tensor{
		"a": {DType: tensor.Float, Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"b": {DType: tensor.Double, Shape: []int64{2}, Data: []float64{0.5, -2}}}
	var one string
	for alias := range full.Outputs {
		one = alias
		break
	}
	filtered := *full
	filtered.Outputs = map[string]tensor.Spec{one: full.Outputs[one]}
	for _, p := range []*Plan{full, &filtered, full, &filtered} {
		out, err := r.Run(p, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(p.Outputs) || out[one] == nil {
			t.Errorf("plan with %d outputs answered %d", len(p.Outputs), len(out))
		}
	}
	if len(full.Outputs) < 2 {
		t.Fatalf("matrix has %d outputs; the test needs 2 or more", len(full.Outputs))
	}
}
