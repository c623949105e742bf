package opscan

import (
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/shareddata"
)

// TestGeneratedUnsafeOpsAreCurrent: unsafeops_gen.go is exactly what tests/cases/unsafe_ops.json
// generates today, so the lists the binary carries are the shared ones.
func TestGeneratedUnsafeOpsAreCurrent(t *testing.T) {
	if err := shareddata.CheckCurrent("../../..", "unsafe_ops", "opscan", "unsafeops_gen.go"); err != nil {
		t.Fatal(err)
	}
}
