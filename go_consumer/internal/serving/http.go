package serving

import (
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
	"sync"
	"time"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	"google.golang.org/grpc/codes"
)

// PredictFunc answers one predict request body against a loaded version: the response
// body, or an error (*tfjson.RequestError, *model.Error, *model.RunError, ...). It runs the
// plan with s.Run, passing note (for the access log).
type PredictFunc func(s *Servable, body []byte, note *RunNote) ([]byte, error)

// Server answers TensorFlow Serving's REST API from a Manager's loaded versions:
//
//	POST /v1/models/NAME[/versions/V]:predict
//	GET  /v1/models/NAME[/versions/V]
//	GET  /v1/models/NAME[/versions/V]/metadata
//
// Errors are {"error": "..."} with TensorFlow Serving's HTTP status codes.
type Server struct {
	Manager *Manager
	Predict PredictFunc
	// MaxRequestBytes bounds a request body; a longer one is answered 413 after reading
	// at most one byte past the limit.
	MaxRequestBytes int64
	// RequestTimeout bounds reading a predict request and answering it; past it the
	// answer is 504.
	RequestTimeout time.Duration
	// Logf writes one line of the server's log (access lines); nil: none.
	Logf func(format string, args ...any)

	// running counts predictions still running after their request was answered 504; Wait
	// waits for them.
	running sync.WaitGroup
}

// The paths of TensorFlow Serving's REST API (tensorflow_serving/model_servers).
var (
	predictPath = regexp.MustCompile(`^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)$`)
	statusPath  = regexp.MustCompile(`^/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?$`)
)

// httpError is an error answered with an HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorStatus(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// StatusOf maps an error to TensorFlow Serving's HTTP status: the status an *httpError
// carries, else the HTTP twin of its gRPC code (CodeOf) as TF Serving's REST API maps it: 400
// for a bad request, 404 for an unknown model, version or signature, 503 for a full batch
// queue, 500 when TensorFlow fails.
func StatusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	switch CodeOf(err) {
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Wait waits for the predictions that were still running when their request timed out.
func (s *Server) Wait() { s.running.Wait() }

// ServeHTTP routes one request and writes one access-log line for it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, note: &RunNote{}}
	defer func() {
		if p := recover(); p != nil {
			if rec.status == 0 {
				s.writeError(rec, errorStatus(http.StatusInternalServerError, "internal error: %s", oneLine(fmt.Sprint(p))))
			}
		}
		if s.Logf != nil {
			status := rec.status
			if status == 0 {
				status = 499 // the client went away before an answer
			}
			s.Logf("access: %s %s %d %d %.3fms%s", r.Method, r.URL.RequestURI(), status, rec.bytes,
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
	if m := predictPath.FindStringSubmatch(path); m != nil {
		if r.Method != http.MethodPost {
			s.writeError(w, malformed(r))
			return
		}
		seg, ok := decodeSegments(m[1:])
		if !ok {
			s.writeError(w, malformed(r))
			return
		}
		name, version, label, verb := seg[0], seg[1], seg[2], seg[3]
		if verb != "predict" {
			s.writeError(w, errorStatus(http.StatusNotImplemented, "%s is not supported: this server answers :predict", verb))
			return
		}
		number, err := pathVersion(name, version, label)
		if err != nil {
			s.writeError(w, err)
			return
		}
		s.predict(w, r, name, number, recorderNote(w))
		return
	}
	if m := statusPath.FindStringSubmatch(path); m != nil && m[1] != "" {
		if r.Method != http.MethodGet {
			s.writeError(w, malformed(r))
			return
		}
		seg, ok := decodeSegments(m[1:])
		if !ok {
			s.writeError(w, malformed(r))
			return
		}
		name, version, label, metadata := seg[0], seg[1], seg[2], seg[3] != ""
		number, err := pathVersion(name, version, label)
		if err != nil {
			s.writeError(w, err)
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
		s.writeError(w, errorStatus(http.StatusBadRequest, "Missing model name in request."))
		return
	}
	s.writeError(w, malformed(r))
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

func malformed(r *http.Request) error {
	status := http.StatusBadRequest
	if len(r.URL.Path) < 4 || r.URL.Path[:4] != "/v1/" {
		status = http.StatusNotFound
	}
	return errorStatus(status, "Malformed request: %s %s", tfjson.Bound(r.Method), tfjson.Bound(r.URL.Path))
}

// pathVersion parses the version of a path (0 when absent).
func pathVersion(name, version, label string) (int64, error) {
	if label != "" {
		return 0, &NotFoundError{Msg: fmt.Sprintf("Unrecognized servable version label: %s (model %s has no version labels)", tfjson.Bound(label), tfjson.Bound(name))}
	}
	if version == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil || n <= 0 {
		return 0, &NotFoundError{Msg: fmt.Sprintf("Servable not found for request: Specific(%s, %s)", tfjson.Bound(name), tfjson.Bound(version))}
	}
	return n, nil
}

func (s *Server) status(w http.ResponseWriter, name string, number int64) {
	statuses, err := s.Manager.Status(name, number)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusJSON(statuses))
}

func (s *Server) metadata(w http.ResponseWriter, name string, number int64) {
	h, err := s.Manager.Acquire(name, number)
	if err != nil {
		s.writeError(w, err)
		return
	}
	defer h.Release()
	writeJSON(w, http.StatusOK, metadataJSON(name, h.Version, h.Servable.SignatureDefs))
}

// TooLarge is the refusal of a body over the limit, in the words of the CLI's
// --max-request-bytes.
func TooLarge(limit int64) error {
	return errorStatus(http.StatusRequestEntityTooLarge, "request is larger than the limit of %d bytes (--max-request-bytes)", limit)
}

func (s *Server) deadlineExceeded() error {
	return errorStatus(http.StatusGatewayTimeout, "deadline exceeded: the request took longer than %s (--request-timeout)", s.RequestTimeout)
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
		s.writeError(w, TooLarge(limit))
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(deadline)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = rc.SetReadDeadline(time.Time{})
	switch {
	case int64(len(body)) > limit:
		w.Header().Set("Connection", "close")
		s.writeError(w, TooLarge(limit))
		return
	case err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err)):
		w.Header().Set("Connection", "close")
		s.writeError(w, s.deadlineExceeded())
		return
	case err != nil:
		s.writeError(w, errorStatus(http.StatusBadRequest, "cannot read the request body: %v", err))
		return
	}

	h, err := s.Manager.Acquire(name, number)
	if err != nil {
		s.writeError(w, err)
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
				done <- result{err: errorStatus(http.StatusInternalServerError, "internal error: %s", oneLine(fmt.Sprint(p)))}
			}
		}()
		resp, err := s.Predict(h.Servable, body, &mine)
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
			s.writeError(w, res.err)
			return
		}
		writeJSON(w, http.StatusOK, res.body)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.writeError(w, s.deadlineExceeded())
		}
		// otherwise the client went away: nothing to answer
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) writeError(w http.ResponseWriter, err error) {
	writeJSON(w, StatusOf(err), tfjson.ErrorBody(oneLine(err.Error())))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// recorder remembers the status and counts the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	note   *RunNote // how a predict request was run (batching)
}

// recorderNote returns the RunNote of ServeHTTP's recorder (nil for another writer).
func recorderNote(w http.ResponseWriter) *RunNote {
	if rec, ok := w.(*recorder); ok {
		return rec.note
	}
	return nil
}

func (r *recorder) batchField() string { return r.note.String() }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
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
