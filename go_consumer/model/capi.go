package model

// The one call path of every command and of the server: TensorFlow's C API (c_api.h,
// tf_tensor.h, tf_tstring.h) called directly through cgo. In the common case a Run is one cgo
// call (pt_run): the small numeric inputs go in packed in one buffer and become tensors
// there, TF_SessionRun runs, and the outputs come back copied into a reused buffer, from
// which Go copies them into new slices. DT_STRING inputs are made by a cgo call of their own;
// numeric inputs from 16 KiB on are not copied at all: TensorFlow reads the Go slice itself,
// pinned for as long as TensorFlow holds it (see inputTensor); outputs too large for the
// buffer, and DT_STRING outputs, are read from TensorFlow's memory and deleted by one more
// call. The feed and fetch TF_Outputs of a signature are looked up once per session.

/*
#cgo LDFLAGS: -ltensorflow
#include <stdlib.h>
#include <string.h>
#include "tensorflow/c/c_api.h"
#include "tensorflow/c/tf_tstring.h"

// pt_fetched describes one fetched tensor for Go: its dtype, shape (the first 8 dims;
// TF_Dim reads the rest), data and byte size.
typedef struct {
	TF_DataType dtype;
	int ndims;
	int64_t dims[8];
	void *data;
	size_t len;
	size_t off;  // with copied: where in the caller's buffer the bytes are
	int copied;  // 1: copied into the caller's buffer and the tensor deleted
} pt_fetched;

// pt_released is the deallocator of a wrapped Go buffer: it records that TensorFlow no
// longer holds the buffer (arg is a C int the Go side reads before unpinning the buffer).
static void pt_released(void *data, size_t len, void *arg) { *(volatile int *)arg = 1; }

// pt_wrap_tensor makes a tensor over data without copying it (TensorFlow copies it itself if
// it is not aligned as it needs). *released becomes 1 when TensorFlow lets go of data.
static TF_Tensor *pt_wrap_tensor(TF_DataType dt, const int64_t *dims, int ndims, void *data, size_t len, int **released) {
	int *flag = calloc(1, sizeof(int));
	if (flag == NULL) return NULL;
	TF_Tensor *t = TF_NewTensor(dt, dims, ndims, data, len, pt_released, flag);
	if (t == NULL) {
		free(flag);
		return NULL;
	}
	*released = flag;
	return t;
}

// pt_string_tensor makes a DT_STRING tensor of n elements, element i being the bytes
// [ends[i-1], ends[i]) of data (ends[-1] = 0).
static TF_Tensor *pt_string_tensor(const int64_t *dims, int ndims, const char *data, const int64_t *ends, int64_t n) {
	TF_Tensor *t = TF_AllocateTensor(TF_STRING, dims, ndims, (size_t)n * sizeof(TF_TString));
	if (t == NULL) return NULL;
	TF_TString *s = (TF_TString *)TF_TensorData(t);
	int64_t start = 0;
	for (int64_t i = 0; i < n; i++) {
		TF_StringInit(&s[i]);
		TF_StringCopy(&s[i], data + start, (size_t)(ends[i] - start));
		start = ends[i];
	}
	return t;
}

// pt_string_sizes writes the byte size of each of the n elements of a DT_STRING tensor's
// data into sizes; pt_string_read copies them one after another into dst.
static void pt_string_sizes(const void *data, int64_t n, int64_t *sizes) {
	const TF_TString *s = (const TF_TString *)data;
	for (int64_t i = 0; i < n; i++) sizes[i] = (int64_t)TF_StringGetSize(&s[i]);
}

static void pt_string_read(const void *data, int64_t n, char *dst) {
	const TF_TString *s = (const TF_TString *)data;
	for (int64_t i = 0; i < n; i++) {
		size_t len = TF_StringGetSize(&s[i]);
		if (len > 0) memcpy(dst, TF_StringGetDataPointer(&s[i]), len);
		dst += len;
	}
}

// pt_run makes the packed inputs (those with inputs[i] == NULL: dtype in_dtypes[i], in_ndims[i]
// dims taken in turn from in_dims, bytes [in_ends[i-1], in_ends[i]) of in_data, copied into a
// TF_AllocateTensor), runs the session, deletes the nin input tensors whatever happens, and
// describes each of the nout outputs in info. Numeric outputs that fit in out_buf (out_cap
// bytes) are copied there one after another and deleted (info[i].copied = 1); the others stay
// in outputs for the caller. It returns TF_OK or TensorFlow's code, with the message in *msg
// (malloc'ed; the caller frees it).
static int pt_run(TF_Session *session, const void *run_options, size_t run_options_len,
                  const TF_Output *feeds, TF_Tensor **inputs, int nin,
                  const int *in_dtypes, const int *in_ndims, const int64_t *in_dims, const char *in_data, const size_t *in_ends,
                  const TF_Output *fetches, TF_Tensor **outputs, pt_fetched *info, int nout,
                  char *out_buf, size_t out_cap,
                  const TF_Operation *const *targets, int ntargets, char **msg) {
	int code = TF_OK;
	size_t start = 0;
	int dim = 0;
	for (int i = 0; i < nin; i++) {
		if (inputs[i] != NULL) continue;
		size_t len = in_ends[i] - start;
		TF_Tensor *t = TF_AllocateTensor((TF_DataType)in_dtypes[i], in_dims + dim, in_ndims[i], len);
		if (t == NULL) {
			code = TF_RESOURCE_EXHAUSTED;
			*msg = strdup("cannot allocate an input tensor");
			break;
		}
		if (len > 0) memcpy(TF_TensorData(t), in_data + start, len);
		inputs[i] = t;
		start = in_ends[i];
		dim += in_ndims[i];
	}
	TF_Status *st = TF_NewStatus();
	if (code == TF_OK) {
		TF_Buffer *opts = NULL;
		if (run_options_len > 0) opts = TF_NewBufferFromString(run_options, run_options_len);
		TF_SessionRun(session, opts, feeds, inputs, nin, fetches, outputs, nout, targets, ntargets, NULL, st);
		if (opts != NULL) TF_DeleteBuffer(opts);
		code = TF_GetCode(st);
		if (code != TF_OK) *msg = strdup(TF_Message(st));
	}
	for (int i = 0; i < nin; i++) {
		if (inputs[i] != NULL) TF_DeleteTensor(inputs[i]);
		inputs[i] = NULL;
	}
	if (code == TF_OK) {
		size_t used = 0;
		for (int i = 0; i < nout; i++) {
			TF_Tensor *t = outputs[i];
			info[i].dtype = TF_TensorType(t);
			info[i].ndims = TF_NumDims(t);
			for (int d = 0; d < info[i].ndims && d < 8; d++) info[i].dims[d] = TF_Dim(t, d);
			info[i].data = TF_TensorData(t);
			info[i].len = TF_TensorByteSize(t);
			info[i].copied = 0;
			if (info[i].dtype != TF_STRING && info[i].ndims <= 8 && out_buf != NULL && info[i].len <= out_cap - used) {
				if (info[i].len > 0) memcpy(out_buf + used, info[i].data, info[i].len);
				info[i].off = used;
				info[i].copied = 1;
				used += (info[i].len + 7) & ~(size_t)7;
				if (used > out_cap) used = out_cap;
				TF_DeleteTensor(t);
				outputs[i] = NULL;
				info[i].data = NULL;
			}
		}
	}
	TF_DeleteStatus(st);
	return code;
}

// pt_delete_tensors deletes n tensors.
static void pt_delete_tensors(TF_Tensor **t, int n) {
	for (int i = 0; i < n; i++) {
		if (t[i] != NULL) TF_DeleteTensor(t[i]);
		t[i] = NULL;
	}
}

// pt_session_options makes session options carrying config, a serialized ConfigProto.
static TF_SessionOptions *pt_session_options(const void *config, size_t len, TF_Status *st) {
	TF_SessionOptions *opts = TF_NewSessionOptions();
	TF_SetConfig(opts, config, len, st);
	return opts;
}

static TF_Session *pt_load_saved_model(const char *dir, const char *tag, const void *config, size_t len, TF_Graph *graph, TF_Status *st) {
	TF_SessionOptions *opts = pt_session_options(config, len, st);
	TF_Session *s = NULL;
	if (TF_GetCode(st) == TF_OK) {
		const char *tags[] = {tag};
		s = TF_LoadSessionFromSavedModel(opts, NULL, dir, tags, 1, graph, NULL, st);
	}
	TF_DeleteSessionOptions(opts);
	return s;
}

static TF_Session *pt_import_graph_def(const void *def, size_t def_len, const void *config, size_t len, TF_Graph *graph, TF_Status *st) {
	TF_Buffer *buf = TF_NewBufferFromString(def, def_len);
	TF_ImportGraphDefOptions *imp = TF_NewImportGraphDefOptions();
	TF_GraphImportGraphDef(graph, buf, imp, st);
	TF_DeleteImportGraphDefOptions(imp);
	TF_DeleteBuffer(buf);
	if (TF_GetCode(st) != TF_OK) return NULL;
	TF_SessionOptions *opts = pt_session_options(config, len, st);
	TF_Session *s = NULL;
	if (TF_GetCode(st) == TF_OK) s = TF_NewSession(graph, opts, st);
	TF_DeleteSessionOptions(opts);
	return s;
}

// pt_close_session closes and deletes a session, then deletes its graph. It returns the
// message of a failed close (malloc'ed) or NULL.
static char *pt_close_session(TF_Session *s, TF_Graph *g) {
	TF_Status *st = TF_NewStatus();
	TF_CloseSession(s, st);
	char *msg = NULL;
	if (TF_GetCode(st) != TF_OK) msg = strdup(TF_Message(st));
	TF_DeleteSession(s, st);
	TF_DeleteGraph(g);
	TF_DeleteStatus(st);
	return msg;
}
*/
import "C"

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// TFVersion returns the version of the TensorFlow C library in use (TF_Version()).
func TFVersion() string { return C.GoString(C.TF_Version()) }

