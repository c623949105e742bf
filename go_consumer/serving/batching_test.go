package serving

import (
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"google.golang.org/grpc/codes"
)

// fakeRun is a RunFunc without TensorFlow: y = 2x + row-independent constant, per row, and
// an output "n" holding the rows' first values. It records the rows of every run; a run
// waits on gate when it is set.
type fakeRun struct {
	mu   sync.Mutex
	runs []int
	gate chan struct{}
	// scalarOut makes output "y" a scalar (no batch dimension) in the result.
	scalarOut bool
	// oneRowDiffers makes a 1-row run answer other bits than the same row in a larger run,
	// as TensorFlow's matrix-vector MatMul kernel does.
	oneRowDiffers bool
}

func (f *fakeRun) run(plan *model.Plan, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	x := inputs["x"]
	f.mu.Lock()
	f.runs = append(f.runs, int(x.Shape[0]))
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	in := x.Data.([]float64)
	y := make([]float64, len(in))
	for i, v := range in {
		y[i] = 2*v + 1
		if f.oneRowDiffers && x.Shape[0] == 1 {
			y[i] += 1e-9
		}
	}
	if f.scalarOut {
		return map[string]*tensor.Tensor{"y": {DType: tensor.Double, Shape: nil, Data: []float64{float64(len(in))}}}, nil
	}
	return map[string]*tensor.Tensor{"y": {DType: tensor.Double, Shape: append([]int64(nil), x.Shape...), Data: y}}, nil
}

func (f *fakeRun) rows() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.runs...)
}

var batchPlan = &model.Plan{
	Key:     "serving_default",
	Format:  model.FormatSavedModel,
	Inputs:  map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Double, Shape: tensor.Shape{-1, -1}}},
	Outputs: map[string]tensor.Spec{"y": {Alias: "y", DType: tensor.Double, Shape: tensor.Shape{-1, -1}}},
}

// rowsOf is a [rows, cols] DT_DOUBLE input whose values start at first.
func rowsOf(rows, cols int, first float64) map[string]*tensor.Tensor {
	data := make([]float64, rows*cols)
	for i := range data {
		data[i] = first + float64(i)
	}
	return map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{int64(rows), int64(cols)}, Data: data}}
}

func wantY(in map[string]*tensor.Tensor) *tensor.Tensor {
	x := in["x"]
	y := make([]float64, len(x.Data.([]float64)))
	for i, v := range x.Data.([]float64) {
		y[i] = 2*v + 1
	}
	return &tensor.Tensor{DType: tensor.Double, Shape: x.Shape, Data: y}
}

type answer struct {
	out  map[string]*tensor.Tensor
	note RunNote
	err  error
}

// runAll runs every request at once through b and returns the answers in order.
func runAll(b *Batcher, plan *model.Plan, reqs []map[string]*tensor.Tensor) []answer {
	answers := make([]answer, len(reqs))
	var wg sync.WaitGroup
	for i, in := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Run(plan, in, &answers[i].note)
			answers[i].out, answers[i].err = out, err
		}()
	}
	wg.Wait()
	return answers
}

func newTestBatcher(t *testing.T, f *fakeRun, opts BatchOptions) *Batcher {
	t.Helper()
	sched := NewScheduler(opts)
	b := NewBatcher(sched, f.run, "model m version 1")
	b.probe = nil // fakeRun's rows are independent; TestOneRowRequests... covers the probe
	t.Cleanup(func() { b.Close(); sched.Close() })
	return b
}

func TestBatcherMergesAndSplits(t *testing.T) {
	f := &fakeRun{}
	// A long timeout: the batch runs once full (3+2+1+4 = 10 rows).
	b := newTestBatcher(t, f, BatchOptions{MaxBatchSize: 10, BatchTimeout: time.Minute, NumBatchThreads: 2, MaxEnqueuedBatches: 4})
	reqs := []map[string]*tensor.Tensor{rowsOf(3, 2, 0), rowsOf(2, 2, 100), rowsOf(1, 2, 200), rowsOf(4, 2, 300)}
	answers := runAll(b, batchPlan, reqs)
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("request %d: %v", i, a.err)
		}
		if !reflect.DeepEqual(a.out["y"], wantY(reqs[i])) {
			t.Errorf("request %d: got %+v, want %+v", i, a.out["y"], wantY(reqs[i]))
		}
		if a.note != (RunNote{Rows: 10, Requests: 4}) {
			t.Errorf("request %d: note %+v", i, a.note)
		}
	}
	if got := f.rows(); !reflect.DeepEqual(got, []int{10}) {
		t.Errorf("runs %v, want one of 10 rows", got)
	}
}

