package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// testServer serves fake models: predict echoes the body, except for bodies naming an
// error or asking to sleep.
func testServer(t *testing.T) (*Server, *fakeModels, *[]string) {
	f := newFakeModels(t)
	f.add("linear", "1", false)
	f.add("linear", "2", false)
	m := f.manager(PolicyAll)
	m.Poll()
	t.Cleanup(m.Close)
	var (
		mu    sync.Mutex
		lines []string
	)
	s := &Server{
		Manager: m,
		answer: func(_ *Servable, body []byte, _ *RunNote) ([]byte, error) {
			switch text := string(body); {
			case text == "bad":
				return nil, status.New(status.InvalidArgument, "invalid JSON: bad")
			case text == "nosig":
				return nil, status.SignatureNotFound("x", "serving_default")
			case text == "tf":
				return nil, status.New(status.Internal, "TensorFlow failed")
			case strings.HasPrefix(text, "code "): // "code NAME": refused with that code
				return nil, fmt.Errorf("wrapped: %w", status.New(status.Code(text[5:]), "refused with %s", text[5:]))
			case text == "plain":
				return nil, errors.New("a plain error")
			case text == "panic":
				panic("boom")
			case strings.HasPrefix(text, "sleep"):
				time.Sleep(300 * time.Millisecond)
			}
			return append([]byte(`{"outputs": `), append(body, '}')...), nil
		},
		MaxRequestBytes: 100,
		RequestTimeout:  5 * time.Second,
		Logf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf(format, args...))
		},
	}
	return s, f, &lines
}

func do(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	return rec.Code, doc
}

func TestRoutesAndErrors(t *testing.T) {
	s, _, lines := testServer(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		errorContains      string
	}{
		{"POST", "/v1/models/linear:predict", "[1]", 200, ""},
		{"POST", "/v1/models/linear/versions/1:predict", "[1]", 200, ""},
		{"POST", "/v1/models/linear/versions/3:predict", "[1]", 404, "Specific(linear, 3)"},
		{"POST", "/v1/models/nope:predict", "[1]", 404, "Latest(nope)"},
		{"POST", "/v1/models/linear/labels/stable:predict", "[1]", 404, "label"},
		{"POST", "/v1/models/linear:predict", "bad", 400, "invalid JSON"},
		{"POST", "/v1/models/linear:predict", "nosig", 404, "not found"},
		{"POST", "/v1/models/linear:predict", "tf", 500, "TensorFlow failed"},
		{"POST", "/v1/models/linear:predict", "panic", 500, "internal error: boom"},
		{"POST", "/v1/models/linear:predict", strings.Repeat("1", 101), 413, "larger than the limit of 100 bytes"},
		{"POST", "/v1/models/linear:classify", "[1]", 501, "classify"},
		{"GET", "/v1/models/linear:predict", "", 400, "Malformed request: GET"},
		{"POST", "/v1/models/linear", "", 400, "Malformed request: POST"},
		{"GET", "/v1/models/versions/3", "", 400, "Missing model name"},
		{"GET", "/v1/other", "", 400, "Malformed request"},
		{"GET", "/healthz", "", 404, "Malformed request"},
		{"GET", "/v1/models/nope", "", 404, "Could not find any versions of model nope"},
		{"GET", "/v1/models/linear/versions/9", "", 404, "Could not find version 9 of model linear"},
		{"GET", "/v1/models/linear/versions/9/metadata", "", 404, "Specific(linear, 9)"},
		// Routing is on the raw path: a decoded '/' stays inside the model name.
		{"POST", "/v1/models/linear%2Fversions%2F1:predict", "[1]", 404, "Latest(linear/versions/1)"},
		{"GET", "/v1/models/linear%2Fversions%2F1", "", 404, "Could not find any versions of model linear/versions/1"},
		{"GET", "/v1/models/%6Cinear/versions/1", "", 200, ""},
		{"POST", "/v1/models/" + strings.Repeat("m", 1<<20) + ":predict", "[1]", 404, "Latest(" + strings.Repeat("m", 200) + "... (1048576 characters))"},
	} {
		status, doc := do(t, s, c.method, c.path, c.body)
		if status != c.status {
			t.Errorf("%s %s %q: status %d, want %d (%v)", c.method, c.path, c.body, status, c.status, doc)
			continue
		}
		msg, _ := doc["error"].(string)
		if c.errorContains == "" && msg != "" || !strings.Contains(msg, c.errorContains) {
			t.Errorf("%s %s %q: error %q, want it to contain %q", c.method, c.path, c.body, msg, c.errorContains)
		}
	}
	if len(*lines) != 23 {
		t.Fatalf("%d access lines for 23 requests", len(*lines))
	}
	if got := (*lines)[0]; !strings.HasPrefix(got, "access: POST /v1/models/linear:predict 200 16 ") || !strings.HasSuffix(got, "ms") {
		t.Errorf("access line %q", got)
	}
}

