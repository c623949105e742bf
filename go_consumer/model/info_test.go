package model

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// TestReadInfoInvalidDType: a SignatureDef tensor of the "serve" MetaGraphDef whose dtype is
// no DataType enum value is an invalid model, named by key, input or output, and alias;
// DT_INVALID (the init op's output) and valid but unsupported dtypes are not refused here.
func TestReadInfoInvalidDType(t *testing.T) {
	ti := func(dt typespb.DataType) map[string]*corepb.TensorInfo {
		return map[string]*corepb.TensorInfo{"x": {Encoding: &corepb.TensorInfo_Name{Name: "x:0"}, Dtype: dt}}
	}
	ok := map[string]*corepb.TensorInfo{"ok": {Encoding: &corepb.TensorInfo_Name{Name: "y:0"}, Dtype: typespb.DataType_DT_FLOAT}}
	for _, c := range []struct {
		what string
		sigs map[string]*corepb.SignatureDef
		want string
	}{
		{"input", map[string]*corepb.SignatureDef{"serving_default": {Inputs: ti(12345), Outputs: ok}},
			`signature "serving_default" input "x" has dtype 12345, which is not a TensorFlow DataType this consumer handles`},
		{"output", map[string]*corepb.SignatureDef{"b": {Inputs: ok, Outputs: ti(-3)}, "a": {Inputs: ok, Outputs: ok}},
			`signature "b" output "x" has dtype -3, which is not a TensorFlow DataType this consumer handles`},
		{"valid enums", map[string]*corepb.SignatureDef{
			InitOpSignature: {Outputs: ti(typespb.DataType_DT_INVALID)},
			"c":             {Inputs: ti(typespb.DataType_DT_COMPLEX64), Outputs: ok},
		}, ""},
	} {
		dir := filepath.Join(t.TempDir(), "1")
		data, err := proto.Marshal(&corepb.SavedModel{MetaGraphs: []*corepb.MetaGraphDef{
			{MetaInfoDef: &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{"train"}}, SignatureDef: map[string]*corepb.SignatureDef{"t": {Inputs: ti(999)}}},
			{MetaInfoDef: &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{ServeTag}}, SignatureDef: c.sigs},
		}})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, SavedModelFile), string(data))
		_, err = ReadInfo(dir)
		got := ""
		if err != nil {
			got = err.Error()
			if code := status.CodeOf(err); code != status.FailedPrecondition {
				t.Errorf("%s: %s, want FAILED_PRECONDITION (invalid_dtype)", c.what, code)
			}
		}
		if got != c.want {
			t.Errorf("%s: ReadInfo = %q; want %q", c.what, got, c.want)
		}
	}
}

// TestPlanUnknownKeyBounded: an unknown signature key of 1 MB is a short NOT_FOUND refusal
// (over gRPC its message must fit the metadata).
func TestPlanUnknownKeyBounded(t *testing.T) {
	info := writeOpsModel(t, graph(nil), map[string][]string{"serving_default": {"x:0"}}, nil, nil, "")
	_, err := info.Plan(strings.Repeat("k", 1<<20), FormatSavedModel)
	want := `signature "` + strings.Repeat("k", 200) + `... (1048576 characters)" not found; available signatures: serving_default`
	if status.CodeOf(err) != status.NotFound || err.Error() != want {
		t.Errorf("Plan = %T %.300v", err, err)
	}
}