// wrapMinBytes is the size from which a numeric input is handed to TensorFlow in place
// (TF_NewTensor over the pinned Go slice) rather than copied (TF_AllocateTensor and one
// memcpy): below it the copy costs less than pinning.
const wrapMinBytes = 16 << 10

// session is one TensorFlow session and the graph it runs: the SavedModel's, or a frozen
// GraphDef imported into a new graph.
type session struct {
	graph   *C.TF_Graph
	session *C.TF_Session
	calls   sync.Map // signature key -> *call, resolved on first use
	// held are wrapped inputs that TensorFlow still referenced after their run (a stateful
	// op kept the tensor); they stay pinned until it lets go (see sweep).
	heldMu    sync.Mutex
	held      []heldBuffer
	heldCount atomic.Int32
}

// heldBuffer are the Go buffers of one run lent to TensorFlow: pinned until every
// *released becomes 1.
type heldBuffer struct {
	pinner   *runtime.Pinner
	released []*C.int
}

// call is a signature resolved in a session's graph: the feed and fetch TF_Outputs in the
// order of the sorted aliases.
type call struct {
	key        string
	inAliases  []string
	inSpecs    []tensor.Spec
	feeds      []C.TF_Output
	outAliases []string
	fetches    []C.TF_Output
	targets    []*C.TF_Operation
	// failure is what TensorFlow failed to do when a run fails, after "TensorFlow failed to ".
	failure string
}

