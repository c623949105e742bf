package status

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/polyglot-tf/go_consumer/internal/shareddata"
)

// TestGeneratedCatalogIsCurrent: catalog_gen.go is exactly what tests/cases/messages.json
// generates today, so the table and the catalog the binary carries are the shared ones.
func TestGeneratedCatalogIsCurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", shareddata.MessagesFile))
	if err != nil {
		t.Fatalf("the shared catalog: %v", err)
	}
	want, err := shareddata.MessagesSource("status", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("catalog_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("catalog_gen.go is stale: run `go generate ./internal/status` in go_consumer/")
	}
}
