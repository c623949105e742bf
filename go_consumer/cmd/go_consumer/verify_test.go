package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
)

// copyLinear copies the newest version of models/linear to <tmp>/linear/1 and returns that
// version folder, or skips.
func copyLinear(t *testing.T) string {
	t.Helper()
	src, err := model.ResolveVersionDir(needModel(t, "linear"), 0)
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(t.TempDir(), "linear", "1")
	if err := copyTree(src, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func runWithStdin(stdin string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// checkExactRefusal checks status 2, nothing on stdout and exactly the stderr line
// "go_consumer: error: <want>".
func checkExactRefusal(t *testing.T, args []string, code int, stdout, stderr, want string) {
	t.Helper()
	if code != 2 || stdout != "" || stderr != "go_consumer: error: "+want+"\n" {
		t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", args, code, stdout, stderr, want)
	}
}

// TestVerificationRefusals: predict refuses a tampered version folder with the contract's
// message naming the file, before TensorFlow loads anything; --skip-verification loads a
// bare SavedModel (no manifest.json) unchanged.
func TestVerificationRefusals(t *testing.T) {
	dir := copyLinear(t)
	request, err := os.ReadFile(filepath.Join(dir, "golden", "one_to_four_columnar.request.json"))
	if err != nil {
		t.Skip(err)
	}
	code, want, stderr := runWithStdin(string(request), "predict", "--model", dir)
	if code != 0 || want == "" {
		t.Fatalf("intact copy: exit %d: %s", code, stderr)
	}
	const data = "variables/variables.data-00000-of-00001"
	original, err := os.ReadFile(filepath.Join(dir, data))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string) string // returns the expected message
	}{
		{"flipped byte", func(t *testing.T, dir string) string {
			b := bytes.Clone(original)
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(filepath.Join(dir, data), b, 0o644); err != nil {
				t.Fatal(err)
			}
			return data + ": SHA-256 " + sha256Hex(b) +
				" does not match manifest.json (" + sha256Hex(original) + ")"
		}},
		{"truncated saved_model.pb", func(t *testing.T, dir string) string {
			pb := filepath.Join(dir, "saved_model.pb")
			st, err := os.Stat(pb)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(pb, st.Size()/2); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("saved_model.pb: %d bytes, manifest.json says %d", st.Size()/2, st.Size())
		}},
		{"extra file", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "variables", "extra.txt"), []byte("hi"), 0o644); err != nil {
				t.Fatal(err)
			}
			return "variables/extra.txt: not listed in manifest.json"
		}},
		{"deleted file", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, "variables", "variables.index")); err != nil {
				t.Fatal(err)
			}
			return "variables/variables.index: listed in manifest.json but missing"
		}},
		{"no manifest", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, "manifest.json")); err != nil {
				t.Fatal(err)
			}
			return dir + " has no manifest.json to verify; pass --skip-verification to load an unverified model"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "linear", "1")
			if err := copyTree(dir, d); err != nil {
				t.Fatal(err)
			}
			msg := tc.tamper(t, d)
			args := []string{"predict", "--model", filepath.Dir(d)}
			code, stdout, stderr := runWithStdin(string(request), args...)
			checkExactRefusal(t, args, code, stdout, stderr, msg)
		})
	}

	// A bare SavedModel: refused without the flag, answered as before with it.
	bare := filepath.Join(t.TempDir(), "bare", "1")
	if err := copyTree(dir, bare); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(bare, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runWithStdin(string(request), "predict", "--model", bare, "--skip-verification")
	if code != 0 || stdout != want {
		t.Errorf("--skip-verification: exit %d, stdout %q (want %q), stderr %q", code, stdout, want, stderr)
	}
	// train takes the flag too; its source then still needs the manifest's training section.
	checkOneLineRefusal(t, []string{"train", "--model", bare, "--skip-verification", "--data", "x.csv", "--steps", "1"},
		bare+" has no manifest.json; train needs the manifest's training section")
}

// TestVerificationEveryCommand: every command that loads a version to run it verifies it
// (serve-stdio before serving, train its source version); inspect does not.
func TestVerificationEveryCommand(t *testing.T) {
	dir := copyLinear(t)
	if err := os.WriteFile(filepath.Join(dir, "stray.bin"), []byte{0}, 0o644); err != nil {
		t.Fatal(err)
	}
	const msg = "stray.bin: not listed in manifest.json"
	png := writePNG(t, t.TempDir(), "one.png", 8)
	for _, args := range [][]string{
		{"predict", "--model", dir},
		{"predict", "--model", dir, "--format", "frozen"},
		{"serve-stdio", "--model", dir},
		{"classify", "--model", dir, png},
		{"generate", "--model", dir, "--prefix", "a"},
		{"bench", "--model", dir, "--seconds", "0.01", "--batch-sizes", "1"},
		{"train", "--model", dir, "--data", filepath.Join(t.TempDir(), "none.csv"), "--steps", "1"},
	} {
		code, stdout, stderr := runWithStdin(`{"instances": [[1.0, 2.0, 3.0]]}`+"\n", args...)
		checkExactRefusal(t, args, code, stdout, stderr, msg)
	}
	if code, stdout, stderr := runWithStdin("", "inspect", "--model", dir); code != 0 || !strings.HasPrefix(stdout, "Model: "+dir+"\n") {
		t.Errorf("inspect of an unverifiable version: exit %d: %s", code, stderr)
	}
	// inspect has no --skip-verification.
	checkOneLineRefusal(t, []string{"inspect", "--model", dir, "--skip-verification"}, "unknown flag --skip-verification")
	// With the flag the stray file is no obstacle.
	code, stdout, stderr := runWithStdin(`{"instances": [[1.0, 2.0, 3.0]]}`+"\n", "serve-stdio", "--model", dir, "--skip-verification")
	if code != 0 || !strings.HasPrefix(stdout, `{"predictions": `) {
		t.Errorf("serve-stdio --skip-verification: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
