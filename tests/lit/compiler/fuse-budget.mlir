// RUN: kiln-opt %s --kiln-fuse="explain=true max-bindings=4" -verify-diagnostics | FileCheck %s

// The binding budget also bounds vertical fusion: a chain of ReLUs whose masks the backward
// pass keeps would otherwise be one kernel binding a buffer per mask (a 3,000-op chain bound
// 3,000 buffers, beyond every device's limit, and took minutes to compile). With a budget of
// 4, the matmul kernel keeps its inputs, the first mask and activation; the rest of the
// chain starts a kernel of its own (merged into one multi-tensor kernel within the budget).

// CHECK-LABEL: module @chain
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 2 : i64, fused_ops = 4 : i64, horizontal = 1 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 2 : i64}}
// CHECK:         func.func private @step_matmul_compare_relu(%{{.*}}: tensor<4x3xf32>, %{{.*}}: tensor<5x3xf32>) -> (tensor<4x5xi1>, tensor<4x5xf32>)
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 3>
// CHECK:         func.func private @step_multi_tensor(%{{.*}}: tensor<4x5xf32>) -> (tensor<4x5xi1>, tensor<4x5xi1>, tensor<4x5xf32>)
// CHECK-SAME:        #graph.kernel<multi_tensor, layers = [], ops = 4>
module @chain {
  func.func @step() {
    %x = graph.input "x" : tensor<4x3xf32>
    %w = graph.input "w" : tensor<5x3xf32>
    %h = graph.matmul %x, %w transpose_rhs : tensor<4x3xf32>, tensor<5x3xf32> -> tensor<4x5xf32>
    %z = graph.constant dense<0.000000e+00> : tensor<4x5xf32>
    %m1 = graph.compare gt, %h, %z : tensor<4x5xf32>
    %a1 = graph.relu %h : tensor<4x5xf32>
    // expected-remark @below {{not fused: into the matmul kernel of graph.matmul: the kernel would bind more than 4 buffers}}
    %m2 = graph.compare gt, %a1, %z : tensor<4x5xf32>
    // expected-remark @below {{not fused: into the matmul kernel of graph.matmul: the kernel would bind more than 4 buffers}}
    %a2 = graph.relu %a1 : tensor<4x5xf32>
    %m3 = graph.compare gt, %a2, %z : tensor<4x5xf32>
    %a3 = graph.relu %a2 : tensor<4x5xf32>
    graph.output "m1", %m1 : tensor<4x5xi1>
    graph.output "m2", %m2 : tensor<4x5xi1>
    graph.output "m3", %m3 : tensor<4x5xi1>
    graph.output "a3", %a3 : tensor<4x5xf32>
    return
  }
}
