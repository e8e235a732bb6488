// RUN: kiln-opt %s --split-input-file --verify-diagnostics

// Every error of #graph.kernel and of graph dialect attributes on ops.

// expected-error @below {{'func.func' op is a matmul kernel, which holds exactly one contraction, but it holds 0 contraction(s), 0 reduction(s) and 0 row computation(s)}}
func.func private @no_contraction(%a: tensor<4xf32>) -> tensor<4xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = [], ops = 1>} {
  %b = graph.exp %a : tensor<4xf32>
  return %b : tensor<4xf32>
}

// -----

// expected-error @below {{'func.func' op is a pointwise kernel, which holds only elementwise ops and views, but it holds 0 contraction(s), 1 reduction(s) and 0 row computation(s)}}
func.func private @reduction_in_pointwise(%a: tensor<4xf32>) -> tensor<f32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = [], ops = 1>} {
  %s = graph.reduce_sum %a [0] : tensor<4xf32> -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// expected-error @below {{'func.func' op is a pointwise kernel but holds graph.read, which is neither elementwise, a view nor an op with an iteration space}}
func.func private @interface_op() -> tensor<4xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = [], ops = 1>} {
  %v = graph.read @w : tensor<4xf32>
  return %v : tensor<4xf32>
}

// -----

// expected-error @below {{'graph.kernel' belongs on a func.func with a body (a kernel function)}}
module attributes {graph.kernel = #graph.kernel<pointwise, layers = [], ops = 0>} {
}

// -----

// expected-error @below {{unknown graph dialect attribute 'graph.colour' (graph.optimizer and graph.kernel are known)}}
module attributes {graph.colour = "blue"} {
}

// -----

// expected-error @below {{'graph.kernel' must be a #graph.kernel<...> attribute}}
func.func private @not_typed(%a: tensor<4xf32>) -> tensor<4xf32> attributes {graph.kernel = "pointwise"} {
  return %a : tensor<4xf32>
}

// -----

// expected-error @below {{unknown kernel kind 'convolution'; expected pointwise, multi_tensor, matmul, reduction, row, mask_pack, mask_unpack or attention}}
func.func private @bad_kind(%a: tensor<4xf32>) -> tensor<4xf32> attributes {graph.kernel = #graph.kernel<convolution, layers = [], ops = 0>} {
  return %a : tensor<4xf32>
}

// -----

// expected-error @below {{'func.func' op cannot be a mask_pack kernel: mask conversions are emitted by the compiler, never formed}}
func.func private @mask(%a: tensor<4xf32>) -> tensor<4xf32> attributes {graph.kernel = #graph.kernel<mask_pack, layers = [], ops = 0>} {
  return %a : tensor<4xf32>
}
