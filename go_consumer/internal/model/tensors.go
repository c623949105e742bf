package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"

	"github.com/polyglot-tf/go_consumer/internal/status"

	"github.com/polyglot-tf/go_consumer/internal/tfjson"
	tf "github.com/wamuir/graft/tensorflow"
)

// toTF builds a TensorFlow tensor from a flat tfjson tensor: the flat slice is copied in one
// piece and then reshaped. DT_STRING tensors cannot be reshaped by TensorFlow, so they are
// built from nested slices instead. DT_HALF goes through Runner (see halfTensor).
func toTF(t *tfjson.Tensor) (*tf.Tensor, error) {
	if int64(t.Len()) != tfjson.NumElements(t.Shape) {
		return nil, fmt.Errorf("tensor holds %d elements for shape %v", t.Len(), t.Shape)
	}
	var (
		out *tf.Tensor
		err error
	)
	switch {
	case t.DType == tfjson.String:
		out, err = tf.NewTensor(nestStrings(t.Data.([]string), t.Shape))
	case len(t.Shape) == 0:
		out, err = tf.NewTensor(reflect.ValueOf(t.Data).Index(0).Interface())
	default:
		out, err = tf.NewTensor(t.Data)
		if err == nil && len(t.Shape) != 1 {
			err = out.Reshape(append([]int64(nil), t.Shape...))
		}
	}
	if err != nil {
		return nil, status.New(status.Internal, "cannot build a %s tensor of shape %v: %v", t.DType, t.Shape, err)
	}
	if got := tfjson.DType(out.DataType()); got != t.DType {
		return nil, status.New(status.Internal, "built a %s tensor for %s", got, t.DType)
	}
	return out, nil
}

// nestStrings turns a flat row-major []string into nested slices of the given shape
// (a bare string for a scalar).
func nestStrings(flat []string, shape []int64) any {
	if len(shape) == 0 {
		return flat[0]
	}
	typ := reflect.TypeOf(flat)
	for range shape[1:] {
		typ = reflect.SliceOf(typ)
	}
	next := 0
	var build func(typ reflect.Type, dims []int64) reflect.Value
	build = func(typ reflect.Type, dims []int64) reflect.Value {
		if len(dims) == 1 {
			v := reflect.ValueOf(flat[next : next+int(dims[0])])
			next += int(dims[0])
			return v
		}
		v := reflect.MakeSlice(typ, int(dims[0]), int(dims[0]))
		for i := 0; i < int(dims[0]); i++ {
			v.Index(i).Set(build(typ.Elem(), dims[1:]))
		}
		return v
	}
	return build(typ, shape).Interface()
}

// fromTF copies a TensorFlow tensor into a flat tfjson tensor.
func fromTF(t *tf.Tensor) (*tfjson.Tensor, error) {
	shape := append([]int64{}, t.Shape()...)
	dt := tfjson.DType(t.DataType())
	out := &tfjson.Tensor{DType: dt, Shape: shape}
	n := tfjson.NumElements(shape)
	switch {
	case !dt.Supported():
		return nil, fmt.Errorf("dtype %s cannot be written as JSON", dt)
	case dt == tfjson.Half:
		var buf bytes.Buffer
		if _, err := t.WriteContentsTo(&buf); err != nil {
			return nil, err
		}
		raw := buf.Bytes()
		if int64(len(raw)) != 2*n {
			return nil, fmt.Errorf("DT_HALF tensor of shape %v has %d bytes", shape, len(raw))
		}
		halves := make([]tfjson.Float16, n)
		for i := range halves {
			halves[i] = tfjson.Float16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		out.Data = halves
	case dt == tfjson.String:
		flat := make([]string, 0, n)
		out.Data = flattenStrings(reflect.ValueOf(t.Value()), flat)
	case len(shape) == 0:
		v := reflect.ValueOf(t.Value())
		s := reflect.MakeSlice(reflect.SliceOf(v.Type()), 1, 1)
		s.Index(0).Set(v)
		out.Data = s.Interface()
	default:
		if len(shape) != 1 {
			if err := t.Reshape([]int64{n}); err != nil {
				return nil, err
			}
		}
		out.Data = t.Value()
	}
	if int64(out.Len()) != n {
		return nil, fmt.Errorf("%s tensor of shape %v gave %d elements", dt, shape, out.Len())
	}
	return out, nil
}

func flattenStrings(v reflect.Value, dst []string) []string {
	if v.Kind() == reflect.String {
		return append(dst, v.String())
	}
	if s, ok := v.Interface().([]string); ok {
		return append(dst, s...)
	}
	for i := 0; i < v.Len(); i++ {
		dst = flattenStrings(v.Index(i), dst)
	}
	return dst
}
