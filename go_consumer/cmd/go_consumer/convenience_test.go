package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// needModel returns the absolute path of models/<name>, or skips the test when the model
// has no complete version (yet: a producer may still be writing it).
func needModel(t *testing.T, name string) string {
	t.Helper()
	abs, _ := filepath.Abs(filepath.Join(repoRoot, "models", name))
	if _, err := model.ResolveVersionDir(abs, 0); err != nil {
		t.Skipf("models/%s has no complete version (%v); run `make models` in the repository root", name, err)
	}
	return abs
}

// tspec is a signature tensor for fakeModel: a dtype and a shape (nil: unknown rank).
type tspec struct {
	dtype tensor.DType
	shape []int64
}

var (
	str1    = tspec{tensor.String, []int64{-1}}
	int64s1 = tspec{tensor.Int64, []int64{-1}}
	float2  = tspec{tensor.Float, []int64{-1, 10}}
	int32s0 = tspec{tensor.Int32, []int64{}}
)

// fakeModel writes a version folder whose saved_model.pb has one MetaGraphDef tagged
// "serve" with one signature and no graph: enough for every check that happens before
// the model is loaded into TensorFlow.
func fakeModel(t *testing.T, key string, inputs, outputs map[string]tspec) string {
	t.Helper()
	infos := func(specs map[string]tspec, prefix string) map[string]*corepb.TensorInfo {
		m := map[string]*corepb.TensorInfo{}
		for alias, s := range specs {
			shape := &shapepb.TensorShapeProto{UnknownRank: s.shape == nil}
			for _, d := range s.shape {
				shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
			}
			m[alias] = &corepb.TensorInfo{
				Encoding:    &corepb.TensorInfo_Name{Name: prefix + alias + ":0"},
				Dtype:       typespb.DataType(s.dtype),
				TensorShape: shape,
			}
		}
		return m
	}
	sm := &corepb.SavedModel{MetaGraphs: []*corepb.MetaGraphDef{{
		MetaInfoDef: &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}, TensorflowVersion: "2.21.0"},
		SignatureDef: map[string]*corepb.SignatureDef{key: {
			Inputs:     infos(inputs, key+"_"),
			Outputs:    infos(outputs, "out_"),
			MethodName: "tensorflow/serving/predict",
		}},
	}}}
	data, err := proto.Marshal(sm)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "fake", "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writePNG writes a size×size grayscale PNG (a diagonal stroke) and returns its path.
func writePNG(t *testing.T, dir, name string, size int) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := 0; i < size; i++ {
		img.SetGray(i, i, color.Gray{Y: 255})
		img.SetGray(size/2, i, color.Gray{Y: 200})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmd runs one command line in process.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// checkOneLineRefusal checks status 2, nothing on stdout and one stderr line containing
// every want.
func checkOneLineRefusal(t *testing.T, args []string, want ...string) {
	t.Helper()
	code, stdout, stderr := runCmd(args...)
	checkRefusal(t, want, code, stdout, stderr)
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "internal error") {
		t.Errorf("%v: %s", args, stderr)
	}
}

