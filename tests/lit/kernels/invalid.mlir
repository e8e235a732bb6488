// RUN: kiln-opt %s --kiln-emit-kernels --split-input-file -verify-diagnostics

// What kiln-emit-kernels refuses, each with an error at the offending op. A
// kernel whose body does not match its kind never reaches the pass: the graph
// dialect's verifier of `graph.kernel` refuses it.

// Graph ops take f32 only, but a kernel's buffers are checked all the same.
// expected-error @+1 {{'func.func' op cannot be compiled for a GPU target: 'tensor<4xf64>' has elements of type 'f64'; kernels support f32, i32 and i1}}
func.func private @double(%x: tensor<4xf64>) -> tensor<4xf64>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["copy"], ops = 0>} {
  return %x : tensor<4xf64>
}

// -----

func.func private @computed_operand(%x: tensor<8x4xf32>, %w: tensor<4x3xf32>) -> tensor<8x3xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 2>} {
  %r = graph.relu %x : tensor<8x4xf32>
  // expected-error @+1 {{'graph.matmul' op cannot be emitted: its lhs is computed inside the kernel, but a matmul kernel reads its operands from buffers (a bug in kernel formation)}}
  %h = graph.matmul %r, %w : tensor<8x4xf32>, tensor<4x3xf32> -> tensor<8x3xf32>
  return %h : tensor<8x3xf32>
}

// -----

func.func private @too_many_batches(%a: tensor<70000x1x2xf32>, %b: tensor<70000x2x1xf32>) -> tensor<70000x1x1xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["attention"], ops = 1>} {
  // expected-error @+1 {{'graph.matmul' op cannot be compiled: a 70000 x 1 x 1 product needs 1 x 1 x 70000 workgroups, beyond 65535 per dimension}}
  %p = graph.matmul %a, %b : tensor<70000x1x2xf32>, tensor<70000x2x1xf32> -> tensor<70000x1x1xf32>
  return %p : tensor<70000x1x1xf32>
}

// -----

func.func private @column_sum_in_a_row_kernel(%x: tensor<4x8xf32>) -> tensor<8xf32>
    attributes {graph.kernel = #graph.kernel<row, layers = ["norm"], ops = 1>} {
  // expected-error @+1 {{'graph.reduce_sum' op cannot be emitted in a row kernel: it reduces other than exactly the last axis of its operand}}
  %s = graph.reduce_sum %x [0] : tensor<4x8xf32> -> tensor<8xf32>
  return %s : tensor<8xf32>
}

// -----

func.func private @rows_of_two_lengths(%x: tensor<4x8xf32>, %y: tensor<4x16xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    attributes {graph.kernel = #graph.kernel<row, layers = ["norm"], ops = 2>} {
  %s = graph.reduce_sum %x [1] : tensor<4x8xf32> -> tensor<4xf32>
  // expected-error @+1 {{'graph.reduce_max' op cannot be emitted in this row kernel: its rows run along axis 1 of a tensor of 2 dimensions, unlike graph.reduce_sum's}}
  %m = graph.reduce_max %y [1] : tensor<4x16xf32> -> tensor<4xf32>
  return %s, %m : tensor<4xf32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op is a pointwise kernel, which holds only elementwise ops and views, but it holds 1 contraction(s), 0 reduction(s) and 0 row computation(s)}}
func.func private @pointwise_with_a_product(%x: tensor<8x4xf32>, %w: tensor<4x3xf32>) -> tensor<8x3xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["fc"], ops = 1>} {
  %h = graph.matmul %x, %w : tensor<8x4xf32>, tensor<4x3xf32> -> tensor<8x3xf32>
  return %h : tensor<8x3xf32>
}

// -----

// expected-error @+1 {{'func.func' op is a reduction kernel, which holds exactly one reduction, but it holds 0 contraction(s), 0 reduction(s) and 1 row computation(s)}}
func.func private @reduction_with_a_softmax(%x: tensor<8x4xf32>) -> tensor<8x4xf32>
    attributes {graph.kernel = #graph.kernel<reduction, layers = ["head"], ops = 1>} {
  %p = graph.softmax %x axis = 1 : tensor<8x4xf32>
  return %p : tensor<8x4xf32>
}
