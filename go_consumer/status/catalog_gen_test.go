package status

import (
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/shareddata"
)

// TestGeneratedCatalogIsCurrent: catalog_gen.go is exactly what tests/cases/messages.json
// generates today, so the table and the catalog the binary carries are the shared ones.
func TestGeneratedCatalogIsCurrent(t *testing.T) {
	if err := shareddata.CheckCurrent("../..", "messages", "status", "catalog_gen.go"); err != nil {
		t.Fatal(err)
	}
}
