package bench

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

func isRefusal(err error) bool {
	return status.CodeOf(err) == status.InvalidArgument
}

func TestParseBatchSizes(t *testing.T) {
	for text, want := range map[string][]int64{
		"1":               {1},
		"1,8,64,512,4096": {1, 8, 64, 512, 4096},
		"4,4":             {4, 4},
	} {
		got, err := ParseBatchSizes(text)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", text, got, err, want)
		}
	}
	for _, text := range []string{"", ",", "1,", ",1", "1,,2", "0", "-1", "1,0", "a", "1.5", "+1", " 1", "1 ", "99999999999999999999"} {
		if got, err := ParseBatchSizes(text); !isRefusal(err) || !strings.Contains(err.Error(), "--batch-sizes") {
			t.Errorf("%q: %v, %v; want a refusal", text, got, err)
		}
	}
}

func TestCheckFlags(t *testing.T) {
	for _, s := range []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := CheckSeconds(s); !isRefusal(err) || !strings.Contains(err.Error(), "--seconds") {
			t.Errorf("--seconds %v: %v", s, err)
		}
	}
	for _, s := range []float64{1e-9, 0.5, 2, 3600} {
		if err := CheckSeconds(s); err != nil {
			t.Errorf("--seconds %v: %v", s, err)
		}
	}
	for _, n := range []int64{-1, -100, math.MaxInt32 + 1} {
		if err := CheckThreads("intra-op-threads", n); !isRefusal(err) || !strings.Contains(err.Error(), "--intra-op-threads") {
			t.Errorf("threads %d: %v", n, err)
		}
	}
	for _, n := range []int64{0, 1, 16} {
		if err := CheckThreads("inter-op-threads", n); err != nil {
			t.Errorf("threads %d: %v", n, err)
		}
	}
}

func TestShape(t *testing.T) {
	for _, tc := range []struct {
		shape tensor.Shape
		batch int64
		want  []int64
	}{
		{tensor.Shape{-1, -1}, 3, []int64{3, 1}},
		{tensor.Shape{-1, 1}, 4096, []int64{4096, 1}},
		{tensor.Shape{-1, 8, 8}, 2, []int64{2, 8, 8}},
		{tensor.Shape{-1, -1, 5}, 2, []int64{2, 1, 5}},
		{tensor.Shape{7, -1}, 2, []int64{2, 1}}, // dim 0 is the batch, even when known
		{tensor.Shape{-1}, 5, []int64{5}},
		{tensor.Shape{}, 64, []int64{}}, // a scalar
	} {
		if got := Shape(tensor.Spec{Shape: tc.shape}, tc.batch); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v batch %d: %v, want %v", tc.shape, tc.batch, got, tc.want)
		}
	}
}

