package model

// The direct call path of the bench command: the model loaded through the TensorFlow C API
// itself (not graft) and each call one cgo call into direct_run below, which does exactly
// what bench/floor does per call (TF_SessionRun, one memcpy of each output's buffer,
// TF_DeleteTensor). graft's Session.Run costs about 3 µs more per call on this model zoo
// (it builds the C argument arrays, a TF_Status and a Tensor per output, each with a
// finalizer, on every call, and frees the outputs only when the garbage collector runs),
// which is 30-40 % of a batch-1 call; with this path the Go runtime stays within a few
// percent of the C floor. Everything else (predict, serve-stdio, train) runs through graft.

/*
#cgo LDFLAGS: -ltensorflow
#include <stdlib.h>
#include <string.h>
#include "tensorflow/c/c_api.h"

// A prepared call, all in C memory: Go holds only its pointer.
typedef struct {
	TF_Session *session;
	TF_Status *status;
	int n_feeds, n_fetches;
	TF_Output *feeds;
	TF_Tensor **feed_tensors;
	TF_Output *fetches;
	TF_Tensor **fetch_tensors;
	void **bufs;   // one reusable buffer per output
	size_t *lens;  // bytes of the last call's output
	size_t *caps;
} direct_call;

static direct_call *direct_call_new(TF_Session *session, int n_feeds, int n_fetches) {
	direct_call *c = calloc(1, sizeof *c);
	if (c == NULL) return NULL;
	c->session = session;
	c->status = TF_NewStatus();
	c->n_feeds = n_feeds;
	c->n_fetches = n_fetches;
	c->feeds = calloc(n_feeds + 1, sizeof(TF_Output));
	c->feed_tensors = calloc(n_feeds + 1, sizeof(TF_Tensor *));
	c->fetches = calloc(n_fetches + 1, sizeof(TF_Output));
	c->fetch_tensors = calloc(n_fetches + 1, sizeof(TF_Tensor *));
	c->bufs = calloc(n_fetches + 1, sizeof(void *));
	c->lens = calloc(n_fetches + 1, sizeof(size_t));
	c->caps = calloc(n_fetches + 1, sizeof(size_t));
	return c;
}

static void direct_call_free(direct_call *c) {
	for (int i = 0; i < c->n_feeds; i++) {
		if (c->feed_tensors[i] != NULL) TF_DeleteTensor(c->feed_tensors[i]);
	}
	for (int i = 0; i < c->n_fetches; i++) free(c->bufs[i]);
	TF_DeleteStatus(c->status);
	free(c->feeds);
	free(c->feed_tensors);
	free(c->fetches);
	free(c->fetch_tensors);
	free(c->bufs);
	free(c->lens);
	free(c->caps);
	free(c);
}

static void direct_set_feed(direct_call *c, int i, TF_Operation *op, int index, TF_Tensor *t) {
	c->feeds[i] = (TF_Output){op, index};
	c->feed_tensors[i] = t;
}

static void direct_set_fetch(direct_call *c, int i, TF_Operation *op, int index) {
	c->fetches[i] = (TF_Output){op, index};
}

// direct_run runs the call once and reads every output's buffer in one piece. It returns
// 0, 1 when TensorFlow failed (message in c->status) or 2 when out of memory.
static int direct_run(direct_call *c) {
	TF_SessionRun(c->session, NULL, c->feeds, c->feed_tensors, c->n_feeds, c->fetches,
	              c->fetch_tensors, c->n_fetches, NULL, 0, NULL, c->status);
	if (TF_GetCode(c->status) != TF_OK) return 1;
	int rc = 0;
	for (int i = 0; i < c->n_fetches; i++) {
		TF_Tensor *t = c->fetch_tensors[i];
		size_t n = TF_TensorByteSize(t);
		if (n > c->caps[i]) {
			void *b = realloc(c->bufs[i], n);
			if (b == NULL) {
				rc = 2;
				n = 0;
			} else {
				c->bufs[i] = b;
				c->caps[i] = n;
			}
		}
		if (n > 0) memcpy(c->bufs[i], TF_TensorData(t), n);
		c->lens[i] = n;
		TF_DeleteTensor(t);
		c->fetch_tensors[i] = NULL;
	}
	return rc;
}

// direct_tensor allocates a tensor and copies len bytes of data into it.
static TF_Tensor *direct_tensor(TF_DataType dt, const int64_t *dims, int ndims, const void *data, size_t len) {
	TF_Tensor *t = TF_AllocateTensor(dt, dims, ndims, len);
	if (t != NULL && len > 0) memcpy(TF_TensorData(t), data, len);
	return t;
}

// direct_options makes session options carrying config, the serialized ConfigProto of
// Options.Config (the contract's: constant folding off, tests/CONTRACT.md "Numeric
// configuration").
static TF_SessionOptions *direct_options(const void *config, size_t len, TF_Status *st) {
	TF_SessionOptions *opts = TF_NewSessionOptions();
	TF_SetConfig(opts, config, len, st);
	return opts;
}

static TF_Session *direct_load_saved_model(const char *dir, const void *config, size_t len, TF_Graph *graph, TF_Status *st) {
	TF_SessionOptions *opts = direct_options(config, len, st);
	TF_Session *s = NULL;
	if (TF_GetCode(st) == TF_OK) {
		const char *tags[] = {"serve"};
		s = TF_LoadSessionFromSavedModel(opts, NULL, dir, tags, 1, graph, NULL, st);
	}
	TF_DeleteSessionOptions(opts);
	return s;
}

static TF_Session *direct_import_frozen(const void *def, size_t def_len, const void *config, size_t len, TF_Graph *graph, TF_Status *st) {
	TF_Buffer *buf = TF_NewBufferFromString(def, def_len);
	TF_ImportGraphDefOptions *imp = TF_NewImportGraphDefOptions();
	TF_GraphImportGraphDef(graph, buf, imp, st);
	TF_DeleteImportGraphDefOptions(imp);
	TF_DeleteBuffer(buf);
	if (TF_GetCode(st) != TF_OK) return NULL;
	TF_SessionOptions *opts = direct_options(config, len, st);
	TF_Session *s = NULL;
	if (TF_GetCode(st) == TF_OK) s = TF_NewSession(graph, opts, st);
	TF_DeleteSessionOptions(opts);
	return s;
}
*/
import "C"

