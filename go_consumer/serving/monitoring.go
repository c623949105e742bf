package serving

import (
	"fmt"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// MonitoringConfig is what serve reads from TensorFlow Serving's --monitoring_config_file: a
// tensorflow.serving.MonitoringConfig in protobuf text format.
type MonitoringConfig struct {
	// PrometheusEnable is prometheus_config.enable: serve the metrics on the REST port.
	PrometheusEnable bool
	// PrometheusPath is prometheus_config.path, PrometheusPath when the file leaves it empty.
	PrometheusPath string
}

// monitoringConfigType is the message descriptor of tensorflow.serving.MonitoringConfig,
// built from the schema of tensorflow_serving/config/monitoring_config.proto (the same
// names and field numbers): tensorflow-serving-api's Python package, whose descriptors
// generate the project's other TensorFlow Serving protos (internal/tfspb), does not ship
// this file.
//
//	message PrometheusConfig { bool enable = 1; string path = 2; }
//	message MonitoringConfig { PrometheusConfig prometheus_config = 1; }
var monitoringConfigType = func() protoreflect.MessageType {
	field := func(name string, number int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(name),
			JsonName: proto.String(name),
			Number:   proto.Int32(number),
			Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:     typ.Enum(),
		}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	file := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("tensorflow_serving/config/monitoring_config.proto"),
		Package: proto.String("tensorflow.serving"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("PrometheusConfig"), Field: []*descriptorpb.FieldDescriptorProto{
				field("enable", 1, descriptorpb.FieldDescriptorProto_TYPE_BOOL, ""),
				field("path", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
			}},
			{Name: proto.String("MonitoringConfig"), Field: []*descriptorpb.FieldDescriptorProto{
				field("prometheus_config", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig"),
			}},
		},
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		panic(fmt.Sprintf("monitoring_config.proto: %v", err))
	}
	return dynamicpb.NewMessageType(fd.Messages().ByName("MonitoringConfig"))
}()

// ParseMonitoringConfig reads a tensorflow.serving.MonitoringConfig in protobuf text format
// (prototext, the format TensorFlow Serving's --monitoring_config_file takes), such as
//
//	prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }
//
// An unknown field or a syntax error is an INVALID_ARGUMENT naming it; a path that does not
// start with "/" too.
func ParseMonitoringConfig(text []byte) (MonitoringConfig, error) {
	msg := monitoringConfigType.New()
	if err := (prototext.UnmarshalOptions{}).Unmarshal(text, msg.Interface()); err != nil {
		return MonitoringConfig{}, status.New(status.InvalidArgument, "not a tensorflow.serving.MonitoringConfig in text format: %v", err)
	}
	cfg := MonitoringConfig{PrometheusPath: PrometheusPath}
	fields := msg.Descriptor().Fields()
	prom := msg.Get(fields.ByName("prometheus_config")).Message()
	pf := prom.Descriptor().Fields()
	cfg.PrometheusEnable = prom.Get(pf.ByName("enable")).Bool()
	if p := prom.Get(pf.ByName("path")).String(); p != "" {
		if p[0] != '/' {
			return MonitoringConfig{}, status.New(status.InvalidArgument, "prometheus_config.path %q does not start with /", status.Bound(p))
		}
		cfg.PrometheusPath = p
	}
	return cfg, nil
}
