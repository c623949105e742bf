package model

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	tf "github.com/wamuir/graft/tensorflow"
)

// TestGraftGraphLayout guards deleteGraph: graft's Graph must still be exactly one pointer
// field c, the TF_Graph it owns.
func TestGraftGraphLayout(t *testing.T) {
	typ := reflect.TypeOf(tf.Graph{})
	if typ.NumField() != 1 || typ.Field(0).Name != "c" || typ.Field(0).Type.Kind() != reflect.Pointer ||
		typ.Size() != unsafe.Sizeof(graftGraph{}) {
		t.Fatalf("graft's Graph changed its layout (%d fields, size %d); update graftGraph and deleteGraph", typ.NumField(), typ.Size())
	}
	g := tf.NewGraph()
	if _, err := g.AddOperation(tf.OpSpec{Type: "Placeholder", Name: "p", Attrs: map[string]any{"dtype": tf.Float}}); err != nil {
		t.Fatal(err)
	}
	deleteGraph(g)
	if (*graftGraph)(unsafe.Pointer(g)).c != nil {
		t.Error("deleteGraph left the pointer set")
	}
	deleteGraph(g) // a second call does nothing
	deleteGraph(nil)
}

// TestRunnerCloseFreesGraphs: after Close, the Runner's graphs are freed (not left to
// graft's finalizers) and further runs are refused.
func TestRunnerCloseFreesGraphs(t *testing.T) {
	info := latestVersion(t, "linear")
	for _, format := range []Format{FormatSavedModel, FormatFrozen} {
		r, err := Open(info, format)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := info.Plan(DefaultSignature, format)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(plan, map[string]*tfjson.Tensor{"x": {DType: tfjson.Double, Shape: []int64{1, 1}, Data: []float64{2}}}); err != nil {
			t.Fatal(err)
		}
		var graphs []*tf.Graph
		if r.saved != nil {
			graphs = append(graphs, r.saved.graph)
		}
		for _, gs := range r.frozen {
			graphs = append(graphs, gs.graph)
		}
		if len(graphs) != 1 {
			t.Fatalf("%s: %d graphs open", format, len(graphs))
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if (*graftGraph)(unsafe.Pointer(graphs[0])).c != nil {
			t.Errorf("%s: Close left the graph allocated", format)
		}
		if _, err := r.Run(plan, nil); err == nil && format == FormatSavedModel {
			t.Errorf("%s: Run after Close succeeded", format)
		}
	}
}
