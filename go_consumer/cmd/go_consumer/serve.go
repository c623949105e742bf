package main

// The serve command: TensorFlow Serving's REST and gRPC APIs over every model folder under a
// base path, with hot model versions (see package serving and tests/CONTRACT.md, "Serving").

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/serving"
)

// serveDefaultMaxBytes is --max-request-bytes's default (64 MiB), as for predict.
const serveDefaultMaxBytes = 64 << 20

// serveConfig is the parsed command line of serve.
type serveConfig struct {
	base             string
	names            []string
	host             string
	port             int // -1: no REST server
	grpcHost         string
	grpcPort         int // -1: no gRPC server
	policy           serving.Policy
	versions         []int64
	maxRequestBytes  int64
	requestTimeout   time.Duration
	pollInterval     time.Duration
	skipVerification bool
	allowOps         []string
	// batching is nil unless --enable-batching.
	batching *serving.BatchOptions
	// metricsPath is where the REST port serves the Prometheus metrics ("" for nowhere):
	// --monitoring-config-file's prometheus_config.
	metricsPath string
	// cors is --enable-cors.
	cors bool
	// models is the explicit list of models: what --model-config-file held at start, or TF
	// Serving's one model of --model_base_path; nil when the models are base's folders.
	// configFile is --model-config-file ("" for none), configPoll how often it is read again
	// (0: never), allowUnavailableLabels --allow-version-labels-for-unavailable-models.
	configFile             string
	configText             []byte // the file's text the models were read from
	models                 []serving.ModelConfig
	configPoll             time.Duration
	allowUnavailableLabels bool
}

