// Package model opens model versions in the TensorFlow Serving layout
// (models/NAME/VERSION/saved_model.pb) and runs their signatures with TensorFlow: [Open] a
// model or version folder (SavedModel or the manifest's frozen GraphDefs), list its
// [Model.Signatures] and [Model.Run] one by signature key with tensors by alias. Safety
// checks are on by default: the folder is verified against its manifest.json
// ([VerifyVersion]) and a graph that can reach an op able to read or write files or reach
// outside the process is refused ([CheckOps], tests/cases/unsafe_ops.json) unless
// [Options] allow it.
//
// Runs go through TensorFlow's C API (c_api.h) directly (capi.go): the cgo build needs its
// headers and library, for example those of the tensorflow-cpu 2.21.0 wheel
// (CGO_CFLAGS=-I$TF/include, CGO_LDFLAGS="-L$LIB -ltensorflow -ltensorflow_framework"; see
// the README). Every session has the contract's numeric configuration (Grappler's constant
// folding off, [SessionConfigProto]). Errors are *status.Error values with TensorFlow's
// canonical codes.
package model

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
)

// SavedModelFile is the file that marks a complete version folder.
const SavedModelFile = "saved_model.pb"

// ParseVersion parses a version number: a decimal integer > 0 (the contract's version
// folder names, and the --version flag).
func ParseVersion(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// CompleteVersions returns the complete versions under a model folder, ascending, with the
// folder name of each: folders named by a positive decimal integer that hold saved_model.pb.
// A name with leading zeros ("007") is the version of its value; of several folders naming
// one version ("7", "07") the name that sorts last byte by byte wins (the canonical spelling
// when present). Other folders (such as a producer's .tmp-* staging folders) are ignored.
func CompleteVersions(root string) ([]int64, map[int64]string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil
	}
	names := map[int64]string{}
	var versions []int64
	for _, e := range entries {
		v, ok := ParseVersion(e.Name())
		if !ok || !isFile(filepath.Join(root, e.Name(), SavedModelFile)) {
			continue
		}
		if prev, dup := names[v]; dup {
			if prev > e.Name() {
				continue
			}
		} else {
			versions = append(versions, v)
		}
		names[v] = e.Name()
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	return versions, names
}

// ResolveVersionDir resolves --model PATH [--version N] to an absolute version folder,
// written as tests/CONTRACT.md, "Paths in messages", says: [pathtext.Absolute](PATH), joined
// with the version folder's name ([pathtext.Join]) when PATH is a model folder. PATH is a
// model folder (the highest complete version is used, or version when > 0) or a version
// folder holding saved_model.pb (version must then be 0 or equal its name). Errors are
// the catalog's refusals (*status.Error): model_path_missing, model_path_not_a_folder,
// version_mismatch, not_a_model and version_not_found.
func ResolveVersionDir(path string, version int64) (string, error) {
	root, err := pathtext.Absolute(path)
	if err != nil {
		return "", status.New(status.InvalidArgument, "model path %s: %v", path, err)
	}
	st, err := os.Stat(root)
	switch {
	case os.IsNotExist(err):
		return "", status.ModelPathMissing(root)
	case err != nil:
		return "", status.New(status.InvalidArgument, "model path %s cannot be read: %v", root, err)
	case !st.IsDir():
		return "", status.ModelPathNotAFolder(root)
	}
	if isFile(pathtext.Join(root, SavedModelFile)) {
		if own, _ := ParseVersion(filepath.Base(root)); version > 0 && version != own {
			return "", status.VersionMismatch(strconv.FormatInt(version, 10), root)
		}
		return root, nil
	}
	versions, names := CompleteVersions(root)
	if len(versions) == 0 {
		return "", status.NotAModel(root)
	}
	if version == 0 {
		return pathtext.Join(root, names[versions[len(versions)-1]]), nil
	}
	if name, ok := names[version]; ok {
		return pathtext.Join(root, name), nil
	}
	list := make([]string, len(versions))
	for i, v := range versions {
		list[i] = strconv.FormatInt(v, 10)
	}
	return "", status.VersionNotFound(strconv.FormatInt(version, 10), root, strings.Join(list, ", "))
}
