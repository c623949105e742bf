package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/polyglot-tf/go_consumer/internal/shareddata"
)

// TestGeneratedUnsafeOpsAreCurrent: unsafeops_gen.go is exactly what tests/cases/unsafe_ops.json
// generates today, so the lists the binary carries are the shared ones.
func TestGeneratedUnsafeOpsAreCurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", shareddata.UnsafeOpsFile))
	if err != nil {
		t.Fatalf("the shared lists: %v", err)
	}
	want, err := shareddata.UnsafeOpsSource("model", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("unsafeops_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("unsafeops_gen.go is stale: run `go generate ./internal/model` in go_consumer/")
	}
}