func TestClassifySignatureRefusals(t *testing.T) {
	png := writePNG(t, t.TempDir(), "one.png", 8)
	for _, tc := range []struct {
		name            string
		inputs, outputs map[string]tspec
	}{
		{"two inputs", map[string]tspec{"a": str1, "b": str1}, map[string]tspec{"class_id": int64s1, "probabilities": float2}},
		{"no inputs", map[string]tspec{}, map[string]tspec{"class_id": int64s1, "probabilities": float2}},
		{"input not a string", map[string]tspec{"x": {tensor.Float, []int64{-1}}}, map[string]tspec{"class_id": int64s1, "probabilities": float2}},
		{"input rank 2", map[string]tspec{"x": {tensor.String, []int64{-1, 1}}}, map[string]tspec{"class_id": int64s1, "probabilities": float2}},
		{"input scalar", map[string]tspec{"x": {tensor.String, []int64{}}}, map[string]tspec{"class_id": int64s1, "probabilities": float2}},
		{"input unknown rank", map[string]tspec{"x": {tensor.String, nil}}, map[string]tspec{"class_id": int64s1, "probabilities": float2}},
		{"no class_id", map[string]tspec{"x": str1}, map[string]tspec{"probabilities": float2}},
		{"no probabilities", map[string]tspec{"x": str1}, map[string]tspec{"class_id": int64s1}},
		{"class_id float", map[string]tspec{"x": str1}, map[string]tspec{"class_id": {tensor.Float, []int64{-1}}, "probabilities": float2}},
		{"class_id rank 2", map[string]tspec{"x": str1}, map[string]tspec{"class_id": {tensor.Int64, []int64{-1, 1}}, "probabilities": float2}},
		{"probabilities integer", map[string]tspec{"x": str1}, map[string]tspec{"class_id": int64s1, "probabilities": {tensor.Int32, []int64{-1, 10}}}},
		{"probabilities rank 1", map[string]tspec{"x": str1}, map[string]tspec{"class_id": int64s1, "probabilities": {tensor.Double, []int64{-1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeModel(t, "serving_default", tc.inputs, tc.outputs)
			checkOneLineRefusal(t, []string{"classify", "--model", dir, "--skip-verification", png},
				"classify needs a signature with exactly one input, of dtype DT_STRING and rank 1",
				"class_id (an integer dtype, rank 1)", "probabilities (a floating dtype, rank 2)",
				`signature "serving_default" has inputs`)
		})
	}
	// Any integer and floating dtypes will do, and other outputs are ignored.
	dir := fakeModel(t, "serving_default", map[string]tspec{"img": {tensor.String, []int64{3}}},
		map[string]tspec{"class_id": {tensor.Uint8, []int64{-1}}, "probabilities": {tensor.Half, []int64{-1, -1}}, "logits": float2})
	missing := filepath.Join(t.TempDir(), "missing.png")
	checkOneLineRefusal(t, []string{"classify", "--model", dir, "--skip-verification", png, missing}, "cannot read IMAGE", missing)
}

func TestClassifyRefusals(t *testing.T) {
	tmp := t.TempDir()
	png := writePNG(t, tmp, "one.png", 8)
	dir := fakeModel(t, "serving_default", map[string]tspec{"image_bytes": str1},
		map[string]tspec{"class_id": int64s1, "probabilities": float2})
	other := fakeModel(t, "classify_me", map[string]tspec{"image_bytes": str1},
		map[string]tspec{"class_id": int64s1, "probabilities": float2})
	missing := filepath.Join(tmp, "no such.png")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"classify", "--model", dir, "--skip-verification"}, []string{"expected at least one IMAGE"}},
		{[]string{"classify", png}, []string{"--model PATH is required"}},
		{[]string{"classify", "--model", dir, "--skip-verification", png, missing}, []string{`cannot read IMAGE "` + missing + `"`, "no such file"}},
		{[]string{"classify", "--model", dir, "--skip-verification", tmp}, []string{"cannot read IMAGE", tmp}},
		{[]string{"classify", "--model", dir, "--skip-verification", "--bogus", png}, []string{"unknown flag --bogus"}},
		{[]string{"classify", "--model", dir, "--skip-verification", png, "--format"}, []string{"flag --format needs a value"}},
		{[]string{"classify", "--model", dir, "--skip-verification", "--format", "onnx", png}, []string{`unknown --format "onnx"`}},
		{[]string{"classify", "--model", dir, "--skip-verification", "--version", "2", png}, []string{"--version 2"}},
		{[]string{"classify", "--model", dir, "--skip-verification", "--format", "frozen", png}, []string{"manifest.json"}},
		{[]string{"classify", "--model", other, "--skip-verification", png}, []string{`signature "serving_default" not found`, "classify_me"}},
		// A known dim that the images contradict is refused by the generic request checks.
		{[]string{"classify", "--model", fakeModel(t, "serving_default", map[string]tspec{"image_bytes": {tensor.String, []int64{2}}},
			map[string]tspec{"class_id": int64s1, "probabilities": float2}), "--skip-verification", png}, []string{"image_bytes (DT_STRING, shape [2])"}},
		// Without --skip-verification a bare SavedModel (no manifest.json) is refused first.
		{[]string{"classify", "--model", dir, png}, []string{dir + " has no manifest.json to verify; pass --skip-verification to load an unverified model"}},
	} {
		checkOneLineRefusal(t, tc.args, tc.want...)
	}
	// --signature picks the key; images may come before and between flags.
	code, _, stderr := runCmd("classify", png, "--model", other, "--skip-verification", "--signature", "classify_me", png)
	if code == 0 || strings.Contains(stderr, "not found") || strings.Contains(stderr, "needs a signature") {
		t.Errorf("--signature classify_me: exit %d: %s", code, stderr)
	}
}