func parseServeFlags(args []string) (*serveConfig, error) {
	fs := newFlagSet("serve")
	base := fs.String("model-base-path", "", "folder holding one folder per model (models/<name>/<version>)")
	var names opList
	fs.Var(&names, "model-name", "serve only this model folder under --model-base-path (repeatable)")
	host := fs.String("rest-host", "127.0.0.1", "address the REST API listens on")
	port := fs.String("rest-port", "8501", "port of the REST API (0: any free port; off: no REST server)")
	grpcHost := fs.String("grpc-host", "127.0.0.1", "address the gRPC API listens on")
	grpcPort := fs.String("grpc-port", "8500", "port of the gRPC API (0: any free port; off: no gRPC server)")
	policy := fs.String("model-version-policy", string(serving.PolicyLatest), "latest, all or specific")
	versions := fs.String("versions", "", "versions to serve with --model-version-policy specific (1,2)")
	maxBytes := fs.String("max-request-bytes", strconv.Itoa(serveDefaultMaxBytes), "refuse a request body longer than this")
	timeout := fs.String("request-timeout", "30s", "deadline of one request (reading and answering it)")
	poll := fs.String("poll-interval", "1s", "how often the model folders are checked for new versions")
	skip := fs.Bool(strings.TrimPrefix(model.SkipVerificationFlag, "--"), false,
		"load versions without checking their files against manifest.json")
	var allow opList
	fs.Var(&allow, strings.TrimPrefix(model.AllowOpFlag, "--"),
		"accept this op although it can read or write files or reach outside the process (repeatable)")
	defaults := serving.DefaultBatchOptions()
	enableBatching := fs.Bool("enable-batching", false, "merge concurrent requests to the same signature into one session run")
	maxBatch := fs.String("max-batch-size", strconv.Itoa(defaults.MaxBatchSize), "most rows of a merged run (with --enable-batching)")
	batchTimeout := fs.String("batch-timeout-micros", strconv.FormatInt(defaults.BatchTimeout.Microseconds(), 10), "microseconds a batch that is not full waits for more requests (with --enable-batching)")
	batchThreads := fs.String("num-batch-threads", strconv.Itoa(defaults.NumBatchThreads), "batches run at once (with --enable-batching; default: the number of CPUs)")
	maxEnqueued := fs.String("max-enqueued-batches", strconv.Itoa(defaults.MaxEnqueuedBatches), "batches waiting per queue before requests are refused (with --enable-batching)")
	var monitoring string
	fs.StringVar(&monitoring, "monitoring-config-file", "", "a tensorflow.serving.MonitoringConfig in text format; with prometheus_config { enable: true } the REST port serves the metrics")
	fs.StringVar(&monitoring, "monitoring_config_file", "", "TensorFlow Serving's name of --monitoring-config-file")
	cors := fs.Bool("enable-cors", false, "add CORS headers (Access-Control-Allow-Origin *) to every REST answer")
	var configFile, configPoll string
	fs.StringVar(&configFile, "model-config-file", "", "a tensorflow.serving.ModelServerConfig in text format: the models, their folders, version policies and labels")
	fs.StringVar(&configFile, "model_config_file", "", "TensorFlow Serving's name of --model-config-file")
	fs.StringVar(&configPoll, "model-config-file-poll-wait-seconds", "0", "seconds between reads of --model-config-file (0: only at start)")
	fs.StringVar(&configPoll, "model_config_file_poll_wait_seconds", "0", "TensorFlow Serving's name of --model-config-file-poll-wait-seconds")
	allowLabels := fs.Bool("allow-version-labels-for-unavailable-models", false, "let a new version label point at a version not yet available")
	var batchingFile string
	fs.StringVar(&batchingFile, "batching-parameters-file", "", "a tensorflow.serving.BatchingParameters in text format (with --enable-batching)")
	fs.StringVar(&batchingFile, "batching_parameters_file", "", "TensorFlow Serving's name of --batching-parameters-file")
	fs.BoolVar(allowLabels, "allow_version_labels_for_unavailable_models", false, "TensorFlow Serving's name of --allow-version-labels-for-unavailable-models")
	// TensorFlow Serving's own flags (model_servers/main.cc) with its meanings, so that its
	// command lines run unchanged (tests/CONTRACT.md, "TensorFlow Serving's flags").
	fs.BoolVar(enableBatching, "enable_batching", false, "TensorFlow Serving's name of --enable-batching")
	fs.BoolVar(cors, "rest_api_enable_cors_support", false, "TensorFlow Serving's name of --enable-cors")
	tfPort := fs.String("port", "8500", "TensorFlow Serving's --port: the gRPC API's port, 0: none")
	tfRestPort := fs.String("rest_api_port", "0", "TensorFlow Serving's --rest_api_port: the REST API's port, 0: none")
	tfModelName := fs.String("model_name", "default", "TensorFlow Serving's --model_name: the name of --model_base_path's model")
	tfModelBase := fs.String("model_base_path", "", "TensorFlow Serving's --model_base_path: the folder of one model's version folders")
	tfPoll := fs.String("file_system_poll_wait_seconds", "1", "TensorFlow Serving's: seconds between polls of the model folders, 0: only at start")
	tfTimeout := fs.String("rest_api_timeout_in_ms", "30000", "TensorFlow Serving's name of --request-timeout, in milliseconds")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	for _, pair := range [][2]string{
		{"grpc-port", "port"}, {"rest-port", "rest_api_port"}, {"poll-interval", "file_system_poll_wait_seconds"},
		{"request-timeout", "rest_api_timeout_in_ms"}, {"enable-batching", "enable_batching"},
		{"enable-cors", "rest_api_enable_cors_support"}, {"monitoring-config-file", "monitoring_config_file"},
		{"model-base-path", "model_base_path"}, {"model-name", "model_base_path"}, {"model-base-path", "model_name"},
		{"model-config-file", "model_config_file"},
		{"model-config-file-poll-wait-seconds", "model_config_file_poll_wait_seconds"},
		{"allow-version-labels-for-unavailable-models", "allow_version_labels_for_unavailable_models"},
		{"batching-parameters-file", "batching_parameters_file"},
	} {
		if isSet(fs, pair[0]) && isSet(fs, pair[1]) {
			return nil, usagef("serve: --%s and TensorFlow Serving's --%s cannot be combined", pair[0], pair[1])
		}
	}
	pollOnce, err := tfServingFlags(fs, tfPort, tfRestPort, tfPoll, tfTimeout, grpcPort, port, poll, timeout)
	if err != nil {
		return nil, err
	}
	cfg := &serveConfig{host: *host, grpcHost: *grpcHost, skipVerification: *skip, allowOps: allow, cors: *cors,
		allowUnavailableLabels: *allowLabels}
	var abs string
	var single *serving.ModelConfig // TF Serving's one model (--model_base_path)
	switch {
	case configFile != "":
		// TensorFlow Serving's --model_config_file: every model, its folder, policy and labels.
		for _, f := range []string{"model-base-path", "model-name", "model_base_path", "model_name", "model-version-policy", "versions"} {
			if isSet(fs, f) {
				return nil, usagef("serve: --%s cannot be combined with --model-config-file, which configures every model", f)
			}
		}
		if cfg.models, cfg.configText, err = readModelConfig(configFile); err != nil {
			return nil, err
		}
		cfg.configFile = configFile
		n, perr := strconv.ParseInt(configPoll, 10, 32)
		if perr != nil || n < 0 {
			return nil, usagef("serve: invalid --model-config-file-poll-wait-seconds %q: expected an integer >= 0", status.Bound(configPoll))
		}
		cfg.configPoll = time.Duration(n) * time.Second
	case isSet(fs, "model-config-file-poll-wait-seconds") || isSet(fs, "model_config_file_poll_wait_seconds"):
		return nil, usagef("serve: --model-config-file-poll-wait-seconds needs --model-config-file")
	case isSet(fs, "model_base_path"):
		// TensorFlow Serving's one model: its name and the folder of its versions.
		if abs, err = pathtext.Absolute(*tfModelBase); err != nil {
			return nil, usagef("serve: --model_base_path %s: %v", *tfModelBase, err)
		}
		if !isFolder(abs) {
			return nil, status.New(status.NotFound, "serve: --model_base_path %s is not a folder", abs)
		}
		if !serving.ValidModelName(*tfModelName) {
			return nil, usagef("serve: invalid --model_name %q: expected a name without / or :", status.Bound(*tfModelName))
		}
		single = &serving.ModelConfig{Name: *tfModelName, Dir: abs}
	case isSet(fs, "model_name"):
		return nil, usagef("serve: --model_name needs --model_base_path, the folder of that model's versions")
	case *base == "":
		return nil, usagef("serve: --model-base-path DIR is required")
	}
	if cfg.models == nil && single == nil {
		if abs, err = pathtext.Absolute(*base); err != nil {
			return nil, usagef("serve: --model-base-path %s: %v", *base, err)
		}
		if !isFolder(abs) {
			return nil, usagef("serve: --model-base-path %s is not a folder", abs)
		}
		cfg.base = abs
	}
	seen := map[string]bool{}
	for _, n := range names {
		if !serving.ValidModelName(n) {
			return nil, usagef("serve: invalid --model-name %q: expected the name of a folder under --model-base-path", status.Bound(n))
		}
		if dir := pathtext.Join(abs, n); !isFolder(dir) {
			return nil, status.New(status.NotFound, "serve: --model-name %s: %s is not a folder", n, dir)
		}
		if !seen[n] {
			seen[n] = true
			cfg.names = append(cfg.names, n)
		}
	}
	if cfg.port, err = parsePort("rest-port", *port); err != nil {
		return nil, err
	}
	if cfg.grpcPort, err = parsePort("grpc-port", *grpcPort); err != nil {
		return nil, err
	}
	if cfg.port < 0 && cfg.grpcPort < 0 {
		return nil, usagef("serve: --rest-port off and --grpc-port off: nothing to serve")
	}
	var ok bool
	if cfg.policy, ok = serving.ParsePolicy(*policy); !ok {
		return nil, usagef("serve: invalid --model-version-policy %q: expected latest, all or specific", status.Bound(*policy))
	}
	switch {
	case cfg.policy == serving.PolicySpecific && *versions == "":
		return nil, usagef("serve: --model-version-policy specific needs --versions (such as 1,2)")
	case cfg.policy != serving.PolicySpecific && isSet(fs, "versions"):
		return nil, usagef("serve: --versions needs --model-version-policy specific")
	case *versions != "":
		if cfg.versions, ok = serving.ParseVersions(*versions); !ok {
			return nil, usagef("serve: invalid --versions %q: expected positive integers separated by commas", status.Bound(*versions))
		}
	}
	n, err := strconv.ParseInt(*maxBytes, 10, 64)
	if err != nil || n <= 0 {
		return nil, usagef("serve: invalid --max-request-bytes %q: expected a positive integer", status.Bound(*maxBytes))
	}
	cfg.maxRequestBytes = n
	if cfg.requestTimeout, err = positiveDuration("request-timeout", *timeout); err != nil {
		return nil, err
	}
	if pollOnce { // --file_system_poll_wait_seconds 0: no polling after the start
		cfg.pollInterval = 0
	} else if cfg.pollInterval, err = positiveDuration("poll-interval", *poll); err != nil {
		return nil, err
	}
	for _, f := range []string{"max-batch-size", "batch-timeout-micros", "num-batch-threads", "max-enqueued-batches"} {
		if !*enableBatching && isSet(fs, f) {
			return nil, usagef("serve: --%s needs --enable-batching", f)
		}
		if batchingFile != "" && isSet(fs, f) {
			return nil, usagef("serve: --%s cannot be combined with --batching-parameters-file, which sets the batching parameters", f)
		}
	}
	if batchingFile != "" && !*enableBatching {
		return nil, usagef("serve: --batching-parameters-file needs --enable-batching")
	}
	if *enableBatching {
		b := defaults
		for _, p := range []struct {
			name, value string
			min         int64
			dst         *int
		}{
			{"max-batch-size", *maxBatch, 1, &b.MaxBatchSize},
			{"num-batch-threads", *batchThreads, 1, &b.NumBatchThreads},
			{"max-enqueued-batches", *maxEnqueued, 1, &b.MaxEnqueuedBatches},
		} {
			v, err := strconv.ParseInt(p.value, 10, 32)
			if err != nil || v < p.min {
				return nil, usagef("serve: invalid --%s %q: expected a positive integer", p.name, status.Bound(p.value))
			}
			*p.dst = int(v)
		}
		us, err := strconv.ParseInt(*batchTimeout, 10, 64)
		if err != nil || us < 0 || us > int64(time.Hour/time.Microsecond) {
			return nil, usagef("serve: invalid --batch-timeout-micros %q: expected an integer 0..3600000000", status.Bound(*batchTimeout))
		}
		b.BatchTimeout = time.Duration(us) * time.Microsecond
		if batchingFile != "" {
			text, err := readFlagFile("batching-parameters-file", batchingFile)
			if err != nil {
				return nil, err
			}
			if b, err = serving.ParseBatchingParameters(text, b); err != nil {
				return nil, usagef("serve: --batching-parameters-file %s: %v", status.Bound(batchingFile), err)
			}
		}
		cfg.batching = &b
	}
	if monitoring != "" {
		if cfg.metricsPath, err = monitoringPath(monitoring, cfg.port >= 0); err != nil {
			return nil, err
		}
	}
	if single != nil {
		single.Policy = serving.VersionPolicy{Kind: cfg.policy, Versions: cfg.versions}
		cfg.models = []serving.ModelConfig{*single}
	}
	if cfg.base != "" && len(cfg.names) == 0 && len(serving.DiscoverModels(abs)) == 0 {
		return nil, status.New(status.NotFound, "serve: no model under --model-base-path %s: expected folders <name>/<version>/%s", abs, model.SavedModelFile)
	}
	return cfg, nil
}

