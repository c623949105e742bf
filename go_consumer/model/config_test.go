package model

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
	tf "github.com/wamuir/graft/tensorflow"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// TestSessionConfigTurnsConstantFoldingOff: every session's ConfigProto has
// graph_options.rewrite_options.constant_folding = OFF and keeps the thread counts given,
// with nothing else set (tests/CONTRACT.md, "Numeric configuration").
func TestSessionConfigTurnsConstantFoldingOff(t *testing.T) {
	for _, o := range []Options{{}, {IntraOpThreads: 3, InterOpThreads: 2}, {IntraOpThreads: 1}, {InterOpThreads: 7}} {
		raw, err := o.Config()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 {
			t.Fatalf("%+v: empty ConfigProto (constant folding left on)", o)
		}
		var c corepb.ConfigProto
		if err := proto.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if got := c.GetGraphOptions().GetRewriteOptions().GetConstantFolding(); got != corepb.RewriterConfig_OFF {
			t.Errorf("%+v: constant_folding = %v, want OFF", o, got)
		}
		if c.IntraOpParallelismThreads != o.IntraOpThreads || c.InterOpParallelismThreads != o.InterOpThreads {
			t.Errorf("%+v: threads intra %d inter %d", o, c.IntraOpParallelismThreads, c.InterOpParallelismThreads)
		}
		want := &corepb.ConfigProto{
			IntraOpParallelismThreads: o.IntraOpThreads,
			InterOpParallelismThreads: o.InterOpThreads,
			GraphOptions: &corepb.GraphOptions{RewriteOptions: &corepb.RewriterConfig{
				ConstantFolding: corepb.RewriterConfig_OFF,
			}},
		}
		if !proto.Equal(&c, want) {
			t.Errorf("%+v: ConfigProto %v, want only constant folding off and the thread counts", o, &c)
		}
	}
	if _, err := (Options{IntraOpThreads: -1}).Config(); err == nil {
		t.Error("negative thread count accepted")
	}
	// Every Runner's sessions (predict and every other command) get Options' config.
	r, err := NewRunner(&Info{Dir: t.TempDir()}, FormatFrozen, Options{IntraOpThreads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want, _ := Options{IntraOpThreads: 2}.Config()
	if string(r.config) != string(want) {
		t.Errorf("Runner config %x, want %x", r.config, want)
	}
}

// TestRunnerSessionsDoNotFoldConstants: a frozen graph computing x / c for a Const c gives
// the bits of the IEEE division. With Grappler's constant folding on (a session without the
// contract's ConfigProto), the division by a constant is rewritten as x * (1 / c), which
// differs in the last bit for about a third of the values.
func TestRunnerSessionsDoNotFoldConstants(t *testing.T) {
	g := tf.NewGraph()
	x, err := g.AddOperation(tf.OpSpec{Type: "Placeholder", Name: "x", Attrs: map[string]any{"dtype": tf.Float}})
	if err != nil {
		t.Fatal(err)
	}
	three, err := tf.NewTensor(float32(3))
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.AddOperation(tf.OpSpec{Type: "Const", Name: "c", Attrs: map[string]any{"dtype": tf.Float, "value": three}})
	if err != nil {
		t.Fatal(err)
	}
	div, err := g.AddOperation(tf.OpSpec{Type: "RealDiv", Name: "div", Input: []tf.Input{x.Output(0), c.Output(0)}})
	if err != nil {
		t.Fatal(err)
	}
	// Grappler skips graphs of fewer than 4 nodes (RewriterConfig.min_graph_nodes): two
	// Identity nodes make the graph big enough to be optimized.
	mid, err := g.AddOperation(tf.OpSpec{Type: "Identity", Name: "mid", Input: []tf.Input{div.Output(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddOperation(tf.OpSpec{Type: "Identity", Name: "y", Input: []tf.Input{mid.Output(0)}}); err != nil {
		t.Fatal(err)
	}
	var def bytes.Buffer
	if _, err := g.WriteTo(&def); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "serving_default.pb")
	if err := os.WriteFile(path, def.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := func(alias, name string) tensor.Spec {
		return tensor.Spec{Alias: alias, Name: name, DType: tensor.Float, Shape: tensor.Shape{-1}}
	}
	plan := &Plan{Key: DefaultSignature, Format: FormatFrozen, Graph: path,
		Inputs:  map[string]tensor.Spec{"x": spec("x", "x:0")},
		Outputs: map[string]tensor.Spec{"y": spec("y", "y:0")}}
	r, err := NewRunner(&Info{Dir: filepath.Dir(path)}, FormatFrozen, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	in := make([]float32, 3000)
	for i := range in {
		in[i] = 1 + float32(i)/1024
	}
	out, err := r.Run(plan, map[string]*tensor.Tensor{"x": {DType: tensor.Float, Shape: []int64{int64(len(in))}, Data: in}})
	if err != nil {
		t.Fatal(err)
	}
	got := out["y"].Data.([]float32)
	folded := 0
	for i, v := range in {
		want := v / 3
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			if math.Float32bits(got[i]) == math.Float32bits(v*(1/float32(3))) {
				folded++
			}
			if folded < 3 {
				t.Errorf("%v / 3 = %v (%08x), want %v (%08x)", v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
			}
		}
	}
	if folded > 0 {
		t.Errorf("%d of %d divisions ran as x * (1/3): the session folds constants", folded, len(in))
	}
}
