package main

// classify and generate: conveniences on top of the generic predict path. Each checks the
// shape of a signature, builds one columnar request, answers it with predictTensors (the
// code path of predict, with the same checks and errors) and prints a summary. Nothing here
// depends on a particular model, only on the signature's shape.

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
)

// Defaults and limits of classify and generate.
const (
	generateSignature = "generate"
	defaultLength     = 100
	maxLength         = 10000
)

// The aliases classify and generate rely on.
const (
	aliasClassID       = "class_id"
	aliasProbabilities = "probabilities"
	aliasPrefix        = "prefix"
	aliasLength        = "length"
	aliasContinuation  = "continuation"
)

// b64 is a DT_STRING value written as raw bytes: {"b64": "<standard base64>"}.
type b64 struct {
	B64 string `json:"b64"`
}

// columnarRequest is the body of {"signature_name": KEY, "inputs": {...}}.
type columnarRequest struct {
	SignatureName string         `json:"signature_name"`
	Inputs        map[string]any `json:"inputs"`
}

// convenienceRun is a loaded model and the planned signature a convenience runs.
type convenienceRun struct {
	info *model.Info
	plan *model.Plan // its Key and Format are the signature and format to run
}

// loadConvenience loads the model of the flags, plans the --signature, as predict would,
// and refuses the unsafe ops that signature reaches (modelFlags.checkOps).
func loadConvenience(mf *modelFlags) (*convenienceRun, error) {
	info, format, err := mf.loadRun(false)
	if err != nil {
		return nil, err
	}
	plan, err := info.Plan(*mf.signature, format)
	if err != nil {
		return nil, err
	}
	if err := mf.checkOps(info, format, plan.Key); err != nil {
		return nil, err
	}
	return &convenienceRun{info: info, plan: plan}, nil
}

// predictColumnar answers {"signature_name": <planned key>, "inputs": inputs} through
// predictTensors, the code path of predict, and returns the output tensors by alias.
func (c *convenienceRun) predictColumnar(inputs map[string]any) (map[string]*tensor.Tensor, error) {
	body, err := json.Marshal(columnarRequest{SignatureName: c.plan.Key, Inputs: inputs})
	if err != nil {
		return nil, err
	}
	open, closeRunner := lazyRunner(c.info, c.plan.Format)
	defer closeRunner()
	outputs, _, err := predictTensors(c.info, open, body, c.plan.Key, c.plan.Format)
	return outputs, err
}

func cmdClassify(args []string, stdout io.Writer) error {
	fs := newFlagSet("classify")
	mf := addRunFlags(fs, model.DefaultSignature)
	images, err := parseFlagsAndArgs(fs, args)
	if err != nil {
		return err
	}
	if len(images) == 0 {
		return usagef("classify: expected at least one IMAGE file after the flags")
	}
	run, err := loadConvenience(mf)
	if err != nil {
		return err
	}
	alias, err := checkClassifySignature(run.plan)
	if err != nil {
		return err
	}
	values := make([]b64, len(images))
	for i, image := range images {
		data, err := os.ReadFile(image)
		if err != nil {
			return status.New(fileCode(err), "classify: cannot read IMAGE %s: %v", strconv.Quote(status.Bound(image)), err)
		}
		values[i] = b64{B64: base64.StdEncoding.EncodeToString(data)}
	}
	outputs, err := run.predictColumnar(map[string]any{alias: values})
	if err != nil {
		return err
	}
	classes, probs := outputs[aliasClassID], outputs[aliasProbabilities]
	n := int64(len(images))
	if len(classes.Shape) != 1 || classes.Shape[0] != n || !classes.DType.IsInteger() {
		return fmt.Errorf("classify: output %s is a %s tensor of shape %s; expected %d class ids for %d images", aliasClassID, classes.DType, tensor.Shape(classes.Shape), n, n)
	}
	if len(probs.Shape) != 2 || probs.Shape[0] != n || !probs.DType.IsFloat() {
		return fmt.Errorf("classify: output %s is a %s tensor of shape %s; expected %d rows for %d images", aliasProbabilities, probs.DType, tensor.Shape(probs.Shape), n, n)
	}
	var out []byte
	for i, image := range images {
		class, ok := intAt(classes, i)
		if !ok || class < 0 || class >= probs.Shape[1] {
			return fmt.Errorf("classify: output %s[%d] = %s is not a column of output %s (shape %s)", aliasClassID, i, restjson.AppendTensor(nil, element(classes, i), aliasClassID), aliasProbabilities, tensor.Shape(probs.Shape))
		}
		out = append(out, image...)
		out = append(out, "\tclass_id="...)
		out = restjson.AppendTensor(out, element(classes, i), aliasClassID)
		out = append(out, "\tprobability="...)
		out = restjson.AppendTensor(out, element(probs, i*int(probs.Shape[1])+int(class)), aliasProbabilities)
		out = append(out, '\n')
	}
	_, err = stdout.Write(out)
	return err
}