import (
	"os"
	"unsafe"

	"github.com/polyglot-tf/go_consumer/internal/status"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
)

// Options configures the TensorFlow session of a [Direct] model. The zero value is the
// contract's configuration with TensorFlow's thread counts, the one every other session gets.
type Options struct {
	// IntraOpThreads and InterOpThreads set ConfigProto.intra_op_parallelism_threads and
	// inter_op_parallelism_threads; 0 leaves the choice to TensorFlow (the number of cores).
	IntraOpThreads, InterOpThreads int32
}

// Config returns the serialized ConfigProto of o: [SessionConfig] with o's thread counts,
// so Grappler's constant folding is off whatever the thread counts (tests/CONTRACT.md,
// "Numeric configuration"). It is never empty.
func (o Options) Config() ([]byte, error) {
	return SessionConfig(o.IntraOpThreads, o.InterOpThreads)
}

// Direct is one signature plan's model loaded through the TensorFlow C API directly, for
// calling it many times with as little overhead as the C API allows (see [Direct.Prepare]).
// Close releases it.
type Direct struct {
	plan    *Plan
	graph   *C.TF_Graph
	session *C.TF_Session
}

// OpenDirect loads the model that plan runs: the SavedModel with tags {"serve"}, or the
// plan's frozen GraphDef, in a session configured by opts ([Options.Config]: the contract's
// ConfigProto, set with TF_SetConfig).
func OpenDirect(info *Info, plan *Plan, opts Options) (*Direct, error) {
	config, err := opts.Config()
	if err != nil {
		return nil, err
	}
	var def []byte
	if plan.Format == FormatFrozen {
		if def, err = os.ReadFile(plan.Graph); err != nil {
			return nil, status.New(status.FailedPrecondition, "cannot read the frozen graph of signature %s: %v", tfjson.Quote(plan.Key), err)
		}
	}
	tfStatus := C.TF_NewStatus()
	defer C.TF_DeleteStatus(tfStatus)
	d := &Direct{plan: plan, graph: C.TF_NewGraph()}
	cConfig := C.CBytes(config) // C memory: nothing Go-owned is handed to TensorFlow
	defer C.free(cConfig)
	if plan.Format == FormatFrozen {
		cDef := C.CBytes(def)
		defer C.free(cDef)
		d.session = C.direct_import_frozen(cDef, C.size_t(len(def)), cConfig, C.size_t(len(config)), d.graph, tfStatus)
	} else {
		cDir := C.CString(info.Dir)
		defer C.free(unsafe.Pointer(cDir))
		d.session = C.direct_load_saved_model(cDir, cConfig, C.size_t(len(config)), d.graph, tfStatus)
	}
	if C.TF_GetCode(tfStatus) != C.TF_OK {
		msg := oneLine(C.GoString(C.TF_Message(tfStatus)))
		if d.session != nil {
			C.TF_CloseSession(d.session, tfStatus)
			C.TF_DeleteSession(d.session, tfStatus)
		}
		C.TF_DeleteGraph(d.graph)
		if plan.Format == FormatFrozen {
			return nil, status.New(status.FailedPrecondition, "cannot load the frozen graph %s: %s", plan.Graph, msg)
		}
		return nil, status.New(status.FailedPrecondition, "cannot load the SavedModel in %s: %s", info.Dir, msg)
	}
	return d, nil
}

