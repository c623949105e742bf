package restjson

import (
	"encoding/base64"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// Request is a parsed predict request whose signature is not yet known.
type Request struct {
	// SignatureName is the request's "signature_name", or "" when absent.
	SignatureName string
	// HasSignatureName reports whether the request named a signature.
	HasSignatureName bool
	// RowFormat is true for "instances" (row format), false for "inputs" (columnar).
	RowFormat bool
	// Body is the "instances" list or the "inputs" value.
	Body *Value
}

// ParseRequest parses the top level of a predict request body: a JSON object with an
// optional string "signature_name" and exactly one of "instances" or "inputs".
func ParseRequest(data []byte) (*Request, error) {
	doc, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if doc.Kind != KindObject {
		return nil, errorf(`request must be a JSON object with "instances" or "inputs", got %s`, describe(doc))
	}
	keys := append([]string(nil), doc.Keys...)
	sort.Strings(keys)
	for _, k := range keys {
		if k != "signature_name" && k != "instances" && k != "inputs" {
			return nil, errorf(`unknown key %s in request; expected "signature_name" and one of "instances" or "inputs"`, Quote(k))
		}
	}
	instances, inputs := doc.Member("instances"), doc.Member("inputs")
	if (instances == nil) == (inputs == nil) {
		return nil, errorf(`request must have exactly one of "instances" or "inputs"`)
	}
	req := &Request{RowFormat: instances != nil, Body: instances}
	if inputs != nil {
		req.Body = inputs
	}
	if name := doc.Member("signature_name"); name != nil && name.Kind != KindNull {
		if name.Kind != KindString {
			return nil, errorf(`"signature_name" must be a string, got %s`, describe(name))
		}
		req.SignatureName, req.HasSignatureName = name.Text, true
	}
	return req, nil
}

// DecodeInputs turns a parsed request into one tensor per input alias of the signature,
// following TF Serving's row and columnar rules, and checks each against its Spec (in
// sorted alias order), then, in the columnar format, that the batched inputs agree on
// their batch size (CheckBatch).
// signature is the signature key, used in messages.
func DecodeInputs(req *Request, specs map[string]tensor.Spec, signature string) (map[string]*tensor.Tensor, error) {
	aliases := sortedAliases(specs)
	for _, a := range aliases {
		if !specs[a].DType.Supported() {
			return nil, errorf("input %s of signature %s: dtype %s is not supported", specs[a].Describe(), Quote(signature), specs[a].DType)
		}
	}
	single := len(specs) == 1
	columns := make(map[string]*Value, len(specs))
	if req.RowFormat {
		instances := req.Body
		if instances.Kind != KindArray {
			return nil, errorf(`"instances" must be a list, got %s`, describe(instances))
		}
		if len(instances.Items) == 0 {
			return nil, errorf(`"instances" is empty; expected at least one instance of %s`, tensor.DescribeSpecs(specs))
		}
		keyed := 0
		for i := range instances.Items {
			if isKeyed(&instances.Items[i], single) {
				keyed++
			}
		}
		switch {
		case single && keyed == 0:
			columns[aliases[0]] = instances
		case keyed != len(instances.Items):
			return nil, errorf("each instance must be an object keyed by input alias; expected inputs: %s", tensor.DescribeSpecs(specs))
		default:
			for i := range instances.Items {
				if err := CheckAliases(instances.Items[i].Keys, specs, signature); err != nil {
					return nil, err
				}
			}
			for _, a := range aliases {
				col := &Value{Kind: KindArray, Items: make([]Value, len(instances.Items))}
				for i := range instances.Items {
					col.Items[i] = *instances.Items[i].Member(a)
				}
				columns[a] = col
			}
		}
	} else {
		body := req.Body
		switch {
		case isKeyed(body, single):
			if err := CheckAliases(body.Keys, specs, signature); err != nil {
				return nil, err
			}
			for _, a := range aliases {
				columns[a] = body.Member(a)
			}
		case single:
			columns[aliases[0]] = body
		default:
			return nil, errorf(`"inputs" must be an object keyed by input alias; expected inputs: %s`, tensor.DescribeSpecs(specs))
		}
	}
	out := make(map[string]*tensor.Tensor, len(specs))
	for _, a := range aliases {
		t, err := DecodeTensor(columns[a], specs[a])
		if err != nil {
			return nil, err
		}
		out[a] = t
	}
	if !req.RowFormat {
		if err := CheckBatch(out, specs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CheckBatch enforces the columnar batch rule: every input whose signature shape starts
// with -1 is batched along dimension 0, so all such inputs of rank 1 or more must have the
// same dimension 0. The first of them in sorted alias order is the reference; the message
// names it and the first input that disagrees. (In the row format the batch is the list of
// instances, so it always agrees.)
func CheckBatch(tensors map[string]*tensor.Tensor, specs map[string]tensor.Spec) error {
	ref := ""
	for _, a := range sortedAliases(specs) {
		spec, t := specs[a], tensors[a]
		if t == nil || spec.UnknownRank || len(spec.Shape) == 0 || spec.Shape[0] != -1 || len(t.Shape) == 0 {
			continue
		}
		if ref == "" {
			ref = a
			continue
		}
		if want := tensors[ref].Shape[0]; t.Shape[0] != want {
			return errorf("batch size mismatch: input %s has %d rows but input %s has %d; inputs whose shape starts with -1 must have the same batch size",
				Quote(ref), want, Quote(a), t.Shape[0])
		}
	}
	return nil
}

// isKeyed reports whether v is an object keyed by alias (for a single input, a
// {"b64": ...} object is a value, not a keyed object).
func isKeyed(v *Value, single bool) bool {
	return v.Kind == KindObject && !(single && isB64(v))
}

func isB64(v *Value) bool {
	return v.Kind == KindObject && len(v.Keys) == 1 && v.Keys[0] == "b64"
}

// CheckAliases refuses (INVALID_ARGUMENT) the first given input alias, in sorted order, that
// is not one of the signature's inputs, then the first of its inputs not given, naming the
// inputs the signature expects.
func CheckAliases(given []string, specs map[string]tensor.Spec, signature string) error {
	have := make(map[string]bool, len(given))
	sorted := append([]string(nil), given...)
	sort.Strings(sorted)
	for _, a := range sorted {
		have[a] = true
		if _, ok := specs[a]; !ok {
			return errorf("unknown input %s for signature %s; expected inputs: %s", Quote(a), Quote(signature), tensor.DescribeSpecs(specs))
		}
	}
	for _, a := range sortedAliases(specs) {
		if !have[a] {
			return errorf("missing input %s for signature %s; expected inputs: %s", Quote(a), Quote(signature), tensor.DescribeSpecs(specs))
		}
	}
	return nil
}

func sortedAliases[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describe(v *Value) string {
	switch v.Kind {
	case KindNull:
		return "null"
	case KindBool:
		return "a boolean"
	case KindNumber:
		return "the number " + status.Bound(v.Text)
	case KindString:
		return "a string"
	case KindObject:
		return "an object"
	}
	return "a list"
}

// Quote returns s as a message quotes it: [status.Bound](s) as a JSON string literal
// (invalid UTF-8 becomes U+FFFD).
func Quote(s string) string {
	return string(appendString(nil, status.Bound(s)))
}

// DecodeTensor builds the tensor for spec from nested JSON lists (rank = nesting depth),
// checking rectangularity, dtype and value ranges, then rank and known dims.
func DecodeTensor(v *Value, spec tensor.Spec) (*tensor.Tensor, error) {
	var shape []int64
	for probe := v; probe.Kind == KindArray; probe = &probe.Items[0] {
		shape = append(shape, int64(len(probe.Items)))
		if len(probe.Items) == 0 {
			break
		}
	}
	n := tensor.NumElements(shape)
	var (
		data any
		err  error
	)
	switch spec.DType {
	case tensor.Float:
		data, err = collect(v, shape, n, spec, leafFloat32)
	case tensor.Double:
		data, err = collect(v, shape, n, spec, leafFloat64)
	case tensor.Half:
		data, err = collect(v, shape, n, spec, leafFloat16)
	case tensor.Int8:
		data, err = collect(v, shape, n, spec, leafSigned[int8](8))
	case tensor.Int16:
		data, err = collect(v, shape, n, spec, leafSigned[int16](16))
	case tensor.Int32:
		data, err = collect(v, shape, n, spec, leafSigned[int32](32))
	case tensor.Int64:
		data, err = collect(v, shape, n, spec, leafSigned[int64](64))
	case tensor.Uint8:
		data, err = collect(v, shape, n, spec, leafUnsigned[uint8](8))
	case tensor.Uint16:
		data, err = collect(v, shape, n, spec, leafUnsigned[uint16](16))
	case tensor.Uint32:
		data, err = collect(v, shape, n, spec, leafUnsigned[uint32](32))
	case tensor.Uint64:
		data, err = collect(v, shape, n, spec, leafUnsigned[uint64](64))
	case tensor.Bool:
		data, err = collect(v, shape, n, spec, leafBool)
	case tensor.String:
		data, err = collect(v, shape, n, spec, leafString)
	default:
		return nil, errorf("input %s: dtype %s is not supported", spec.Describe(), spec.DType)
	}
	if err != nil {
		return nil, err
	}
	if err := CheckShape(shape, spec); err != nil {
		return nil, err
	}
	return &tensor.Tensor{DType: spec.DType, Shape: shape, Data: data}, nil
}

// CheckShape returns an INVALID_ARGUMENT *status.Error if shape contradicts the spec's rank or known dims.
func CheckShape(shape []int64, spec tensor.Spec) error {
	if spec.UnknownRank {
		return nil
	}
	if len(shape) != len(spec.Shape) {
		return errorf("input %s: expected rank %d, got rank %d with shape %s", spec.Describe(), len(spec.Shape), len(shape), tensor.Shape(shape))
	}
	for axis, want := range spec.Shape {
		if want >= 0 && shape[axis] != want {
			return errorf("input %s: dimension %d is %d, expected %d", spec.Describe(), axis, shape[axis], want)
		}
	}
	return nil
}

// leafFunc converts one JSON leaf; it returns a complete message suffix on failure.
type leafFunc[T any] func(v *Value, spec tensor.Spec) (T, error)

// collect walks v in row-major order, checks that it is rectangular with the given shape and
// converts every leaf.
func collect[T any](v *Value, shape []int64, n int64, spec tensor.Spec, leaf leafFunc[T]) ([]T, error) {
	const maxPrealloc = 1 << 20
	out := make([]T, 0, min(n, maxPrealloc))
	var walk func(v *Value, depth int) error
	walk = func(v *Value, depth int) error {
		if depth == len(shape) {
			if v.Kind == KindArray {
				return errorf("input %s: ragged nested lists", spec.Describe())
			}
			x, err := leaf(v, spec)
			if err != nil {
				return err
			}
			out = append(out, x)
			return nil
		}
		if v.Kind != KindArray || int64(len(v.Items)) != shape[depth] {
			return errorf("input %s: ragged nested lists", spec.Describe())
		}
		for i := range v.Items {
			if err := walk(&v.Items[i], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(v, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func wrongValue(v *Value, spec tensor.Spec) error {
	var kind string
	switch {
	case spec.DType.IsFloat():
		kind = spec.DType.String() + " number"
	case spec.DType.IsInteger():
		kind = spec.DType.String() + " integer"
	case spec.DType == tensor.Bool:
		kind = "DT_BOOL true/false"
	default:
		kind = spec.DType.String() + ` string or {"b64": ...}`
	}
	return errorf("input %s: expected a %s value, got %s", spec.Describe(), kind, describe(v))
}

func outOfRange(v *Value, spec tensor.Spec) error {
	return errorf("input %s: number %s is out of range for %s", spec.Describe(), status.Bound(v.Text), spec.DType)
}

func nonFinite(text string) (float64, bool) {
	switch text {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	return 0, false
}

func leafFloat64(v *Value, spec tensor.Spec) (float64, error) {
	if v.Kind != KindNumber {
		return 0, wrongValue(v, spec)
	}
	if f, ok := nonFinite(v.Text); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(BoundedLiteral(v.Text), 64)
	if err != nil {
		return 0, outOfRange(v, spec) // ErrRange: a finite literal beyond the float64 range
	}
	return f, nil
}

func leafFloat32(v *Value, spec tensor.Spec) (float32, error) {
	if v.Kind != KindNumber {
		return 0, wrongValue(v, spec)
	}
	if f, ok := nonFinite(v.Text); ok {
		return float32(f), nil
	}
	f, err := strconv.ParseFloat(BoundedLiteral(v.Text), 32) // rounds the decimal directly to float32
	if err != nil {
		return 0, outOfRange(v, spec)
	}
	return float32(f), nil
}

func leafFloat16(v *Value, spec tensor.Spec) (tensor.Float16, error) {
	if v.Kind != KindNumber {
		return 0, wrongValue(v, spec)
	}
	h, ok := tensor.ParseFloat16(BoundedLiteral(v.Text))
	if !ok {
		return 0, outOfRange(v, spec)
	}
	return h, nil
}

// integerLiteral reports whether a JSON number literal is written as an integer
// (no fraction, no exponent).
func integerLiteral(text string) bool {
	digits := strings.TrimPrefix(text, "-")
	if digits == "" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

func intRangeError(v *Value, spec tensor.Spec, lo, hi string) error {
	return errorf("input %s: integer %s is out of range for %s [%s, %s]", spec.Describe(), status.Bound(v.Text), spec.DType, lo, hi)
}

func integerLeaf(v *Value, spec tensor.Spec) error {
	if v.Kind != KindNumber {
		return wrongValue(v, spec)
	}
	if _, ok := nonFinite(v.Text); ok {
		return wrongValue(v, spec)
	}
	if !integerLiteral(v.Text) {
		return errorf("input %s: expected a %s integer value, got the non-integer number %s", spec.Describe(), spec.DType, status.Bound(v.Text))
	}
	return nil
}

func leafSigned[T int8 | int16 | int32 | int64](bits int) leafFunc[T] {
	return func(v *Value, spec tensor.Spec) (T, error) {
		if err := integerLeaf(v, spec); err != nil {
			return 0, err
		}
		x, err := strconv.ParseInt(v.Text, 10, bits)
		if err != nil {
			lo := -(int64(1) << (bits - 1))
			return 0, intRangeError(v, spec, strconv.FormatInt(lo, 10), strconv.FormatInt(-(lo+1), 10))
		}
		return T(x), nil
	}
}

func leafUnsigned[T uint8 | uint16 | uint32 | uint64](bits int) leafFunc[T] {
	return func(v *Value, spec tensor.Spec) (T, error) {
		if err := integerLeaf(v, spec); err != nil {
			return 0, err
		}
		hi := strconv.FormatUint(math.MaxUint64>>(64-bits), 10)
		if strings.HasPrefix(v.Text, "-") {
			if strings.TrimLeft(v.Text[1:], "0") == "" {
				return 0, nil // -0
			}
			return 0, intRangeError(v, spec, "0", hi)
		}
		x, err := strconv.ParseUint(v.Text, 10, bits)
		if err != nil {
			return 0, intRangeError(v, spec, "0", hi)
		}
		return T(x), nil
	}
}

func leafBool(v *Value, spec tensor.Spec) (bool, error) {
	if v.Kind != KindBool {
		return false, wrongValue(v, spec)
	}
	return v.Bool, nil
}

func leafString(v *Value, spec tensor.Spec) (string, error) {
	switch {
	case v.Kind == KindString:
		return v.Text, nil
	case isB64(v) && v.Items[0].Kind == KindString:
		text := v.Items[0].Text
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil || strings.ContainsAny(text, "\r\n") {
			return "", errorf(`input %s: invalid base64 in {"b64": ...}`, spec.Describe())
		}
		return string(raw), nil
	}
	return "", wrongValue(v, spec)
}
