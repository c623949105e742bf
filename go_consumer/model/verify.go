package model

// Verifying a version folder against its manifest.json before anything of it reaches
// TensorFlow (tests/CONTRACT.md, "Verifying a model version before loading it"). A
// SavedModel is a program: the consumers only hand TensorFlow files whose size and SHA-256
// are those the producer recorded, and refuse a folder holding a file the manifest does not
// list. The Python reference is python_producer/reference/verify.py; the messages are the contract's,
// a malformed entry's expected value written as manifestText says.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// ManifestFile is the name of a version's manifest, the one file of the folder that its
// own "files" does not list.
const ManifestFile = "manifest.json"

// SkipVerificationFlag is the command-line flag that loads a version without verifying it
// (the way to load a bare SavedModel that has no manifest.json).
const SkipVerificationFlag = "--skip-verification"

// VerifyVersion checks the version folder dir against manifest.json's "files": every listed
// path must be a regular file inside dir with the listed size ("bytes") and SHA-256
// ("sha256"), and every regular file under dir (recursively, symbolic links not followed)
// other than manifest.json must be listed. Paths are checked in sorted order of their
// "/"-separated relative path and the first problem is returned, as a FAILED_PRECONDITION
// *status.Error whose message is the catalog's (manifest_missing, manifest_not_json,
// manifest_without_files, file_not_listed, file_not_regular, file_missing,
// file_entry_invalid, file_size_differs, file_sha256_differs):
//
//	<dir> has no manifest.json to verify; pass --skip-verification to load an unverified model
//	<dir>/manifest.json is not valid JSON: <reason>
//	<dir>/manifest.json has no "files" object to verify against
//	<path>: not listed in manifest.json
//	<path>: listed in manifest.json but missing
//	<path>: <got> bytes, manifest.json says <expected>
//	<path>: SHA-256 <got> does not match manifest.json (<expected>)
//
// Files are hashed by streaming them, never read whole into memory.
func VerifyVersion(dir string) error {
	manifestPath := dir + "/" + ManifestFile
	if !isFile(manifestPath) {
		return status.ManifestMissing(dir)
	}
	files, err := manifestFiles(manifestPath)
	if err != nil {
		return err
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return status.New(status.FailedPrecondition, "cannot read the version folder %s: %v", dir, err)
	}
	onDisk, err := regularFiles(root)
	if err != nil {
		return status.New(status.FailedPrecondition, "cannot list the files of %s: %v", dir, err)
	}

	names := make([]string, 0, len(files)+len(onDisk))
	for rel := range files {
		names = append(names, rel)
	}
	for rel := range onDisk {
		if _, listed := files[rel]; !listed {
			names = append(names, rel)
		}
	}
	sort.Strings(names)
	for _, rel := range names {
		raw, listed := files[rel]
		if !listed {
			return status.FileNotListed(rel)
		}
		if !onDisk[rel] {
			// A listed path that is no regular file found by the walk: a path outside the
			// folder ("..", absolute, through a symbolic link) counts as missing.
			if existsInside(root, dir, rel) {
				return status.FileNotRegular(rel)
			}
			return status.FileMissing(rel)
		}
		entry, ok := raw.(map[string]any)
		if !ok {
			return status.FileEntryInvalid(rel)
		}
		if err := checkFile(filepath.Join(root, filepath.FromSlash(rel)), rel, entry); err != nil {
			return err
		}
	}
	return nil
}

// manifestFiles reads manifest.json and returns its "files" object.
func manifestFiles(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err == nil && !utf8.Valid(data) {
		err = errors.New("it is not UTF-8 text")
	}
	var doc any
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err = dec.Decode(&doc); err == nil {
			if _, extra := dec.Token(); extra != io.EOF {
				err = errors.New("extra data after the JSON value")
			}
		}
	}
	if err != nil {
		return nil, status.ManifestNotJSON(path, err.Error())
	}
	top, _ := doc.(map[string]any)
	files, ok := top["files"].(map[string]any)
	if !ok {
		return nil, status.ManifestWithoutFiles(path)
	}
	return files, nil
}

// regularFiles returns the "/"-separated paths, relative to root, of every regular file
// under root except manifest.json. Symbolic links (to files or folders) are not followed.
func regularFiles(root string) (map[string]bool, error) {
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != ManifestFile {
			found[rel] = true
		}
		return nil
	})
	return found, err
}

// existsInside reports whether the listed path rel names something that exists inside the
// version folder (root is the folder with symbolic links resolved).
func existsInside(root, dir, rel string) bool {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return false
	}
	resolved, err := filepath.EvalSymlinks(dir + "/" + rel)
	if err != nil {
		return false
	}
	return strings.HasPrefix(resolved, strings.TrimSuffix(root, "/")+"/")
}

// checkFile compares the size, then the SHA-256 of a listed regular file with its manifest
// entry.
func checkFile(path, rel string, entry map[string]any) error {
	f, err := os.Open(path)
	if err != nil {
		return status.New(status.FailedPrecondition, "%s: cannot be read: %v", rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return status.New(status.FailedPrecondition, "%s: cannot be read: %v", rel, err)
	}
	if want := entry["bytes"]; !sameSize(st.Size(), want) {
		return status.FileSizeDiffers(rel, strconv.FormatInt(st.Size(), 10), manifestText(want))
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return status.New(status.FailedPrecondition, "%s: cannot be read: %v", rel, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	want := entry["sha256"]
	if s, ok := want.(string); !ok || s != got {
		return status.FileSHA256Differs(rel, got, manifestText(want))
	}
	return nil
}

// sameSize reports whether the manifest's "bytes" value is the number size: a JSON number of
// that value, whether written as an integer ("12") or not ("12.0", "1.2e1"). Anything else
// (a string, a boolean, null, a missing entry) is no size.
func sameSize(size int64, v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i == size
	}
	if isIntLiteral(string(n)) {
		return false // beyond int64: no file has that size
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 && int64(f) == size
}

func isIntLiteral(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

// manifestText writes the manifest value that a refusal names as expected ("manifest.json
// says <expected>"), alike in every consumer: a string as it is; an integer in decimal; any
// other number as "Numbers in text" writes a DT_DOUBLE ([restjson.FormatFloat]); null or a
// missing entry as null; a boolean, list or object as its JSON text. It is not bounded here:
// the catalog's messages bound every value ([status.Message]).
func manifestText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case json.Number:
		s := string(v)
		if isIntLiteral(s) {
			if s == "-0" {
				return "0"
			}
			return s
		}
		f, _ := strconv.ParseFloat(s, 64) // a JSON number; beyond float64's range it is ±Inf
		return restjson.FormatFloat(f, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
