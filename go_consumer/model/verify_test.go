package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
)

// verifyFixture is the content of the version folder that newVerifyFixture writes, by
// relative path.
var verifyFixture = map[string]string{
	"saved_model.pb":                          "a SavedModel, as far as the check cares",
	"variables/variables.index":               "index bytes",
	"variables/variables.data-00000-of-00001": strings.Repeat("\x00\x01\x02\x03", 1000),
	"frozen/serving_default.pb":               "frozen graph",
	"golden/a.request.json":                   `{"instances": [1]}`,
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// newVerifyFixture writes verifyFixture, an empty assets/ folder and a manifest.json that
// lists every file, into <tmp>/m/1, and returns that folder.
func newVerifyFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m", "1")
	files := map[string]any{}
	for rel, content := range verifyFixture {
		writeFile(t, filepath.Join(dir, rel), content)
		files[rel] = map[string]any{"sha256": sha256Hex([]byte(content)), "bytes": len(content)}
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeManifest(t, dir, map[string]any{"manifest_version": 1, "version": 1, "files": files})
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeManifest(t *testing.T, dir string, doc any) {
	t.Helper()
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, ManifestFile), string(data))
}

// editFiles rewrites the manifest's "files" object of dir with edit.
func editFiles(t *testing.T, dir string, edit func(files map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc["files"].(map[string]any))
	writeManifest(t, dir, doc)
}

