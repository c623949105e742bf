// Package tfspb holds, in its subpackages, the Go code of the protocol buffers the Go consumer
// speaks and that graft does not generate: apis and config are TensorFlow Serving's gRPC API
// (tensorflow_serving/apis/prediction_service.proto and model_service.proto with the files
// they import), checkpointstate is TensorFlow's CheckpointState (train's state file,
// tensorflow/python/training/checkpoint_state.proto). The TensorFlow core files those import
// are graft's packages.
//
// The *.pb.go files are generated and committed, so that go build needs nothing but the
// module: go_consumer/Makefile's target protos (run by go generate here) builds a
// FileDescriptorSet from the Python modules that tensorflow-serving-api and tensorflow install
// (python_producer/tools/serving_protos.py) and compiles it with grpcio-tools' protoc and
// protoc-gen-go (go.mod's google.golang.org/protobuf version) and protoc-gen-go-grpc (pinned
// in the Makefile), without protoc's version, which is not pinned. Do not edit them; `make -C
// go_consumer check-protos`, run by tests/test_go_generated.py, fails when they are stale.
package tfspb

//go:generate make -C ../.. protos
