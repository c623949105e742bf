package model

// Refusing unsafe ops (tests/CONTRACT.md, "Unsafe ops"). A SavedModel is a program: after
// the version folder is verified and before any TensorFlow session is created, the ops
// reachable from what a command and the loader will run are listed, and the first unsafe op
// that the user did not accept with --allow-op and that the dataflow rule does not exempt is
// refused. The scan itself, pure functions over the GraphDef protos, is package
// internal/opscan; CheckOps finds the graphs and roots of a command.

import (
	"os"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/opscan"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/internal/pathtext"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/restjson"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// AllowOpFlag is the repeatable command-line flag that accepts one unsafe op by name.
const AllowOpFlag = "--allow-op"

// InitOpSignature is the signature key whose outputs a SavedModel runs when it is loaded.
const InitOpSignature = opscan.InitOpSignature

// RunKeys returns the signature keys a request may name in format: for FormatSavedModel
// every signature of the "serve" MetaGraphDef that does not start with "__", for
// FormatFrozen every signature with a frozen graph in manifest.json. Sorted.
func (info *Info) RunKeys(format Format) []string {
	var keys []string
	if format == FormatFrozen {
		return sortedKeys(info.Frozen)
	}
	if info.Serve != nil {
		for _, k := range info.Serve.SignatureKeys() {
			if servable(k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// CheckOps refuses the first unsafe op (opscan.UnsafeOps) that running the signatures keys
// in format (and, for FormatSavedModel, what the loader runs first) can execute, unless
// allowed names it or the dataflow rule exempts it (see opscan.RootGroups,
// opscan.UnsafeUses and opscan.UnsafeUse.Refusal). It reads the graphs again from the
// version folder and creates no TensorFlow session.
//
// With FormatSavedModel the graph is the "serve" MetaGraphDef's, scanned from the three
// groups of opscan.RootGroups. With FormatFrozen each key's frozen GraphDef is walked from
// manifest.json's output tensor names (group signature, nothing fed), all graphs checked
// together. Keys without a signature (or frozen graph) are skipped: planning them is refused
// elsewhere. Errors are *status.Error (an unsafe op: FAILED_PRECONDITION).
func CheckOps(info *Info, format Format, keys []string, allowed []string) error {
	var uses []opscan.UnsafeUse
	if format == FormatFrozen {
		for _, key := range keys {
			f := info.Frozen[key]
			if f == nil {
				continue
			}
			path := pathtext.Join(info.Dir, f.Graph)
			data, err := os.ReadFile(path)
			if err != nil {
				return status.New(status.FailedPrecondition, "cannot read the frozen graph of signature %s: %v", restjson.Quote(key), err)
			}
			var graph graphpb.GraphDef
			if err := proto.Unmarshal(data, &graph); err != nil {
				return status.New(status.FailedPrecondition, "%s is not a GraphDef: %v", status.Bound(path), err)
			}
			var roots []string
			for _, alias := range sortedKeys(f.Outputs) {
				roots = append(roots, f.Outputs[alias].Name)
			}
			uses = append(uses, opscan.UnsafeUses(&graph, []opscan.RootGroup{{Name: opscan.GroupSignature, Roots: roots}})...)
		}
	} else {
		pbPath := pathtext.Join(info.Dir, SavedModelFile)
		data, err := os.ReadFile(pbPath)
		if err != nil {
			return status.New(status.FailedPrecondition, "cannot read %s: %v", status.Bound(pbPath), err)
		}
		var sm corepb.SavedModel
		if err := proto.Unmarshal(data, &sm); err != nil {
			return status.New(status.FailedPrecondition, "%s is not a SavedModel: %v", status.Bound(pbPath), err)
		}
		mg := serveMetaGraph(&sm)
		if mg == nil {
			return nil // nothing can be loaded; Plan and Open refuse it
		}
		uses = opscan.UnsafeUses(mg.GetGraphDef(), opscan.RootGroups(mg, keys))
	}
	if u, bad := opscan.FirstRefused(uses, allowed); bad {
		return u.Refusal()
	}
	return nil
}

// serveMetaGraph returns the first MetaGraphDef tagged exactly {"serve"}, the one ReadInfo
// describes and TensorFlow loads.
func serveMetaGraph(sm *corepb.SavedModel) *corepb.MetaGraphDef {
	for _, m := range sm.GetMetaGraphs() {
		if tags := m.GetMetaInfoDef().GetTags(); len(tags) == 1 && tags[0] == ServeTag {
			return m
		}
	}
	return nil
}
