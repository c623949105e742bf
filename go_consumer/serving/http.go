package serving

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// Server answers TensorFlow Serving's REST API from a Manager's loaded versions:
//
//	POST /v1/models/NAME[/versions/V|/labels/L]:predict
//	GET  /v1/models/NAME[/versions/V|/labels/L]
//	GET  /v1/models/NAME[/versions/V|/labels/L]/metadata
//
// and two routes TensorFlow Serving lacks (tests/CONTRACT.md, "Health and start-up"):
//
//	GET  /v1/models   every model with the status of its versions
//	GET  /readyz      200 while every model has a version available, else 503
//
// Errors are {"error": "..."} with the HTTP status of their canonical code (the table of
// tests/cases/messages.json, through status.Code.HTTPStatus; TensorFlow Serving's statuses),
// except 501 for :classify and :regress, which no code names.
type Server struct {
	Manager *Manager
	// MaxRequestBytes bounds a request body; a longer one is answered 413 after reading
	// at most one byte past the limit.
	MaxRequestBytes int64
	// RequestTimeout bounds reading a predict request and answering it; past it the
	// answer is 504.
	RequestTimeout time.Duration
	// Logf writes one line of the server's log (access lines); nil: none.
	Logf func(format string, args ...any)
	// Metrics, when not nil, records every request to a model (Metrics.Request, entrypoint
	// "REST") and, when MetricsPath is not "", is scraped at GET MetricsPath.
	Metrics     *Metrics
	MetricsPath string
	// CORS adds TF Serving's CORS headers to every answer (--rest_api_enable_cors_support):
	// Access-Control-Allow-Origin *, -Methods POST, GET, -Headers Content-Type.
	CORS bool

	// running counts predictions still running after their request was answered 504; Wait
	// waits for them.
	running sync.WaitGroup
	// draining is set by Drain: the server is shutting down and no longer ready.
	draining atomic.Bool
	// answer answers a request body; nil: Servable.PredictJSON (tests replace it).
	answer func(s *Servable, body []byte, note *RunNote) ([]byte, error)
}

// corsOrigin is what a CORS preflight's Origin header must hold (TF Serving's
// RE2::PartialMatch(origin, "https?://")).
var corsOrigin = regexp.MustCompile(`https?://`)

// The routes TensorFlow Serving lacks: readiness, and the list of every model.
const (
	readyPath  = "/readyz"
	modelsPath = "/v1/models"
)

// IsRoute reports whether path is one of the REST API's own routes (readiness, or anything
// under /v1), where nothing else (such as the metrics) may be served.
func IsRoute(path string) bool {
	return path == readyPath || path == "/v1" || strings.HasPrefix(path, "/v1/")
}

// The paths of TensorFlow Serving's REST API (tensorflow_serving/model_servers).
var (
	predictPath = regexp.MustCompile(`^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)$`)
	statusPath  = regexp.MustCompile(`^/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?$`)
)

// Wait waits for the predictions that were still running when their request timed out.
func (s *Server) Wait() { s.running.Wait() }

// Drain marks the server as shutting down: from now on GET /readyz answers 503, so that a
// load balancer stops sending requests while the ones in flight finish.
func (s *Server) Drain() { s.draining.Store(true) }

// Ready reports whether the server is ready to answer predictions: not draining, and
// Manager.Ready (no model that had a version available has lost it); the error says why not
// (UNAVAILABLE).
func (s *Server) Ready() error {
	if s.draining.Load() {
		return status.New(status.Unavailable, "the server is shutting down")
	}
	return s.Manager.Ready()
}

// ServeHTTP routes one request and writes one access-log line for it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, note: &RunNote{}}
	defer func() {
		if p := recover(); p != nil {
			if rec.status == 0 {
				WriteError(rec, status.New(status.Internal, "internal error: %s", oneLine(fmt.Sprint(p))))
			}
		}
		if rec.model != nil {
			code := rec.code
			switch {
			case rec.status == 0:
				code = "CANCELLED" // the client went away before an answer
			case code == "":
				code = string(status.OK)
			}
			s.Metrics.Request(*rec.model, rec.api, "REST", code, time.Since(start), rec.note.Runtime)
		}
		if s.Logf != nil {
			answered := rec.status
			if answered == 0 {
				answered = 499 // the client went away before an answer
			}
			s.Logf("access: %s %s %d %d %.3fms%s", r.Method, r.URL.RequestURI(), answered, rec.bytes,
				float64(time.Since(start).Microseconds())/1000, rec.batchField())
		}
	}()
	s.route(rec, r)
}