func TestBatcherTimeoutFlushes(t *testing.T) {
	f := &fakeRun{}
	b := newTestBatcher(t, f, BatchOptions{MaxBatchSize: 32, BatchTimeout: 20 * time.Millisecond, NumBatchThreads: 1, MaxEnqueuedBatches: 4})
	start := time.Now()
	out, err := b.Run(batchPlan, rowsOf(2, 3, 5), nil)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 20*time.Millisecond {
		t.Errorf("answered after %v, before the batch timeout", elapsed)
	}
	if !reflect.DeepEqual(out["y"], wantY(rowsOf(2, 3, 5))) {
		t.Errorf("got %+v", out["y"])
	}
	if got := f.rows(); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("runs %v", got)
	}
}

func TestBatcherMaxBatchSize(t *testing.T) {
	f := &fakeRun{}
	b := newTestBatcher(t, f, BatchOptions{MaxBatchSize: 4, BatchTimeout: 30 * time.Millisecond, NumBatchThreads: 4, MaxEnqueuedBatches: 100})
	var reqs []map[string]*tensor.Tensor
	for i := 0; i < 12; i++ {
		reqs = append(reqs, rowsOf(1, 1, float64(i)))
	}
	reqs = append(reqs, rowsOf(9, 1, 1000)) // more rows than max: runs alone
	answers := runAll(b, batchPlan, reqs)
	for i, a := range answers {
		if a.err != nil || !reflect.DeepEqual(a.out["y"], wantY(reqs[i])) {
			t.Fatalf("request %d: %v %+v", i, a.err, a.out)
		}
	}
	total := 0
	for _, r := range f.rows() {
		if r > 4 && r != 9 {
			t.Errorf("a run of %d rows, over --max-batch-size 4", r)
		}
		total += r
	}
	if total != 21 {
		t.Errorf("runs %v: %d rows, want 21", f.rows(), total)
	}
	if answers[12].note != (RunNote{Rows: 9, Requests: 1}) {
		t.Errorf("the large request: note %+v", answers[12].note)
	}
}

func TestBatcherShapesNotMergeable(t *testing.T) {
	f := &fakeRun{}
	b := newTestBatcher(t, f, BatchOptions{MaxBatchSize: 32, BatchTimeout: 20 * time.Millisecond, NumBatchThreads: 2, MaxEnqueuedBatches: 4})
	// Different non-batch shapes: two queues, never one run.
	reqs := []map[string]*tensor.Tensor{rowsOf(1, 2, 0), rowsOf(1, 3, 10)}
	for i, a := range runAll(b, batchPlan, reqs) {
		if a.err != nil || !reflect.DeepEqual(a.out["y"], wantY(reqs[i])) {
			t.Fatalf("request %d: %v %+v", i, a.err, a.out)
		}
		if a.note.Requests != 1 {
			t.Errorf("request %d: merged %+v", i, a.note)
		}
	}
	// A signature whose output has no batch dimension: every request runs alone, at once.
	scalar := *batchPlan
	scalar.Outputs = map[string]tensor.Spec{"y": {Alias: "y", DType: tensor.Double, Shape: tensor.Shape{}}}
	if _, _, ok := batchKey(&scalar, rowsOf(1, 2, 0)); ok {
		t.Error("an output without a batch dimension is mergeable")
	}
	fixed := *batchPlan
	fixed.Inputs = map[string]tensor.Spec{"x": {Alias: "x", DType: tensor.Double, Shape: tensor.Shape{2, -1}}}
	if _, _, ok := batchKey(&fixed, rowsOf(2, 2, 0)); ok {
		t.Error("an input without a -1 batch dimension is mergeable")
	}
	var note RunNote
	if _, err := b.Run(&scalar, rowsOf(1, 2, 0), &note); err != nil || note != (RunNote{}) {
		t.Errorf("not mergeable: %v, note %+v", err, note)
	}
}

func TestBatcherOutputsWithoutRowsRunAlone(t *testing.T) {
	// The signature promises a batch dimension, the run does not keep it: each request is
	// run again alone.
	f := &fakeRun{scalarOut: true}
	b := newTestBatcher(t, f, BatchOptions{MaxBatchSize: 4, BatchTimeout: time.Minute, NumBatchThreads: 1, MaxEnqueuedBatches: 4})
	reqs := []map[string]*tensor.Tensor{rowsOf(2, 1, 0), rowsOf(2, 1, 10)}
	for i, a := range runAll(b, batchPlan, reqs) {
		if a.err != nil {
			t.Fatal(a.err)
		}
		if got := a.out["y"].Data.([]float64)[0]; got != 2 {
			t.Errorf("request %d: got %v, want its own run (2 elements)", i, got)
		}
	}
	if got := f.rows(); !reflect.DeepEqual(got, []int{4, 2, 2}) {
		t.Errorf("runs %v, want the merged one then each alone", got)
	}
}