// pollModelConfig reads --model-config-file again every --model-config-file-poll-wait-seconds
// until ctx is done, and applies it (Manager.Reconfigure) when its text has changed; a file
// that cannot be read or parsed, or a label the rule refuses, is one log line and the server
// goes on with what it serves.
func pollModelConfig(ctx context.Context, cfg *serveConfig, mgr *serving.Manager, logs *lineLog) {
	last := cfg.configText // what the server started from: any later change is applied
	ticker := time.NewTicker(cfg.configPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		text, err := os.ReadFile(cfg.configFile)
		if err != nil || bytes.Equal(text, last) {
			if err != nil {
				logs.Logf("model config %s: %v; serving the config read before", cfg.configFile, err)
			}
			continue
		}
		last = text
		models, err := serving.ParseModelServerConfig(text)
		if err == nil {
			logs.Logf("model config %s changed: %d models", cfg.configFile, len(models))
			err = mgr.Reconfigure(models)
		}
		if err != nil {
			logs.Logf("model config %s: %v", cfg.configFile, err)
		}
	}
}

// readFlagFile reads the file a serve flag names: one that does not exist is NOT_FOUND
// ("serve: --FLAG FILE does not exist"), one that cannot be read INVALID_ARGUMENT (fileCode).
func readFlagFile(flagName, file string) ([]byte, error) {
	text, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, status.New(status.NotFound, "serve: --%s %s does not exist", flagName, status.Bound(file))
	}
	if err != nil {
		return nil, status.New(fileCode(err), "serve: cannot read --%s %s: %v", flagName, status.Bound(file), err)
	}
	return text, nil
}

