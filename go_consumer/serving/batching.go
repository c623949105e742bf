package serving

// Server-side batching (serve --enable-batching), with TensorFlow Serving's parameters:
// concurrent requests to the same version and signature whose inputs all have a leading -1
// batch dimension and identical non-batch shapes and dtypes are concatenated along dimension
// 0 into one session run of at most MaxBatchSize rows, and the outputs (batch dimension
// first) are split back by row ranges.

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// BatchOptions are TensorFlow Serving's batching parameters.
type BatchOptions struct {
	// MaxBatchSize is the most rows of one merged run (max_batch_size); a request with more
	// rows runs alone.
	MaxBatchSize int
	// BatchTimeout is how long a batch that is not full waits for more requests
	// (batch_timeout_micros).
	BatchTimeout time.Duration
	// NumBatchThreads is the number of batches run at once, over every version
	// (num_batch_threads).
	NumBatchThreads int
	// MaxEnqueuedBatches bounds the batches waiting to run per (version, signature, input
	// shapes) queue, the one being filled included (max_enqueued_batches); past it a request
	// is refused as unavailable.
	MaxEnqueuedBatches int
	// Metrics, when not nil, records the batching metrics (queuing latency, input and
	// processed batch sizes, wrapped runs).
	Metrics *Metrics
	// ThreadPoolName is the thread_pool_name label of the queuing latency ("" for TF
	// Serving's default, batch_threads).
	ThreadPoolName string
}

// DefaultBatchOptions are the defaults of the serve flags.
func DefaultBatchOptions() BatchOptions {
	return BatchOptions{MaxBatchSize: 32, BatchTimeout: time.Millisecond, NumBatchThreads: runtime.NumCPU(), MaxEnqueuedBatches: 100}
}

// RunNote tells the access log how a request was run: Rows in the session run that answered
// it, made of Requests requests (0 when no run happened or batching is off).
type RunNote struct {
	Rows, Requests int
	// Runtime is the time the request spent in Servable.Run: its session run, or for a batched
	// request its wait in the queue and the merged run (runtime_latency).
	Runtime time.Duration
}

// String is the access log's field: " batch=ROWS/REQUESTS", or "" without a batched run.
func (n *RunNote) String() string {
	if n == nil || n.Requests == 0 {
		return ""
	}
	return fmt.Sprintf(" batch=%d/%d", n.Rows, n.Requests)
}

// RunFunc runs a plan on decoded inputs (model.Runner.Run).
type RunFunc func(plan *model.Plan, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error)

// Scheduler runs the batches of every Batcher on NumBatchThreads goroutines, in the order
// they were closed.
type Scheduler struct {
	opts BatchOptions

	mu      sync.Mutex
	cond    *sync.Cond
	ready   []*batch
	stopped bool
	workers sync.WaitGroup
}

// NewScheduler starts the worker goroutines; Close stops them.
func NewScheduler(opts BatchOptions) *Scheduler {
	if opts.NumBatchThreads < 1 {
		opts.NumBatchThreads = 1
	}
	if opts.MaxBatchSize < 1 {
		opts.MaxBatchSize = 1
	}
	if opts.MaxEnqueuedBatches < 1 {
		opts.MaxEnqueuedBatches = 1
	}
	s := &Scheduler{opts: opts}
	s.cond = sync.NewCond(&s.mu)
	for i := 0; i < opts.NumBatchThreads; i++ {
		s.workers.Add(1)
		go s.work()
	}
	return s
}

// Options returns the scheduler's parameters (with the minimums applied).
func (s *Scheduler) Options() BatchOptions { return s.opts }

func (s *Scheduler) push(b *batch) {
	s.mu.Lock()
	s.ready = append(s.ready, b)
	s.mu.Unlock()
	s.cond.Signal()
}

func (s *Scheduler) work() {
	defer s.workers.Done()
	for {
		s.mu.Lock()
		for len(s.ready) == 0 && !s.stopped {
			s.cond.Wait()
		}
		if len(s.ready) == 0 {
			s.mu.Unlock()
			return
		}
		b := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		s.mu.Unlock()
		b.owner.start(b)
		b.owner.execute(b)
	}
}

// Close runs the batches still queued, then stops the workers.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cond.Broadcast()
	s.workers.Wait()
}

