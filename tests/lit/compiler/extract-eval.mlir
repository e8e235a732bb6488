// RUN: kiln-opt %s --kiln-extract-eval --split-input-file --verify-diagnostics | FileCheck %s

// @eval keeps the forward computation and every output, and drops the loss
// root, the state update and the input only the update used.

// CHECK-LABEL: func.func @step()
// CHECK:         graph.minimize
// CHECK:         graph.assign @count
// CHECK-LABEL: func.func @eval()
// CHECK-NOT:     graph.input "increment"
// CHECK-NOT:     graph.read @count
// CHECK:         %[[X:.*]] = graph.input "x"
// CHECK:         %[[W:.*]] = graph.read @w
// CHECK:         %[[Y:.*]] = graph.mul %[[X]], %[[W]]
// CHECK:         %[[L:.*]] = graph.reduce_sum %[[Y]] [0]
// CHECK:         graph.output "loss", %[[L]]
// CHECK:         graph.output "prediction", %[[Y]]
// CHECK-NOT:     graph.minimize
// CHECK-NOT:     graph.assign
// CHECK:         return
module {
  graph.variable @w trainable : tensor<3xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @count : tensor<f32> = #graph.init<constant(0.0), seed = 0, stream = 1>
  func.func @step() {
    %x = graph.input "x" : tensor<3xf32>
    %inc = graph.input "increment" : tensor<f32>
    %w = graph.read @w : tensor<3xf32>
    %c = graph.read @count : tensor<f32>
    %y = graph.mul %x, %w : tensor<3xf32>
    %l = graph.reduce_sum %y [0] : tensor<3xf32> -> tensor<f32>
    graph.output "loss", %l : tensor<f32>
    graph.output "prediction", %y : tensor<3xf32>
    graph.minimize %l : tensor<f32>
    %c1 = graph.add %c, %inc : tensor<f32>
    graph.assign @count, %c1 : tensor<f32>
    return
  }
}

// -----

// expected-error @below {{kiln-extract-eval: the module has no func.func @step}}
module {
}

// -----

module {
  func.func @step() {
    return
  }
  // expected-error @below {{kiln-extract-eval: the module already has a symbol @eval}}
  func.func @eval() {
    return
  }
}