// readModelConfig reads and parses --model-config-file (serving.ParseModelServerConfig): a
// missing file is NOT_FOUND, one that cannot be read or parsed INVALID_ARGUMENT.
func readModelConfig(file string) ([]serving.ModelConfig, []byte, error) {
	text, err := readFlagFile("model-config-file", file)
	if err != nil {
		return nil, nil, err
	}
	models, err := serving.ParseModelServerConfig(text)
	if err != nil {
		return nil, nil, status.New(status.CodeOf(err), "serve: --model-config-file %s: %v", status.Bound(file), err)
	}
	return models, text, nil
}

// tfServingFlags turns the TensorFlow Serving flags that were given into the values of the
// project's own flags, with TF Serving's meanings: --port and --rest_api_port 0 are "off",
// --rest_api_timeout_in_ms is milliseconds, and --file_system_poll_wait_seconds 0, which no
// --poll-interval can say, is pollOnce (the folders are read at start only). Each must be a
// non-negative integer (the timeout a positive one).
func tfServingFlags(fs *flag.FlagSet, tfPort, tfRestPort, tfPoll, tfTimeout, grpcPort, restPort, poll, timeout *string) (pollOnce bool, err error) {
	number := func(name, value string, min int64) (int64, error) {
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n < min {
			return 0, usagef("serve: invalid --%s %q: expected an integer >= %d", name, status.Bound(value), min)
		}
		return n, nil
	}
	for _, p := range []struct {
		name      string
		from, dst *string
	}{{"port", tfPort, grpcPort}, {"rest_api_port", tfRestPort, restPort}} {
		if !isSet(fs, p.name) {
			continue
		}
		n, err := number(p.name, *p.from, 0)
		if err != nil || n > 65535 {
			return false, usagef("serve: invalid --%s %q: expected a port number 1..65535, or 0 for none", p.name, status.Bound(*p.from))
		}
		*p.dst = strconv.FormatInt(n, 10)
		if n == 0 {
			*p.dst = "off"
		}
	}
	if isSet(fs, "file_system_poll_wait_seconds") {
		n, err := number("file_system_poll_wait_seconds", *tfPoll, 0)
		if err != nil {
			return false, err
		}
		*poll = strconv.FormatInt(n, 10) + "s"
		pollOnce = n == 0
	}
	if isSet(fs, "rest_api_timeout_in_ms") {
		n, err := number("rest_api_timeout_in_ms", *tfTimeout, 1)
		if err != nil {
			return false, err
		}
		*timeout = strconv.FormatInt(n, 10) + "ms"
	}
	return pollOnce, nil
}