// route answers one request. The path patterns are matched on the raw (undecoded) path, as
// TF Serving matches its URL regex, so a segment is delimited by the raw '/' alone and
// percent-decoded only once captured (pathSegments): a name holding "%2F" is one unknown
// model, never another model's path.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if s.CORS {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "POST, GET")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
	}
	if r.Method == http.MethodOptions {
		// A CORS preflight, answered as TF Serving's http_server.cc does on every path.
		if !corsOrigin.MatchString(r.Header.Get("Origin")) {
			WriteError(w, status.New(status.FailedPrecondition, "Origin header is missing in CORS preflight"))
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	if s.Metrics != nil && s.MetricsPath != "" && path == s.MetricsPath {
		if r.Method != http.MethodGet {
			WriteError(w, malformed(r))
			return
		}
		s.Metrics.Handler().ServeHTTP(w, r)
		return
	}
	switch path {
	case readyPath, modelsPath:
		if r.Method != http.MethodGet {
			WriteError(w, malformed(r))
		} else if path == readyPath {
			s.ready(w)
		} else {
			s.models(w)
		}
		return
	}
	if m := predictPath.FindStringSubmatch(path); m != nil {
		if r.Method != http.MethodPost {
			WriteError(w, malformed(r))
			return
		}
		seg, ok := decodeSegments(m[1:])
		if !ok {
			WriteError(w, malformed(r))
			return
		}
		name, version, label, verb := seg[0], seg[1], seg[2], seg[3]
		counted(w, name, verb)
		if verb != "predict" {
			// 501, as TF Serving answers a method it does not implement: no canonical code of
			// the table names it, so this answer is written here, at the edge.
			msg := fmt.Sprintf("%s is not supported: this server answers :predict", verb)
			if rec, ok := w.(*recorder); ok {
				rec.code = "UNIMPLEMENTED"
			}
			writeJSON(w, http.StatusNotImplemented, restjson.ErrorBody(msg))
			return
		}
		number, err := pathVersion(s.Manager, name, version, label)
		if err != nil {
			WriteError(w, err)
			return
		}
		s.predict(w, r, name, number, recorderNote(w))
		return
	}
	if m := statusPath.FindStringSubmatch(path); m != nil && m[1] != "" {
		if r.Method != http.MethodGet {
			WriteError(w, malformed(r))
			return
		}
		seg, ok := decodeSegments(m[1:])
		if !ok {
			WriteError(w, malformed(r))
			return
		}
		name, version, label, metadata := seg[0], seg[1], seg[2], seg[3] != ""
		counted(w, name, "") // TF Serving's API label of the status and metadata routes
		number, err := pathVersion(s.Manager, name, version, label)
		if err != nil {
			WriteError(w, err)
			return
		}
		if metadata {
			s.metadata(w, name, number)
		} else {
			s.status(w, name, number)
		}
		return
	}
	if statusPath.MatchString(path) {
		WriteError(w, status.New(status.InvalidArgument, "Missing model name in request."))
		return
	}
	WriteError(w, malformed(r))
}

// readBody reads a request body, at most limit+1 bytes of it; a body sent with
// Content-Encoding gzip (as TF Serving's HTTP server accepts it) is decompressed first
// (compress/gzip), the limit bounding the decompressed bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	var body io.Reader = r.Body
	if strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "gzip") {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("Content-Encoding gzip: %v", err)
		}
		defer z.Close()
		body = z
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !isTimeout(err) && body != r.Body {
		err = fmt.Errorf("Content-Encoding gzip: %v", err)
	}
	return b, err
}

// decodeSegments percent-decodes (RFC 3986 §2.4) the path segments captured from a raw
// path; ok is false when one holds an invalid escape.
func decodeSegments(raw []string) (decoded []string, ok bool) {
	decoded = make([]string, len(raw))
	for i, s := range raw {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		decoded[i] = d
	}
	return decoded, true
}

// malformed refuses a request that is no call of the API: INVALID_ARGUMENT (400) under /v1/,
// NOT_FOUND (404) outside it.
func malformed(r *http.Request) error {
	code := status.InvalidArgument
	if len(r.URL.Path) < 4 || r.URL.Path[:4] != "/v1/" {
		code = status.NotFound
	}
	return status.New(code, "Malformed request: %s %s", status.Bound(r.Method), status.Bound(r.URL.Path))
}

// pathVersion parses the version of a path (0 when absent); a version label is the version
// it points at (Manager.LabelVersion).
func pathVersion(m *Manager, name, version, label string) (int64, error) {
	if label != "" {
		return m.LabelVersion(name, label)
	}
	if version == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil || n <= 0 {
		return 0, status.New(status.NotFound, "Servable not found for request: Specific(%s, %s)", status.Bound(name), status.Bound(version))
	}
	return n, nil
}

