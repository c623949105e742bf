// Command generate writes the Go files generated from tests/cases/ (see package shareddata).
//
// Usage (what `go generate ./internal/model` runs, from that package's folder):
//
//	go run ../shareddata/generate -root ../../.. -out unsafeops_gen.go -pkg model
//
// It exits with status 1 and one line on stderr when the data file cannot be read or is
// invalid.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/polyglot-tf/go_consumer/internal/shareddata"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	out := flag.String("out", "unsafeops_gen.go", "the Go file to write")
	pkg := flag.String("pkg", "model", "the package of the generated file")
	flag.Parse()
	data, err := os.ReadFile(filepath.Join(*root, shareddata.UnsafeOpsFile))
	if err == nil {
		var src []byte
		if src, err = shareddata.UnsafeOpsSource(*pkg, data); err == nil {
			err = os.WriteFile(*out, src, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "generate: error: %v\n", err)
		os.Exit(1)
	}
}