// monitoringPath reads --monitoring-config-file (TensorFlow Serving's MonitoringConfig) and
// returns the path of the metrics on the REST port, "" when prometheus_config does not enable
// them. The file must exist (NOT_FOUND) and parse (INVALID_ARGUMENT); enabled metrics need
// the REST API, and their path must not be one of its routes.
func monitoringPath(file string, rest bool) (string, error) {
	text, err := readFlagFile("monitoring-config-file", file)
	if err != nil {
		return "", err
	}
	cfg, err := serving.ParseMonitoringConfig(text)
	if err != nil {
		return "", usagef("serve: --monitoring-config-file %s: %v", status.Bound(file), err)
	}
	switch {
	case !cfg.PrometheusEnable:
		return "", nil
	case !rest:
		return "", usagef("serve: --monitoring-config-file %s enables Prometheus, which is served on the REST port: --rest-port is off", status.Bound(file))
	case serving.IsRoute(cfg.PrometheusPath):
		return "", usagef("serve: --monitoring-config-file %s: prometheus_config.path %s is a route of the REST API", status.Bound(file), status.Bound(cfg.PrometheusPath))
	}
	return cfg.PrometheusPath, nil
}

// parsePort parses a port flag: 0..65535, or "off" (-1).
// isFolder reports whether path names a folder (a symbolic link to one included).
func isFolder(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func parsePort(flagName, s string) (int, error) {
	if s == "off" {
		return -1, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		return 0, usagef("serve: invalid --%s %q: expected a port number 0..65535 or off", flagName, status.Bound(s))
	}
	return p, nil
}

func positiveDuration(flagName, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("serve: invalid --%s %q: expected a positive duration such as 30s or 500ms", flagName, status.Bound(s))
	}
	return d, nil
}