func TestStatusAndMetadataBodies(t *testing.T) {
	s, _, _ := testServer(t)
	status, doc := do(t, s, "GET", "/v1/models/linear/versions/2", "")
	want := `{"model_version_status":[{"state":"AVAILABLE","status":{"error_code":"OK","error_message":""},"version":"2"}]}`
	if got, _ := json.Marshal(doc); status != 200 || string(got) != want {
		t.Fatalf("status %d %s", status, got)
	}
	status, doc = do(t, s, "GET", "/v1/models/linear", "")
	if list := doc["model_version_status"].([]any); status != 200 || len(list) != 2 {
		t.Fatalf("status of every version: %d %v", status, doc)
	}
	status, doc = do(t, s, "GET", "/v1/models/linear/metadata", "")
	want = `{"metadata":{"signature_def":{"@type":"type.googleapis.com/tensorflow.serving.SignatureDefMap","signature_def":{}}},"model_spec":{"name":"linear","signature_name":"","version":"2"}}`
	if got, _ := json.Marshal(doc); status != 200 || string(got) != want {
		t.Fatalf("metadata %d %s", status, got)
	}
}

func TestContentLengthOverLimitIsNotRead(t *testing.T) {
	s, _, _ := testServer(t)
	ts := httptest.NewServer(s)
	defer ts.Close()
	body := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/models/linear:predict", body)
	req.ContentLength = 1 << 20
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Skipf("the client gave up sending: %v", err) // allowed: the server closes early
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDeadline(t *testing.T) {
	s, f, _ := testServer(t)
	s.RequestTimeout = 50 * time.Millisecond
	start := time.Now()
	status, doc := do(t, s, "POST", "/v1/models/linear:predict", "sleep")
	if status != http.StatusGatewayTimeout || !strings.Contains(doc["error"].(string), "--request-timeout") {
		t.Fatalf("status %d %v", status, doc)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("answered after %v, not at the deadline", d)
	}
	// The version stays acquired until the late run ends: closing waits for it.
	s.Wait()
	s.Manager.Close()
	if c := f.closedList(); !strings.Contains(c, "linear/2") {
		t.Fatalf("closed %q", c)
	}
}

// TestHTTPStatusOfEveryCode: the REST answer to an error has the HTTP status of its code
// (the table's http_status), through wrapping; an error without a code is 500.
func TestHTTPStatusOfEveryCode(t *testing.T) {
	s, _, _ := testServer(t)
	for _, code := range status.Codes() {
		got, doc := do(t, s, "POST", "/v1/models/linear:predict", "code "+string(code))
		if got != code.HTTPStatus() || doc["error"] != "wrapped: refused with "+string(code) {
			t.Errorf("%s: HTTP %d %v; want %d", code, got, doc, code.HTTPStatus())
		}
	}
	if got, _ := do(t, s, "POST", "/v1/models/linear:predict", "plain"); got != status.Internal.HTTPStatus() {
		t.Errorf("a plain error: HTTP %d", got)
	}
}
