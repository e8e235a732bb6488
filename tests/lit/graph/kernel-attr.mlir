// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// #graph.kernel round-trips, with and without layers; the dialect verifies the kind against
// the function's body (errors in kernel-attr-invalid.mlir).

// CHECK-LABEL: func.func private @pointwise
// CHECK-SAME:    graph.kernel = #graph.kernel<pointwise, layers = [], ops = 1>
func.func private @pointwise(%a: tensor<4xf32>) -> tensor<4xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = [], ops = 1>} {
  %b = graph.exp %a : tensor<4xf32>
  return %b : tensor<4xf32>
}

// CHECK-LABEL: func.func private @matmul
// CHECK-SAME:    graph.kernel = #graph.kernel<matmul, layers = ["fc1", "relu1"], ops = 2>
func.func private @matmul(%x: tensor<4x5xf32>, %w: tensor<3x5xf32>) -> tensor<4x3xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc1", "relu1"], ops = 2>} {
  %h = graph.matmul %x, %w transpose_rhs : tensor<4x5xf32>, tensor<3x5xf32> -> tensor<4x3xf32>
  %r = graph.relu %h : tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// CHECK-LABEL: func.func private @row
// CHECK-SAME:    graph.kernel = #graph.kernel<row, layers = ["ln"], ops = 3>
func.func private @row(%x: tensor<4x8xf32>) -> tensor<4x8xf32>
    attributes {graph.kernel = #graph.kernel<row, layers = ["ln"], ops = 3>} {
  %m = graph.reduce_mean %x [1] : tensor<4x8xf32> -> tensor<4xf32>
  %mb = graph.broadcast %m [0] : tensor<4xf32> to tensor<4x8xf32>
  %c = graph.sub %x, %mb : tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}
