package model_test

import (
	"context"
	"fmt"
	"time"

	"github.com/polyglot-tf/polyglot-tf/go_consumer/model"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/status"
	"github.com/polyglot-tf/polyglot-tf/go_consumer/tensor"
)

// Open a model folder (its highest complete version), verified against its manifest.json
// and checked for unsafe ops, and list what it can run.
func ExampleOpen() {
	m, err := model.Open("../../models/linear", model.Options{})
	if err != nil {
		fmt.Println(status.CodeOf(err), err)
		return
	}
	defer m.Close()
	for _, sig := range m.Signatures() {
		fmt.Printf("%s (%s): %s -> %s\n", sig.Key, sig.MethodName,
			tensor.DescribeSpecs(sig.Inputs), tensor.DescribeSpecs(sig.Outputs))
	}
	// Output:
	// serving_default (tensorflow/serving/predict): x (DT_DOUBLE, shape [-1, -1]) -> y (DT_DOUBLE, shape [-1, -1])
}

// Run a signature on a batch of two rows made from a flat slice, with a deadline.
func ExampleModel_Run() {
	m, err := model.Open("../../models/linear", model.Options{IntraOpThreads: 1})
	if err != nil {
		fmt.Println(status.CodeOf(err), err)
		return
	}
	defer m.Close()
	x, err := tensor.New([]int64{2, 1}, []float64{0, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outputs, err := m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"x": x})
	if err != nil {
		fmt.Println(status.CodeOf(err), err)
		return
	}
	y := outputs["y"]
	values, _ := tensor.Values[float64](y)
	fmt.Printf("y: %s %v, about %.1f and %.1f\n", y.DType, y.Shape, values[0], values[1])

	// A refusal is an error value with a canonical code, before TensorFlow runs anything.
	_, err = m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"x": {DType: tensor.Float, Shape: []int64{1, 1}, Data: []float32{1}}})
	fmt.Println(status.CodeOf(err))
	// Output:
	// y: DT_DOUBLE [2 1], about -3.0 and -0.0
	// INVALID_ARGUMENT
}
