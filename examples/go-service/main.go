// Command go-service is an example of embedding the Go consumer's public library
// (github.com/polyglot-tf/polyglot-tf/go_consumer) in a program of one's own, outside the
// library's module: a plain net/http server that serves the model folders under
// --model-base-path (models/<name>/<version>/, as the Python producer writes them).
//
// It demonstrates:
//
//   - a serving.Manager loading the versions of the models (serving.NewLoader: each version
//     verified against its manifest.json and refused if its signatures can reach an unsafe
//     op) under a version policy, and polling the folders for new versions while it runs;
//   - the library's TensorFlow Serving REST API (serving.Server, an http.Handler) mounted on
//     the program's own http.ServeMux under /v1/ (POST /v1/models/NAME:predict, GET
//     /v1/models/NAME, GET /v1/models/NAME/metadata);
//   - one route of the program's own that uses the library directly,
//     GET /example/signatures/NAME: the signatures of the version that serves NAME now (the
//     manager's acquired servable and its model.Info), as JSON, with the library's error
//     statuses (status.CodeOf(err).HTTPStatus()) when there is none;
//   - a clean shutdown on SIGTERM or SIGINT: no new connections, the requests in flight
//     answered (http.Server.Shutdown), then every version closed (Manager.Close); exit 0.
//
// Usage:
//
//	go-service --model-base-path models [--model-name linear ...] [--port 0]
//
// Once the models are loaded it prints one line on stdout, "listening on HOST:PORT"
// (--port 0 picks a free port); everything else (the library's log) goes to stderr.
//
// Build it with the Makefile next to this file: the library links TensorFlow's C library
// through cgo, with the flags of go_consumer/Makefile.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/serving"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// names is a repeatable string flag (--model-name a --model-name b).
type names []string

func (n *names) String() string { return strings.Join(*n, ",") }

func (n *names) Set(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/:") {
		return errors.New("expected the name of a folder under --model-base-path")
	}
	*n = append(*n, s)
	return nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("go-service: ")
	if err := run(); err != nil {
		log.Print("error: ", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("model-base-path", "", "folder holding one folder per model (models/<name>/<version>)")
	var modelNames names
	flag.Var(&modelNames, "model-name", "serve only this model folder under --model-base-path (repeatable; default: every model)")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8501, "port to listen on (0: any free port)")
	policyFlag := flag.String("model-version-policy", string(serving.PolicyLatest), "latest, all or specific")
	versionsFlag := flag.String("versions", "", "versions to serve with --model-version-policy specific (1,2)")
	poll := flag.Duration("poll-interval", time.Second, "how often the model folders are checked for new versions (0: only at start)")
	timeout := flag.Duration("request-timeout", 30*time.Second, "deadline of one REST request")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}

	if *base == "" {
		return errors.New("--model-base-path DIR is required")
	}
	abs, err := filepath.Abs(*base) // the manager wants an absolute base path
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return fmt.Errorf("--model-base-path %s is not a folder", abs)
	}
	policy, ok := serving.ParsePolicy(*policyFlag)
	if !ok {
		return fmt.Errorf("invalid --model-version-policy %q: expected latest, all or specific", *policyFlag)
	}
	var versions []int64
	if policy == serving.PolicySpecific {
		if versions, ok = serving.ParseVersions(*versionsFlag); !ok {
			return fmt.Errorf("--model-version-policy specific needs --versions, positive integers separated by commas (got %q)", *versionsFlag)
		}
	} else if *versionsFlag != "" {
		return errors.New("--versions needs --model-version-policy specific")
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("invalid --port %d: expected 0..65535", *port)
	}

	// The manager loads the versions the policy wants, through the same loader as the
	// library's serve command (manifest verification and unsafe-op refusal on).
	mgr := serving.NewManager(serving.Options{
		BasePath:   abs,
		ModelNames: modelNames,
		Policy:     policy,
		Versions:   versions,
		Load:       serving.NewLoader(false, nil),
		Logf:       log.Printf,
	})
	defer mgr.Close() // after the HTTP server has finished its requests (deferred later)
	mgr.Poll()
	if len(mgr.Models()) == 0 {
		return fmt.Errorf("no model under --model-base-path %s: expected folders <name>/<version>/%s", abs, model.SavedModelFile)
	}
	for _, name := range mgr.Models() {
		numbers, _ := mgr.Available(name)
		log.Printf("model %s: available versions %v", name, numbers)
	}

	api := &serving.Server{
		Manager:         mgr,
		MaxRequestBytes: 64 << 20,
		RequestTimeout:  *timeout,
		Logf:            log.Printf,
	}
	defer api.Wait() // predictions still running after their request was answered 504

	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.HandleFunc("GET /example/signatures/{name}", func(w http.ResponseWriter, r *http.Request) {
		signaturesHandler(w, r, mgr)
	})

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	httpServer := &http.Server{Handler: mux, ReadHeaderTimeout: *timeout}
	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *poll > 0 {
		go func() {
			ticker := time.NewTicker(*poll)
			defer ticker.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
					mgr.Poll() // a Poll still running when Close is called is waited for
				}
			}
		}()
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("the HTTP server stopped: %v", err)
	case <-ctx.Done():
	}
	stop() // a second signal ends the process at once
	log.Print("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Print("stopped")
	return nil // the deferred calls: api.Wait, then mgr.Close
}

