package serving

import (
	"bytes"
	"encoding/json"
	"os"
	"sort"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// signatureDefMapType is the type URL TensorFlow Serving gives the metadata's
// SignatureDefMap (a google.protobuf.Any).
const signatureDefMapType = "type.googleapis.com/tensorflow.serving.SignatureDefMap"

// protoJSON prints protos the way TensorFlow Serving's REST API does
// (JsonPrintOptions.preserve_proto_field_names and always_print_primitive_fields).
var protoJSON = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}

// SignatureDefsJSON returns the signature_def map of the version's "serve" MetaGraphDef as
// a JSON object, each SignatureDef as its proto JSON, keys sorted: every signature,
// including those starting with "__", as TensorFlow Serving's GetModelMetadata lists them.
func SignatureDefsJSON(dir string) ([]byte, error) {
	path := pathtext.Join(dir, model.SavedModelFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot read %s: %v", path, err)
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(data, &sm); err != nil {
		return nil, status.New(status.FailedPrecondition, "%s is not a SavedModel: %v", path, err)
	}
	var serve *corepb.MetaGraphDef
	for _, m := range sm.GetMetaGraphs() {
		if tags := m.GetMetaInfoDef().GetTags(); len(tags) == 1 && tags[0] == model.ServeTag {
			serve = m
			break
		}
	}
	if serve == nil {
		return nil, status.New(status.FailedPrecondition, "%s has no MetaGraphDef with tag-set 'serve'", path)
	}
	defs := serve.GetSignatureDef()
	keys := make([]string, 0, len(defs))
	for k := range defs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		text, err := protoJSON.Marshal(defs[k])
		if err != nil {
			return nil, status.New(status.FailedPrecondition, "signature %s of %s cannot be written as JSON: %v", restjson.Quote(k), status.Bound(path), err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k)
		b.WriteByte(':')
		if err := json.Compact(&b, text); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// metadataJSON is the body of GET /v1/models/NAME[/versions/V]/metadata, as TensorFlow
// Serving writes GetModelMetadataResponse.
func metadataJSON(name string, version int64, signatureDefs []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model_spec":{"name":`)
	writeJSONString(&b, name)
	b.WriteString(`,"signature_name":"","version":"`)
	b.WriteString(formatVersion(version))
	b.WriteString(`"},"metadata":{"signature_def":{"signature_def":`)
	b.Write(signatureDefs)
	b.WriteString(`,"@type":"` + signatureDefMapType + `"}}}`)
	return b.Bytes()
}

// versionStatusJSON is one entry of model_version_status, as TensorFlow Serving's REST API
// writes a ModelVersionStatus (version as a string, the state's name, the status).
type versionStatusJSON struct {
	Version string `json:"version"`
	State   State  `json:"state"`
	Status  struct {
		ErrorCode    string `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	} `json:"status"`
}

func versionStatuses(statuses []VersionStatus) []versionStatusJSON {
	out := make([]versionStatusJSON, 0, len(statuses))
	for _, s := range statuses {
		e := versionStatusJSON{Version: formatVersion(s.Version), State: s.State}
		e.Status.ErrorCode, e.Status.ErrorMessage = s.ErrorCode, s.ErrorMessage
		out = append(out, e)
	}
	return out
}

// statusJSON is the body of GET /v1/models/NAME[/versions/V] (GetModelStatusResponse).
func statusJSON(statuses []VersionStatus) []byte {
	return marshalJSON(struct {
		ModelVersionStatus []versionStatusJSON `json:"model_version_status"`
	}{versionStatuses(statuses)})
}

// ModelStatus is one model of GET /v1/models: its name and the status of every version the
// server has tracked, highest first (Manager.Status).
type ModelStatus struct {
	Name     string
	Versions []VersionStatus
}

// modelsJSON is the body of GET /v1/models: {"models": [{"name": ..., "model_version_status":
// [...]}, ...]}, by name; each model_version_status as GET /v1/models/NAME writes it.
func modelsJSON(models []ModelStatus) []byte {
	type entry struct {
		Name               string              `json:"name"`
		ModelVersionStatus []versionStatusJSON `json:"model_version_status"`
	}
	doc := struct {
		Models []entry `json:"models"`
	}{Models: []entry{}}
	for _, m := range models {
		doc.Models = append(doc.Models, entry{Name: m.Name, ModelVersionStatus: versionStatuses(m.Versions)})
	}
	return marshalJSON(doc)
}

// marshalJSON writes v as compact JSON without HTML escaping.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain structs and strings are written
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func writeJSONString(b *bytes.Buffer, s string) {
	b.Write(marshalJSON(s))
}