func TestGenerateRefusals(t *testing.T) {
	good := map[string]tspec{"prefix": str1, "length": int32s0}
	cont := map[string]tspec{"continuation": str1}
	dir := fakeModel(t, "generate", good, cont)
	for _, tc := range []struct {
		name            string
		inputs, outputs map[string]tspec
	}{
		{"no length", map[string]tspec{"prefix": str1}, cont},
		{"no prefix", map[string]tspec{"length": int32s0}, cont},
		{"extra input", map[string]tspec{"prefix": str1, "length": int32s0, "temperature": {tensor.Float, []int64{}}}, cont},
		{"length int64", map[string]tspec{"prefix": str1, "length": {tensor.Int64, []int64{}}}, cont},
		{"length rank 1", map[string]tspec{"prefix": str1, "length": {tensor.Int32, []int64{1}}}, cont},
		{"prefix scalar", map[string]tspec{"prefix": {tensor.String, []int64{}}, "length": int32s0}, cont},
		{"prefix unknown rank", map[string]tspec{"prefix": {tensor.String, nil}, "length": int32s0}, cont},
		{"no continuation", good, map[string]tspec{"text": str1}},
		{"continuation rank 2", good, map[string]tspec{"continuation": {tensor.String, []int64{-1, 1}}}},
		{"continuation int", good, map[string]tspec{"continuation": {tensor.Int32, []int64{-1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fakeModel(t, "generate", tc.inputs, tc.outputs)
			checkOneLineRefusal(t, []string{"generate", "--model", d, "--skip-verification", "--prefix", "a"},
				"generate needs a signature with exactly the inputs prefix (DT_STRING, rank 1) and length (DT_INT32, a scalar) and the output continuation (DT_STRING, rank 1)",
				`signature "generate" has inputs`)
		})
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"generate", "--model", dir, "--skip-verification"}, []string{"--prefix TEXT is required"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--length", "5"}, []string{"--prefix TEXT is required"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--length", "10001"}, []string{`invalid --length "10001"`, "0..10000"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--length", "-1"}, []string{`invalid --length "-1"`, "0..10000"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--length", "1.5"}, []string{`invalid --length "1.5"`}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--length", "99999999999999999999"}, []string{"invalid --length"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--length", ""}, []string{`invalid --length ""`}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "\xff"}, []string{"--prefix must be valid UTF-8"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix"}, []string{"flag --prefix needs a value"}},
		{[]string{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--signature", "serving_default"}, []string{`signature "serving_default" not found`, "generate"}},
		{[]string{"generate", "--prefix", "a"}, []string{"--model PATH is required"}},
	} {
		checkOneLineRefusal(t, tc.args, tc.want...)
	}
	// The range limits themselves and an empty prefix pass the checks: the fake model then
	// fails to load, which is a different message.
	for _, args := range [][]string{
		{"generate", "--model", dir, "--skip-verification", "--prefix", "", "--length", "0"},
		{"generate", "--model", dir, "--skip-verification", "--prefix", "a", "--length", "10000"},
	} {
		code, _, stderr := runCmd(args...)
		if code == 0 || strings.Contains(stderr, "--length") || strings.Contains(stderr, "--prefix") || strings.Contains(stderr, "needs a signature") {
			t.Errorf("%q: exit %d: %s", args, code, stderr)
		}
	}
}

func TestParseFlagsAndArgs(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		model      string
		positional []string
	}{
		{[]string{"--model", "m", "a", "b"}, "m", []string{"a", "b"}},
		{[]string{"a", "--model", "m", "b"}, "m", []string{"a", "b"}},
		{[]string{"a", "b", "-model=m"}, "m", []string{"a", "b"}},
		{[]string{"--model", "-x", "-", "--", "--model", "-y"}, "-x", []string{"-", "--model", "-y"}},
		{[]string{"--model", "--", "a"}, "--", []string{"a"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		model := fs.String("model", "", "")
		fs.Bool("quiet", false, "")
		got, err := parseFlagsAndArgs(fs, tc.args)
		if err != nil || *model != tc.model || !reflect.DeepEqual(got, tc.positional) {
			t.Errorf("%q: model %q positional %q err %v; want %q %q", tc.args, *model, got, err, tc.model, tc.positional)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	fs.Bool("quiet", false, "")
	if got, err := parseFlagsAndArgs(fs, []string{"--quiet", "a"}); err != nil || !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("bool flag: %q %v", got, err)
	}
}

// predictOutputs answers a columnar request with the predict command and returns the
// "outputs" object of the response.
func predictOutputs(t *testing.T, modelDir, format string, request any) *restjson.Value {
	t.Helper()
	body, err := json.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"predict", "--model", modelDir, "--format", format}, bytes.NewReader(body), &stdout, &stderr); code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr.String())
	}
	resp, err := restjson.Parse(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Member("outputs")
}

// frozenOf returns the manifest's frozen graph of key in the latest version of a model, or
// nil.
func frozenOf(t *testing.T, modelDir, key string) *model.Frozen {
	t.Helper()
	dir, err := model.ResolveVersionDir(modelDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, err := model.ReadInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	return info.Frozen[key]
}

// TestClassifyDigits classifies PNGs with models/digits, in both formats, and checks the
// lines against the predict command's response to the same request.
func TestClassifyDigits(t *testing.T) {
	modelDir := needModel(t, "digits")
	tmp := t.TempDir()
	images := []string{writePNG(t, tmp, "a.png", 8), writePNG(t, tmp, "b b.png", 28)}
	var values []map[string]string
	for _, path := range images {
		data, _ := os.ReadFile(path)
		values = append(values, map[string]string{"b64": base64.StdEncoding.EncodeToString(data)})
	}
	want := map[string]string{} // by format
	for _, format := range []string{"saved_model", "frozen"} {
		if format == "frozen" && frozenOf(t, modelDir, "serving_default") == nil {
			t.Logf("models/digits has no frozen serving_default graph")
			continue
		}
		args := append([]string{"classify", "--model", modelDir, "--format", format}, images...)
		code, stdout, stderr := runCmd(args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		outputs := predictOutputs(t, modelDir, format, map[string]any{"inputs": map[string]any{"image_bytes": values}})
		classes, probs := outputs.Member("class_id"), outputs.Member("probabilities")
		var lines strings.Builder
		for i, path := range images {
			c := classes.Items[i].Text
			var col int
			if err := json.Unmarshal([]byte(c), &col); err != nil {
				t.Fatal(err)
			}
			lines.WriteString(path + "\tclass_id=" + c + "\tprobability=" + probs.Items[i].Items[col].Text + "\n")
		}
		want[format] = lines.String()
		if stdout != want[format] {
			t.Errorf("%s: classify printed\n%s\nwant\n%s", format, stdout, want[format])
		}
	}

	// The producer's sample images digit-<label>-<i>.png: most are classified as labelled.
	dir, err := model.ResolveVersionDir(modelDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if samples, _ := filepath.Glob(filepath.Join(dir, "samples", "digit-*.png")); len(samples) > 0 {
		code, stdout, stderr := runCmd(append([]string{"classify", "--model", modelDir}, samples...)...)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if code != 0 || len(lines) != len(samples) {
			t.Fatalf("samples: exit %d: %s%s", code, stdout, stderr)
		}
		right := 0
		for i, line := range lines {
			label := strings.SplitN(filepath.Base(samples[i]), "-", 3)[1]
			if strings.HasPrefix(line, samples[i]+"\tclass_id="+label+"\tprobability=") {
				right++
			}
		}
		if 2*right <= len(samples) {
			t.Errorf("only %d of %d samples classified as labelled:\n%s", right, len(samples), stdout)
		}
	}

	// An image that the graph cannot decode is a TensorFlow failure (status 1).
	bad := filepath.Join(tmp, "bad.png")
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd("classify", "--model", modelDir, images[0], bad)
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "go_consumer: error: TensorFlow failed to run") {
		t.Errorf("undecodable image: exit %d stdout %q stderr %q", code, stdout, stderr)
	}

	// The binary prints the same and nothing on stderr (TensorFlow's logging is silenced).
	bin, err := filepath.Abs(binaryPath)
	if err != nil || !isExecutable(bin) {
		t.Skip("bin/go_consumer is not built; run `make`")
	}
	cmd := exec.Command(bin, append([]string{"classify", "--model", modelDir}, images...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || out.String() != want["saved_model"] || errOut.Len() != 0 {
		t.Errorf("binary: %v stdout %q stderr %q", err, out.String(), errOut.String())
	}
}

// TestGenerateCharLM runs generate with models/charlm and checks the output against the
// predict command's response to the same request.
func TestGenerateCharLM(t *testing.T) {
	modelDir := needModel(t, "charlm")
	for _, tc := range []struct {
		prefix string
		args   []string // more flags
		n      int
		format string
	}{
		{"The ", nil, 100, "saved_model"},
		{"héllo", []string{"--length", "7"}, 7, "saved_model"},
		{"", []string{"--length", "0"}, 0, "saved_model"},
		{"to be", []string{"--length", "20", "--format", "frozen"}, 20, "frozen"},
	} {
		args := append([]string{"generate", "--model", modelDir, "--prefix", tc.prefix}, tc.args...)
		if tc.format == "frozen" {
			frozen := frozenOf(t, modelDir, "generate")
			if frozen == nil {
				t.Logf("models/charlm has no frozen generate graph")
				continue
			}
			// The manifest's specs decide for the frozen graph: without a rank-1 continuation
			// it is refused like any other signature of the wrong shape.
			if cont, ok := frozen.Outputs["continuation"]; !ok || !hasRank(cont, 1) {
				t.Logf("the manifest's frozen generate graph has no rank-1 continuation output (%+v)", cont)
				checkOneLineRefusal(t, args, "generate needs a signature", "continuation (DT_STRING, shape "+cont.ShapeString()+")")
				continue
			}
		}
		code, stdout, stderr := runCmd(args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		outputs := predictOutputs(t, modelDir, tc.format, map[string]any{
			"signature_name": "generate",
			"inputs":         map[string]any{"prefix": []string{tc.prefix}, "length": tc.n},
		})
		first := &outputs.Items[0]
		if outputs.Kind == restjson.KindObject {
			first = &outputs.Member("continuation").Items[0]
		}
		cont := first.Text
		if first.Kind == restjson.KindObject {
			raw, err := base64.StdEncoding.DecodeString(first.Member("b64").Text)
			if err != nil {
				t.Fatal(err)
			}
			cont = string(raw)
		}
		if want := tc.prefix + cont + "\n"; stdout != want {
			t.Errorf("%q printed %q, want %q", args, stdout, want)
		}
	}
}