// The expected values are numpy's: ((k % 1000) / 1000.0).astype(dtype), k % 100, k % 2 == 1.
func TestInputValues(t *testing.T) {
	ks := []int{0, 1, 3, 7, 123, 333, 500, 999, 1000, 1001, 1777}
	wantHalf := []tensor.Float16{0x0, 0x1419, 0x1a25, 0x1f2b, 0x2fdf, 0x3554, 0x3800, 0x3bfe, 0x0, 0x1419, 0x3a37}
	wantFloat := []float32{0.0, 0.0010000000474974513, 0.003000000026077032, 0.007000000216066837, 0.12300000339746475, 0.3330000042915344, 0.5, 0.9990000128746033, 0.0, 0.0010000000474974513, 0.7770000100135803}
	gen := func(dt tensor.DType) *tensor.Tensor {
		t.Helper()
		// rows of 2: element k sits at row k/2, column k%2 (row-major)
		in, err := Input("sig", tensor.Spec{Alias: "x", DType: dt, Shape: tensor.Shape{-1, 2}}, 900)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in.Shape, []int64{900, 2}) || in.Len() != 1800 || in.DType != dt {
			t.Fatalf("%s: shape %v, %d elements", dt, in.Shape, in.Len())
		}
		return in
	}
	f32 := gen(tensor.Float).Data.([]float32)
	f64 := gen(tensor.Double).Data.([]float64)
	f16 := gen(tensor.Half).Data.([]tensor.Float16)
	for i, k := range ks {
		if f32[k] != wantFloat[i] {
			t.Errorf("DT_FLOAT[%d] = %v, want %v", k, f32[k], wantFloat[i])
		}
		if want := float64(k%1000) / 1000; f64[k] != want {
			t.Errorf("DT_DOUBLE[%d] = %v, want %v", k, f64[k], want)
		}
		if f16[k] != wantHalf[i] {
			t.Errorf("DT_HALF[%d] = %#x, want %#x", k, f16[k], wantHalf[i])
		}
	}
	ints := map[tensor.DType]func(k int) int64{
		tensor.Int8:   func(k int) int64 { return int64(gen(tensor.Int8).Data.([]int8)[k]) },
		tensor.Int16:  func(k int) int64 { return int64(gen(tensor.Int16).Data.([]int16)[k]) },
		tensor.Int32:  func(k int) int64 { return int64(gen(tensor.Int32).Data.([]int32)[k]) },
		tensor.Int64:  func(k int) int64 { return gen(tensor.Int64).Data.([]int64)[k] },
		tensor.Uint8:  func(k int) int64 { return int64(gen(tensor.Uint8).Data.([]uint8)[k]) },
		tensor.Uint16: func(k int) int64 { return int64(gen(tensor.Uint16).Data.([]uint16)[k]) },
		tensor.Uint32: func(k int) int64 { return int64(gen(tensor.Uint32).Data.([]uint32)[k]) },
		tensor.Uint64: func(k int) int64 { return int64(gen(tensor.Uint64).Data.([]uint64)[k]) },
	}
	for dt, at := range ints {
		for _, k := range []int{0, 1, 99, 100, 123, 1799} {
			if got := at(k); got != int64(k%100) {
				t.Errorf("%s[%d] = %d, want %d", dt, k, got, k%100)
			}
		}
	}
	flags := gen(tensor.Bool).Data.([]bool)
	for _, k := range []int{0, 1, 2, 3, 1798, 1799} {
		if flags[k] != (k%2 == 1) {
			t.Errorf("DT_BOOL[%d] = %v", k, flags[k])
		}
	}
}

func TestInputScalarAndRefusals(t *testing.T) {
	in, err := Input("scalars", tensor.Spec{Alias: "n", DType: tensor.Int64, Shape: tensor.Shape{}}, 64)
	if err != nil || len(in.Shape) != 0 || !reflect.DeepEqual(in.Data, []int64{0}) {
		t.Errorf("scalar: %+v, %v", in, err)
	}
	for _, spec := range []tensor.Spec{
		{Alias: "text", DType: tensor.String, Shape: tensor.Shape{-1}},
		{Alias: "x", DType: tensor.Float, UnknownRank: true},
		{Alias: "r", DType: tensor.DType(20), Shape: tensor.Shape{}}, // DT_RESOURCE
	} {
		_, err := Input("sig", spec, 1)
		if !isRefusal(err) || !strings.Contains(err.Error(), spec.Alias+" (") || !strings.Contains(err.Error(), `"sig"`) {
			t.Errorf("%s: %v; want a refusal naming the input", spec.Describe(), err)
		}
	}
	if _, err := Input("sig", tensor.Spec{Alias: "x", DType: tensor.Float, Shape: tensor.Shape{-1, 1 << 20}}, 1<<20); !isRefusal(err) {
		t.Errorf("2^40 elements: %v; want a refusal", err)
	}
	// Inputs refuses on the first bad alias in sorted order, whatever the map order.
	specs := map[string]tensor.Spec{
		"b": {Alias: "b", DType: tensor.String, Shape: tensor.Shape{-1}},
		"a": {Alias: "a", DType: tensor.String, Shape: tensor.Shape{-1}},
		"c": {Alias: "c", DType: tensor.Float, Shape: tensor.Shape{-1}},
	}
	for i := 0; i < 5; i++ {
		if _, err := Inputs("sig", specs, 1); err == nil || !strings.Contains(err.Error(), "input a (") {
			t.Fatalf("Inputs: %v", err)
		}
	}
	delete(specs, "a")
	delete(specs, "b")
	if got, err := Inputs("sig", specs, 3); err != nil || len(got) != 1 || got["c"].Len() != 3 {
		t.Errorf("Inputs: %v, %v", got, err)
	}
}

func us(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Microsecond
	}
	return d
}

