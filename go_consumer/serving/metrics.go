package serving

import (
	"errors"
	"net/http"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	tslpb "github.com/wamuir/graft/tensorflow/tsl/protobuf/for_core_protos_go_proto"
	grpcstatus "google.golang.org/grpc/status"
)

// PrometheusPath is where TensorFlow Serving serves its metrics on the REST port when a
// MonitoringConfig enables Prometheus without a path (util/prometheus_exporter.cc,
// kPrometheusPath).
const PrometheusPath = "/monitoring/prometheus/metrics"

// batchThreadPool is the thread_pool_name label of the batching metrics: TensorFlow Serving's
// default name of its pool of batch threads.
const batchThreadPool = "batch_threads"

// Metrics are the server's Prometheus metrics with TensorFlow Serving's names, labels, units
// and buckets (tests/CONTRACT.md, "Metrics"): TF Serving exports TensorFlow's monitoring
// registry with every '/' of a metric's path turned into ':' (util/prometheus_exporter.cc),
// and the metrics here are those of servables/tensorflow/util.cc (request count and latency,
// runtime latency), batching/batching_session.cc and batching/batching_util.h (queuing
// latency, batch sizes, wrapped runs) and tensorflow/cc/saved_model/loader.cc (load attempts
// and latency). Latencies are in microseconds. They are built with the official Go client,
// github.com/prometheus/client_golang, on a registry of their own. A nil *Metrics records
// nothing.
type Metrics struct {
	registry *prometheus.Registry
	handler  http.Handler

	requestCount   *prometheus.CounterVec
	requestLatency *prometheus.HistogramVec
	runtimeLatency *prometheus.HistogramVec
	loadAttempts   *prometheus.CounterVec
	loadLatency    *prometheus.CounterVec

	queuingLatency     *prometheus.HistogramVec
	inputBatchSize     prometheus.Histogram
	processedBatchSize prometheus.Histogram
	wrappedRunCount    prometheus.Counter
}

// NewMetrics returns the metrics, registered on a new registry and all zero.
func NewMetrics() *Metrics {
	// Buckets of TensorFlow's monitoring::Buckets::Exponential(scale, growth, count): the
	// upper bounds scale*growth^i, i < count (prometheus.ExponentialBuckets is the same).
	latency := prometheus.ExponentialBuckets(10, 1.8, 33)
	batchSizes := prometheus.ExponentialBuckets(1, 2, 14)
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requestCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ":tensorflow:serving:request_count",
			Help: "The total number of requests.",
		}, []string{"model_name", "status"}),
		requestLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ":tensorflow:serving:request_latency",
			Help:    "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
			Buckets: latency,
		}, []string{"model_name", "API", "entrypoint"}),
		runtimeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ":tensorflow:serving:runtime_latency",
			Help:    "Distribution of wall time (in microseconds) for Tensorflow runtime.",
			Buckets: latency,
		}, []string{"model_name", "API", "runtime"}),
		loadAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ":tensorflow:cc:saved_model:load_attempt_count",
			Help: "The number of times a SavedModel was successfully loaded.",
		}, []string{"model_path", "status"}),
		loadLatency: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ":tensorflow:cc:saved_model:load_latency",
			Help: "Latency in microseconds for SavedModels that were successfully loaded.",
		}, []string{"model_path"}),
		queuingLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ":tensorflow:serving:batching_session:queuing_latency",
			Help:    "Distribution of wall time spent (in microseconds) in queuing",
			Buckets: prometheus.ExponentialBuckets(100, 1.2, 52),
		}, []string{"thread_pool_name"}),
		inputBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    ":tensorflow:serving:batching_session:input_batch_size",
			Help:    "Tracks the batch size distribution on the inputs.",
			Buckets: batchSizes,
		}),
		processedBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    ":tensorflow:serving:batching_session:processed_batch_size",
			Help:    "Tracks the batch size distribution on processing.",
			Buckets: batchSizes,
		}),
		wrappedRunCount: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ":tensorflow:serving:batching_session:wrapped_run_count",
			Help: "Tracks the number of invocation of wrapped Run calls.",
		}),
	}
	m.registry.MustRegister(m.requestCount, m.requestLatency, m.runtimeLatency, m.loadAttempts, m.loadLatency,
		m.queuingLatency, m.inputBatchSize, m.processedBatchSize, m.wrappedRunCount)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// Handler answers a scrape in Prometheus's text exposition format (promhttp).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the registry the metrics are on, for a caller that serves them itself.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// runtimeAPI is the API label of runtime_latency for a request's API label.