// Batcher merges the requests to one version. Requests wait in Run until their batch ran;
// a version is closed only after its last request released it, so its queues are empty
// then (Close checks it).
type Batcher struct {
	sched *Scheduler
	run   RunFunc
	label string // "model NAME version V", for messages

	mu      sync.Mutex
	queues  map[string]*batchQueue
	pending sync.WaitGroup // batches not yet run
	closed  bool
	// oneRow caches, per batch key, whether a 1-row request gets the same bits inside a
	// larger run as alone (probe).
	oneRow map[string]bool
	// probe tells whether 1-row requests like this one may be merged (probeOneRow through
	// run); nil: they may.
	probe func(plan *model.Plan, inputs map[string]*tensor.Tensor) bool
}

type batchQueue struct {
	key      string
	open     *batch // the batch being filled, nil when none
	enqueued int    // batches closed or open and not yet started
}

type batch struct {
	owner *Batcher
	queue *batchQueue
	plan  *model.Plan
	calls []*batchCall
	rows  int
	timer *time.Timer
	shut  bool // no more requests join
}

type batchCall struct {
	inputs   map[string]*tensor.Tensor
	rows     int
	enqueued time.Time
	outputs  map[string]*tensor.Tensor
	err      error
	note     RunNote
	done     chan struct{}
}

// NewBatcher returns the batcher of one version whose plans run through run; label names
// the version in messages ("model linear version 3").
func NewBatcher(sched *Scheduler, run RunFunc, label string) *Batcher {
	b := &Batcher{sched: sched, run: run, label: label, queues: map[string]*batchQueue{}, oneRow: map[string]bool{}}
	b.probe = func(plan *model.Plan, inputs map[string]*tensor.Tensor) bool {
		return probeOneRow(run, plan, inputs)
	}
	return b
}

// Run answers one request: merged with concurrent ones when it can be, else alone (in the
// calling goroutine). note (may be nil) receives the rows and requests of the session run.
func (b *Batcher) Run(plan *model.Plan, inputs map[string]*tensor.Tensor, note *RunNote) (map[string]*tensor.Tensor, error) {
	rows, key, ok := batchKey(plan, inputs)
	if !ok || rows > b.sched.opts.MaxBatchSize || (rows == 1 && !b.oneRowMergeable(plan, key, inputs)) {
		if note != nil && ok {
			*note = RunNote{Rows: rows, Requests: 1}
		}
		return b.run(plan, inputs)
	}
	call := &batchCall{inputs: inputs, rows: rows, enqueued: time.Now(), done: make(chan struct{})}
	if err := b.enqueue(plan, key, call); err != nil {
		return nil, err
	}
	<-call.done
	if note != nil {
		*note = call.note
	}
	return call.outputs, call.err
}

// probeRows is the number of rows of the probe of probeOneRow.
const probeRows = 8

// oneRowMergeable reports whether 1-row requests of a batch key may be merged: whether
// probeOneRow, run once per key on the first such request, found their bits unchanged.
func (b *Batcher) oneRowMergeable(plan *model.Plan, key string, inputs map[string]*tensor.Tensor) bool {
	if b.probe == nil {
		return true
	}
	b.mu.Lock()
	known, done := b.oneRow[key]
	b.mu.Unlock()
	if done {
		return known
	}
	same := b.probe(plan, inputs)
	b.mu.Lock()
	b.oneRow[key] = same
	b.mu.Unlock()
	return same
}

// probeOneRow runs probeRows rows made from a 1-row request (float inputs scaled and shifted
// per row, other dtypes repeated) one at a time and then together, and reports whether every
// row's outputs have the same bits both ways. TensorFlow's CPU MatMul multiplies a 1-row
// matrix with a matrix-vector kernel that orders its sums differently from the matrix-matrix
// kernel used for 2 rows or more, so a model with a hidden layer (sine) answers a row alone
// and the same row in a batch a few ULP apart: such requests must run alone to keep their
// unbatched bits. Any run that fails counts as a difference.
func probeOneRow(run RunFunc, plan *model.Plan, inputs map[string]*tensor.Tensor) bool {
	singles := make([]map[string]*tensor.Tensor, probeRows)
	parts := make(map[string][]*tensor.Tensor, len(inputs))
	for j := range singles {
		one := make(map[string]*tensor.Tensor, len(inputs))
		for alias, t := range inputs {
			one[alias] = probeRow(t, j)
			parts[alias] = append(parts[alias], one[alias])
		}
		singles[j] = one
	}
	merged := make(map[string]*tensor.Tensor, len(inputs))
	for alias, p := range parts {
		merged[alias] = concatRows(p, probeRows)
	}
	together, err := run(plan, merged)
	if err != nil {
		return false
	}
	calls := make([]*batchCall, probeRows)
	for j := range calls {
		calls[j] = &batchCall{rows: 1}
	}
	split, ok := splitRows(together, calls, probeRows)
	if !ok {
		return false
	}
	for j, in := range singles {
		alone, err := run(plan, in)
		if err != nil || len(alone) != len(split[j]) {
			return false
		}
		for alias, t := range alone {
			if !sameBits(t, split[j][alias]) {
				return false
			}
		}
	}
	return true
}