func tfError(code C.int, msg *C.char) (status.Code, string) {
	text := oneLine(C.GoString(msg))
	C.free(unsafe.Pointer(msg))
	switch code {
	case C.TF_DEADLINE_EXCEEDED:
		return status.DeadlineExceeded, text
	}
	return status.Internal, text
}

// loadSavedModel loads the MetaGraphDef tagged tag of the SavedModel in dir into a new
// session configured by config (a serialized ConfigProto).
func loadSavedModel(dir, tag string, config []byte) (*session, error) {
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	cDir, cTag := C.CString(dir), C.CString(tag)
	defer C.free(unsafe.Pointer(cDir))
	defer C.free(unsafe.Pointer(cTag))
	cConfig := C.CBytes(config)
	defer C.free(cConfig)
	g := C.TF_NewGraph()
	s := C.pt_load_saved_model(cDir, cTag, cConfig, C.size_t(len(config)), g, st)
	if C.TF_GetCode(st) != C.TF_OK {
		msg := oneLine(C.GoString(C.TF_Message(st)))
		discard(s, g)
		return nil, status.New(status.FailedPrecondition, "cannot load the SavedModel in %s: %s", dir, msg)
	}
	return &session{graph: g, session: s}, nil
}

// importGraphDef imports a serialized GraphDef (a frozen graph read from path) into a new
// graph and session configured by config.
func importGraphDef(path string, def, config []byte) (*session, error) {
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	cDef, cConfig := C.CBytes(def), C.CBytes(config)
	defer C.free(cDef)
	defer C.free(cConfig)
	g := C.TF_NewGraph()
	s := C.pt_import_graph_def(cDef, C.size_t(len(def)), cConfig, C.size_t(len(config)), g, st)
	if C.TF_GetCode(st) != C.TF_OK {
		msg := oneLine(C.GoString(C.TF_Message(st)))
		discard(s, g)
		return nil, status.New(status.FailedPrecondition, "cannot import the frozen graph %s: %s", path, msg)
	}
	return &session{graph: g, session: s}, nil
}

