package serving

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestUnavailableAndReady: start-up needs every model available (Unavailable names the first
// one without a version and why); readiness later only follows the models that were available.
func TestUnavailableAndReady(t *testing.T) {
	f := newFakeModels(t)
	f.add("linear", "1", false)
	f.add("writer", "1", true)
	m := f.manager(PolicyLatest)
	defer m.Close()
	if err := m.Unavailable(); err == nil || status.CodeOf(err) != status.Unavailable {
		t.Fatalf("before Poll: %v", err)
	}
	m.Poll()
	err := m.Unavailable()
	want := "model writer has no version available: version 1 failed to load: broken: SHA-256 does not match manifest.json"
	if err == nil || err.Error() != want || status.CodeOf(err) != status.Unavailable {
		t.Fatalf("Unavailable() = %v, want %q", err, want)
	}
	// writer never loaded: readiness is not about it.
	if err := m.Ready(); err != nil {
		t.Fatalf("Ready() = %v", err)
	}
	if err := os.RemoveAll(filepath.Join(f.base, "writer")); err != nil {
		t.Fatal(err)
	}
	f.add("writer", "2", false)
	m.Poll()
	if err := m.Unavailable(); err != nil {
		t.Fatalf("after a good version: %v", err)
	}
	m.Close()
	if err := m.Ready(); err == nil || err.Error() != "the server is shutting down" {
		t.Fatalf("after Close: %v", err)
	}
}

// TestReadyAndModelsRoutes: GET /readyz is 200 until Drain, then 503; GET /v1/models lists
// every model with its versions, as GET /v1/models/NAME writes them.
func TestReadyAndModelsRoutes(t *testing.T) {
	s, f, _ := testServer(t)
	f.add("sine", "3", false)
	s.Manager.Poll()
	code, doc := do(t, s, "GET", "/readyz", "")
	if code != 200 || doc["ready"] != true {
		t.Fatalf("GET /readyz: %d %v", code, doc)
	}
	code, doc = do(t, s, "GET", "/v1/models", "")
	if code != 200 {
		t.Fatalf("GET /v1/models: %d %v", code, doc)
	}
	var names []string
	for _, e := range doc["models"].([]any) {
		entry := e.(map[string]any)
		names = append(names, entry["name"].(string))
		if len(entry["model_version_status"].([]any)) == 0 {
			t.Errorf("%v has no version status", entry)
		}
	}
	if strings.Join(names, ",") != "linear,sine" {
		t.Errorf("models %v", names)
	}
	if code, _ := do(t, s, "POST", "/v1/models", ""); code != 400 {
		t.Errorf("POST /v1/models: %d", code)
	}
	s.Drain()
	code, doc = do(t, s, "GET", "/readyz", "")
	if code != 503 || doc["error"] != "the server is shutting down" {
		t.Fatalf("GET /readyz while draining: %d %v", code, doc)
	}
}

// TestHealthService: every service NOT_SERVING until Resume, SERVING then, NOT_SERVING after
// Shutdown; an unknown service is NOT_FOUND (grpc.health.v1). A Watch stream sees every
// change, ends after Shutdown's NOT_SERVING, and so never holds up GracefulStop.
func TestHealthService(t *testing.T) {
	srv := grpc.NewServer()
	h := RegisterHealth(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		r, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("Check(%q): %v", service, err)
		}
		return r.Status
	}
	watch, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: HealthServices[1]})
	if err != nil {
		t.Fatal(err)
	}
	for _, phase := range []struct {
		step func()
		want healthpb.HealthCheckResponse_ServingStatus
	}{
		{func() {}, healthpb.HealthCheckResponse_NOT_SERVING},
		{h.Resume, healthpb.HealthCheckResponse_SERVING},
		{h.Shutdown, healthpb.HealthCheckResponse_NOT_SERVING},
	} {
		phase.step()
		for _, name := range HealthServices {
			if got := check(name); got != phase.want {
				t.Errorf("%q: %v, want %v", name, got, phase.want)
			}
		}
		if r, err := watch.Recv(); err != nil || r.Status != phase.want {
			t.Errorf("Watch: %v %v, want %v", r, err, phase.want)
		}
	}
	if _, err := watch.Recv(); err != io.EOF {
		t.Errorf("Watch after Shutdown: %v, want the end of the stream", err)
	}
	if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"}); err == nil {
		t.Error("an unknown service answered")
	}
	h.Resume() // no effect after Shutdown
	if got := check(""); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Resume after Shutdown: %v", got)
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("GracefulStop did not return")
	}
}
