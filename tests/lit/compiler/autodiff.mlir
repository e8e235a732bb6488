// RUN: kiln-opt %s --kiln-autodiff --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-autodiff --kiln-simplify --split-input-file | FileCheck %s --check-prefix=SIMPLE

// A linear layer with bias and ReLU under a mean cross-entropy loss: the
// gradient of every parameter is emitted, the minimize root is gone, the
// ReLU derivative is a mask on its input and the bias gradient is a column
// sum of the broadcast's gradient.

// CHECK-LABEL: module @linear
// CHECK-NOT:     graph.minimize
// CHECK:         %[[X:.*]] = graph.input "x"
// CHECK:         %[[W:.*]] = graph.read @w
// CHECK:         %[[PRE:.*]] = graph.add
// CHECK:         %[[LOGITS:.*]] = graph.relu %[[PRE]]
// CHECK:         graph.softmax %[[LOGITS]] axis = 1
// CHECK:         graph.one_hot
// CHECK:         %[[MASK:.*]] = graph.compare gt, %[[PRE]]
// CHECK:         %[[DPRE:.*]] = graph.select %[[MASK]]
// CHECK:         %[[DB:.*]] = graph.reduce_sum %[[DPRE]] [0] : tensor<4x3xf32> -> tensor<3xf32>
// CHECK:         %[[DW:.*]] = graph.matmul %[[DPRE]], %[[X]] transpose_lhs : tensor<4x3xf32>, tensor<4x5xf32> -> tensor<3x5xf32>
// CHECK:         graph.gradient @w, %[[DW]] : tensor<3x5xf32>
// CHECK:         graph.gradient @b, %[[DB]] : tensor<3xf32>
// CHECK-NEXT:    return

// SIMPLE-LABEL: module @linear
// The gradient with respect to the input x is dead and removed.
// SIMPLE-COUNT-2: graph.matmul
// SIMPLE-NOT:     graph.matmul
module @linear {
  graph.variable @w trainable : tensor<3x5xf32> = #graph.init<uniform(-1.0, 1.0), seed = 0, stream = 0>
  graph.variable @b trainable : tensor<3xf32> = #graph.init<constant(0.0), seed = 0, stream = 1>
  func.func @step() {
    %x = graph.input "x" : tensor<4x5xf32>
    %y = graph.input "y" : tensor<4xi32>
    %w = graph.read @w : tensor<3x5xf32>
    %b = graph.read @b : tensor<3xf32>
    %h = graph.matmul %x, %w transpose_rhs : tensor<4x5xf32>, tensor<3x5xf32> -> tensor<4x3xf32>
    %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32>
    %pre = graph.add %h, %bb : tensor<4x3xf32>
    %logits = graph.relu %pre : tensor<4x3xf32>
    %l = graph.softmax_cross_entropy %logits, %y : tensor<4x3xf32>, tensor<4xi32> -> tensor<4xf32>
    %loss = graph.reduce_mean %l [0] : tensor<4xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}

// -----

// A value used twice gets the sum of both gradients; a parameter read twice
// too. A parameter the loss ignores gets zeros; a non-trainable variable
// gets no gradient.

// CHECK-LABEL: module @reuse
// CHECK:         %[[P:.*]] = graph.read @p
// CHECK:         %[[SQ:.*]] = graph.mul %[[P]], %[[P]]
// CHECK:         %[[G1:.*]] = graph.mul %{{.*}}, %[[P]]
// CHECK:         %[[G2:.*]] = graph.mul %{{.*}}, %[[P]]
// CHECK:         %[[SUM:.*]] = graph.add %[[G1]], %[[G2]]
// CHECK:         graph.gradient @p, %[[SUM]]
// CHECK:         %[[Z:.*]] = graph.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK:         graph.gradient @unused, %[[Z]]
// CHECK-NOT:     graph.gradient @frozen
module @reuse {
  graph.variable @p trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @unused trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 1>
  graph.variable @frozen : tensor<2xf32> = #graph.init<constant(3.0), seed = 0, stream = 2>
  func.func @step() {
    %p = graph.read @p : tensor<2xf32>
    %f = graph.read @frozen : tensor<2xf32>
    %sq = graph.mul %p, %p : tensor<2xf32>
    %s = graph.mul %sq, %f : tensor<2xf32>
    %loss = graph.reduce_sum %s [0] : tensor<2xf32> -> tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
