// Command generate writes the Go files generated from tests/cases/ (see package shareddata).
//
// Usage (what `go generate ./internal/opscan ./status` runs, from each package's folder):
//
//	go run ../shareddata/generate -root ../../.. -from unsafe_ops -out unsafeops_gen.go -pkg opscan
//	go run ../internal/shareddata/generate -root ../.. -from messages -out catalog_gen.go -pkg status
//
// -from names the data file: unsafe_ops (tests/cases/unsafe_ops.json, the default) or
// messages (tests/cases/messages.json). It exits with status 1 and one line on stderr when
// the data file cannot be read or is invalid.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/shareddata"
)

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
	src, err := shareddata.Generate(root, from, pkg)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