// probeRow returns row j of the probe: t (one row) with float values v*(1+j/8) + j/16.
func probeRow(t *tensor.Tensor, j int) *tensor.Tensor {
	scale, shift := 1+float64(j)/8, float64(j)/16
	out := &tensor.Tensor{DType: t.DType, Shape: t.Shape, Data: t.Data}
	switch d := t.Data.(type) {
	case []float32:
		v := make([]float32, len(d))
		for i, x := range d {
			v[i] = float32(float64(x)*scale + shift)
		}
		out.Data = v
	case []float64:
		v := make([]float64, len(d))
		for i, x := range d {
			v[i] = x*scale + shift
		}
		out.Data = v
	}
	return out
}

// sameBits reports whether two tensors have the same dtype, shape and element bits (NaNs
// compared by their bits, so a NaN equals itself).
func sameBits(a, b *tensor.Tensor) bool {
	if a == nil || b == nil || a.DType != b.DType || !reflect.DeepEqual(a.Shape, b.Shape) {
		return false
	}
	switch x := a.Data.(type) {
	case []float32:
		y, ok := b.Data.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case []float64:
		y, ok := b.Data.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Data, b.Data)
}

// batchKey reports whether a request can be merged: every input and output of the plan has
// a known rank starting with the -1 batch dimension and the inputs agree on their rows (at
// least one). The key holds the signature, the outputs fetched and each input's dtype and
// non-batch shape.
func batchKey(plan *model.Plan, inputs map[string]*tensor.Tensor) (int, string, bool) {
	if len(plan.Inputs) == 0 || len(plan.Outputs) == 0 {
		return 0, "", false
	}
	var k strings.Builder
	k.WriteString(strconv.Quote(plan.Key))
	outs := make([]string, 0, len(plan.Outputs))
	for alias, spec := range plan.Outputs {
		if !batchedSpec(spec) {
			return 0, "", false
		}
		outs = append(outs, alias)
	}
	sort.Strings(outs)
	for _, alias := range outs {
		k.WriteString(" >" + strconv.Quote(alias))
	}
	aliases := make([]string, 0, len(plan.Inputs))
	for alias := range plan.Inputs {
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases)
	rows := -1
	for _, alias := range aliases {
		spec, in := plan.Inputs[alias], inputs[alias]
		if in == nil || !batchedSpec(spec) || len(in.Shape) != len(spec.Shape) || in.DType != spec.DType {
			return 0, "", false
		}
		n := int(in.Shape[0])
		if rows == -1 {
			rows = n
		} else if n != rows {
			return 0, "", false
		}
		fmt.Fprintf(&k, " <%s %s %v", strconv.Quote(alias), in.DType, in.Shape[1:])
	}
	if rows < 1 {
		return 0, "", false
	}
	return rows, k.String(), true
}

func batchedSpec(s tensor.Spec) bool {
	return !s.UnknownRank && len(s.Shape) >= 1 && s.Shape[0] == -1
}

func (b *Batcher) enqueue(plan *model.Plan, key string, call *batchCall) error {
	opts := b.sched.opts
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return status.New(status.Unavailable, "%s is closed", b.label)
	}
	q := b.queues[key]
	if q == nil {
		q = &batchQueue{key: key}
		b.queues[key] = q
	}
	if q.open != nil && q.open.rows+call.rows > opts.MaxBatchSize {
		b.shut(q.open) // full for this request: it runs as it is
	}
	if q.open == nil {
		if q.enqueued >= opts.MaxEnqueuedBatches {
			return status.New(status.Unavailable,
				"the batch queue of %s, signature %s, is full: %d batches are waiting to run (--max-enqueued-batches %d); try again later",
				b.label, restjson.Quote(plan.Key), q.enqueued, opts.MaxEnqueuedBatches)
		}
		nb := &batch{owner: b, queue: q, plan: plan}
		q.open = nb
		q.enqueued++
		b.pending.Add(1)
		if opts.BatchTimeout > 0 {
			nb.timer = time.AfterFunc(opts.BatchTimeout, func() {
				b.mu.Lock()
				defer b.mu.Unlock()
				b.shut(nb)
			})
		}
	}
	nb := q.open
	nb.calls = append(nb.calls, call)
	nb.rows += call.rows
	opts.Metrics.enqueued(call.rows)
	if nb.rows >= opts.MaxBatchSize || opts.BatchTimeout <= 0 {
		b.shut(nb)
	}
	return nil
}

