package serving

import (
	"fmt"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	_ "google.golang.org/protobuf/types/known/wrapperspb" // registers google/protobuf/wrappers.proto
)

// TensorFlow Serving's config files whose .proto tensorflow-serving-api's Python package does
// not ship (monitoring_config.proto, BatchingParameters of session_bundle_config.proto), and
// whose Go code internal/tfspb therefore cannot generate, are described here by their schema:
// the same package, message names, field names, numbers and types, built into a descriptor
// with protodesc and read with prototext into a dynamicpb message.

// schemaField describes one field of such a message: a scalar of type typ, or a message
// named by typeName (".package.Message").
func schemaField(name string, number int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string, repeated bool) *descriptorpb.FieldDescriptorProto {
	label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
	if repeated {
		label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	}
	f := &descriptorpb.FieldDescriptorProto{
		Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(number),
		Label: label.Enum(), Type: typ.Enum(),
	}
	if typeName != "" {
		f.TypeName = proto.String(typeName)
	}
	return f
}

// schemaType builds the proto3 file of package tensorflow.serving named file, with messages
// and the files it imports (resolved in protoregistry.GlobalFiles), and returns the type of
// its message named message. A schema that does not build is a bug of this package: it
// panics.
func schemaType(file string, imports []string, messages []*descriptorpb.DescriptorProto, message string) protoreflect.MessageType {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String(file),
		Package:     proto.String("tensorflow.serving"),
		Syntax:      proto.String("proto3"),
		Dependency:  imports,
		MessageType: messages,
	}, protoregistry.GlobalFiles)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", file, err))
	}
	return dynamicpb.NewMessageType(fd.Messages().ByName(protoreflect.Name(message)))
}

// parseText reads text in protobuf text format into a new message of typ; an error is
// INVALID_ARGUMENT "not a tensorflow.serving.NAME in text format: ...".
func parseText(typ protoreflect.MessageType, text []byte) (protoreflect.Message, error) {
	m := typ.New()
	if err := (prototext.UnmarshalOptions{}).Unmarshal(text, m.Interface()); err != nil {
		return nil, status.New(status.InvalidArgument, "not a %s in text format: %v", m.Descriptor().FullName(), err)
	}
	return m, nil
}