func discard(s *C.TF_Session, g *C.TF_Graph) {
	if s != nil {
		if msg := C.pt_close_session(s, g); msg != nil {
			C.free(unsafe.Pointer(msg))
		}
		return
	}
	C.TF_DeleteGraph(g)
}

// close closes and deletes the session and frees its graph now, then unpins the inputs
// TensorFlow held until then. It must not run while a run is in flight.
func (s *session) close() error {
	if s.session == nil {
		return nil
	}
	msg := C.pt_close_session(s.session, s.graph)
	s.session, s.graph = nil, nil
	s.sweep()
	if msg != nil {
		text := oneLine(C.GoString(msg))
		C.free(unsafe.Pointer(msg))
		return status.New(status.Internal, "cannot close the TensorFlow session: %s", text)
	}
	return nil
}

// operation finds a graph operation by name (nil when absent).
func (s *session) operation(name string) *C.TF_Operation {
	cName := C.CString(name)
	defer C.free(unsafe.Pointer(cName))
	return C.TF_GraphOperationByName(s.graph, cName)
}

// lookup finds the graph tensor "op:index" (index 0 if omitted); ok is false when the graph
// has no such tensor, err is set when name is not a tensor name.
func (s *session) lookup(name string) (out C.TF_Output, ok bool, err error) {
	opName, idx, err := splitTensorName(name)
	if err != nil {
		return C.TF_Output{}, false, err
	}
	op := s.operation(opName)
	if op == nil || idx >= int(C.TF_OperationNumOutputs(op)) {
		return C.TF_Output{}, false, nil
	}
	return C.TF_Output{oper: op, index: C.int(idx)}, true, nil
}

// output finds the tensor "op:index" named by a spec and checks its dtype against the graph.
func (s *session) output(spec tensor.Spec) (C.TF_Output, error) {
	out, ok, err := s.lookup(spec.Name)
	if err != nil {
		return C.TF_Output{}, status.New(status.FailedPrecondition, "%s: %v", spec.Describe(), err)
	}
	if !ok {
		return C.TF_Output{}, status.New(status.FailedPrecondition, "tensor %s of %s is not in the graph", restjson.Quote(spec.Name), spec.Describe())
	}
	if spec.DType != tensor.Invalid {
		if got := tensor.DType(C.TF_OperationOutputType(out)); got != spec.DType {
			return C.TF_Output{}, status.New(status.FailedPrecondition, "tensor %s of %s is %s in the graph", restjson.Quote(spec.Name), spec.Describe(), got)
		}
	}
	return out, nil
}

