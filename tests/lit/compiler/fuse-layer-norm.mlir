// RUN: kiln-opt %s --kiln-fuse="explain=true" -verify-diagnostics | FileCheck %s

// kiln-fuse on layer norm as kiln::layerNorm builds it (frontend/lib/Transformer.cpp) for
// x [B, T, C]: mean over the last axis, subtract, square, mean, add the eps splat, rsqrt, scale,
// shift. The forward pass is ONE row kernel: both statistics are row reductions fused with the
// normalization, and the per-row values, gamma and beta are broadcast inside it.

// CHECK-LABEL: module @layer_norm
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 7 : i64, fused_ops = 8 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[Y:.*]] = call @step_reduce_mean_sub_square_add_etc(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT:      graph.output "y", %[[Y]]
// CHECK:         func.func private @step_reduce_mean_sub_square_add_etc(
// CHECK-SAME:        graph.kernel = #graph.kernel<row, layers = [], ops = 9>
// CHECK:           graph.reduce_mean %{{.*}} [2] : tensor<2x3x8xf32> -> tensor<2x3xf32>
// CHECK:           graph.square
// CHECK:           graph.reduce_mean %{{.*}} [2] : tensor<2x3x8xf32> -> tensor<2x3xf32>
// CHECK:           graph.rsqrt %{{.*}} : tensor<2x3xf32>
module @layer_norm {
  func.func @step() {
    %x = graph.input "x" : tensor<2x3x8xf32>
    %w = graph.input "w" : tensor<8xf32>
    %b = graph.input "b" : tensor<8xf32>
    %mean = graph.reduce_mean %x [2] : tensor<2x3x8xf32> -> tensor<2x3xf32>
    %mb = graph.broadcast %mean [0, 1] : tensor<2x3xf32> to tensor<2x3x8xf32>
    %c = graph.sub %x, %mb : tensor<2x3x8xf32>
    %sq = graph.square %c : tensor<2x3x8xf32>
    %var = graph.reduce_mean %sq [2] : tensor<2x3x8xf32> -> tensor<2x3xf32>
    %eps = graph.constant dense<1.0e-05> : tensor<2x3xf32>
    %ve = graph.add %var, %eps : tensor<2x3xf32>
    %inv = graph.rsqrt %ve : tensor<2x3xf32>
    %ib = graph.broadcast %inv [0, 1] : tensor<2x3xf32> to tensor<2x3x8xf32>
    %n = graph.mul %c, %ib : tensor<2x3x8xf32>
    %wb = graph.broadcast %w [2] : tensor<8xf32> to tensor<2x3x8xf32>
    %nw = graph.mul %n, %wb : tensor<2x3x8xf32>
    %bb = graph.broadcast %b [2] : tensor<8xf32> to tensor<2x3x8xf32>
    %y = graph.add %nw, %bb : tensor<2x3x8xf32>
    graph.output "y", %y : tensor<2x3x8xf32>
    return
  }
}
