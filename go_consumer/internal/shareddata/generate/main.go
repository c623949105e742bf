// Command generate writes the Go files generated from tests/cases/ (see package shareddata).
//
// Usage (what `go generate ./internal/model ./internal/status` runs, from each package's
// folder):
//
//	go run ../shareddata/generate -root ../../.. -from unsafe_ops -out unsafeops_gen.go -pkg model
//	go run ../shareddata/generate -root ../../.. -from messages -out catalog_gen.go -pkg status
//
// -from names the data file: unsafe_ops (tests/cases/unsafe_ops.json, the default) or
// messages (tests/cases/messages.json). It exits with status 1 and one line on stderr when
// the data file cannot be read or is invalid.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/polyglot-tf/go_consumer/internal/shareddata"
)

// sources maps each -from value to its data file and its generator.
var sources = map[string]struct {
	file     string
	generate func(pkg string, data []byte) ([]byte, error)
}{
	"unsafe_ops": {shareddata.UnsafeOpsFile, shareddata.UnsafeOpsSource},
	"messages":   {shareddata.MessagesFile, shareddata.MessagesSource},
}

func main() {
	root := flag.String("root", ".", "the repository root")
	from := flag.String("from", "unsafe_ops", "the data file: unsafe_ops or messages")
	out := flag.String("out", "unsafeops_gen.go", "the Go file to write")
	pkg := flag.String("pkg", "model", "the package of the generated file")
	flag.Parse()
	if err := generate(*root, *from, *out, *pkg); err != nil {
		fmt.Fprintf(os.Stderr, "generate: error: %v\n", err)
		os.Exit(1)
	}
}

func generate(root, from, out, pkg string) error {
	source, ok := sources[from]
	if !ok {
		return fmt.Errorf("unknown -from %q; expected unsafe_ops or messages", from)
	}
	data, err := os.ReadFile(filepath.Join(root, source.file))
	if err != nil {
		return err
	}
	src, err := source.generate(pkg, data)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
