package model

import (
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// SessionConfigProto returns the ConfigProto that every TensorFlow session this consumer
// creates is made with (tests/CONTRACT.md, "Numeric configuration"): Grappler's constant
// folding off (graph_options.rewrite_options.constant_folding = RewriterConfig.OFF), the
// given intra_op_parallelism_threads and inter_op_parallelism_threads (0 leaves the choice
// to TensorFlow: the number of cores), and every other option TensorFlow's default.
//
// The contract turns constant folding off because it does more than precompute constants:
// it rewrites x / c into x * (1 / c) for a constant c, and whether c is a constant differs
// between the Python reference's function call, a SavedModel session and a frozen graph (where
// variables are Const nodes), so with it on the formats and languages differ by a few ULP.
// It is the same configuration as the Python reference's tf_runtime.session_config() and the
// Java consumer's SessionConfig.
func SessionConfigProto(intraOpThreads, interOpThreads int32) *corepb.ConfigProto {
	return &corepb.ConfigProto{
		IntraOpParallelismThreads: intraOpThreads,
		InterOpParallelismThreads: interOpThreads,
		GraphOptions: &corepb.GraphOptions{
			RewriteOptions: &corepb.RewriterConfig{
				ConstantFolding: corepb.RewriterConfig_OFF,
			},
		},
	}
}

// SessionConfig returns [SessionConfigProto] serialized, as TF_SetConfig takes it. Thread counts must be 0 or more.
func SessionConfig(intraOpThreads, interOpThreads int32) ([]byte, error) {
	if intraOpThreads < 0 || interOpThreads < 0 {
		return nil, status.New(status.InvalidArgument, "thread counts must be 0 or more, got intra-op %d and inter-op %d", intraOpThreads, interOpThreads)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(SessionConfigProto(intraOpThreads, interOpThreads))
	if err != nil {
		return nil, status.New(status.Internal, "cannot serialize the session ConfigProto: %v", err)
	}
	return b, nil
}