// shut closes a batch to new requests and hands it to the scheduler (b.mu held).
func (b *Batcher) shut(nb *batch) {
	if nb.shut {
		return
	}
	nb.shut = true
	if nb.timer != nil {
		nb.timer.Stop()
	}
	if nb.queue.open == nb {
		nb.queue.open = nil
	}
	b.sched.push(nb)
}

// start takes a batch off its queue's count of waiting batches.
func (b *Batcher) start(nb *batch) {
	b.mu.Lock()
	nb.queue.enqueued--
	if nb.queue.enqueued == 0 && nb.queue.open == nil {
		delete(b.queues, nb.queue.key)
	}
	b.mu.Unlock()
}

// execute runs a batch and answers its requests.
func (b *Batcher) execute(nb *batch) {
	defer b.pending.Done()
	defer func() {
		if p := recover(); p != nil {
			for _, c := range nb.calls {
				select {
				case <-c.done:
				default:
					c.err = status.New(status.Internal, "internal error: %s", oneLine(fmt.Sprint(p)))
					close(c.done)
				}
			}
		}
	}()
	enqueued := make([]time.Time, len(nb.calls))
	for i, c := range nb.calls {
		enqueued[i] = c.enqueued
	}
	b.sched.opts.Metrics.batchRun(b.sched.opts.ThreadPoolName, nb.rows, enqueued, time.Now())
	if len(nb.calls) == 1 {
		c := nb.calls[0]
		c.outputs, c.err = b.run(nb.plan, c.inputs)
		c.note = RunNote{Rows: c.rows, Requests: 1}
		close(c.done)
		return
	}
	merged := make(map[string]*tensor.Tensor, len(nb.plan.Inputs))
	for alias := range nb.plan.Inputs {
		parts := make([]*tensor.Tensor, len(nb.calls))
		for i, c := range nb.calls {
			parts[i] = c.inputs[alias]
		}
		merged[alias] = concatRows(parts, nb.rows)
	}
	outputs, err := b.run(nb.plan, merged)
	if err == nil {
		if split, ok := splitRows(outputs, nb.calls, nb.rows); ok {
			for i, c := range nb.calls {
				c.outputs = split[i]
				c.note = RunNote{Rows: nb.rows, Requests: len(nb.calls)}
				close(c.done)
			}
			return
		}
	}
	// The merged run failed or its outputs cannot be split by rows: every request runs
	// alone, so that each gets its own answer or error.
	for _, c := range nb.calls {
		c.outputs, c.err = b.run(nb.plan, c.inputs)
		c.note = RunNote{Rows: c.rows, Requests: 1}
		close(c.done)
	}
}

// concatRows concatenates tensors of the same dtype and non-batch shape along dimension 0.
func concatRows(parts []*tensor.Tensor, rows int) *tensor.Tensor {
	first := parts[0]
	shape := append([]int64{int64(rows)}, first.Shape[1:]...)
	data := reflect.MakeSlice(reflect.TypeOf(first.Data), 0, int(tensor.NumElements(shape)))
	for _, p := range parts {
		data = reflect.AppendSlice(data, reflect.ValueOf(p.Data))
	}
	return &tensor.Tensor{DType: first.DType, Shape: shape, Data: data.Interface()}
}

// splitRows cuts every output back into the requests' row ranges; false when an output does
// not have the batch's rows as its first dimension.
func splitRows(outputs map[string]*tensor.Tensor, calls []*batchCall, rows int) ([]map[string]*tensor.Tensor, bool) {
	out := make([]map[string]*tensor.Tensor, len(calls))
	for i := range out {
		out[i] = make(map[string]*tensor.Tensor, len(outputs))
	}
	for alias, t := range outputs {
		if len(t.Shape) < 1 || t.Shape[0] != int64(rows) {
			return nil, false
		}
		per := int(tensor.NumElements(t.Shape[1:]))
		data := reflect.ValueOf(t.Data)
		if data.Len() != rows*per {
			return nil, false
		}
		start := 0
		for i, c := range calls {
			shape := append([]int64{int64(c.rows)}, t.Shape[1:]...)
			part := data.Slice3(start*per, (start+c.rows)*per, (start+c.rows)*per)
			out[i][alias] = &tensor.Tensor{DType: t.DType, Shape: shape, Data: part.Interface()}
			start += c.rows
		}
	}
	return out, true
}

// Close refuses new requests and waits until the batches already queued have run.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	for _, q := range b.queues {
		if q.open != nil {
			b.shut(q.open)
		}
	}
	b.mu.Unlock()
	b.pending.Wait()
}
