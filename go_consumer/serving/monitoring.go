package serving

import (
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
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
var monitoringConfigType = schemaType("tensorflow_serving/config/monitoring_config.proto", nil,
	[]*descriptorpb.DescriptorProto{
		{Name: proto.String("PrometheusConfig"), Field: []*descriptorpb.FieldDescriptorProto{
			schemaField("enable", 1, descriptorpb.FieldDescriptorProto_TYPE_BOOL, "", false),
			schemaField("path", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, "", false),
		}},
		{Name: proto.String("MonitoringConfig"), Field: []*descriptorpb.FieldDescriptorProto{
			schemaField("prometheus_config", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig", false),
		}},
	}, "MonitoringConfig")

// ParseMonitoringConfig reads a tensorflow.serving.MonitoringConfig in protobuf text format
// (prototext, the format TensorFlow Serving's --monitoring_config_file takes), such as
//
//	prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }
//
// An unknown field or a syntax error is an INVALID_ARGUMENT naming it; a path that does not
// start with "/" too.
func ParseMonitoringConfig(text []byte) (MonitoringConfig, error) {
	msg, err := parseText(monitoringConfigType, text)
	if err != nil {
		return MonitoringConfig{}, err
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