// resolve returns the plan's feeds and fetches in this session's graph, looked up once per
// signature key and set of aliases (a request's output_filter fetches fewer outputs).
func (s *session) resolve(plan *Plan) (*call, error) {
	key := plan.Key
	if c, ok := s.calls.Load(key); ok {
		if c.(*call).matches(plan) {
			return c.(*call), nil
		}
		key = plan.Key + "\x00" + strings.Join(sortedKeys(plan.Inputs), "\x00") + "\x00\x00" + strings.Join(sortedKeys(plan.Outputs), "\x00")
		if c, ok := s.calls.Load(key); ok && c.(*call).matches(plan) {
			return c.(*call), nil
		}
	}
	c := &call{key: plan.Key, inAliases: sortedKeys(plan.Inputs), outAliases: sortedKeys(plan.Outputs),
		failure: "run signature " + restjson.Quote(plan.Key)}
	for _, alias := range c.inAliases {
		spec := plan.Inputs[alias]
		out, err := s.output(spec)
		if err != nil {
			return nil, err
		}
		c.inSpecs = append(c.inSpecs, spec)
		c.feeds = append(c.feeds, out)
	}
	for _, alias := range c.outAliases {
		out, err := s.output(plan.Outputs[alias])
		if err != nil {
			return nil, err
		}
		c.fetches = append(c.fetches, out)
	}
	actual, _ := s.calls.LoadOrStore(key, c)
	return actual.(*call), nil
}

// matches reports whether c feeds and fetches exactly the plan's aliases.
func (c *call) matches(plan *Plan) bool {
	if len(c.inAliases) != len(plan.Inputs) || len(c.outAliases) != len(plan.Outputs) {
		return false
	}
	for _, a := range c.inAliases {
		if _, ok := plan.Inputs[a]; !ok {
			return false
		}
	}
	for _, a := range c.outAliases {
		if _, ok := plan.Outputs[a]; !ok {
			return false
		}
	}
	return true
}

// stringTensor makes the DT_STRING tensor of one input, its elements copied into TF_TStrings.
func stringTensor(t *tensor.Tensor, strs []string) (*C.TF_Tensor, error) {
	total := 0
	for _, e := range strs {
		total += len(e)
	}
	data := make([]byte, 0, total)
	ends := make([]int64, len(strs))
	for i, e := range strs {
		data = append(data, e...)
		ends[i] = int64(len(data))
	}
	var cData *C.char
	if total > 0 {
		cData = (*C.char)(unsafe.Pointer(&data[0]))
	}
	var cEnds *C.int64_t
	if len(ends) > 0 {
		cEnds = (*C.int64_t)(unsafe.Pointer(&ends[0]))
	}
	out := C.pt_string_tensor(shapePtr(t.Shape), C.int(len(t.Shape)), cData, cEnds, C.int64_t(len(strs)))
	if out == nil {
		return nil, status.New(status.ResourceExhausted, "cannot allocate a %s tensor of shape %v", t.DType, t.Shape)
	}
	return out, nil
}

// lendTensor makes a tensor over the size bytes at ptr, the numeric or DT_BOOL slice of t
// (the same memory layout in Go and TensorFlow, DT_HALF as its bits), without copying: the
// slice is pinned with pinner and its release flag added to lent (see release).
func lendTensor(t *tensor.Tensor, ptr unsafe.Pointer, size uintptr, pinner *runtime.Pinner, lent *[]*C.int) (*C.TF_Tensor, error) {
	pinner.Pin(ptr)
	var released *C.int
	out := C.pt_wrap_tensor(C.TF_DataType(t.DType), shapePtr(t.Shape), C.int(len(t.Shape)), ptr, C.size_t(size), &released)
	if out == nil {
		return nil, status.New(status.ResourceExhausted, "cannot allocate a %s tensor of shape %v", t.DType, t.Shape)
	}
	*lent = append(*lent, released)
	return out, nil
}

// shapePtr returns the address of a shape's dims for the C API (nil for a scalar).
func shapePtr(shape []int64) *C.int64_t {
	if len(shape) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&shape[0]))
}

