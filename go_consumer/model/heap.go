package model

// #include <malloc.h>
import "C"

// TrimNativeHeap asks glibc's allocator to return the free pages it keeps to the operating
// system (malloc_trim(0)), so that a resident-set reading counts memory still in use, not
// memory TensorFlow freed but the allocator kept (tests/CONTRACT.md, "Memory soak").
func TrimNativeHeap() {
	C.malloc_trim(0)
}
