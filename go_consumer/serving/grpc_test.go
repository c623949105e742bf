package serving

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// TestGRPCStatusOfEveryCode: the gRPC status of an error has the gRPC code of its canonical
// code (the table's grpc_code), through wrapping, and its message on one line; an error
// without a code is INTERNAL; a gRPC status (a cancelled call) is kept.
func TestGRPCStatusOfEveryCode(t *testing.T) {
	for _, code := range status.Codes() {
		err := grpcError(fmt.Errorf("wrapped:\n%w", status.New(code, "refused")))
		if s := grpcstatus.Convert(err); s.Code() != code.GRPCCode() || s.Message() != "wrapped: refused" {
			t.Errorf("%s: %v %q; want %v", code, s.Code(), s.Message(), code.GRPCCode())
		}
	}
	if got := grpcstatus.Code(grpcError(errors.New("boom"))); got != codes.Internal {
		t.Errorf("a plain error: %v", got)
	}
	cancelled := grpcstatus.Error(codes.Canceled, "gone")
	if got := grpcError(cancelled); got != cancelled {
		t.Errorf("a gRPC status: %v", got)
	}
}
