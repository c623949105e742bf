package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// ServeTag is the MetaGraphDef tag the consumers load.
const ServeTag = "serve"

// DefaultSignature is the signature used when neither the request nor --signature names one.
const DefaultSignature = "serving_default"

// Signature is one SignatureDef of the served MetaGraphDef, plus its frozen graph from
// manifest.json when there is one.
type Signature struct {
	// Key is the signature key, e.g. "serving_default".
	Key string
	// MethodName is e.g. "tensorflow/serving/predict".
	MethodName string
	// Inputs and Outputs are the SignatureDef's tensors by alias.
	Inputs, Outputs map[string]tensor.Spec
	// Frozen is the manifest's frozen graph of this signature, or nil.
	Frozen *Frozen
}

// Frozen is a manifest entry for a frozen GraphDef: its path relative to the version folder
// and the tensor names and specs to feed and fetch.
type Frozen struct {
	// Graph is the binary GraphDef, e.g. "frozen/serving_default.pb".
	Graph string
	// Inputs and Outputs are the frozen graph's tensors by alias.
	Inputs, Outputs map[string]tensor.Spec
}

// MetaGraph is one MetaGraphDef of saved_model.pb.
type MetaGraph struct {
	// Tags are the MetaGraphDef's tags, sorted.
	Tags []string
	// Signatures are its SignatureDefs by key.
	Signatures map[string]*Signature
	// Saver is the MetaGraphDef's saver_def, or nil if it has none.
	Saver *Saver
}

// Saver names the graph elements of a MetaGraphDef's saver_def that save and restore the
// variables of a loaded SavedModel (see [Runner.Save] and [Runner.Restore]).
type Saver struct {
	// FilenameTensor is the scalar DT_STRING tensor ("op:index") that takes the checkpoint
	// prefix, for saving and for restoring.
	FilenameTensor string
	// SaveTensor is the tensor to fetch to write a checkpoint.
	SaveTensor string
	// RestoreOp is the operation to run to read a checkpoint into the variables.
	RestoreOp string
}

// SignatureKeys returns the signature keys, sorted.
func (mg *MetaGraph) SignatureKeys() []string {
	return sortedKeys(mg.Signatures)
}

// Info describes one model version without loading it into TensorFlow.
type Info struct {
	// Dir is the absolute version folder.
	Dir string
	// Version is the folder's version number; HasVersion is false when the folder's name is
	// not a decimal integer.
	Version    int64
	HasVersion bool
	// ProducerVersion is meta_info_def.tensorflow_version (of the first MetaGraphDef that
	// records one).
	ProducerVersion string
	// MetaGraphs are all MetaGraphDefs in file order; Serve is the one tagged exactly
	// {"serve"} (nil if there is none).
	MetaGraphs []*MetaGraph
	Serve      *MetaGraph
	// Frozen holds manifest.json's frozen graphs by signature key.
	Frozen map[string]*Frozen
	// FrozenUnavailable holds, by key, each signature that manifest.json lists (with a
	// "saved_model" entry) without a frozen graph: its "frozen_unavailable" reason, "" when
	// the manifest gives none (absent, not a string or empty).
	FrozenUnavailable map[string]string
	// HasManifest reports whether manifest.json was present.
	HasManifest bool
}

