package serving

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// TestRequestMetrics: the REST edge counts every request to a model by the canonical code of
// its answer and times the successful ones; the scrape path serves them in text format.
func TestRequestMetrics(t *testing.T) {
	s, _, _ := testServer(t)
	s.Metrics, s.MetricsPath = NewMetrics(), PrometheusPath
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/models/linear:predict", "1"},
		{"POST", "/v1/models/linear:predict", "1"},
		{"POST", "/v1/models/linear:predict", "bad"},
		{"POST", "/v1/models/linear:classify", ""},
		{"GET", "/v1/models/linear", ""},
		{"GET", "/v1/models/nope", ""},
		{"GET", "/readyz", ""}, // no model: not counted
	} {
		do(t, s, r.method, r.path, r.body)
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"linear", "OK"}, 3},
		{[]string{"linear", "INVALID_ARGUMENT"}, 1},
		{[]string{"linear", "UNIMPLEMENTED"}, 1},
		{[]string{"nope", "NOT_FOUND"}, 1},
	} {
		if got := testutil.ToFloat64(s.Metrics.requestCount.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("request_count%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(s.Metrics.requestCount); n != 4 {
		t.Errorf("%d request_count series", n)
	}
	if n := testutil.CollectAndCount(s.Metrics.requestLatency); n != 2 { // predict and status, OK only
		t.Errorf("%d request_latency series", n)
	}

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", PrometheusPath, nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, line := range []string{
		"# TYPE :tensorflow:serving:request_count counter",
		`:tensorflow:serving:request_count{model_name="linear",status="OK"} 3`,
		"# TYPE :tensorflow:serving:request_latency histogram",
		`:tensorflow:serving:request_latency_count{API="predict",entrypoint="REST",model_name="linear"} 2`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("scrape lacks %q", line)
		}
	}
}

// TestLoadAndBatchingMetrics: load attempts by outcome, and the batching metrics of one
// merged run of two requests.
func TestLoadAndBatchingMetrics(t *testing.T) {
	m := NewMetrics()
	m.Load("/m/linear/1", nil, 1500*time.Microsecond)
	m.Load("/m/linear/2", errors.New("broken"), time.Millisecond)
	if got := testutil.ToFloat64(m.loadAttempts.WithLabelValues("/m/linear/1", "success")); got != 1 {
		t.Errorf("success attempts %v", got)
	}
	if got := testutil.ToFloat64(m.loadAttempts.WithLabelValues("/m/linear/2", "fail")); got != 1 {
		t.Errorf("failed attempts %v", got)
	}
	if got := testutil.ToFloat64(m.loadLatency.WithLabelValues("/m/linear/1")); got != 1500 {
		t.Errorf("load latency %v µs", got)
	}
	now := time.Now()
	m.enqueued(3)
	m.enqueued(5)
	m.batchRun("", 8, []time.Time{now.Add(-2 * time.Millisecond), now.Add(-time.Millisecond)}, now)
	if got := testutil.ToFloat64(m.wrappedRunCount); got != 1 {
		t.Errorf("wrapped runs %v", got)
	}
	for _, c := range []struct {
		text string
	}{
		{":tensorflow:serving:batching_session:input_batch_size_sum 8\n"},
		{":tensorflow:serving:batching_session:input_batch_size_count 2\n"},
		{":tensorflow:serving:batching_session:processed_batch_size_sum 8\n"},
		{`:tensorflow:serving:batching_session:queuing_latency_sum{thread_pool_name="batch_threads"} 3000` + "\n"},
		{`:tensorflow:serving:batching_session:queuing_latency_count{thread_pool_name="batch_threads"} 2` + "\n"},
	} {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if !strings.Contains(rec.Body.String(), c.text) {
			t.Errorf("scrape lacks %q", c.text)
		}
	}
	var none *Metrics // records nothing, never panics
	none.Request("x", "predict", "REST", "OK", time.Second, time.Second)
	none.Load("/x", nil, time.Second)
	none.enqueued(1)
	none.batchRun("", 1, nil, now)
}

func TestCodeName(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "OK"},
		{status.New(status.NotFound, "x"), "NOT_FOUND"},
		{grpcstatus.Error(codes.Canceled, "gone"), "CANCELLED"},
		{grpcstatus.Error(codes.InvalidArgument, "bad"), "INVALID_ARGUMENT"},
		{errors.New("plain"), "INTERNAL"},
	} {
		if got := CodeName(c.err); got != c.want {
			t.Errorf("CodeName(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestParseMonitoringConfig(t *testing.T) {
	for _, c := range []struct {
		text   string
		enable bool
		path   string
		err    string
	}{
		{`prometheus_config { enable: true, path: "/metrics" }`, true, "/metrics", ""},
		{"prometheus_config {\n  enable: true\n}\n", true, PrometheusPath, ""},
		{``, false, PrometheusPath, ""},
		{`prometheus_config { enable: false }`, false, PrometheusPath, ""},
		{`prometheus_config { enabled: true }`, false, "", "not a tensorflow.serving.MonitoringConfig in text format"},
		{`prometheus_config { enable: true, path: "metrics" }`, false, "", `prometheus_config.path "metrics" does not start with /`},
		{`prometheus_config {`, false, "", "not a tensorflow.serving.MonitoringConfig"},
	} {
		cfg, err := ParseMonitoringConfig([]byte(c.text))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || status.CodeOf(err) != status.InvalidArgument {
				t.Errorf("%q: %v, want an error with %q", c.text, err, c.err)
			}
			continue
		}
		if err != nil || cfg.PrometheusEnable != c.enable || cfg.PrometheusPath != c.path {
			t.Errorf("%q: %+v %v", c.text, cfg, err)
		}
	}
}