// ready answers GET /readyz: {"ready": true} (200), or the reason as {"error": ...} with
// UNAVAILABLE's status (503).
func (s *Server) ready(w http.ResponseWriter) {
	if err := s.Ready(); err != nil {
		WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"ready": true}`))
}

// models answers GET /v1/models: every model the manager knows, by name, each with the
// model_version_status of GET /v1/models/NAME.
func (s *Server) models(w http.ResponseWriter) {
	var list []ModelStatus
	for _, name := range s.Manager.Models() {
		statuses, err := s.Manager.Status(name, 0)
		if err != nil {
			statuses = nil // known, no version seen yet
		}
		list = append(list, ModelStatus{Name: name, Versions: statuses})
	}
	writeJSON(w, http.StatusOK, modelsJSON(list))
}

func (s *Server) status(w http.ResponseWriter, name string, number int64) {
	statuses, err := s.Manager.Status(name, number)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusJSON(statuses))
}

func (s *Server) metadata(w http.ResponseWriter, name string, number int64) {
	h, err := s.Manager.Acquire(name, number)
	if err != nil {
		WriteError(w, err)
		return
	}
	defer h.Release()
	writeJSON(w, http.StatusOK, metadataJSON(name, h.Version, h.Servable.SignatureDefs))
}

func (s *Server) deadlineExceeded() error {
	return status.New(status.DeadlineExceeded, "deadline exceeded: the request took longer than %s (--request-timeout)", s.RequestTimeout)
}

type result struct {
	body []byte
	err  error
}

// predict reads the body (at most MaxRequestBytes+1 bytes, within the deadline), then
// answers it from the acquired version in a goroutine, so that a request past its
// deadline is answered 504 at once; the version stays acquired until the run ends.
func (s *Server) predict(w http.ResponseWriter, r *http.Request, name string, number int64, note *RunNote) {
	deadline := time.Now().Add(s.RequestTimeout)
	limit := s.MaxRequestBytes
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		WriteError(w, restjson.TooLarge(limit))
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(deadline)
	body, err := readBody(r, limit)
	_ = rc.SetReadDeadline(time.Time{})
	switch {
	case int64(len(body)) > limit:
		w.Header().Set("Connection", "close")
		WriteError(w, restjson.TooLarge(limit))
		return
	case err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err)):
		w.Header().Set("Connection", "close")
		WriteError(w, s.deadlineExceeded())
		return
	case err != nil:
		WriteError(w, status.New(status.InvalidArgument, "cannot read the request body: %v", err))
		return
	}

	h, err := s.Manager.Acquire(name, number)
	if err != nil {
		WriteError(w, err)
		return
	}
	done := make(chan result, 1)
	s.running.Add(1)
	var mine RunNote // written by the run, read once it has answered
	go func() {
		defer s.running.Done()
		defer h.Release()
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: status.New(status.Internal, "internal error: %s", oneLine(fmt.Sprint(p)))}
			}
		}()
		predict := s.answer
		if predict == nil {
			predict = (*Servable).PredictJSON
		}
		resp, err := predict(h.Servable, body, &mine)
		done <- result{body: resp, err: err}
	}()
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	select {
	case res := <-done:
		if note != nil {
			*note = mine
		}
		if res.err != nil {
			WriteError(w, res.err)
			return
		}
		writeJSON(w, http.StatusOK, res.body)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			WriteError(w, s.deadlineExceeded())
		}
		// otherwise the client went away: nothing to answer
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// WriteError is the edge of the REST API (tests/CONTRACT.md, "Errors"): it answers err with
// the HTTP status of its canonical code (status.Code.HTTPStatus; INTERNAL for an error
// without one) and TF Serving's body {"error": "<message on one line>"}. Routes of one's own
// mounted beside Server answer their errors with it too.
func WriteError(w http.ResponseWriter, err error) {
	if rec, ok := w.(*recorder); ok {
		rec.code = CodeName(err)
	}
	writeJSON(w, status.CodeOf(err).HTTPStatus(), restjson.ErrorBody(oneLine(err.Error())))
}

func writeJSON(w http.ResponseWriter, httpStatus int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(httpStatus)
	w.Write(body)
}

// recorder remembers the status and counts the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	note   *RunNote // how a predict request was run (batching, runtime)
	// model is the model a request names (nil: no model route), api TF Serving's API label
	// (the verb, "" for status and metadata) and code the canonical code's name of the
	// error it was answered with ("" for success), for the metrics.
	model     *string
	api, code string
}

// counted marks the request of ServeHTTP's recorder as one to model name with API label api.
func counted(w http.ResponseWriter, name, api string) {
	if rec, ok := w.(*recorder); ok {
		rec.model, rec.api = &name, api
	}
}

// recorderNote returns the RunNote of ServeHTTP's recorder (nil for another writer).
func recorderNote(w http.ResponseWriter) *RunNote {
	if rec, ok := w.(*recorder); ok {
		return rec.note
	}
	return nil
}

func (r *recorder) batchField() string { return r.note.String() }

func (r *recorder) WriteHeader(httpStatus int) {
	if r.status == 0 {
		r.status = httpStatus
	}
	r.ResponseWriter.WriteHeader(httpStatus)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
