// RUN: kiln-opt %s --kiln-fuse --split-input-file | FileCheck %s --check-prefix=FUSE
// RUN: kiln-opt %s --kiln-fuse --kiln-emit-kernels --split-input-file | FileCheck %s

// graph.attention and graph.attention_grad are attention kernels of their own:
// elementwise neighbours get pointwise kernels (nothing joins an attention
// kernel). The emitted forward kernel is one thread per query row (30 rows, 64
// threads to a workgroup) running an online softmax: one loop carrying the
// running maximum, sum and the D = 4 accumulators. No buffer of the [2, 3, 5, 5]
// scores (150 elements) exists. Only `out` is read, so only it is stored.

// FUSE-LABEL: module @forward
// FUSE:         call @step_tanh
// FUSE:         call @step_attention(
// FUSE:         call @step_exp
// FUSE:       func.func private @step_attention({{.*}}) -> tensor<2x3x5x4xf32> attributes {graph.kernel = #graph.kernel<attention, layers = [], ops = 1>}
// FUSE-NEXT:    %{{.*}}, %{{.*}} = graph.attention
// FUSE-NEXT:    return

// CHECK-LABEL: gpu.module @step_attention_gpu
// CHECK:         gpu.func @step_attention(%[[OUT:[^:]*]]: memref<120xf32>, %[[Q:[^:]*]]: memref<120xf32>, %[[K:[^:]*]]: memref<120xf32>, %[[V:[^:]*]]: memref<120xf32>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 1, 1, 1>
// CHECK-SAME:      known_block_size = array<i32: 64, 1, 1>
// CHECK-NOT:       memref<150xf32>
// CHECK:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32)
// CHECK:             arith.cmpf ogt
// CHECK:             math.exp
// CHECK:             math.exp
// CHECK:           arith.divf
// CHECK:           memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT:       math.log
// CHECK:           gpu.return
module @forward {
  func.func @step() {
    %q = graph.input "q" : tensor<2x3x5x4xf32>
    %k = graph.input "k" : tensor<2x3x5x4xf32>
    %v = graph.input "v" : tensor<2x3x5x4xf32>
    %qs = graph.tanh %q : tensor<2x3x5x4xf32>
    %out, %lse = graph.attention %qs, %k, %v causal scale = 5.000000e-01 : tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32> -> tensor<2x3x5x4xf32>, tensor<2x3x5xf32>
    %y = graph.exp %out : tensor<2x3x5x4xf32>
    graph.output "y", %y : tensor<2x3x5x4xf32>
    return
  }
}

// -----

// Both forward results read: the kernel stores out and lse (m + log l). The
// backward op is one kernel of 2 * 6 rows: query rows (dq) then key rows (dk,
// dv), each a loop over the other side of the causal diagonal carrying D or 2D
// accumulators.

// FUSE-LABEL: module @backward
// FUSE:       #graph.kernel<attention, layers = [], ops = 1>
// FUSE:       #graph.kernel<attention, layers = [], ops = 1>

// CHECK-LABEL: gpu.module @step_attention_gpu
// CHECK:         gpu.func @step_attention(%[[OUT:[^:]*]]: memref<12xf32>, %[[LSE:[^:]*]]: memref<6xf32>,
// CHECK:           math.log
// CHECK:           memref.store %{{.*}}, %[[LSE]]
// CHECK-LABEL: gpu.module @step_attention_grad_gpu
// CHECK:         gpu.func @step_attention_grad(%[[DQ:[^:]*]]: memref<12xf32>, %[[DK:[^:]*]]: memref<12xf32>, %[[DV:[^:]*]]: memref<12xf32>,
// CHECK:           arith.cmpi ult, %{{.*}}, %c6
// CHECK:           scf.if
// CHECK:             scf.for {{.*}} -> (f32, f32)
// CHECK:             memref.store %{{.*}}, %[[DQ]]
// CHECK:           } else {
// CHECK:             scf.for {{.*}} -> (f32, f32, f32, f32)
// CHECK:             memref.store %{{.*}}, %[[DK]]
// CHECK:             memref.store %{{.*}}, %[[DV]]
module @backward {
  func.func @step() {
    %q = graph.input "q" : tensor<1x2x3x2xf32>
    %dout = graph.input "dout" : tensor<1x2x3x2xf32>
    %dlse = graph.input "dlse" : tensor<1x2x3xf32>
    %out, %lse = graph.attention %q, %q, %q causal scale = 7.071067e-01 : tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32> -> tensor<1x2x3x2xf32>, tensor<1x2x3xf32>
    %dq, %dk, %dv = graph.attention_grad %q, %q, %q, %out, %lse, %dout, %dlse causal scale = 7.071067e-01 : tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3xf32> -> tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>
    graph.output "dq", %dq : tensor<1x2x3x2xf32>
    graph.output "dk", %dk : tensor<1x2x3x2xf32>
    graph.output "dv", %dv : tensor<1x2x3x2xf32>
    return
  }
}
