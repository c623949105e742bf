package tensor

import (
	"reflect"
	"testing"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
)

// TestNewAndValues: a tensor keeps the slice it was made from and gives it back, for every
// element type; wrong counts, negative dims and the wrong Go type are INVALID_ARGUMENT.
func TestNewAndValues(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6}
	x, err := New([]int64{2, 3}, data)
	if err != nil {
		t.Fatal(err)
	}
	if x.DType != Float || !reflect.DeepEqual(x.Shape, []int64{2, 3}) || x.Len() != 6 {
		t.Errorf("tensor %+v", x)
	}
	got, err := Values[float32](x)
	if err != nil || &got[0] != &data[0] {
		t.Errorf("Values copied or failed: %v", err)
	}
	if _, err := Values[float64](x); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("wrong type: %v", err)
	}
	if _, err := New([]int64{2, 2}, data); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("wrong count: %v", err)
	}
	if _, err := New([]int64{-1}, data); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("negative dim: %v", err)
	}
	scalar, err := New(nil, []int64{7})
	if err != nil || scalar.DType != Int64 || len(scalar.Shape) != 0 {
		t.Errorf("scalar %+v %v", scalar, err)
	}
	for _, c := range []struct {
		got, want DType
	}{
		{DTypeOf[float64](), Double}, {DTypeOf[Float16](), Half}, {DTypeOf[int8](), Int8},
		{DTypeOf[int16](), Int16}, {DTypeOf[int32](), Int32}, {DTypeOf[uint8](), Uint8},
		{DTypeOf[uint16](), Uint16}, {DTypeOf[uint32](), Uint32}, {DTypeOf[uint64](), Uint64},
		{DTypeOf[bool](), Bool}, {DTypeOf[string](), String},
	} {
		if c.got != c.want {
			t.Errorf("DTypeOf: %s, want %s", c.got, c.want)
		}
	}
}

// TestBytes: DT_STRING elements are any bytes, in and out.
func TestBytes(t *testing.T) {
	in := [][]byte{{0, 0xff}, []byte("café"), {}}
	x, err := NewBytes([]int64{3}, in)
	if err != nil || x.DType != String {
		t.Fatal(x, err)
	}
	out, err := Bytes(x)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("Bytes: %q %v", out, err)
	}
	if _, err := Bytes(&Tensor{DType: Float, Shape: []int64{1}, Data: []float32{1}}); err == nil {
		t.Error("Bytes of DT_FLOAT")
	}
}