// sliceMemory returns the address and byte size of a numeric or []bool slice's elements and
// the dtype that Go type holds.
func sliceMemory(data any) (unsafe.Pointer, uintptr, tensor.DType) {
	switch d := data.(type) {
	case []float32:
		return mem(d, tensor.Float)
	case []float64:
		return mem(d, tensor.Double)
	case []tensor.Float16:
		return mem(d, tensor.Half)
	case []int8:
		return mem(d, tensor.Int8)
	case []int16:
		return mem(d, tensor.Int16)
	case []int32:
		return mem(d, tensor.Int32)
	case []int64:
		return mem(d, tensor.Int64)
	case []uint8:
		return mem(d, tensor.Uint8)
	case []uint16:
		return mem(d, tensor.Uint16)
	case []uint32:
		return mem(d, tensor.Uint32)
	case []uint64:
		return mem(d, tensor.Uint64)
	case []bool:
		return mem(d, tensor.Bool)
	}
	return nil, 0, tensor.Invalid
}

func mem[T any](s []T, dt tensor.DType) (unsafe.Pointer, uintptr, tensor.DType) {
	if len(s) == 0 {
		return nil, 0, dt
	}
	var zero T
	return unsafe.Pointer(&s[0]), uintptr(len(s)) * unsafe.Sizeof(zero), dt
}

// scratch is the per-call memory of a run, reused through scratchPool: the packed small
// inputs (their bytes, dtypes, ranks, dims and end offsets) and the buffer outputs are copied
// into.
type scratch struct {
	in     []byte
	dtypes []C.int
	ndims  []C.int
	dims   []C.int64_t
	ends   []C.size_t
	out    []byte
	info   []C.pt_fetched
}

// outScratchBytes is the size of a scratch's output buffer at first; it grows to what the
// outputs of a run needed, up to maxOutScratchBytes.
const (
	outScratchBytes    = 4 << 10
	maxOutScratchBytes = 1 << 20
)

var scratchPool = sync.Pool{New: func() any { return &scratch{out: make([]byte, outScratchBytes)} }}

