// RUN: kiln-opt %s --kiln-autodiff --kiln-fuse --kiln-emit-kernels --kiln-exec-assemble | FileCheck %s

// Without the simplification passes, the broadcast's gradient leaves a dead
// product that kiln-fuse outlines as a kernel with no results. Kernels only
// return values, so assembly drops its call: no kernel, no dispatch.

// CHECK-LABEL: exec.plan
// CHECK-NOT:     exec.kernel @step_mul kind
// CHECK:         exec.program @train
// CHECK-NOT:       exec.dispatch @step_mul(
// CHECK:         }
module {
  graph.variable @arg0 trainable : tensor<3x1xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  func.func @step() {
    %arg0 = graph.read @arg0 : tensor<3x1xf32>
    %result = graph.broadcast %arg0 [0, 1] : tensor<3x1xf32> to tensor<3x4xf32>
    %weights = graph.input "weights" : tensor<3x4xf32>
    %weighted = graph.mul %result, %weights : tensor<3x4xf32>
    %loss = graph.reduce_sum %weighted [0, 1] : tensor<3x4xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