func TestBatcherQueueFull(t *testing.T) {
	f := &fakeRun{gate: make(chan struct{})}
	// One thread, one batch of 1 row at most, one enqueued batch: the first request runs
	// (held by the gate), the second waits in the queue, the third is refused.
	b := newTestBatcher(t, f, BatchOptions{MaxBatchSize: 1, BatchTimeout: time.Millisecond, NumBatchThreads: 1, MaxEnqueuedBatches: 1})
	errs := make(chan error, 2)
	go func() { _, err := b.Run(batchPlan, rowsOf(1, 1, 0), nil); errs <- err }()
	waitFor(t, func() bool { return len(f.rows()) == 1 })
	go func() { _, err := b.Run(batchPlan, rowsOf(1, 1, 1), nil); errs <- err }()
	waitFor(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, q := range b.queues {
			return q.enqueued == 1
		}
		return false
	})
	_, err := b.Run(batchPlan, rowsOf(1, 1, 2), nil)
	if code := status.CodeOf(err); code != status.Unavailable || code.HTTPStatus() != http.StatusServiceUnavailable || code.GRPCCode() != codes.Unavailable {
		t.Fatalf("got %s %v, want UNAVAILABLE (HTTP 503, gRPC UNAVAILABLE)", code, err)
	}
	want := `the batch queue of model m version 1, signature "serving_default", is full: 1 batches are waiting to run (--max-enqueued-batches 1); try again later`
	if err.Error() != want {
		t.Errorf("message %q", err.Error())
	}
	close(f.gate)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestBatcherCloseWaitsForQueuedBatches(t *testing.T) {
	f := &fakeRun{}
	sched := NewScheduler(BatchOptions{MaxBatchSize: 8, BatchTimeout: time.Hour, NumBatchThreads: 1, MaxEnqueuedBatches: 4})
	defer sched.Close()
	b := NewBatcher(sched, f.run, "model m version 1")
	b.probe = nil
	done := make(chan error, 1)
	go func() { _, err := b.Run(batchPlan, rowsOf(1, 1, 0), nil); done <- err }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queues) == 1 })
	b.Close() // shuts the open batch and waits for it
	if got := f.rows(); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("runs %v after Close", got)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
	if _, err := b.Run(batchPlan, rowsOf(1, 1, 0), nil); err == nil {
		t.Error("a closed batcher ran a request")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// A 1-row request whose bits would change inside a larger run is never merged (the probe of
// 8 rows alone and together runs once per batch key), while the same requests of 2 rows are.
func TestOneRowRequestsRunAloneWhenTheirBitsWouldChange(t *testing.T) {
	for _, differs := range []bool{false, true} {
		f := &fakeRun{oneRowDiffers: differs}
		s := NewScheduler(BatchOptions{MaxBatchSize: 32, BatchTimeout: 50 * time.Millisecond, NumBatchThreads: 1, MaxEnqueuedBatches: 10})
		b := NewBatcher(s, f.run, "model m version 1")
		probe := func() {
			var note RunNote
			in := rowsOf(1, 1, 0.5)
			out, err := b.Run(batchPlan, in, &note)
			if err != nil {
				t.Fatal(err)
			}
			if differs && !sameBits(out["y"], &tensor.Tensor{DType: tensor.Double, Shape: []int64{1, 1}, Data: []float64{2*0.5 + 1 + 1e-9}}) {
				t.Fatalf("differs=%v: a 1-row request did not get its 1-row bits: %v", differs, out["y"].Data)
			}
		}
		probe()                                     // the first 1-row request runs the probe: 8 rows together, then each alone
		want := []int{8, 1, 1, 1, 1, 1, 1, 1, 1, 1} // the probe, then the request (merged alone)
		if differs {
			want = []int{8, 1, 1} // the first row differs; the request then runs alone
		}
		if got := f.rows(); !reflect.DeepEqual(got, want) {
			t.Fatalf("differs=%v: runs %v, want %v", differs, got, want)
		}
		before := len(f.rows())
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); probe() }()
		}
		wg.Wait()
		runs := f.rows()[before:]
		if differs && !reflect.DeepEqual(runs, []int{1, 1, 1, 1}) {
			t.Fatalf("1-row requests were merged although their bits change: runs %v", runs)
		}
		if !differs && len(runs) == 4 {
			t.Fatalf("1-row requests of a row-invariant signature were never merged: runs %v", runs)
		}
		b.Close()
		s.Close()
	}
}