// run feeds inputs (by alias; each must match its spec's dtype and hold as many elements as
// its shape says), runs the targets and returns the fetched outputs by alias, copied into Go
// memory. runOptions is a serialized RunOptions or nil. A TensorFlow failure is INTERNAL
// (DEADLINE_EXCEEDED when TensorFlow says so), with the signature's key.
//
// In the common case this is one cgo call: small numeric inputs are packed into one buffer
// that pt_run turns into tensors, and outputs that fit the scratch buffer come back in it.
// DT_STRING inputs and large inputs are made before the call (large ones lent in place), and
// outputs that did not fit are read and deleted after it.
func (s *session) run(c *call, inputs map[string]*tensor.Tensor, runOptions []byte) (map[string]*tensor.Tensor, error) {
	if s.heldCount.Load() > 0 {
		s.sweep()
	}
	nin, nout := len(c.feeds), len(c.fetches)
	tensors := make([]*C.TF_Tensor, nin+nout)
	in, out := tensors[:nin:nin], tensors[nin:]
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.in, sc.dtypes, sc.ndims, sc.dims, sc.ends = sc.in[:0], sc.dtypes[:0], sc.ndims[:0], sc.dims[:0], sc.ends[:0]
	var pinner *runtime.Pinner
	var lent []*C.int
	fail := func(err error) (map[string]*tensor.Tensor, error) {
		for i := range in {
			if in[i] != nil {
				C.TF_DeleteTensor(in[i])
			}
		}
		if pinner != nil {
			s.release(pinner, lent)
		}
		return nil, err
	}
	for i, alias := range c.inAliases {
		t := inputs[alias]
		spec := c.inSpecs[i]
		switch {
		case t == nil:
			return fail(status.New(status.InvalidArgument, "missing input %s", restjson.Quote(alias)))
		case t.DType != spec.DType:
			return fail(status.New(status.InvalidArgument, "input %s given a %s tensor", spec.Describe(), t.DType))
		case int64(t.Len()) != tensor.NumElements(t.Shape):
			return fail(status.New(status.InvalidArgument, "input %s holds %d elements for shape %v", spec.Describe(), t.Len(), t.Shape))
		}
		var err error
		if strs, ok := t.Data.([]string); ok && t.DType == tensor.String {
			in[i], err = stringTensor(t, strs)
		} else if ptr, size, dt := sliceMemory(t.Data); dt != t.DType {
			err = status.New(status.InvalidArgument, "a %s tensor holding %T cannot be fed", t.DType, t.Data)
		} else if size < wrapMinBytes {
			sc.in = append(sc.in, unsafe.Slice((*byte)(ptr), size)...)
			sc.dtypes = append(sc.dtypes, C.int(t.DType))
			sc.ndims = append(sc.ndims, C.int(len(t.Shape)))
			for _, d := range t.Shape {
				sc.dims = append(sc.dims, C.int64_t(d))
			}
			sc.ends = append(sc.ends, C.size_t(len(sc.in)))
			continue
		} else {
			if pinner == nil {
				pinner = new(runtime.Pinner)
			}
			in[i], err = lendTensor(t, ptr, size, pinner, &lent)
		}
		if err != nil {
			return fail(err)
		}
		sc.dtypes = append(sc.dtypes, 0)
		sc.ndims = append(sc.ndims, 0)
		sc.ends = append(sc.ends, C.size_t(len(sc.in)))
	}
	if cap(sc.info) < nout {
		sc.info = make([]C.pt_fetched, nout)
	}
	info := sc.info[:nout]
	var opts unsafe.Pointer
	if len(runOptions) > 0 {
		opts = unsafe.Pointer(&runOptions[0])
	}
	var feeds, fetches *C.TF_Output
	var dtypes, ndims *C.int
	var ends *C.size_t
	if nin > 0 {
		feeds, dtypes, ndims, ends = &c.feeds[0], &sc.dtypes[0], &sc.ndims[0], &sc.ends[0]
	}
	var dims *C.int64_t
	if len(sc.dims) > 0 {
		dims = &sc.dims[0]
	}
	var inData *C.char
	if len(sc.in) > 0 {
		inData = (*C.char)(unsafe.Pointer(&sc.in[0]))
	}
	var infoPtr *C.pt_fetched
	var outBuf *C.char
	if nout > 0 {
		fetches, infoPtr, outBuf = &c.fetches[0], &info[0], (*C.char)(unsafe.Pointer(&sc.out[0]))
	}
	var targets **C.TF_Operation
	if len(c.targets) > 0 {
		targets = &c.targets[0]
	}
	var msg *C.char
	code := C.pt_run(s.session, opts, C.size_t(len(runOptions)), feeds, ptrOf(in), C.int(nin),
		dtypes, ndims, dims, inData, ends,
		fetches, ptrOf(out), infoPtr, C.int(nout), outBuf, C.size_t(len(sc.out)),
		targets, C.int(len(c.targets)), &msg)
	if pinner != nil {
		defer s.release(pinner, lent)
	}
	if code != C.TF_OK {
		grpc, text := tfError(code, msg)
		return nil, status.New(grpc, "TensorFlow failed to %s: %s", c.failure, text)
	}
	outputs := make(map[string]*tensor.Tensor, nout)
	var err error
	kept, needed := false, 0
	for i, alias := range c.outAliases {
		f := &info[i]
		needed += int(f.len)
		data := f.data
		if f.copied == 0 {
			kept = true
		} else if f.len > 0 {
			data = unsafe.Pointer(&sc.out[f.off])
		}
		var t *tensor.Tensor
		if t, err = fetched(f, data, out[i]); err != nil {
			err = status.New(status.Internal, "output %s of signature %s: %v", restjson.Quote(alias), restjson.Quote(c.key), err)
			break
		}
		outputs[alias] = t
	}
	if kept {
		C.pt_delete_tensors(ptrOf(out), C.int(nout))
		if grown := needed + 8*nout; grown > len(sc.out) && grown <= maxOutScratchBytes {
			sc.out = make([]byte, grown)
		}
	}
	if err != nil {
		return nil, err
	}
	return outputs, nil
}

func ptrOf(t []*C.TF_Tensor) **C.TF_Tensor {
	if len(t) == 0 {
		return nil
	}
	return &t[0]
}

// release unpins the inputs lent to TensorFlow for a run once it has let go of all of them
// (always, unless a stateful op kept one); otherwise they wait in s.held for sweep.
func (s *session) release(pinner *runtime.Pinner, lent []*C.int) {
	if len(lent) == 0 {
		pinner.Unpin() // a no-op unless a wrap failed after pinning
		return
	}
	h := heldBuffer{pinner: pinner, released: lent}
	if h.done() {
		h.free()
		return
	}
	s.heldMu.Lock()
	s.held = append(s.held, h)
	s.heldCount.Store(int32(len(s.held)))
	s.heldMu.Unlock()
}

