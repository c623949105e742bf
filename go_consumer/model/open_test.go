package model

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// TestOpenAndRunRefusals: Open and Model.Run refuse with canonical codes, before TensorFlow
// runs anything, and both formats answer the same bits.
func TestOpenAndRunRefusals(t *testing.T) {
	info := latestVersion(t, "linear")
	root := filepath.Dir(info.Dir)
	if _, err := Open(filepath.Join(root, "no_such_version"), Options{}); status.CodeOf(err) != status.NotFound {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := Open(root, Options{Format: "onnx"}); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("bad format: %v", err)
	}
	if _, err := Open(root, Options{Version: 1 << 40}); status.CodeOf(err) != status.NotFound {
		t.Errorf("missing version: %v", err)
	}
	x, _ := tensor.New([]int64{3, 1}, []float64{1, 2, 3})
	var answers []*tensor.Tensor
	for _, format := range []Format{FormatSavedModel, FormatFrozen} {
		m, err := Open(root, Options{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.Info().Dir != info.Dir || m.Format() != format || len(m.Signatures()) != 1 {
			t.Errorf("%s: opened %s, %d signatures", format, m.Info().Dir, len(m.Signatures()))
		}
		out, err := m.Run(context.Background(), "", map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, out["y"])
		for _, tc := range []struct {
			key    string
			inputs map[string]*tensor.Tensor
			code   status.Code
			text   string
		}{
			{"nope", map[string]*tensor.Tensor{"x": x}, "", "nope"},
			{"", map[string]*tensor.Tensor{"z": x}, status.InvalidArgument, `unknown input "z"`},
			{"", map[string]*tensor.Tensor{"x": nil}, status.InvalidArgument, "nil"},
			{"", map[string]*tensor.Tensor{}, status.InvalidArgument, `missing input "x"`},
			{"", map[string]*tensor.Tensor{"x": {DType: tensor.Double, Shape: []int64{3}, Data: []float64{1, 2, 3}}}, status.InvalidArgument, "rank"},
		} {
			_, err := m.Run(context.Background(), tc.key, tc.inputs)
			if err == nil || tc.code != "" && status.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s %q %v: %v, want %s %q", format, tc.key, tc.inputs, err, tc.code, tc.text)
			}
		}
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		if _, err := m.Run(context.Background(), "", map[string]*tensor.Tensor{"x": x}); status.CodeOf(err) != status.FailedPrecondition {
			t.Errorf("%s: run after Close: %v", format, err)
		}
	}
	a, _ := tensor.Values[float64](answers[0])
	b, _ := tensor.Values[float64](answers[1])
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("saved_model %v, frozen %v", a, b)
		}
	}
}