// Close closes the session and frees the graph.
func (d *Direct) Close() error {
	if d.session == nil {
		return nil
	}
	tfStatus := C.TF_NewStatus()
	defer C.TF_DeleteStatus(tfStatus)
	C.TF_CloseSession(d.session, tfStatus)
	var err error
	if C.TF_GetCode(tfStatus) != C.TF_OK {
		err = status.New(status.Internal, "cannot close the session: %s", oneLine(C.GoString(C.TF_Message(tfStatus))))
	}
	C.TF_DeleteSession(d.session, tfStatus)
	C.TF_DeleteGraph(d.graph)
	d.session, d.graph = nil, nil
	return err
}

// DirectCall is a call of a [Direct] model prepared once: its input tensors, feeds and
// fetches live in C memory, so each [DirectCall.Run] is a single cgo call. Free releases it.
type DirectCall struct {
	plan    *Plan
	c       *C.direct_call
	aliases []string // outputs, in fetch order
}

// Prepare builds one TensorFlow tensor per input from its flat slice (one copy of the
// slice's memory) and resolves the plan's input and output tensors in the graph. inputs
// must match the plan's specs; DT_STRING inputs are not supported.
func (d *Direct) Prepare(inputs map[string]*tfjson.Tensor) (*DirectCall, error) {
	if d.session == nil {
		return nil, status.New(status.Internal, "the model is closed")
	}
	inAliases := sortedKeys(d.plan.Inputs)
	outAliases := sortedKeys(d.plan.Outputs)
	c := C.direct_call_new(d.session, C.int(len(inAliases)), C.int(len(outAliases)))
	if c == nil {
		return nil, status.New(status.Internal, "out of memory")
	}
	call := &DirectCall{plan: d.plan, c: c, aliases: outAliases}
	for i, alias := range inAliases {
		spec := d.plan.Inputs[alias]
		in := inputs[alias]
		if in == nil {
			call.Free()
			return nil, status.New(status.InvalidArgument, "missing input %s", tfjson.Quote(alias))
		}
		if in.DType != spec.DType {
			call.Free()
			return nil, status.New(status.InvalidArgument, "input %s given a %s tensor", spec.Describe(), in.DType)
		}
		op, idx, err := d.lookup(spec)
		if err != nil {
			call.Free()
			return nil, err
		}
		t, err := directTensor(in)
		if err != nil {
			call.Free()
			return nil, err
		}
		C.direct_set_feed(c, C.int(i), op, C.int(idx), t)
	}
	for i, alias := range outAliases {
		op, idx, err := d.lookup(d.plan.Outputs[alias])
		if err != nil {
			call.Free()
			return nil, err
		}
		C.direct_set_fetch(c, C.int(i), op, C.int(idx))
	}
	return call, nil
}

