package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

var (
	repoRoot   = filepath.Join("..", "..", "..")
	linearPath = filepath.Join(repoRoot, "models", "linear")
	binaryPath = filepath.Join("..", "..", "bin", "go_consumer")
)

func needLinear(t *testing.T) string {
	t.Helper()
	abs, _ := filepath.Abs(linearPath)
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("models/linear is absent (%v); run `make models` in the repository root", err)
	}
	return abs
}

// checkRefusal checks status 2, nothing on stdout and one "go_consumer: error: " line on
// stderr containing every want (case-insensitive).
func checkRefusal(t *testing.T, want []string, code int, stdout, stderr string) {
	t.Helper()
	if code != 2 {
		t.Errorf("exit status %d, want 2; stderr: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("wrote to stdout: %q", stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("want exactly one stderr line, got %q", stderr)
	}
	if !strings.HasPrefix(lines[0], "go_consumer: error: ") {
		t.Errorf("stderr lacks the prefix: %q", lines[0])
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(lines[0]), strings.ToLower(w)) {
			t.Errorf("stderr %q lacks %q", lines[0], w)
		}
	}
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&0o111 != 0
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "missing command"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"predict"}, 2, "--model PATH is required"},
		{[]string{"predict", "--model"}, 2, "flag --model needs a value"},
		{[]string{"predict", "--model", "x", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"inspect", "--json=maybe", "--model", "x"}, 2, "--json"},
		{[]string{"serve-stdio", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"version", "--x"}, 2, "unknown flag --x"},
		{[]string{"predict", "--model", "x", "--version", "0"}, 2, `invalid --version "0"`},
		{[]string{"predict", "--model", "x", "--format", "onnx"}, 2, `unknown --format "onnx"`},
		{[]string{"predict", "--model", "x", "--max-request-bytes", "0"}, 2, `invalid --max-request-bytes "0": expected a positive integer`},
		{[]string{"predict", "--model", "x", "--max-request-bytes", "-5"}, 2, `invalid --max-request-bytes "-5"`},
		{[]string{"predict", "--model", "x", "--max-request-bytes", "1e6"}, 2, `invalid --max-request-bytes "1e6"`},
		{[]string{"serve-stdio", "--model", "x", "--max-request-bytes", "lots"}, 2, `serve-stdio: invalid --max-request-bytes "lots"`},
		{[]string{"serve-stdio", "--model", "x", "--max-request-bytes", "99999999999999999999"}, 2, `invalid --max-request-bytes`},
		{[]string{"soak", "--model", "x", "--predictions", "0"}, 2, `soak: invalid --predictions "0": expected a positive integer`},
		{[]string{"soak", "--model", "x", "--load-cycles", "-1"}, 2, `soak: invalid --load-cycles "-1"`},
		{[]string{"soak", "--model", "x", "--format", "onnx"}, 2, `unknown --format "onnx"`},
		{[]string{"soak"}, 2, "--model PATH is required"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
		stderr.Reset()
		if got := runCode(tc.args, strings.NewReader(""), &stdout, &stderr); got != status.InvalidArgument {
			t.Errorf("%v: %s; want INVALID_ARGUMENT", tc.args, got)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := runCode([]string{"predict", "-h"}, nil, &stdout, &stderr); code != status.OK || !strings.Contains(stdout.String(), "usage:") {
		t.Errorf("-h: %s stdout %q", code, stdout.String())
	}
}

// TestRefusalCodes: the command line's refusals carry the contract's codes (tests/CONTRACT.md,
// "Errors"), and the exit status is the code's.
func TestRefusalCodes(t *testing.T) {
	linear := needLinear(t)
	noManifest := filepath.Join(t.TempDir(), "1")
	pb, err := os.ReadFile(filepath.Join(mustResolve(t, linear), model.SavedModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(noManifest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noManifest, model.SavedModelFile), pb, 0o644); err != nil {
		t.Fatal(err)
	}
	body := `{"instances": [[1.0]]}`
	for _, tc := range []struct {
		args  []string
		stdin string
		code  status.Code
		want  string
	}{
		{[]string{"predict", "--model", linear, "--bogus"}, body, status.InvalidArgument, "unknown flag --bogus"},
		{[]string{"predict", "--model", linear, "--input", "/nonexistent/request.json"}, "", status.NotFound, "cannot read the request from --input /nonexistent/request.json"},
		{[]string{"predict", "--model", linear}, `{"instances": 1}`, status.InvalidArgument, `"instances" must be a list`},
		{[]string{"predict", "--model", linear}, `{`, status.InvalidArgument, "invalid JSON"},
		{[]string{"predict", "--model", "/nonexistent/linear"}, body, status.NotFound, "model path /nonexistent/linear does not exist"},
		{[]string{"predict", "--model", linear, "--version", "999"}, body, status.NotFound, "version 999 not found in " + linear},
		{[]string{"predict", "--model", linear, "--signature", "nope"}, body, status.NotFound, `signature "nope" not found; available signatures: serving_default`},
		{[]string{"predict", "--model", noManifest}, body, status.FailedPrecondition, noManifest + " has no manifest.json to verify"},
		{[]string{"predict", "--model", linear, "--max-request-bytes", "4"}, body, status.ResourceExhausted, "request is larger than the limit of 4 bytes (--max-request-bytes)"},
		{[]string{"serve-stdio", "--model", "/nonexistent/linear"}, "", status.NotFound, "does not exist"},
		{[]string{"inspect", "--model", linear, "--version", "999"}, "", status.NotFound, "available versions"},
	} {
		var stdout, stderr bytes.Buffer
		code := runCode(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 || stdout.Len() != 0 {
			t.Errorf("%v: %s stderr %q; want %s and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
		stdout.Reset()
		stderr.Reset()
		if exit := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr); exit != tc.code.ExitStatus() {
			t.Errorf("%v: exit %d; want %d (%s)", tc.args, exit, tc.code.ExitStatus(), tc.code)
		}
	}
}

func mustResolve(t *testing.T, path string) string {
	t.Helper()
	dir, err := model.ResolveVersionDir(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameValue compares two parsed responses: numbers by float64 bits (integer literals by
// text), everything else structurally.
func sameValue(a, b *restjson.Value) bool {
	if a.Kind != b.Kind || len(a.Items) != len(b.Items) || strings.Join(a.Keys, "\x00") != strings.Join(b.Keys, "\x00") {
		return false
	}
	switch a.Kind {
	case restjson.KindNumber:
		fa, errA := strconv.ParseFloat(a.Text, 64)
		fb, errB := strconv.ParseFloat(b.Text, 64)
		if errA != nil || errB != nil || (math.IsNaN(fa) && math.IsNaN(fb)) {
			return a.Text == b.Text || (math.IsNaN(fa) && math.IsNaN(fb))
		}
		return math.Float64bits(fa) == math.Float64bits(fb)
	case restjson.KindString:
		return a.Text == b.Text
	case restjson.KindBool:
		return a.Bool == b.Bool
	}
	for i := range a.Items {
		if !sameValue(&a.Items[i], &b.Items[i]) {
			return false
		}
	}
	return true
}

// TestGoldenResponses runs every golden request of models/linear in both formats and
// compares the numbers bit for bit with the Python reference's responses.
func TestGoldenResponses(t *testing.T) {
	model := needLinear(t)
	requests, _ := filepath.Glob(filepath.Join(model, "*", "golden", "*.request.json"))
	if len(requests) == 0 {
		t.Skip("models/linear has no golden requests")
	}
	for _, format := range []string{"saved_model", "frozen"} {
		for _, reqPath := range requests {
			version := filepath.Base(filepath.Dir(filepath.Dir(reqPath)))
			name := format + "/" + version + "/" + strings.TrimSuffix(filepath.Base(reqPath), ".request.json")
			t.Run(name, func(t *testing.T) {
				body, _ := os.ReadFile(reqPath)
				want, _ := os.ReadFile(strings.Replace(reqPath, ".request.json", ".response.json", 1))
				var stdout, stderr bytes.Buffer
				args := []string{"predict", "--model", model, "--version", version, "--format", format}
				if code := run(args, bytes.NewReader(body), &stdout, &stderr); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				got, err := restjson.Parse(stdout.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				exp, err := restjson.Parse(want)
				if err != nil {
					t.Fatal(err)
				}
				if !sameValue(got, exp) {
					t.Errorf("response differs from the golden one:\n got %.300s\nwant %.300s", stdout.String(), want)
				}
			})
		}
	}
}

func TestServeStdio(t *testing.T) {
	model := needLinear(t)
	in := strings.Join([]string{
		`{"instances": [[1.0, 2.0]]}`,
		``,
		`{"instances": [[1.0, 2.0], [3.0]]}`,
		`{"signature_name": "nope", "inputs": [[1.0]]}`,
		"{\"inputs\": {\"x\": [[0.5]]}}\r",
		`not json`,
	}, "\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve-stdio", "--model", model}, strings.NewReader(in), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	wantPrefix := []string{`{"predictions": [[`, `{"error": "input x (DT_DOUBLE, shape [-1, -1]): ragged`, `{"error": "signature \"nope\" not found`, `{"outputs": [[`, `{"error": "invalid JSON`}
	if len(lines) != len(wantPrefix) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(wantPrefix), stdout.String())
	}
	for i, p := range wantPrefix {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], p)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestInspect(t *testing.T) {
	model := needLinear(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"inspect", "--model", model}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{
		"Model: " + model + "/",
		"\nTensorFlow runtime: 2.21.0\n",
		"\nMetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:\n\nsignature_def[",
		"signature_def['serving_default']:\n  The given SavedModel SignatureDef contains the following input(s):\n    inputs['x'] tensor_info:\n        dtype: DT_DOUBLE\n        shape: (-1, -1)\n",
		"  Method name is: tensorflow/serving/predict\n  Frozen graph: frozen/serving_default.pb\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect text lacks %q:\n%s", want, text)
		}
	}
	stdout.Reset()
	if code := run([]string{"inspect", "--model", model, "--json"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var doc struct {
		Version    int `json:"version"`
		MetaGraphs []struct {
			Tags       []string `json:"tags"`
			Signatures map[string]struct {
				Inputs      map[string]struct{ Shape []int64 } `json:"inputs"`
				FrozenGraph *string                            `json:"frozen_graph"`
			} `json:"signatures"`
		} `json:"meta_graphs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	sig := doc.MetaGraphs[0].Signatures["serving_default"]
	if doc.Version < 1 || doc.MetaGraphs[0].Tags[0] != "serve" || len(sig.Inputs["x"].Shape) != 2 || sig.FrozenGraph == nil {
		t.Errorf("unexpected document: %s", stdout.String())
	}
}

func TestTupleShape(t *testing.T) {
	for _, tc := range []struct {
		spec tensor.Spec
		want string
	}{
		{tensor.Spec{Shape: tensor.Shape{}}, "()"},
		{tensor.Spec{Shape: tensor.Shape{-1}}, "(-1)"},
		{tensor.Spec{Shape: tensor.Shape{-1, 3}}, "(-1, 3)"},
		{tensor.Spec{UnknownRank: true}, "unknown_rank"},
	} {
		if got := tupleShape(tc.spec); got != tc.want {
			t.Errorf("tupleShape(%+v) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadLimited: a body of exactly the limit is read whole; a longer one is refused
// after reading at most one byte past the limit.
func TestReadLimited(t *testing.T) {
	for _, tc := range []struct {
		size, limit int64
		ok          bool
	}{
		{0, 1, true}, {16, 16, true}, {17, 16, false}, {1 << 20, 10, false}, {5, math.MaxInt64, true},
	} {
		src := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("a"), int(tc.size)))}
		body, err := readLimited(src, tc.limit)
		switch {
		case tc.ok && (err != nil || int64(len(body)) != tc.size):
			t.Errorf("%d bytes, limit %d: %d bytes, %v", tc.size, tc.limit, len(body), err)
		case !tc.ok:
			want := "request is larger than the limit of " + strconv.FormatInt(tc.limit, 10) + " bytes (--max-request-bytes)"
			if status.CodeOf(err) != status.ResourceExhausted || err.Error() != want {
				t.Errorf("%d bytes, limit %d: error %v, want %q", tc.size, tc.limit, err, want)
			}
			if src.n > tc.limit+1 {
				t.Errorf("%d bytes, limit %d: read %d bytes", tc.size, tc.limit, src.n)
			}
		}
	}
}

// TestReadLineLimit: lines are returned without "\n" or "\r\n"; a line over the limit is
// reported as too long without being kept, however long it is, and reading goes on with
// the next line.
func TestReadLineLimit(t *testing.T) {
	huge := strings.Repeat("x", 3<<20) // longer than the reader's buffer
	in := strings.Join([]string{"12345", "123456", "1234\r", "12345\r", huge, "", "ok"}, "\n")
	r := bufio.NewReaderSize(strings.NewReader(in), 4096)
	type result struct {
		line    string
		tooLong bool
	}
	var got []result
	for {
		line, tooLong, err := readLine(r, 5)
		if tooLong && line != nil {
			t.Errorf("a too-long line kept %d bytes", len(line))
		}
		got = append(got, result{string(line), tooLong})
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []result{{"12345", false}, {"", true}, {"1234", false}, {"12345", false}, {"", true}, {"", false}, {"ok", false}}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestServeStdioRequestLimit: a line over --max-request-bytes is answered with an error
// line and the next request is still answered.
func TestServeStdioRequestLimit(t *testing.T) {
	model := needLinear(t)
	ok := `{"instances": [[1.0]]}`
	in := ok + "\n" + `{"instances": [[` + strings.Repeat("1.0, ", 1<<20) + "1.0]]}\n" + ok + "\n"
	var stdout, stderr bytes.Buffer
	args := []string{"serve-stdio", "--model", model, "--max-request-bytes", strconv.Itoa(len(ok))}
	if code := run(args, strings.NewReader(in), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	want := []string{`{"predictions": [`, `{"error": "request is larger than the limit of 22 bytes (--max-request-bytes)"}`, `{"predictions": [`}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), stdout.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

// TestSoak runs a short soak of models/linear and checks the report's fields; a request the
// model refuses is refused before the loops, as predict refuses it.
func TestSoak(t *testing.T) {
	model := needLinear(t)
	var stdout, stderr bytes.Buffer
	args := []string{"soak", "--model", model, "--predictions", "20", "--load-cycles", "2"}
	if code := run(args, strings.NewReader(`{"inputs": {"x": [[1.0], [2.0]]}}`), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("want one line: %q", stdout.String())
	}
	var report map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	keys := []string{"runtime", "tensorflow_version", "model", "signature", "format", "predictions",
		"predictions_rss_kib", "predictions_seconds", "load_cycles", "load_cycles_rss_kib", "load_cycles_seconds"}
	if len(report) != len(keys) {
		t.Errorf("report has %d keys, want %d: %s", len(report), len(keys), stdout.String())
	}
	for _, k := range keys {
		if _, ok := report[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if report["runtime"] != "go" || report["signature"] != "serving_default" || report["format"] != "saved_model" ||
		report["predictions"] != 20.0 || report["load_cycles"] != 2.0 {
		t.Errorf("unexpected report: %s", stdout.String())
	}
	for _, k := range []string{"predictions_rss_kib", "load_cycles_rss_kib"} {
		rss, _ := report[k].([]any)
		if len(rss) != 2 || rss[0].(float64) <= 0 || rss[1].(float64) <= 0 {
			t.Errorf("%s = %v", k, report[k])
		}
	}

	stdout.Reset()
	stderr.Reset()
	code := run([]string{"soak", "--model", model}, strings.NewReader(`{"inputs": {"x": [[1.0, 2.0], [3.0]]}}`), &stdout, &stderr)
	if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "ragged") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("bad request: exit %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
}