var runtimeAPI = map[string]string{"predict": "Predict", "Predict": "Predict"}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// Request records one request to a model: request_count{model_name, status} with the
// canonical code's name of its answer (OK on success), and, on success only (as TF Serving),
// request_latency{model_name, API, entrypoint} with its wall time. api is TF Serving's: the
// REST verb ("predict", "" for the status and metadata routes) or the gRPC method
// ("Predict"); entrypoint is "REST" or "GRPC". runtime, when not zero, is the time the
// request spent in its session run (runtime_latency{model_name, API, runtime="TF1"}, as
// predict_util.cc records it, with API "Predict" on both entrypoints; for a batched request
// the merged run it joined, queueing included).
func (m *Metrics) Request(model, api, entrypoint, code string, took, runtime time.Duration) {
	if m == nil {
		return
	}
	m.requestCount.WithLabelValues(model, code).Inc()
	if code == string(status.OK) {
		m.requestLatency.WithLabelValues(model, api, entrypoint).Observe(micros(took))
	}
	if runtime > 0 {
		// The runtime's API label is the method's gRPC name on both entrypoints, as
		// predict_util.cc records it ("Predict").
		m.runtimeLatency.WithLabelValues(model, runtimeAPI[api], "TF1").Observe(micros(runtime))
	}
}

// Load records one attempt to load a version folder: load_attempt_count{model_path,
// status="success"|"fail"}, and for a success load_latency{model_path} (a counter of
// microseconds, as TensorFlow's loader keeps it).
func (m *Metrics) Load(dir string, err error, took time.Duration) {
	if m == nil {
		return
	}
	if err != nil {
		m.loadAttempts.WithLabelValues(dir, "fail").Inc()
		return
	}
	m.loadAttempts.WithLabelValues(dir, "success").Inc()
	m.loadLatency.WithLabelValues(dir).Add(micros(took))
}

// enqueued records a request entering a batch queue (input_batch_size, its rows).
func (m *Metrics) enqueued(rows int) {
	if m != nil {
		m.inputBatchSize.Observe(float64(rows))
	}
}

// batchRun records one session run of a batch: processed_batch_size (its rows),
// wrapped_run_count, and the queuing latency of each request in it (from enqueueing to the
// start of the run) under the pool's thread_pool_name ("" for batch_threads).
func (m *Metrics) batchRun(pool string, rows int, enqueued []time.Time, started time.Time) {
	if m == nil {
		return
	}
	if pool == "" {
		pool = batchThreadPool
	}
	m.processedBatchSize.Observe(float64(rows))
	m.wrappedRunCount.Inc()
	for _, t := range enqueued {
		m.queuingLatency.WithLabelValues(pool).Observe(micros(started.Sub(t)))
	}
}

// CodeName is the canonical code's name of an answer's error, as TensorFlow's error::Code
// names it (the status label): "OK" for nil, the code of a *status.Error, the gRPC status's
// code (CANCELLED, ...) of one that already is a gRPC status, else INTERNAL.
func CodeName(err error) string {
	var e *status.Error
	if err == nil || errors.As(err, &e) {
		return string(status.CodeOf(err))
	}
	if s, ok := grpcstatus.FromError(err); ok {
		return tslpb.Code(s.Code()).String()
	}
	return string(status.Internal)
}
