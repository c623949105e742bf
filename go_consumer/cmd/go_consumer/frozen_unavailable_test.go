package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
)

// editServingDefault rewrites dir's manifest.json, calling edit on its serving_default
// signature entry. manifest.json is not in its own "files", so the folder still verifies.
func editServingDefault(t *testing.T, dir string, edit func(sig map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m["signatures"].(map[string]any)[model.DefaultSignature].(map[string]any))
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// withoutFrozen copies models/linear's newest version and rewrites its manifest.json so
// that serving_default has no "frozen" entry; reason, when non-nil, becomes its
// "frozen_unavailable" value.
func withoutFrozen(t *testing.T, reason any) string {
	t.Helper()
	dir := copyLinear(t)
	editServingDefault(t, dir, func(sig map[string]any) {
		delete(sig, "frozen")
		if reason != nil {
			sig["frozen_unavailable"] = reason
		}
	})
	return dir
}

// TestFrozenUnavailable: --format frozen on a signature that manifest.json lists without a
// frozen graph is refused (status 2, as an unknown signature) with the contract's message,
// the manifest's frozen_unavailable reason bounded in parentheses when it gives one, by
// every command that resolves a signature and by the library API; an unlisted key keeps
// the "not found" message and --format saved_model is unaffected.
func TestFrozenUnavailable(t *testing.T) {
	const tail = "; use --format saved_model"
	long := strings.Repeat("é", 250)
	for _, c := range []struct {
		name   string
		reason any
		want   string
	}{
		{"reason", "a lookup table", `signature "serving_default" has no frozen graph (a lookup table)` + tail},
		{"long reason", long, `signature "serving_default" has no frozen graph (` + strings.Repeat("é", 200) + `... (250 characters))` + tail},
		{"no reason", nil, `signature "serving_default" has no frozen graph` + tail},
		{"empty reason", "", `signature "serving_default" has no frozen graph` + tail},
		{"non-string reason", 42, `signature "serving_default" has no frozen graph` + tail},
		{"null reason", json.RawMessage("null"), `signature "serving_default" has no frozen graph` + tail},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := withoutFrozen(t, c.reason)
			png := writePNG(t, t.TempDir(), "one.png", 8)
			const request = `{"instances": [[1.0, 2.0, 3.0]]}`
			for _, args := range [][]string{
				{"predict", "--model", dir, "--format", "frozen"},
				{"classify", "--model", dir, "--format", "frozen", png},
				{"generate", "--model", dir, "--format", "frozen", "--signature", "serving_default", "--prefix", "a"},
				{"bench", "--model", dir, "--format", "frozen", "--seconds", "0.01", "--batch-sizes", "1"},
				{"soak", "--model", dir, "--format", "frozen", "--predictions", "1", "--load-cycles", "1"},
			} {
				code, stdout, stderr := runWithStdin(request, args...)
				checkExactRefusal(t, args, code, stdout, stderr, c.want)
			}

			// serve-stdio answers the line with the message and keeps going.
			code, stdout, stderr := runWithStdin(request+"\n", "serve-stdio", "--model", dir, "--format", "frozen")
			var line struct{ Error string }
			if err := json.Unmarshal([]byte(stdout), &line); code != 0 || err != nil || line.Error != c.want || strings.Count(stdout, "\n") != 1 {
				t.Errorf("serve-stdio: exit %d, stdout %q, stderr %q; want an error line %q", code, stdout, stderr, c.want)
			}

			// The library API: the same refusal, NOT_FOUND like an unknown signature.
			info, err := model.ReadInfo(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = info.Plan(model.DefaultSignature, model.FormatFrozen)
			if status.CodeOf(err) != status.NotFound || err.Error() != c.want {
				t.Errorf("Plan: %s %v, want NOT_FOUND %q", status.CodeOf(err), err, c.want)
			}
			// A key the manifest does not list is still "not found".
			_, err = info.Plan("other", model.FormatFrozen)
			if err == nil || err.Error() != `signature "other" not found; available signatures: none` {
				t.Errorf("Plan(other): %v", err)
			}
			if _, err := info.Plan(model.DefaultSignature, model.FormatSavedModel); err != nil {
				t.Errorf("Plan saved_model: %v", err)
			}

			// --format saved_model still answers.
			code, stdout, stderr = runWithStdin(request, "predict", "--model", dir)
			if code != 0 || !strings.HasPrefix(stdout, `{"predictions": `) {
				t.Errorf("predict saved_model: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
}

// TestFrozenUnavailableNeedsSavedModel: a manifest signature without a "saved_model" entry
// (and without "frozen") is not one the manifest lists, so it stays "not found".
func TestFrozenUnavailableNeedsSavedModel(t *testing.T) {
	dir := withoutFrozen(t, "why")
	editServingDefault(t, dir, func(sig map[string]any) { delete(sig, "saved_model") })
	args := []string{"predict", "--model", dir, "--format", "frozen"}
	code, stdout, stderr := runWithStdin(`{"instances": [[1.0, 2.0, 3.0]]}`, args...)
	checkExactRefusal(t, args, code, stdout, stderr, `signature "serving_default" not found; available signatures: none`)
}