// ReadInfo reads saved_model.pb and, if present, manifest.json of a version folder.
func ReadInfo(dir string) (*Info, error) {
	pbPath := pathtext.Join(dir, SavedModelFile)
	data, err := os.ReadFile(pbPath)
	if err != nil {
		return nil, status.New(status.FailedPrecondition, "cannot read %s: %v", pbPath, err)
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(data, &sm); err != nil {
		return nil, status.New(status.FailedPrecondition, "%s is not a SavedModel: %v", pbPath, err)
	}
	info := &Info{Dir: dir, Frozen: map[string]*Frozen{}, FrozenUnavailable: map[string]string{}}
	if name := filepath.Base(dir); strings.Trim(name, "0123456789") == "" {
		info.Version, err = strconv.ParseInt(name, 10, 64)
		info.HasVersion = err == nil
	}
	if err := info.readManifest(); err != nil {
		return nil, err
	}
	for _, m := range sm.GetMetaGraphs() {
		if info.ProducerVersion == "" {
			info.ProducerVersion = m.GetMetaInfoDef().GetTensorflowVersion()
		}
		tags := append([]string(nil), m.GetMetaInfoDef().GetTags()...)
		sort.Strings(tags)
		mg := &MetaGraph{Tags: tags, Signatures: map[string]*Signature{}}
		if sd := m.GetSaverDef(); sd != nil {
			mg.Saver = &Saver{
				FilenameTensor: sd.GetFilenameTensorName(),
				SaveTensor:     sd.GetSaveTensorName(),
				RestoreOp:      sd.GetRestoreOpName(),
			}
		}
		for key, sd := range m.GetSignatureDef() {
			mg.Signatures[key] = &Signature{
				Key:        key,
				MethodName: sd.GetMethodName(),
				Inputs:     specsFromProto(sd.GetInputs()),
				Outputs:    specsFromProto(sd.GetOutputs()),
				Frozen:     info.Frozen[key],
			}
		}
		info.MetaGraphs = append(info.MetaGraphs, mg)
		if info.Serve == nil && len(tags) == 1 && tags[0] == ServeTag {
			if err := checkDTypes(m.GetSignatureDef()); err != nil {
				return nil, err
			}
			info.Serve = mg
		}
	}
	return info, nil
}

// checkDTypes refuses the first tensor of the signatures (by key, inputs before outputs, by
// alias) whose dtype is not a value of TensorFlow's DataType enum.
func checkDTypes(sigs map[string]*corepb.SignatureDef) error {
	for _, key := range sortedKeys(sigs) {
		for _, group := range []struct {
			what    string
			tensors map[string]*corepb.TensorInfo
		}{{"input", sigs[key].GetInputs()}, {"output", sigs[key].GetOutputs()}} {
			for _, alias := range sortedKeys(group.tensors) {
				dt := group.tensors[alias].GetDtype()
				if _, ok := typespb.DataType_name[int32(dt)]; !ok {
					return status.InvalidDType(key, group.what, alias, strconv.Itoa(int(dt)))
				}
			}
		}
	}
	return nil
}

func specsFromProto(m map[string]*corepb.TensorInfo) map[string]tensor.Spec {
	specs := make(map[string]tensor.Spec, len(m))
	for alias, ti := range m {
		spec := tensor.Spec{Alias: alias, Name: ti.GetName(), DType: tensor.DType(ti.GetDtype())}
		if shape := ti.GetTensorShape(); shape.GetUnknownRank() {
			spec.UnknownRank = true
		} else {
			spec.Shape = tensor.Shape{}
			for _, d := range shape.GetDim() {
				spec.Shape = append(spec.Shape, d.GetSize())
			}
		}
		specs[alias] = spec
	}
	return specs
}

// manifest is the part of manifest.json the consumers use.
type manifest struct {
	Signatures map[string]struct {
		Frozen *struct {
			Graph   string                   `json:"graph"`
			Inputs  map[string]manifestEntry `json:"inputs"`
			Outputs map[string]manifestEntry `json:"outputs"`
		} `json:"frozen"`
		// SavedModel and FrozenUnavailable are kept raw: only their presence (a
		// "saved_model" member, even null) and a string reason matter here.
		SavedModel        json.RawMessage `json:"saved_model"`
		FrozenUnavailable json.RawMessage `json:"frozen_unavailable"`
	} `json:"signatures"`
}

type manifestEntry struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"`
	Shape *[]int64 `json:"shape"` // null: unknown rank
}

func (info *Info) readManifest() error {
	path := pathtext.Join(info.Dir, "manifest.json")
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return status.New(status.FailedPrecondition, "cannot read %s: %v", path, err)
	}
	info.HasManifest = true
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return status.New(status.FailedPrecondition, "%s is not a valid manifest: %v", path, err)
	}
	for key, entry := range m.Signatures {
		if entry.Frozen == nil {
			if len(entry.SavedModel) > 0 {
				var reason string
				if json.Unmarshal(entry.FrozenUnavailable, &reason) != nil {
					reason = "" // absent or not a string: no reason
				}
				info.FrozenUnavailable[key] = reason
			}
			continue
		}
		f := &Frozen{Graph: entry.Frozen.Graph}
		if f.Inputs, err = specsFromManifest(entry.Frozen.Inputs, path, key); err != nil {
			return err
		}
		if f.Outputs, err = specsFromManifest(entry.Frozen.Outputs, path, key); err != nil {
			return err
		}
		info.Frozen[key] = f
	}
	return nil
}

func specsFromManifest(entries map[string]manifestEntry, path, key string) (map[string]tensor.Spec, error) {
	specs := make(map[string]tensor.Spec, len(entries))
	for alias, e := range entries {
		dt, ok := tensor.ParseDType(e.DType)
		if !ok {
			return nil, status.New(status.FailedPrecondition, "%s: signature %q, tensor %q has unknown dtype %q", path, key, alias, e.DType)
		}
		spec := tensor.Spec{Alias: alias, Name: e.Name, DType: dt}
		if e.Shape == nil {
			spec.UnknownRank = true
		} else {
			spec.Shape = append(tensor.Shape{}, *e.Shape...)
		}
		specs[alias] = spec
	}
	return specs, nil
}

// Format selects what predict runs: the SavedModel or the frozen GraphDef.
type Format string