func TestVerifyVersion(t *testing.T) {
	data := "variables/variables.data-00000-of-00001"
	for _, tc := range []struct {
		name string
		// setup changes the fixture folder dir and returns the expected message ("": the
		// folder verifies).
		setup func(t *testing.T, dir string) string
		// prefix: the message only has to start with the expected text.
		prefix bool
	}{
		{"intact", func(t *testing.T, dir string) string { return "" }, false},
		{"flipped byte", func(t *testing.T, dir string) string {
			b := []byte(verifyFixture[data])
			b[len(b)/2] ^= 0xff
			writeFile(t, filepath.Join(dir, data), string(b))
			return data + ": SHA-256 " + sha256Hex(b) + " does not match manifest.json (" + sha256Hex([]byte(verifyFixture[data])) + ")"
		}, false},
		{"truncated", func(t *testing.T, dir string) string {
			if err := os.Truncate(filepath.Join(dir, "saved_model.pb"), 10); err != nil {
				t.Fatal(err)
			}
			return "saved_model.pb: 10 bytes, manifest.json says 39"
		}, false},
		{"grown", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "variables/variables.index"), "index bytes and more")
			return "variables/variables.index: 20 bytes, manifest.json says 11"
		}, false},
		{"extra file", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "variables/extra.txt"), "hi")
			return "variables/extra.txt: not listed in manifest.json"
		}, false},
		{"extra file deep in a new folder", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "assets/x/y/z.bin"), "")
			return "assets/x/y/z.bin: not listed in manifest.json"
		}, false},
		{"deleted file", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, "frozen/serving_default.pb")); err != nil {
				t.Fatal(err)
			}
			return "frozen/serving_default.pb: listed in manifest.json but missing"
		}, false},
		{"no manifest", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
				t.Fatal(err)
			}
			return dir + " has no manifest.json to verify; pass --skip-verification to load an unverified model"
		}, false},
		{"manifest is a folder", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, ManifestFile), 0o755); err != nil {
				t.Fatal(err)
			}
			return dir + " has no manifest.json to verify; pass --skip-verification to load an unverified model"
		}, false},
		{"manifest not JSON", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, ManifestFile), `{"files": {}`)
			return dir + "/manifest.json is not valid JSON: "
		}, true},
		{"manifest with trailing data", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, ManifestFile), `{"files": {}} {}`)
			return dir + "/manifest.json is not valid JSON: "
		}, true},
		{"manifest not UTF-8", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, ManifestFile), "{\"files\": {}, \"x\": \"\xff\"}")
			return dir + "/manifest.json is not valid JSON: "
		}, true},
		{"manifest without files", func(t *testing.T, dir string) string {
			writeManifest(t, dir, map[string]any{"version": 1})
			return dir + `/manifest.json has no "files" object to verify against`
		}, false},
		{"files not an object", func(t *testing.T, dir string) string {
			writeManifest(t, dir, map[string]any{"files": []string{"saved_model.pb"}})
			return dir + `/manifest.json has no "files" object to verify against`
		}, false},
		{"manifest an array", func(t *testing.T, dir string) string {
			writeManifest(t, dir, []any{map[string]any{"files": map[string]any{}}})
			return dir + `/manifest.json has no "files" object to verify against`
		}, false},
		{"files empty", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) { clear(files) })
			return "frozen/serving_default.pb: not listed in manifest.json"
		}, false},
		{"path escaping with ..", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "..", "outside.bin"), "x")
			editFiles(t, dir, func(files map[string]any) {
				files["../outside.bin"] = map[string]any{"sha256": sha256Hex([]byte("x")), "bytes": 1}
			})
			return "../outside.bin: listed in manifest.json but missing"
		}, false},
		{"absolute path", func(t *testing.T, dir string) string {
			outside := filepath.Join(filepath.Dir(dir), "abs.bin")
			writeFile(t, outside, "x")
			editFiles(t, dir, func(files map[string]any) {
				files[outside] = map[string]any{"sha256": sha256Hex([]byte("x")), "bytes": 1}
			})
			return outside + ": listed in manifest.json but missing"
		}, false},
		{"listed symlink out of the folder", func(t *testing.T, dir string) string {
			outside := filepath.Join(filepath.Dir(dir), "target.bin")
			writeFile(t, outside, "x")
			if err := os.Symlink(outside, filepath.Join(dir, "link.bin")); err != nil {
				t.Fatal(err)
			}
			editFiles(t, dir, func(files map[string]any) {
				files["link.bin"] = map[string]any{"sha256": sha256Hex([]byte("x")), "bytes": 1}
			})
			return "link.bin: listed in manifest.json but missing"
		}, false},
		{"listed symlink inside the folder", func(t *testing.T, dir string) string {
			if err := os.Symlink("saved_model.pb", filepath.Join(dir, "link.pb")); err != nil {
				t.Fatal(err)
			}
			content := verifyFixture["saved_model.pb"]
			editFiles(t, dir, func(files map[string]any) {
				files["link.pb"] = map[string]any{"sha256": sha256Hex([]byte(content)), "bytes": len(content)}
			})
			return "link.pb: listed in manifest.json but not a regular file"
		}, false},
		{"listed folder", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) {
				files["assets"] = map[string]any{"sha256": sha256Hex(nil), "bytes": 0}
			})
			return "assets: listed in manifest.json but not a regular file"
		}, false},
		{"unlisted symlink is no regular file", func(t *testing.T, dir string) string {
			if err := os.Symlink("saved_model.pb", filepath.Join(dir, "link.pb")); err != nil {
				t.Fatal(err)
			}
			return ""
		}, false},
		{"first problem in sorted order", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "variables/zz"), "late")
			writeFile(t, filepath.Join(dir, "saved_model.pb"), "changed")
			if err := os.Remove(filepath.Join(dir, "golden/a.request.json")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "assets/new"), "early")
			return "assets/new: not listed in manifest.json"
		}, false},
		{"sorted by the whole path", func(t *testing.T, dir string) string {
			// "frozen/serving_default.pb" < "frozen0": "/" sorts before "0".
			writeFile(t, filepath.Join(dir, "frozen0"), "")
			if err := os.Remove(filepath.Join(dir, "frozen/serving_default.pb")); err != nil {
				t.Fatal(err)
			}
			return "frozen/serving_default.pb: listed in manifest.json but missing"
		}, false},
		{"entry not an object", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) { files["saved_model.pb"] = "abc" })
			return `saved_model.pb: manifest.json entry is not an object with "sha256" and "bytes"`
		}, false},
		{"bytes absent", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) {
				delete(files["saved_model.pb"].(map[string]any), "bytes")
			})
			return "saved_model.pb: 39 bytes, manifest.json says null"
		}, false},
		{"bytes a string", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) {
				files["saved_model.pb"].(map[string]any)["bytes"] = "39"
			})
			return "saved_model.pb: 39 bytes, manifest.json says 39"
		}, false},
		{"bytes an integral float", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) {
				files["saved_model.pb"].(map[string]any)["bytes"] = json.Number("39.0")
			})
			return ""
		}, false},
		{"sha256 absent", func(t *testing.T, dir string) string {
			editFiles(t, dir, func(files map[string]any) {
				delete(files["saved_model.pb"].(map[string]any), "sha256")
			})
			return "saved_model.pb: SHA-256 " + sha256Hex([]byte(verifyFixture["saved_model.pb"])) + " does not match manifest.json (null)"
		}, false},
		{"sha256 in upper case", func(t *testing.T, dir string) string {
			upper := strings.ToUpper(sha256Hex([]byte(verifyFixture["saved_model.pb"])))
			editFiles(t, dir, func(files map[string]any) {
				files["saved_model.pb"].(map[string]any)["sha256"] = upper
			})
			return "saved_model.pb: SHA-256 " + strings.ToLower(upper) + " does not match manifest.json (" + upper + ")"
		}, false},
		{"empty file", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "assets/empty"), "")
			editFiles(t, dir, func(files map[string]any) {
				files["assets/empty"] = map[string]any{"sha256": sha256Hex(nil), "bytes": 0}
			})
			return ""
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newVerifyFixture(t)
			want := tc.setup(t, dir)
			err := VerifyVersion(dir)
			if want == "" {
				if err != nil {
					t.Fatalf("VerifyVersion: %v", err)
				}
				return
			}
			if code := status.CodeOf(err); code != status.FailedPrecondition {
				t.Fatalf("VerifyVersion = %v (%s); want a FAILED_PRECONDITION refusal %q", err, code, want)
			}
			if got := err.Error(); got != want && !(tc.prefix && strings.HasPrefix(got, want) && len(got) > len(want)) {
				t.Errorf("VerifyVersion:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestVerifyVersionThroughSymlink: a version folder reached through a symbolic link is
// walked as the folder it points to.
func TestVerifyVersionThroughSymlink(t *testing.T) {
	dir := newVerifyFixture(t)
	link := filepath.Join(t.TempDir(), "7")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := VerifyVersion(link); err != nil {
		t.Fatalf("through a symlink: %v", err)
	}
	writeFile(t, filepath.Join(dir, "extra"), "")
	if err := VerifyVersion(link); err == nil || err.Error() != "extra: not listed in manifest.json" {
		t.Errorf("extra file through a symlink: %v", err)
	}
}

// TestVerifyVersionModels: every complete version of the repository's models (made by
// `make models`, which writes every manifest) verifies.
func TestVerifyVersionModels(t *testing.T) {
	roots, _ := filepath.Glob(filepath.Join("..", "..", "models", "*"))
	checked := 0
	for _, root := range roots {
		abs, err := pathtext.Absolute(root)
		if err != nil {
			t.Fatal(err)
		}
		versions, names := CompleteVersions(abs)
		for _, v := range versions {
			dir := abs + "/" + names[v]
			if !isFile(filepath.Join(dir, ManifestFile)) {
				continue // a hand-made bare SavedModel
			}
			checked++
			if err := VerifyVersion(dir); err != nil {
				t.Errorf("%s: %v", dir, err)
			}
		}
	}
	if checked == 0 {
		t.Skip("no model versions under models/; run `make models` in the repository root")
	}
}

func TestSameSizeAndManifestText(t *testing.T) {
	for _, tc := range []struct {
		v    any
		size int64
		same bool
		text string
	}{
		{json.Number("12"), 12, true, "12"},
		{json.Number("12"), 13, false, "12"},
		{json.Number("-0"), 0, true, "0"},
		{json.Number("12.0"), 12, true, "12.0"},
		{json.Number("12.5"), 12, false, "12.5"},
		{json.Number("1e3"), 1000, true, "1000.0"},
		{json.Number("1e21"), 1, false, "1e+21"},
		{json.Number("1.5e-7"), 0, false, "1.5e-7"},
		{json.Number("99999999999999999999"), 1, false, "99999999999999999999"},
		{true, 1, false, "true"}, // a boolean is no size
		{false, 0, false, "false"},
		{nil, 0, false, "null"},
		{"12", 12, false, "12"},
		{[]any{json.Number("1")}, 1, false, "[1]"},
		{strings.Repeat("a", 300), 0, false, strings.Repeat("a", 300)}, // the message bounds it
	} {
		if got := sameSize(tc.size, tc.v); got != tc.same {
			t.Errorf("sameSize(%d, %#v) = %v", tc.size, tc.v, got)
		}
		if got := manifestText(tc.v); got != tc.text {
			t.Errorf("manifestText(%#v) = %q, want %q", tc.v, got, tc.text)
		}
	}
	long := status.FileSizeDiffers("a", "1", manifestText(strings.Repeat("a", 300)))
	if want := "a: 1 bytes, manifest.json says " + strings.Repeat("a", 200) + "... (300 characters)"; long.Message != want {
		t.Errorf("a long expected value: %q", long.Message)
	}
}
