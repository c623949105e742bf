package serving

import (
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// batchingParametersType is the message descriptor of tensorflow.serving.BatchingParameters,
// built from the schema of tensorflow_serving/servables/tensorflow/session_bundle_config.proto
// (the same names, numbers and wrapper types), which tensorflow-serving-api's Python package
// does not ship:
//
//	message BatchingParameters {
//	  google.protobuf.Int64Value max_batch_size = 1;
//	  google.protobuf.Int64Value batch_timeout_micros = 2;
//	  google.protobuf.Int64Value max_enqueued_batches = 3;
//	  google.protobuf.Int64Value num_batch_threads = 4;
//	  google.protobuf.StringValue thread_pool_name = 5;
//	  repeated int64 allowed_batch_sizes = 6;
//	  bool pad_variable_length_inputs = 7;
//	  google.protobuf.BoolValue enable_large_batch_splitting = 8;
//	  google.protobuf.Int64Value max_execution_batch_size = 9;
//	}
var batchingParametersType = func() protoreflect.MessageType {
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	return schemaType("tensorflow_serving/servables/tensorflow/batching_parameters.proto",
		[]string{"google/protobuf/wrappers.proto"},
		[]*descriptorpb.DescriptorProto{{
			Name: proto.String("BatchingParameters"),
			Field: []*descriptorpb.FieldDescriptorProto{
				schemaField("max_batch_size", 1, msg, ".google.protobuf.Int64Value", false),
				schemaField("batch_timeout_micros", 2, msg, ".google.protobuf.Int64Value", false),
				schemaField("max_enqueued_batches", 3, msg, ".google.protobuf.Int64Value", false),
				schemaField("num_batch_threads", 4, msg, ".google.protobuf.Int64Value", false),
				schemaField("thread_pool_name", 5, msg, ".google.protobuf.StringValue", false),
				schemaField("allowed_batch_sizes", 6, descriptorpb.FieldDescriptorProto_TYPE_INT64, "", true),
				schemaField("pad_variable_length_inputs", 7, descriptorpb.FieldDescriptorProto_TYPE_BOOL, "", false),
				schemaField("enable_large_batch_splitting", 8, msg, ".google.protobuf.BoolValue", false),
				schemaField("max_execution_batch_size", 9, msg, ".google.protobuf.Int64Value", false),
			},
		}}, "BatchingParameters")
}()

// ParseBatchingParameters reads TensorFlow Serving's --batching_parameters_file, a
// tensorflow.serving.BatchingParameters in protobuf text format such as
//
//	max_batch_size { value: 32 }
//	batch_timeout_micros { value: 1000 }
//	num_batch_threads { value: 4 }
//
// into base, whose fields the file leaves unset stay as they are. max_batch_size,
// max_enqueued_batches and num_batch_threads must be positive and batch_timeout_micros 0 to
// an hour; thread_pool_name names the batching metrics' pool. allowed_batch_sizes,
// pad_variable_length_inputs, enable_large_batch_splitting and max_execution_batch_size are not
// implemented and are refused rather than ignored. Errors are INVALID_ARGUMENT.
func ParseBatchingParameters(text []byte, base BatchOptions) (BatchOptions, error) {
	bad := func(format string, args ...any) (BatchOptions, error) {
		return BatchOptions{}, status.New(status.InvalidArgument, format, args...)
	}
	m, err := parseText(batchingParametersType, text)
	if err != nil {
		return BatchOptions{}, err
	}
	fields := m.Descriptor().Fields()
	for _, name := range []protoreflect.Name{"allowed_batch_sizes", "pad_variable_length_inputs", "enable_large_batch_splitting", "max_execution_batch_size"} {
		if m.Has(fields.ByName(name)) {
			return bad("%s is not supported by this server", name)
		}
	}
	wrapped := func(name protoreflect.Name) (protoreflect.Value, bool) {
		f := fields.ByName(name)
		if !m.Has(f) {
			return protoreflect.Value{}, false
		}
		inner := m.Get(f).Message()
		return inner.Get(inner.Descriptor().Fields().ByName("value")), true
	}
	out := base
	for _, p := range []struct {
		name protoreflect.Name
		dst  *int
	}{{"max_batch_size", &out.MaxBatchSize}, {"max_enqueued_batches", &out.MaxEnqueuedBatches}, {"num_batch_threads", &out.NumBatchThreads}} {
		if v, ok := wrapped(p.name); ok {
			n := v.Int()
			if n < 1 || n > 1<<31-1 {
				return bad("%s %d: expected a positive integer", p.name, n)
			}
			*p.dst = int(n)
		}
	}
	if v, ok := wrapped("batch_timeout_micros"); ok {
		us := v.Int()
		if us < 0 || us > int64(time.Hour/time.Microsecond) {
			return bad("batch_timeout_micros %d: expected an integer 0..3600000000", us)
		}
		out.BatchTimeout = time.Duration(us) * time.Microsecond
	}
	if v, ok := wrapped("thread_pool_name"); ok {
		out.ThreadPoolName = v.String()
	}
	return out, nil
}
