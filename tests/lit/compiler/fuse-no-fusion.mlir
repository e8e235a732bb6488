// RUN: kiln-opt %s --kiln-fuse="no-fusion=true" | FileCheck %s

// kiln-fuse with no-fusion=true: one kernel per compute op (for comparison
// and tests). Views are still recomputed by the kernels that read them, and
// interface ops stay in the program.

// CHECK-LABEL: module @no_fusion
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 0 : i64, horizontal = 0 : i64, kernels = 5 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[H:.*]] = call @fc1_matmul(
// CHECK-NEXT:      %[[PRE:.*]] = call @fc1_add(%[[H]], %{{.*}})
// CHECK-NEXT:      %[[A:.*]] = call @fc1_relu(%[[PRE]])
// CHECK-NEXT:      %[[E:.*]] = call @step_exp(%[[A]])
// CHECK-NEXT:      %[[S:.*]] = call @step_reduce_sum(%[[E]])
// CHECK-NEXT:      graph.output "s", %[[S]]
// CHECK-NOT:     func.func private {{.*}}ops = 2
// CHECK:         func.func private @fc1_matmul(
// CHECK-SAME:        #graph.kernel<matmul, layers = ["fc1"], ops = 1>
// CHECK:         func.func private @fc1_add(
// CHECK-SAME:        #graph.kernel<pointwise, layers = ["fc1"], ops = 1>
// CHECK-NEXT:      graph.broadcast
// CHECK-NEXT:      graph.add
// CHECK:         func.func private @fc1_relu(
// CHECK-SAME:        #graph.kernel<pointwise, layers = ["fc1"], ops = 1>
// CHECK:         func.func private @step_exp(
// CHECK-SAME:        #graph.kernel<pointwise, layers = [], ops = 1>
// CHECK:         func.func private @step_reduce_sum(
// CHECK-SAME:        #graph.kernel<reduction, layers = [], ops = 1>
module @no_fusion {
  func.func @step() {
    %x = graph.input "x" : tensor<4x5xf32>
    %w = graph.input "w" : tensor<3x5xf32>
    %b = graph.input "b" : tensor<3xf32>
    %h = graph.matmul %x, %w transpose_rhs : tensor<4x5xf32>, tensor<3x5xf32> -> tensor<4x3xf32> loc("fc1"("model.cc":10:3))
    %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32> loc("fc1"("model.cc":10:3))
    %pre = graph.add %h, %bb : tensor<4x3xf32> loc("fc1"("model.cc":10:3))
    %a = graph.relu %pre : tensor<4x3xf32> loc("fc1"("model.cc":11:3))
    %e = graph.exp %a : tensor<4x3xf32>
    %s = graph.reduce_sum %e [0] : tensor<4x3xf32> -> tensor<3xf32>
    graph.output "s", %s : tensor<3xf32>
    return
  }
}