// The two formats of --format.
const (
	FormatSavedModel Format = "saved_model"
	FormatFrozen     Format = "frozen"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatSavedModel, FormatFrozen:
		return Format(s), nil
	}
	return "", status.New(status.InvalidArgument, "unknown --format %q; expected saved_model or frozen", status.Bound(s))
}

// Plan is what running one signature needs: the specs to decode inputs against, the specs
// (tensor names) to fetch, and for frozen graphs the GraphDef path.
type Plan struct {
	// Key is the signature key.
	Key string
	// Format is the format the plan runs.
	Format Format
	// Inputs and Outputs are the specs by alias (for frozen graphs, the manifest's).
	Inputs, Outputs map[string]tensor.Spec
	// Graph is the absolute path of the frozen GraphDef (FormatFrozen only).
	Graph string
}

// servable reports whether predict offers a signature: keys starting with "__" (such as
// __saved_model_init_op) are not functions that can be called.
func servable(key string) bool { return !strings.HasPrefix(key, "__") }

// notFound is the refusal of a signature key the version does not have, the catalog's
// signature_not_found (NOT_FOUND): the available keys sorted, comma-separated ("none" when
// there is none).
func notFound(key string, available []string) error {
	list := strings.Join(available, ", ")
	if list == "" {
		list = "none"
	}
	return status.SignatureNotFound(key, list)
}

// noFrozenGraph is the refusal for --format frozen on a signature that manifest.json lists
// without a frozen graph (tests/CONTRACT.md, "manifest.json"), refused like an unknown
// signature (NOT_FOUND): the catalog's no_frozen_graph_because with the manifest's
// frozen_unavailable reason when it gives one, else no_frozen_graph.
func noFrozenGraph(key, reason string) error {
	if reason != "" {
		return status.NoFrozenGraphBecause(key, reason)
	}
	return status.NoFrozenGraph(key)
}

// Plan resolves a signature key for a format and checks that it can be served: every
// tensor has a graph name and a dtype the JSON codec supports. For FormatSavedModel the
// SignatureDef of the "serve" MetaGraphDef is used; for FormatFrozen the manifest's entry.
func (info *Info) Plan(key string, format Format) (*Plan, error) {
	plan := &Plan{Key: key, Format: format}
	if format == FormatFrozen {
		if !info.HasManifest {
			return nil, status.FrozenNeedsManifest(pathtext.Join(info.Dir, "manifest.json"))
		}
		f := info.Frozen[key]
		if f == nil {
			if reason, ok := info.FrozenUnavailable[key]; ok {
				return nil, noFrozenGraph(key, reason)
			}
			return nil, notFound(key, sortedKeys(info.Frozen))
		}
		plan.Inputs, plan.Outputs = f.Inputs, f.Outputs
		plan.Graph = pathtext.Join(info.Dir, f.Graph)
	} else {
		if info.Serve == nil {
			return nil, status.New(status.FailedPrecondition, "%s has no MetaGraphDef with tag-set 'serve'", pathtext.Join(info.Dir, SavedModelFile))
		}
		sig := info.Serve.Signatures[key]
		if sig == nil || !servable(key) {
			var keys []string
			for _, k := range info.Serve.SignatureKeys() {
				if servable(k) {
					keys = append(keys, k)
				}
			}
			return nil, notFound(key, keys)
		}
		plan.Inputs, plan.Outputs = sig.Inputs, sig.Outputs
	}
	for _, group := range []struct {
		what  string
		specs map[string]tensor.Spec
	}{{"input", plan.Inputs}, {"output", plan.Outputs}} {
		for _, alias := range sortedKeys(group.specs) {
			spec := group.specs[alias]
			if !spec.DType.Supported() {
				return nil, status.New(status.FailedPrecondition, "signature %s %s %s: dtype %s is not supported by predict", restjson.Quote(key), group.what, spec.Describe(), spec.DType)
			}
			if _, _, err := splitTensorName(spec.Name); err != nil {
				return nil, status.New(status.FailedPrecondition, "signature %s %s %s: %v", restjson.Quote(key), group.what, spec.Describe(), err)
			}
		}
	}
	if len(plan.Outputs) == 0 {
		return nil, status.New(status.FailedPrecondition, "signature %s has no outputs", restjson.Quote(key))
	}
	return plan, nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// splitTensorName splits "op:index" (index defaults to 0).
func splitTensorName(name string) (string, int, error) {
	if name == "" {
		return "", 0, fmt.Errorf("no dense tensor name (sparse and composite tensors are not supported)")
	}
	op, idx := name, 0
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		n, ok := ParseVersion(name[i+1:])
		if name[i+1:] == "0" {
			n, ok = 0, true
		}
		if !ok {
			return "", 0, fmt.Errorf("invalid tensor name %q", name)
		}
		op, idx = name[:i], int(n)
	}
	return op, idx, nil
}
