// RUN: kiln-opt %s --kiln-fuse | FileCheck %s --check-prefix=FUSE
// RUN: kiln-opt %s --kiln-fuse --kiln-emit-kernels | FileCheck %s --check-prefix=KERNEL

// Max pooling as kiln/Pooling.h builds it: reduce_max over graph.window of
// graph.pad (3x3 windows, stride 2, one row and column of -inf on each side).
// Fusion forms one reduction kernel that binds only x and the result: the pad
// and the window are cloned into it and read through, so neither the padded
// image nor the windows exist in memory. Each visited element reads x at
// (2*oy + ky - 1, 2*ox + kx - 1), with the row and column outside [0, 8)
// replaced by 0 for the load and the fill selected after it.

// FUSE-LABEL: module @max_pool
// FUSE:         func.func @step()
// FUSE:           %[[X:.*]] = graph.input "x"
// FUSE-NEXT:      %[[Y:.*]] = call @step_reduce_max(%[[X]]) : (tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32>
// FUSE-NEXT:      graph.output "y", %[[Y]]
// FUSE:         func.func private @step_reduce_max(%[[A:.*]]: tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32>
// FUSE-SAME:        graph.kernel = #graph.kernel<reduction, layers = [], ops = 1>
// FUSE-NEXT:      %[[P:.*]] = graph.pad %[[A]] low = [0, 0, 1, 1] high = [0, 0, 1, 1]
// FUSE-NEXT:      %[[W:.*]] = graph.window %[[P]] window = [3, 3] stride = [2, 2]
// FUSE-NEXT:      %[[R:.*]] = graph.reduce_max %[[W]] [4, 5] first_max_gradient
// FUSE-NEXT:      return %[[R]]

// KERNEL-LABEL: gpu.func @step_reduce_max(
// KERNEL-SAME:      %[[OUT:[^:]*]]: memref<96xf32>, %[[IN:[^:]*]]: memref<384xf32>)
// KERNEL-SAME:      kiln.grid = array<i32: 96, 1, 1>
// KERNEL-DAG:       %[[FILL:.*]] = arith.constant 0xFF800000 : f32
// KERNEL-DAG:       %[[C8:.*]] = arith.constant 8 : index
// KERNEL-DAG:       %[[C9:.*]] = arith.constant 9 : index
// KERNEL:           scf.for %[[TAP:.*]] = %{{.*}} to %[[C9]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[FILL]]) -> (f32) {
// KERNEL:             %[[KY:.*]] = arith.divui %[[TAP]], %{{.*}} : index
// KERNEL:             %[[KX:.*]] = arith.remui %[[TAP]], %{{.*}} : index
// KERNEL:             %[[ROW:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// KERNEL:             %[[ROWIN:.*]] = arith.cmpi ult, %[[ROW]], %[[C8]] : index
// KERNEL:             arith.select %[[ROWIN]], %[[ROW]], %{{.*}} : index
// KERNEL:             %[[COL:.*]] = arith.subi %{{.*}}, %{{.*}} : index
// KERNEL:             %[[COLIN:.*]] = arith.cmpi ult, %[[COL]], %[[C8]] : index
// KERNEL:             %[[INSIDE:.*]] = arith.andi %[[ROWIN]], %[[COLIN]] : i1
// KERNEL:             %[[V:.*]] = memref.load %[[IN]][%{{.*}}] : memref<384xf32>
// KERNEL:             %[[E:.*]] = arith.select %[[INSIDE]], %[[V]], %[[FILL]] : f32
// KERNEL:             %[[M:.*]] = arith.maximumf %[[ACC]], %[[E]] : f32
// KERNEL:             scf.yield %[[M]] : f32
// KERNEL-NOT:       memref.store %{{.*}}, %[[IN]]
// KERNEL:           memref.store %{{.*}}, %[[OUT]][%{{.*}}] : memref<96xf32>
module @max_pool {
  func.func @step() {
    %x = graph.input "x" : tensor<2x3x8x8xf32>
    %p = graph.pad %x low = [0, 0, 1, 1] high = [0, 0, 1, 1] interior = [0, 0, 0, 0] value = 0xFF800000 : tensor<2x3x8x8xf32> -> tensor<2x3x10x10xf32>
    %w = graph.window %p window = [3, 3] stride = [2, 2] dilation = [1, 1] : tensor<2x3x10x10xf32> -> tensor<2x3x4x4x3x3xf32>
    %y = graph.reduce_max %w [4, 5] first_max_gradient : tensor<2x3x4x4x3x3xf32> -> tensor<2x3x4x4xf32>
    graph.output "y", %y : tensor<2x3x4x4xf32>
    return
  }
}
