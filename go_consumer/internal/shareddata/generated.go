package shareddata

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// sources maps each data name (the generator's -from) to its file and its Go generator.
var sources = map[string]struct {
	file     string
	generate func(pkg string, data []byte) ([]byte, error)
}{
	"unsafe_ops": {UnsafeOpsFile, UnsafeOpsSource},
	"messages":   {MessagesFile, MessagesSource},
}

// Generate reads the data file named by from ("unsafe_ops" or "messages") under the
// repository root and returns the Go source of package pkg that carries it. Errors: an
// unknown name, an unreadable file, or the generator's errors.
func Generate(root, from, pkg string) ([]byte, error) {
	source, ok := sources[from]
	if !ok {
		return nil, fmt.Errorf("unknown -from %q; expected unsafe_ops or messages", from)
	}
	data, err := os.ReadFile(filepath.Join(root, source.file))
	if err != nil {
		return nil, err
	}
	return source.generate(pkg, data)
}

// CheckCurrent returns an error when the committed Go file generated (a path, read as is) is
// not exactly what [Generate] gives today for from and pkg, naming the go generate command
// that rewrites it; it is what each generated file's unit test calls.
func CheckCurrent(root, from, pkg, generated string) error {
	want, err := Generate(root, from, pkg)
	if err != nil {
		return err
	}
	got, err := os.ReadFile(generated)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is stale: run `go generate ./internal/%s` in go_consumer/", generated, pkg)
	}
	return nil
}