// sweep unpins the held inputs TensorFlow has let go of since.
func (s *session) sweep() {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	kept := s.held[:0]
	for _, h := range s.held {
		if h.done() {
			h.free()
		} else {
			kept = append(kept, h)
		}
	}
	s.held = kept
	s.heldCount.Store(int32(len(kept)))
}

// done reports whether TensorFlow has let go of every buffer of h.
func (h heldBuffer) done() bool {
	for _, r := range h.released {
		if *(*int32)(unsafe.Pointer(r)) == 0 {
			return false
		}
	}
	return true
}

func (h heldBuffer) free() {
	h.pinner.Unpin()
	for _, r := range h.released {
		C.free(unsafe.Pointer(r))
	}
}

// fetched copies one fetched tensor (described by f, its bytes at data; t is the tensor when
// TensorFlow still holds it) into a flat Go tensor.
func fetched(f *C.pt_fetched, data unsafe.Pointer, t *C.TF_Tensor) (*tensor.Tensor, error) {
	dt := tensor.DType(f.dtype)
	shape := make([]int64, int(f.ndims))
	for d := range shape {
		if d < len(f.dims) {
			shape[d] = int64(f.dims[d])
		} else {
			shape[d] = int64(C.TF_Dim(t, C.int(d)))
		}
	}
	n := tensor.NumElements(shape)
	out := &tensor.Tensor{DType: dt, Shape: shape}
	var size uintptr
	switch dt {
	case tensor.Float:
		out.Data, size = fromC[float32](data, n)
	case tensor.Double:
		out.Data, size = fromC[float64](data, n)
	case tensor.Half:
		out.Data, size = fromC[tensor.Float16](data, n)
	case tensor.Int8:
		out.Data, size = fromC[int8](data, n)
	case tensor.Int16:
		out.Data, size = fromC[int16](data, n)
	case tensor.Int32:
		out.Data, size = fromC[int32](data, n)
	case tensor.Int64:
		out.Data, size = fromC[int64](data, n)
	case tensor.Uint8:
		out.Data, size = fromC[uint8](data, n)
	case tensor.Uint16:
		out.Data, size = fromC[uint16](data, n)
	case tensor.Uint32:
		out.Data, size = fromC[uint32](data, n)
	case tensor.Uint64:
		out.Data, size = fromC[uint64](data, n)
	case tensor.Bool:
		out.Data, size = fromC[bool](data, n)
	case tensor.String:
		out.Data, size = readStrings(data, n), uintptr(f.len)
	default:
		return nil, status.New(status.Internal, "dtype %s cannot be read", dt)
	}
	if size != uintptr(f.len) {
		return nil, status.New(status.Internal, "%s tensor of shape %v has %d bytes, expected %d", dt, shape, f.len, size)
	}
	return out, nil
}

// fromC copies n elements of type T from C memory into a new slice, with their byte size.
func fromC[T any](data unsafe.Pointer, n int64) ([]T, uintptr) {
	s := make([]T, n)
	if n > 0 {
		copy(s, unsafe.Slice((*T)(data), n))
	}
	var zero T
	return s, uintptr(n) * unsafe.Sizeof(zero)
}

// readStrings copies the n TF_TString elements at data into Go strings.
func readStrings(data unsafe.Pointer, n int64) []string {
	out := make([]string, n)
	if n == 0 {
		return out
	}
	sizes := make([]int64, n)
	C.pt_string_sizes(data, C.int64_t(n), (*C.int64_t)(unsafe.Pointer(&sizes[0])))
	total := int64(0)
	for _, l := range sizes {
		total += l
	}
	buf := make([]byte, total+1)
	C.pt_string_read(data, C.int64_t(n), (*C.char)(unsafe.Pointer(&buf[0])))
	all := string(buf[:total])
	start := int64(0)
	for i, l := range sizes {
		out[i] = all[start : start+l]
		start += l
	}
	return out
}
