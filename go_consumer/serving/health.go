package serving

import (
	"context"
	"sync"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/tfspb/apis"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"
)

// HealthServices are the service names the gRPC health service reports on (besides "", the
// server as a whole): TensorFlow Serving's PredictionService and ModelService, as its
// --enable_grpc_healthcheck_service names them.
var HealthServices = []string{"", apis.PredictionService_ServiceDesc.ServiceName, apis.ModelService_ServiceDesc.ServiceName}

// Health is the standard gRPC health service, grpc.health.v1.Health (the protocol of
// google.golang.org/grpc/health/grpc_health_v1, health/v1/health.proto), for
// HealthServices: NOT_SERVING until Resume, SERVING then, and NOT_SERVING for good from
// Shutdown on (tests/CONTRACT.md, "Health and start-up"). Check answers NOT_FOUND for any
// other name; Watch sends the status now and at every change (SERVICE_UNKNOWN for other
// names). Unlike grpc-go's health.Server, Shutdown also ends every Watch stream once it has
// sent NOT_SERVING, so that a watching client (a load balancer's health checks) never holds
// up the server's graceful stop.
type Health struct {
	healthpb.UnimplementedHealthServer

	mu      sync.Mutex
	serving bool
	ended   bool
	changed chan struct{} // closed and replaced at every change
}

// RegisterHealth registers a new Health on s and returns it, NOT_SERVING.
func RegisterHealth(s *grpc.Server) *Health {
	h := &Health{changed: make(chan struct{})}
	healthpb.RegisterHealthServer(s, h)
	return h
}

// Resume marks every one of HealthServices SERVING (unless Shutdown was called).
func (h *Health) Resume() { h.set(true, false) }

// Shutdown marks every one of HealthServices NOT_SERVING for good and ends the Watch streams.
func (h *Health) Shutdown() { h.set(false, true) }

func (h *Health) set(serving, end bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return
	}
	h.serving, h.ended = serving, end
	close(h.changed)
	h.changed = make(chan struct{})
}

// state returns the status of a service name (ok false for a name it does not report on),
// whether the service has ended, and the channel closed at the next change.
func (h *Health) state(service string) (st healthpb.HealthCheckResponse_ServingStatus, ok, ended bool, changed <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st = healthpb.HealthCheckResponse_SERVICE_UNKNOWN
	for _, name := range HealthServices {
		if name == service {
			ok = true
			st = healthpb.HealthCheckResponse_NOT_SERVING
			if h.serving {
				st = healthpb.HealthCheckResponse_SERVING
			}
		}
	}
	return st, ok, h.ended, h.changed
}

// Check answers the status of one service; NOT_FOUND for a name it does not report on.
func (h *Health) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, ok, _, _ := h.state(req.GetService())
	if !ok {
		return nil, grpcstatus.Error(codes.NotFound, "unknown service")
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// Watch sends the status of one service now and after every change, until the client goes
// away or Shutdown (after its NOT_SERVING has been sent).
func (h *Health) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	for {
		st, _, ended, changed := h.state(req.GetService())
		if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
			return err
		}
		if ended {
			return nil
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return grpcstatus.FromContextError(stream.Context().Err()).Err()
		}
	}
}

// List answers the status of every service it reports on (grpc.health.v1's List).
func (h *Health) List(_ context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	for _, name := range HealthServices {
		st, _, _, _ := h.state(name)
		out.Statuses[name] = &healthpb.HealthCheckResponse{Status: st}
	}
	return out, nil
}
