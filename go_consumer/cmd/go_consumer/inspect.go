package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// tupleShape formats a shape as saved_model_cli show prints it: "()", "(-1)", "(-1, 3)", or
// "unknown_rank".
func tupleShape(s tensor.Spec) string {
	if s.UnknownRank {
		return "unknown_rank"
	}
	parts := make([]string, len(s.Shape))
	for i, d := range s.Shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func sortedAliases(m map[string]tensor.Spec) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func frozenGraph(sig *model.Signature) *string {
	if sig.Frozen == nil || sig.Frozen.Graph == "" {
		return nil
	}
	return &sig.Frozen.Graph
}

// inspectText writes the contract's text form (modelled on saved_model_cli show --all):
// every MetaGraphDef, signatures sorted by key, inputs and outputs sorted by alias.
func inspectText(info *model.Info, runtime string) string {
	var b strings.Builder
	version := "none"
	if info.HasVersion {
		version = strconv.FormatInt(info.Version, 10)
	}
	fmt.Fprintf(&b, "Model: %s\n", info.Dir)
	fmt.Fprintf(&b, "Version: %s\n", version)
	fmt.Fprintf(&b, "TensorFlow runtime: %s\n", runtime)
	fmt.Fprintf(&b, "Producer TensorFlow version: %s\n", info.ProducerVersion)
	for _, mg := range info.MetaGraphs {
		fmt.Fprintf(&b, "\nMetaGraphDef with tag-set: '%s' contains the following SignatureDefs:\n", strings.Join(mg.Tags, ", "))
		for _, key := range mg.SignatureKeys() {
			sig := mg.Signatures[key]
			fmt.Fprintf(&b, "\nsignature_def['%s']:\n", key)
			for _, group := range []struct {
				label string
				specs map[string]tensor.Spec
			}{{"input", sig.Inputs}, {"output", sig.Outputs}} {
				fmt.Fprintf(&b, "  The given SavedModel SignatureDef contains the following %s(s):\n", group.label)
				for _, alias := range sortedAliases(group.specs) {
					s := group.specs[alias]
					fmt.Fprintf(&b, "    %ss['%s'] tensor_info:\n", group.label, alias)
					fmt.Fprintf(&b, "        dtype: %s\n", s.DType)
					fmt.Fprintf(&b, "        shape: %s\n", tupleShape(s))
					fmt.Fprintf(&b, "        name: %s\n", s.Name)
				}
			}
			fmt.Fprintf(&b, "  Method name is: %s\n", sig.MethodName)
			frozen := "none"
			if g := frozenGraph(sig); g != nil {
				frozen = *g
			}
			fmt.Fprintf(&b, "  Frozen graph: %s\n", frozen)
		}
	}
	return b.String()
}

// The --json document (tests/CONTRACT.md, "inspect").
type (
	inspectDoc struct {
		Model                     string          `json:"model"`
		Version                   *int64          `json:"version"`
		TensorflowRuntime         string          `json:"tensorflow_runtime"`
		ProducerTensorflowVersion string          `json:"producer_tensorflow_version"`
		MetaGraphs                []metaGraphJSON `json:"meta_graphs"`
	}
	metaGraphJSON struct {
		Tags       []string                 `json:"tags"`
		Signatures map[string]signatureJSON `json:"signatures"` // encoding/json sorts keys
	}
	signatureJSON struct {
		MethodName  string                `json:"method_name"`
		Inputs      map[string]tensorJSON `json:"inputs"`
		Outputs     map[string]tensorJSON `json:"outputs"`
		FrozenGraph *string               `json:"frozen_graph"`
	}
	tensorJSON struct {
		DType string   `json:"dtype"`
		Shape *[]int64 `json:"shape"` // null for unknown rank
		Name  string   `json:"name"`
	}
)

func tensorsJSON(specs map[string]tensor.Spec) map[string]tensorJSON {
	out := make(map[string]tensorJSON, len(specs))
	for alias, s := range specs {
		t := tensorJSON{DType: s.DType.String(), Name: s.Name}
		if !s.UnknownRank {
			dims := append([]int64{}, s.Shape...)
			t.Shape = &dims
		}
		out[alias] = t
	}
	return out
}

// inspectJSON writes the contract's --json document (tests/CONTRACT.md, "inspect") with
// encoding/json, indented by two spaces and followed by a newline. It is compared as parsed
// JSON, so its layout, member order and string escapes carry no meaning.
func inspectJSON(info *model.Info, runtime string) (string, error) {
	doc := inspectDoc{
		Model:                     info.Dir,
		TensorflowRuntime:         runtime,
		ProducerTensorflowVersion: info.ProducerVersion,
		MetaGraphs:                []metaGraphJSON{},
	}
	if info.HasVersion {
		doc.Version = &info.Version
	}
	for _, mg := range info.MetaGraphs {
		m := metaGraphJSON{Tags: append([]string{}, mg.Tags...), Signatures: map[string]signatureJSON{}}
		for key, sig := range mg.Signatures {
			m.Signatures[key] = signatureJSON{
				MethodName:  sig.MethodName,
				Inputs:      tensorsJSON(sig.Inputs),
				Outputs:     tensorsJSON(sig.Outputs),
				FrozenGraph: frozenGraph(sig),
			}
		}
		doc.MetaGraphs = append(doc.MetaGraphs, m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	return buf.String(), nil
}