// specJSON describes one input or output tensor of a signature.
type specJSON struct {
	// Tensor is the graph tensor name, e.g. "serving_default_x:0".
	Tensor string `json:"tensor"`
	// DType is the enum name, e.g. "DT_DOUBLE".
	DType string `json:"dtype"`
	// Shape holds the dims, -1 for an unknown one; null for an unknown rank.
	Shape []int64 `json:"shape"`
}

type signatureJSON struct {
	MethodName string              `json:"method_name"`
	Inputs     map[string]specJSON `json:"inputs"`
	Outputs    map[string]specJSON `json:"outputs"`
}

type signaturesJSON struct {
	Model   string `json:"model"`
	Version int64  `json:"version"`
	// AvailableVersions are every available version of the model (more than one under
	// --model-version-policy all); Version is the one a request without a version gets.
	AvailableVersions []int64                  `json:"available_versions"`
	Signatures        map[string]signatureJSON `json:"signatures"`
}

// signaturesHandler answers GET /example/signatures/NAME: the signatures a predict request
// to NAME (without a version) can name, read from the servable the manager serves now. It
// opens nothing: the version is acquired from the manager (so that it cannot be closed
// while it is read) and released at once.
func signaturesHandler(w http.ResponseWriter, r *http.Request, mgr *serving.Manager) {
	name := r.PathValue("name")
	h, err := mgr.Acquire(name, 0) // 0: the highest available version
	if err != nil {
		serving.WriteError(w, err) // NOT_FOUND: 404, as the REST API answers it
		return
	}
	defer h.Release()
	info := h.Servable.Info
	doc := signaturesJSON{Model: h.Model, Version: h.Version, Signatures: map[string]signatureJSON{}}
	doc.AvailableVersions, _ = mgr.Available(name)
	for _, key := range info.RunKeys(model.FormatSavedModel) { // without "__" keys
		sig := info.Serve.Signatures[key]
		doc.Signatures[key] = signatureJSON{
			MethodName: sig.MethodName,
			Inputs:     specsJSON(sig.Inputs),
			Outputs:    specsJSON(sig.Outputs),
		}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		serving.WriteError(w, status.New(status.Internal, "cannot write the signatures: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func specsJSON(specs map[string]tensor.Spec) map[string]specJSON {
	out := make(map[string]specJSON, len(specs))
	for alias, s := range specs {
		j := specJSON{Tensor: s.Name, DType: s.DType.String()}
		if !s.UnknownRank {
			j.Shape = append([]int64{}, s.Shape...) // [] for a scalar, never null
		}
		out[alias] = j
	}
	return out
}