func TestNearestRank(t *testing.T) {
	ten := us(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for p, want := range map[float64]int{1: 1, 10: 1, 10.5: 2, 50: 5, 90: 9, 91: 10, 99: 10, 100: 10} {
		if got := NearestRank(ten, p); got != time.Duration(want)*time.Microsecond {
			t.Errorf("p%v of 1..10 = %v, want %dµs", p, got, want)
		}
	}
	// p99 of n calls is the ceil(0.99 n)-th smallest: 99 of 100, 198 of 200, 990 of 1000,
	// 991 of 1001 (not an interpolation).
	for n, rank := range map[int]int{1: 1, 5: 5, 100: 99, 101: 100, 200: 198, 1000: 990, 1001: 991} {
		sorted := make([]time.Duration, n)
		for i := range sorted {
			sorted[i] = time.Duration(i + 1)
		}
		if got := NearestRank(sorted, 99); got != time.Duration(rank) {
			t.Errorf("p99 of %d = rank %d, want %d", n, got, rank)
		}
	}
}

func TestSummarize(t *testing.T) {
	r := Summarize(4, us(5, 1, 3, 2, 4))
	want := Result{BatchSize: 4, Calls: 5, MedianUS: 3, P99US: 5, MeanUS: 3, RowsPerSecond: 4 * 5 / 15e-6}
	if math.Abs(r.RowsPerSecond-want.RowsPerSecond) > 1e-6*want.RowsPerSecond {
		t.Errorf("rows_per_second %v, want %v", r.RowsPerSecond, want.RowsPerSecond)
	}
	r.RowsPerSecond = want.RowsPerSecond
	if r != want {
		t.Errorf("odd: %+v, want %+v", r, want)
	}
	r = Summarize(1, us(4, 1, 3, 2))
	if r.MedianUS != 2.5 || r.P99US != 4 || r.MeanUS != 2.5 || r.Calls != 4 {
		t.Errorf("even: %+v", r)
	}
	r = Summarize(1, []time.Duration{1500}) // ns -> µs
	if r.MedianUS != 1.5 || r.P99US != 1.5 || r.MeanUS != 1.5 || math.Abs(r.RowsPerSecond-1e9/1500) > 1e-6 {
		t.Errorf("one call: %+v", r)
	}
}

func TestTimeCalls(t *testing.T) {
	calls := 0
	start := time.Now()
	times, err := TimeCalls(func() error { calls++; return nil }, time.Millisecond)
	elapsed := time.Since(start)
	if err != nil || len(times) < MinCalls {
		t.Fatalf("%d times, %v", len(times), err)
	}
	if elapsed < WarmupDuration || calls-len(times) < WarmupCalls {
		t.Errorf("warm-up: %v elapsed, %d untimed calls", elapsed, calls-len(times))
	}
	// A slow call: the warm-up is 10 calls even past 0.2 s, the loop at least 5 calls.
	calls = 0
	times, err = TimeCalls(func() error { calls++; time.Sleep(25 * time.Millisecond); return nil }, time.Nanosecond)
	if err != nil || len(times) != MinCalls || calls != WarmupCalls+MinCalls {
		t.Errorf("slow: %d timed of %d calls, %v", len(times), calls, err)
	}
	for _, d := range times {
		if d < 25*time.Millisecond {
			t.Errorf("call timed at %v", d)
		}
	}
	boom := errors.New("boom")
	calls = 0
	if _, err := TimeCalls(func() error { calls++; return boom }, time.Second); err != boom || calls != 1 {
		t.Errorf("error: %v after %d calls", err, calls)
	}
}

func TestReportJSON(t *testing.T) {
	r := Report{Runtime: "go", TensorFlowVersion: "2.21.0", Model: "/m/linear/1", Signature: "serving_default", Format: "saved_model",
		Results: []Result{{BatchSize: 1, Calls: 7, MedianUS: 21.9, P99US: 35.2, MeanUS: 22.4, RowsPerSecond: 45662.1}}}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"runtime":"go","tensorflow_version":"2.21.0","model":"/m/linear/1","signature":"serving_default","format":"saved_model",` +
		`"intra_op_threads":0,"inter_op_threads":0,"results":[{"batch_size":1,"calls":7,"median_us":21.9,"p99_us":35.2,"mean_us":22.4,"rows_per_second":45662.1}]}`
	if string(data) != want {
		t.Errorf("got  %s\nwant %s", data, want)
	}
}
