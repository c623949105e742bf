package model

/*
#include <malloc.h>
#include "tensorflow/c/c_api.h"
*/
import "C"

import (
	"runtime"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"
)

// graftGraph mirrors graft's Graph struct (v0.10.0: one field, the *C.TF_Graph it owns);
// TestGraftGraphLayout checks that the two agree.
type graftGraph struct {
	c *C.TF_Graph
}

// deleteGraph frees g's TF_Graph now. graft frees a graph only in its finalizer, that is
// whenever the garbage collector finds the Graph unreachable; the collector does not see
// the C memory behind it (the whole model, for a SavedModel), so a process that opens and
// closes versions would hold closed models until the Go heap happens to grow enough. g
// must not be used afterwards, and every session of g must have been deleted (TensorFlow
// defers the deletion while a session still uses the graph).
func deleteGraph(g *tf.Graph) {
	if g == nil {
		return
	}
	runtime.SetFinalizer(g, nil)
	gg := (*graftGraph)(unsafe.Pointer(g))
	if gg.c != nil {
		C.TF_DeleteGraph(gg.c)
		gg.c = nil
	}
}

// TrimNativeHeap asks glibc's allocator to return the free pages it keeps to the operating
// system (malloc_trim(0)), so that a resident-set reading counts memory still in use, not
// memory TensorFlow freed but the allocator kept (tests/CONTRACT.md, "Memory soak").
func TrimNativeHeap() {
	C.malloc_trim(0)
}
