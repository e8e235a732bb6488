// RUN: kiln-opt %s --kiln-emit-kernels --split-input-file | FileCheck %s

// kiln-emit-kernels on convolution kernels: the matmul kernel as an implicit
// GEMM (docs/design/convolution.md). Per group (the grid's z) rows x cols
// outputs in 64x64 tiles; stage() computes each staged element's index from
// the geometry, so the im2col matrix never exists: a weight element is a plain
// offset, an input element is guarded by its padding bounds (and, for the input
// gradient, by the stride's divisibility) and stages a zero outside them.

// conv2d of x [2, 3, 8, 8] by w [4, 3, 3, 3], padding 1: rows = 4 output
// channels, cols = 2*8*8 = 128 pixels (two column tiles), depth = 3*3*3 = 27.
// The bias is read at the result's channel; ReLU follows on the accumulator.

// CHECK-LABEL: gpu.module @conv_bias_relu_gpu
// CHECK:         gpu.func @conv_bias_relu(%[[OUT:.*]]: memref<512xf32>, %[[X:.*]]: memref<384xf32>, %[[W:.*]]: memref<108xf32>, %[[B:.*]]: memref<4xf32>)
// CHECK-SAME:      kiln.grid = array<i32: 2, 1, 1>
// CHECK-DAG:       %[[C27:.*]] = arith.constant 27 : index
// CHECK-DAG:       %[[C8:.*]] = arith.constant 8 : index
// CHECK:           scf.for %{{.*}} = %{{.*}} to %[[C27]] step
// CHECK:             arith.muli %{{.*}}, %[[C27]] : index
// CHECK:             scf.if
// CHECK-NEXT:          memref.load %[[W]]
// CHECK:             arith.cmpi sge, %{{.*}}, %{{.*}} : index
// CHECK-NEXT:        arith.cmpi slt, %{{.*}}, %[[C8]] : index
// CHECK:             scf.if
// CHECK-NEXT:          memref.load %[[X]]
// CHECK:             gpu.barrier
// CHECK:             arith.mulf
// CHECK:             arith.addf
// CHECK:           scf.if
// CHECK:             memref.load %[[B]]
// CHECK:             arith.addf
// CHECK:             arith.cmpf ogt
// CHECK:             arith.select
// CHECK:             memref.store %{{.*}}, %[[OUT]]
// CHECK:           gpu.return
func.func private @conv_bias_relu(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<2x4x8x8xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["conv"], ops = 3>} {
  %y = graph.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1
      : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<2x4x8x8xf32>
  %bb = graph.broadcast %b [1] : tensor<4xf32> to tensor<2x4x8x8xf32>
  %s = graph.add %y, %bb : tensor<2x4x8x8xf32>
  %r = graph.relu %s : tensor<2x4x8x8xf32>
  return %r : tensor<2x4x8x8xf32>
}

// -----

// The input gradient of a stride-2, two-group conv: grid z = 2 groups; the
// gradient element for input pixel ih and tap kh exists only where
// ih + 1 - kh is a multiple of 2 below 4 * 2 (remui by 2, compared with 0).

// CHECK-LABEL: gpu.module @input_grad_gpu
// CHECK:         gpu.func @input_grad(%[[DX:.*]]: memref<256xf32>, %[[G:.*]]: memref<64xf32>, %[[W:.*]]: memref<72xf32>)
// CHECK-SAME:      kiln.grid = array<i32: 1, 1, 2>
// CHECK-DAG:       %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:       %[[C8:.*]] = arith.constant 8 : index
// CHECK:           scf.for
// CHECK:             memref.load %[[W]]
// CHECK:             arith.divui %[[TY:.*]], %[[C2]] : index
// CHECK:             arith.cmpi slt, %[[TY]], %[[C8]] : index
// CHECK:             %[[REM:.*]] = arith.remui %[[TY]], %[[C2]] : index
// CHECK-NEXT:        arith.cmpi eq, %[[REM]], %{{.*}} : index
// CHECK:             scf.if
// CHECK-NEXT:          memref.load %[[G]]
// CHECK:           memref.store %{{.*}}, %[[DX]]
func.func private @input_grad(%g: tensor<1x4x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x8x8xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = [], ops = 1>} {
  %dx = graph.conv2d_input_grad %g, %w stride = [2, 2] padding = [1, 1] dilation = [1, 1] groups = 2
      : tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x8x8xf32>
  return %dx : tensor<1x4x8x8xf32>
}
