package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/bench"
)

func runBench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"bench"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestBenchRefusals: bad flags are refusals (status 2, one stderr line), checked before the
// model is looked at.
func TestBenchRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "x", "--seconds", "0"}, "--seconds must be a number > 0"},
		{[]string{"--model", "x", "--seconds", "-1"}, "--seconds must be a number > 0"},
		{[]string{"--model", "x", "--seconds", "NaN"}, "--seconds must be a number > 0"},
		{[]string{"--model", "x", "--seconds", "inf"}, "--seconds must be a number > 0"},
		{[]string{"--model", "x", "--seconds", "soon"}, "--seconds"},
		{[]string{"--model", "x", "--batch-sizes", ""}, "--batch-sizes"},
		{[]string{"--model", "x", "--batch-sizes", "1,,8"}, "--batch-sizes"},
		{[]string{"--model", "x", "--batch-sizes", "0"}, "--batch-sizes"},
		{[]string{"--model", "x", "--batch-sizes", "8,-1"}, "--batch-sizes"},
		{[]string{"--model", "x", "--intra-op-threads", "-1"}, "--intra-op-threads must be 0 or more"},
		{[]string{"--model", "x", "--inter-op-threads", "-2"}, "--inter-op-threads must be 0 or more"},
		{[]string{"--model", "x", "--inter-op-threads", "two"}, "--inter-op-threads"},
		{[]string{"--model", "x", "--format", "onnx"}, `unknown --format "onnx"`},
		{[]string{"--model", "x", "--version", "0"}, `invalid --version "0"`},
		{[]string{"--model"}, "flag --model needs a value"},
		{[]string{"--threads", "2"}, "unknown flag --threads"},
		{[]string{"--model", "x", "extra"}, `unexpected argument "extra"`},
		{nil, "--model PATH is required"},
		{[]string{"--model", filepath.Join(t.TempDir(), "missing")}, "missing"},
	} {
		code, stdout, stderr := runBench(t, tc.args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, "go_consumer: error: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d stdout %q stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// TestBenchInputRefusals: a signature with a string input or an unknown rank cannot be
// benchmarked; the refusal names the input.
func TestBenchInputRefusals(t *testing.T) {
	for _, tc := range []struct{ model, signature, want string }{
		{"dtypes", "unknown_rank", "x (DT_FLOAT, shape unknown rank)"},
		{"dtypes", "serving_default", "text (DT_STRING, shape [-1])"},
		{"linear", "nope", "signature \"nope\" not found"},
	} {
		path := needModel(t, tc.model)
		code, stdout, stderr := runBench(t, "--model", path, "--signature", tc.signature)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %s: exit %d stderr %q; want 2 and %q", tc.model, tc.signature, code, stderr, tc.want)
		}
	}
}

// TestBenchRuns runs a short benchmark per format and checks the report.
func TestBenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("loads TensorFlow")
	}
	for _, tc := range []struct {
		model, format, signature string
		extra                    []string
	}{
		{"linear", "saved_model", "serving_default", nil},
		{"linear", "frozen", "serving_default", []string{"--intra-op-threads", "1", "--inter-op-threads", "1"}},
		{"dtypes", "saved_model", "half_matrix", nil},
		{"dtypes", "saved_model", "scalars", nil},
		{"dtypes", "saved_model", "matrix", nil},
	} {
		path := needModel(t, tc.model)
		args := append([]string{"--model", path, "--format", tc.format, "--signature", tc.signature,
			"--batch-sizes", "1,3", "--seconds", "0.01"}, tc.extra...)
		code, stdout, stderr := runBench(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d stderr %q", args, code, stderr)
		}
		if !strings.HasSuffix(stdout, "}\n") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("not one JSON line: %q", stdout)
		}
		var r bench.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		if r.Runtime != "go" || r.Format != tc.format || r.Signature != tc.signature || r.TensorFlowVersion == "" ||
			!filepath.IsAbs(r.Model) || len(r.Results) != 2 || r.Results[0].BatchSize != 1 || r.Results[1].BatchSize != 3 {
			t.Errorf("%v: report %+v", args, r)
		}
		if tc.extra != nil && (r.IntraOpThreads != 1 || r.InterOpThreads != 1) {
			t.Errorf("threads not reported: %+v", r)
		}
		for _, res := range r.Results {
			if res.Calls < bench.MinCalls || !(res.MedianUS > 0) || res.P99US < res.MedianUS || !(res.MeanUS > 0) || !(res.RowsPerSecond > 0) {
				t.Errorf("%v: result %+v", args, res)
			}
		}
	}
}