// lineLog writes whole lines "go_consumer: <message>" to one writer from many goroutines.
type lineLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineLog) Logf(format string, args ...any) {
	line := consumerName + ": " + oneLine(fmt.Sprintf(format, args...)) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}

// Write lets net/http's error log go through the same lines.
func (l *lineLog) Write(p []byte) (int, error) {
	l.Logf("http: %s", p)
	return len(p), nil
}

func cmdServe(args []string, stderr io.Writer) error {
	cfg, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	logs := &lineLog{w: stderr}
	// Signals are caught from the start: one during the initial loading ends the command
	// once that loading is done, never the process by the signal itself.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	metrics := serving.NewMetrics()
	var sched *serving.Scheduler
	if cfg.batching != nil {
		opts := *cfg.batching
		opts.Metrics = metrics
		sched = serving.NewScheduler(opts)
		defer sched.Close() // after mgr.Close: every version's batches have run
	}
	mgr := serving.NewManager(serving.Options{
		BasePath:               cfg.base,
		ModelNames:             cfg.names,
		Models:                 cfg.models,
		AllowUnavailableLabels: cfg.allowUnavailableLabels,
		Policy:                 cfg.policy,
		Versions:               cfg.versions,
		Load:                   serving.NewLoader(cfg.skipVerification, cfg.allowOps),
		Logf:                   logs.Logf,
		Batching:               sched,
		Metrics:                metrics,
	})
	// TensorFlow Serving's start-up gating (server_core.cc, WaitUntilModelsAvailable): the
	// ports open only once every initial model has a version available; a model that has
	// none is an error.
	var labelErr error
	if cfg.models != nil {
		labelErr = mgr.Reconfigure(cfg.models) // loads, then sets the version labels
	} else {
		mgr.Poll()
	}
	if ctx.Err() != nil {
		mgr.Close()
		logs.Logf("stopped before serving")
		return nil
	}
	if err := mgr.Unavailable(); err != nil {
		mgr.Close()
		return status.New(status.CodeOf(err), "serve: cannot start: %v", err)
	}
	if labelErr != nil {
		mgr.Close()
		return status.New(status.CodeOf(labelErr), "serve: cannot start: --model-config-file %s: %v", status.Bound(cfg.configFile), labelErr)
	}

	var ln, grpcLn net.Listener
	if cfg.port >= 0 {
		addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
		if ln, err = net.Listen("tcp", addr); err != nil {
			mgr.Close()
			return fmt.Errorf("serve: cannot listen on %s: %v", addr, err)
		}
		defer ln.Close()
	}
	if cfg.grpcPort >= 0 {
		addr := net.JoinHostPort(cfg.grpcHost, strconv.Itoa(cfg.grpcPort))
		if grpcLn, err = net.Listen("tcp", addr); err != nil {
			mgr.Close()
			return fmt.Errorf("serve: cannot listen on %s (gRPC): %v", addr, err)
		}
		defer grpcLn.Close()
	}

	var served []string
	for _, name := range mgr.Models() {
		numbers, _ := mgr.Available(name)
		list := make([]string, len(numbers))
		for i, n := range numbers {
			list[i] = strconv.FormatInt(n, 10)
		}
		what := "no version available"
		if len(list) == 1 {
			what = "version " + list[0]
		} else if len(list) > 1 {
			what = "versions " + strings.Join(list, ", ")
		}
		served = append(served, fmt.Sprintf("%s (%s)", name, what))
	}
	if len(served) == 0 {
		served = append(served, "no model yet")
	}
	var apisServed []string
	if ln != nil {
		apisServed = append(apisServed, fmt.Sprintf("the REST API on http://%s", ln.Addr()))
	}
	if grpcLn != nil {
		apisServed = append(apisServed, fmt.Sprintf("the gRPC API on %s", grpcLn.Addr()))
	}
	batching := ""
	if b := cfg.batching; b != nil {
		batching = fmt.Sprintf(", batching: --max-batch-size %d --batch-timeout-micros %d --num-batch-threads %d --max-enqueued-batches %d",
			b.MaxBatchSize, b.BatchTimeout.Microseconds(), b.NumBatchThreads, b.MaxEnqueuedBatches)
	}
	if cfg.metricsPath != "" {
		batching += ", Prometheus metrics at " + cfg.metricsPath
	}
	policy := "policy " + string(cfg.policy)
	if cfg.configFile != "" {
		policy = "models and policies of " + cfg.configFile
	}
	logs.Logf("serving %s (%s%s): %s", strings.Join(apisServed, " and "), policy, batching, strings.Join(served, ", "))

	server := &serving.Server{
		Manager:         mgr,
		MaxRequestBytes: cfg.maxRequestBytes,
		RequestTimeout:  cfg.requestTimeout,
		Logf:            logs.Logf,
		Metrics:         metrics,
		MetricsPath:     cfg.metricsPath,
		CORS:            cfg.cors,
	}
	httpServer := &http.Server{
		Handler:           server,
		ReadHeaderTimeout: cfg.requestTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logs, "", 0),
	}

	grpcAPI := &serving.GRPC{Manager: mgr, RequestTimeout: cfg.requestTimeout, Logf: logs.Logf, Metrics: metrics}
	grpcServer := serving.NewGRPCServer(grpcAPI, cfg.maxRequestBytes)
	health := serving.RegisterHealth(grpcServer)
	health.Resume() // the initial models are available (the gating above)

	serveErr := make(chan error, 1)
	if ln != nil {
		go func() { serveErr <- httpServer.Serve(ln) }()
	}
	grpcErr := make(chan error, 1)
	if grpcLn != nil {
		go func() { grpcErr <- grpcServer.Serve(grpcLn) }()
	}

	pollCtx, stopPolling := context.WithCancel(context.Background())
	configPolled := make(chan struct{})
	go func() {
		defer close(configPolled)
		if cfg.configPoll == 0 {
			<-pollCtx.Done()
			return
		}
		pollModelConfig(pollCtx, cfg, mgr, logs)
	}()
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		if cfg.pollInterval == 0 { // --file_system_poll_wait_seconds 0: the folders were read once, at start
			<-pollCtx.Done()
			return
		}
		ticker := time.NewTicker(cfg.pollInterval)
		defer ticker.Stop()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-ticker.C:
				mgr.Poll()
			}
		}
	}()

	var failed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		failed = fmt.Errorf("serve: the REST server stopped: %v", err)
	case err := <-grpcErr:
		failed = fmt.Errorf("serve: the gRPC server stopped: %v", err)
	}
	stop()            // a second signal ends the process at once
	server.Drain()    // GET /readyz answers 503 from now on
	health.Shutdown() // and the gRPC health service NOT_SERVING
	if failed == nil {
		logs.Logf("shutting down: no new connections; finishing the requests in flight")
		var wg sync.WaitGroup
		if grpcLn != nil {
			wg.Add(1)
			go func() { defer wg.Done(); grpcServer.GracefulStop() }()
		}
		if ln != nil {
			if err := httpServer.Shutdown(context.Background()); err != nil {
				failed = fmt.Errorf("serve: shutting down: %v", err)
			}
			if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && failed == nil {
				failed = fmt.Errorf("serve: the REST server stopped: %v", err)
			}
		}
		wg.Wait()
	} else {
		grpcServer.Stop()
		if ln != nil {
			httpServer.Close()
		}
	}
	stopPolling()
	<-polled
	<-configPolled
	server.Wait()
	grpcAPI.Wait()
	mgr.Close()
	if failed == nil {
		logs.Logf("stopped")
	}
	return failed
}