// lookup finds a spec's tensor in the graph and checks its dtype.
func (d *Direct) lookup(spec tfjson.Spec) (*C.TF_Operation, int, error) {
	name, idx, err := splitTensorName(spec.Name)
	if err != nil {
		return nil, 0, status.New(status.FailedPrecondition, "%s: %v", spec.Describe(), err)
	}
	cName := C.CString(name)
	defer C.free(unsafe.Pointer(cName))
	op := C.TF_GraphOperationByName(d.graph, cName)
	if op == nil || idx >= int(C.TF_OperationNumOutputs(op)) {
		return nil, 0, status.New(status.FailedPrecondition, "tensor %s of %s is not in the graph", tfjson.Quote(spec.Name), spec.Describe())
	}
	if got := tfjson.DType(C.TF_OperationOutputType(C.TF_Output{oper: op, index: C.int(idx)})); got != spec.DType {
		return nil, 0, status.New(status.FailedPrecondition, "tensor %s of %s is %s in the graph", tfjson.Quote(spec.Name), spec.Describe(), got)
	}
	return op, idx, nil
}

// directTensor allocates a TF_Tensor holding a copy of t's flat slice. Every numeric dtype
// (DT_HALF as its bits) and DT_BOOL (one byte 0 or 1, as Go's bool) has the same memory
// layout in Go and in TensorFlow.
func directTensor(t *tfjson.Tensor) (*C.TF_Tensor, error) {
	if int64(t.Len()) != tfjson.NumElements(t.Shape) {
		return nil, status.New(status.Internal, "tensor holds %d elements for shape %v", t.Len(), t.Shape)
	}
	var (
		ptr  unsafe.Pointer
		size uintptr
	)
	switch d := t.Data.(type) {
	case []float32:
		ptr, size = sliceMem(d)
	case []float64:
		ptr, size = sliceMem(d)
	case []tfjson.Float16:
		ptr, size = sliceMem(d)
	case []int8:
		ptr, size = sliceMem(d)
	case []int16:
		ptr, size = sliceMem(d)
	case []int32:
		ptr, size = sliceMem(d)
	case []int64:
		ptr, size = sliceMem(d)
	case []uint8:
		ptr, size = sliceMem(d)
	case []uint16:
		ptr, size = sliceMem(d)
	case []uint32:
		ptr, size = sliceMem(d)
	case []uint64:
		ptr, size = sliceMem(d)
	case []bool:
		ptr, size = sliceMem(d)
	default:
		return nil, status.New(status.InvalidArgument, "a %s tensor cannot be fed by the direct call path", t.DType)
	}
	var dims *C.int64_t
	if len(t.Shape) > 0 {
		dims = (*C.int64_t)(unsafe.Pointer(&t.Shape[0]))
	}
	out := C.direct_tensor(C.TF_DataType(t.DType), dims, C.int(len(t.Shape)), ptr, C.size_t(size))
	if out == nil {
		return nil, status.New(status.Internal, "cannot allocate a %s tensor of shape %v", t.DType, t.Shape)
	}
	return out, nil
}

// sliceMem returns the address and byte size of a slice's elements (nil, 0 when empty).
func sliceMem[T any](s []T) (unsafe.Pointer, uintptr) {
	if len(s) == 0 {
		return nil, 0
	}
	var zero T
	return unsafe.Pointer(&s[0]), uintptr(len(s)) * unsafe.Sizeof(zero)
}

// Run runs the call once and reads every output's buffer in one piece (into C memory
// reused from call to call; see [DirectCall.Output]).
func (c *DirectCall) Run() error {
	switch C.direct_run(c.c) {
	case 0:
		return nil
	case 1:
		return runFailed(c.plan, C.GoString(C.TF_Message(c.c.status)))
	default:
		return status.New(status.Internal, "out of memory reading the outputs")
	}
}

func runFailed(plan *Plan, msg string) error {
	return status.New(status.Internal, "TensorFlow failed to run signature %s: %s", tfjson.Quote(plan.Key), oneLine(msg))
}

// Output returns a copy of the raw buffer of output alias from the last [DirectCall.Run]
// (for DT_STRING, TF_TString records); nil before the first run or for an unknown alias.
func (c *DirectCall) Output(alias string) []byte {
	for i, a := range c.aliases {
		if a == alias {
			buf := unsafe.Slice((**byte)(unsafe.Pointer(c.c.bufs)), c.c.n_fetches)[i]
			n := unsafe.Slice((*C.size_t)(unsafe.Pointer(c.c.lens)), c.c.n_fetches)[i]
			if buf == nil {
				return nil
			}
			return C.GoBytes(unsafe.Pointer(buf), C.int(n))
		}
	}
	return nil
}

// Free releases the call's tensors and buffers.
func (c *DirectCall) Free() {
	if c.c != nil {
		C.direct_call_free(c.c)
		c.c = nil
	}
}
