// RUN: kiln-opt %s --kiln-autodiff --canonicalize --kiln-fuse | FileCheck %s

// kiln-fuse on kiln::layerNorm (see fuse-layer-norm.mlir) in training, with x a trainable
// variable so its gradient is computed: the forward pass and the whole backward pass of x (the
// row sums of the upstream gradient and of its product with the normalized row) are still ONE
// row kernel of 28 ops. The gradients of gamma and beta are sums over the rows (axes [0, 1]),
// which a row kernel cannot produce, so each is a reduction kernel of its own.

// CHECK-LABEL: module @layer_norm_training
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 24 : i64, fused_ops = 27 : i64, horizontal = 0 : i64, kernels = 3 : i64, prologues = 0 : i64, refused = 2 : i64}}
// CHECK:           %[[K:.*]]:3 = call @step_reduce_mean_sub_square_add_etc(
// CHECK-NEXT:      %[[DB:.*]] = call @step_reduce_sum(%[[K]]#0) : (tensor<2x3x8xf32>) -> tensor<8xf32>
// CHECK-NEXT:      %[[DW:.*]] = call @step_reduce_sum_2(%[[K]]#1) : (tensor<2x3x8xf32>) -> tensor<8xf32>
// CHECK-NEXT:      graph.gradient @x, %[[K]]#2
// CHECK-NEXT:      graph.gradient @w, %[[DW]]
// CHECK-NEXT:      graph.gradient @b, %[[DB]]
// CHECK:         func.func private @step_reduce_mean_sub_square_add_etc(
// CHECK-SAME:        graph.kernel = #graph.kernel<row, layers = [], ops = 28>
// CHECK:         func.func private @step_reduce_sum(
// CHECK-SAME:        graph.kernel = #graph.kernel<reduction, layers = [], ops = 1>
// CHECK:           graph.reduce_sum %{{.*}} [0, 1] : tensor<2x3x8xf32> -> tensor<8xf32>
// CHECK:         func.func private @step_reduce_sum_2(
// CHECK-SAME:        graph.kernel = #graph.kernel<reduction, layers = [], ops = 1>
module @layer_norm_training {
  graph.variable @x trainable : tensor<2x3x8xf32> = #graph.init<normal(0.0, 1.0), seed = 0, stream = 2>
  graph.variable @w trainable : tensor<8xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @b trainable : tensor<8xf32> = #graph.init<constant(0.0), seed = 0, stream = 1>
  func.func @step() {
    %x = graph.read @x : tensor<2x3x8xf32>
    %w = graph.read @w : tensor<8xf32>
    %b = graph.read @b : tensor<8xf32>
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
    %t = graph.input "t" : tensor<2x3x8xf32>
    %l = graph.mse %y, %t : tensor<2x3x8xf32> -> tensor<f32>
    graph.minimize %l : tensor<f32>
    return
  }
}