// checkClassifySignature checks that a signature has exactly one input, DT_STRING of rank 1,
// and the outputs class_id (an integer dtype, rank 1) and probabilities (a floating dtype,
// rank 2). It returns the input's alias.
func checkClassifySignature(plan *model.Plan) (string, error) {
	var alias string
	ok := len(plan.Inputs) == 1
	for a, spec := range plan.Inputs {
		alias = a
		ok = ok && spec.DType == tensor.String && hasRank(spec, 1)
	}
	class, hasClass := plan.Outputs[aliasClassID]
	probs, hasProbs := plan.Outputs[aliasProbabilities]
	ok = ok && hasClass && class.DType.IsInteger() && hasRank(class, 1)
	ok = ok && hasProbs && probs.DType.IsFloat() && hasRank(probs, 2)
	if !ok {
		return "", usagef("classify needs a signature with exactly one input, of dtype DT_STRING and rank 1 (encoded images), and the outputs %s (an integer dtype, rank 1) and %s (a floating dtype, rank 2); %s", aliasClassID, aliasProbabilities, describeSignature(plan))
	}
	return alias, nil
}

func cmdGenerate(args []string, stdout io.Writer) error {
	fs := newFlagSet("generate")
	mf := addRunFlags(fs, generateSignature)
	prefix := fs.String("prefix", "", "the text to continue (UTF-8)")
	lengthFlag := fs.String("length", strconv.Itoa(defaultLength), "how much to generate, 0..10000")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !isSet(fs, "prefix") {
		return usagef("generate: --prefix TEXT is required")
	}
	if !utf8.ValidString(*prefix) {
		return usagef("generate: --prefix must be valid UTF-8 text")
	}
	length, err := strconv.ParseInt(*lengthFlag, 10, 64)
	if err != nil || length < 0 || length > maxLength {
		return usagef("generate: invalid --length %s: expected an integer in 0..%d", strconv.Quote(status.Bound(*lengthFlag)), maxLength)
	}
	run, err := loadConvenience(mf)
	if err != nil {
		return err
	}
	if err := checkGenerateSignature(run.plan); err != nil {
		return err
	}
	outputs, err := run.predictColumnar(map[string]any{
		aliasPrefix: []string{*prefix},
		aliasLength: length,
	})
	if err != nil {
		return err
	}
	cont := outputs[aliasContinuation]
	texts, ok := cont.Data.([]string)
	if !ok || len(cont.Shape) != 1 || len(texts) == 0 {
		return fmt.Errorf("generate: output %s is a %s tensor of shape %s; expected at least one string", aliasContinuation, cont.DType, tensor.Shape(cont.Shape))
	}
	out := make([]byte, 0, len(*prefix)+len(texts[0])+1)
	out = append(append(append(out, *prefix...), texts[0]...), '\n')
	_, err = stdout.Write(out)
	return err
}

// checkGenerateSignature checks that a signature has the inputs prefix (DT_STRING, rank 1)
// and length (DT_INT32, a scalar), and nothing else, and the output continuation (DT_STRING,
// rank 1).
func checkGenerateSignature(plan *model.Plan) error {
	prefix, hasPrefix := plan.Inputs[aliasPrefix]
	length, hasLength := plan.Inputs[aliasLength]
	cont, hasCont := plan.Outputs[aliasContinuation]
	ok := len(plan.Inputs) == 2 &&
		hasPrefix && prefix.DType == tensor.String && hasRank(prefix, 1) &&
		hasLength && length.DType == tensor.Int32 && hasRank(length, 0) &&
		hasCont && cont.DType == tensor.String && hasRank(cont, 1)
	if !ok {
		return usagef("generate needs a signature with exactly the inputs %s (DT_STRING, rank 1) and %s (DT_INT32, a scalar) and the output %s (DT_STRING, rank 1); %s", aliasPrefix, aliasLength, aliasContinuation, describeSignature(plan))
	}
	return nil
}

// hasRank reports whether a spec has a known rank equal to rank.
func hasRank(spec tensor.Spec, rank int) bool {
	return !spec.UnknownRank && len(spec.Shape) == rank
}

// describeSignature says what a signature has, for refusals: `signature "k" has inputs
// a (DT_X, shape [..]), ... and outputs ...`.
func describeSignature(plan *model.Plan) string {
	list := func(specs map[string]tensor.Spec) string {
		if len(specs) == 0 {
			return "none"
		}
		parts := make([]string, 0, len(specs))
		for _, spec := range specs {
			parts = append(parts, spec.Describe())
		}
		sort.Strings(parts) // by alias, which leads each part
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("signature %s has inputs %s and outputs %s", restjson.Quote(plan.Key), list(plan.Inputs), list(plan.Outputs))
}

// isSet reports whether a flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// element returns element i of a tensor's flat data as a scalar tensor of the same dtype,
// so that it is written exactly as the JSON encoder writes that dtype.
func element(t *tensor.Tensor, i int) *tensor.Tensor {
	return &tensor.Tensor{DType: t.DType, Shape: []int64{}, Data: reflect.ValueOf(t.Data).Slice(i, i+1).Interface()}
}

// intAt returns element i of an integer tensor as an int64 (false if it does not fit).
func intAt(t *tensor.Tensor, i int) (int64, bool) {
	v := reflect.ValueOf(t.Data).Index(i)
	switch {
	case v.CanInt():
		return v.Int(), true
	case v.CanUint():
		u := v.Uint()
		return int64(u), u <= math.MaxInt64
	}
	return 0, false
}
