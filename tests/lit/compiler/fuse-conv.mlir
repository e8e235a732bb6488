// RUN: kiln-opt %s --kiln-fuse="explain=true" --split-input-file -verify-diagnostics | FileCheck %s

// kiln-fuse on convolutions: graph.conv2d (and its two gradient ops) is a
// contraction, so it anchors a matmul kernel like graph.matmul. Its epilogue is
// what reads the conv result at the result's own index: a per-channel bias add
// (through a broadcast along dim 1), a per-channel affine scale and shift (a
// batch norm's apply) and the ReLU all join one matmul-kind kernel.

// CHECK-LABEL: module @conv_bias_scale_shift_relu
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 4 : i64, fused_ops = 4 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[A:.*]] = call @step_conv2d_add_mul_relu(
// CHECK-NEXT:      graph.output "a", %[[A]]
// CHECK:         func.func private @step_conv2d_add_mul_relu(
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 5>
// CHECK:           graph.conv2d
// CHECK-NEXT:      graph.add
// CHECK-NEXT:      graph.mul
// CHECK-NEXT:      graph.add
// CHECK-NEXT:      graph.relu
// CHECK-NEXT:      return
module @conv_bias_scale_shift_relu {
  func.func @step() {
    %x = graph.input "x" : tensor<2x3x8x8xf32>
    %w = graph.input "w" : tensor<4x3x3x3xf32>
    %b = graph.input "b" : tensor<4xf32>
    %scale = graph.input "scale" : tensor<4xf32>
    %shift = graph.input "shift" : tensor<4xf32>
    %y = graph.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1
        : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<2x4x8x8xf32>
    %bb = graph.broadcast %b [1] : tensor<4xf32> to tensor<2x4x8x8xf32>
    %pre = graph.add %y, %bb : tensor<2x4x8x8xf32>
    %sb = graph.broadcast %scale [1] : tensor<4xf32> to tensor<2x4x8x8xf32>
    %hb = graph.broadcast %shift [1] : tensor<4xf32> to tensor<2x4x8x8xf32>
    %scaled = graph.mul %pre, %sb : tensor<2x4x8x8xf32>
    %shifted = graph.add %scaled, %hb : tensor<2x4x8x8xf32>
    %a = graph.relu %shifted : tensor<2x4x8x8xf32>
    graph.output "a", %a : tensor<2x4x8x8xf32>
    return
  }
}

// -----

// The backward ops anchor matmul kernels too; two convolutions never share one.

// CHECK-LABEL: module @gradients
// CHECK:         func.func private @step_conv2d_input_grad(
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 1>
// CHECK:         func.func private @step_conv2d_weight_grad_mul(
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 2>
module @gradients {
  func.func @step() {
    %g = graph.input "g" : tensor<1x4x4x4xf32>
    %w = graph.input "w" : tensor<4x2x3x3xf32>
    %x = graph.input "x" : tensor<1x2x8x8xf32>
    %lr = graph.input "lr" : tensor<4x2x3x3xf32>
    %dx = graph.conv2d_input_grad %g, %w stride = [2, 2] padding = [1, 1] dilation = [1, 1] groups = 1
        : tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32> -> tensor<1x2x8x8xf32>
    %dw = graph.conv2d_weight_grad %g, %x stride = [2, 2] padding = [1, 1] dilation = [1, 1] groups = 1
        : tensor<1x4x4x4xf32>, tensor<1x2x8x8xf32> -> tensor<4x2x3x3xf32>
    %step = graph.mul %dw, %lr : tensor<4x2x3x3xf32>
    graph.output "dx", %dx : tensor<1x2x8x8xf32>
    graph.output "step", %step : tensor<4x2x3x3xf32>
    return
  }
}

// -----

// Refused: an epilogue op that reads the conv result at another index (here
// through a transpose of the spatial dimensions) needs another thread's
// element, so it is a kernel of its own; the conv kernel returns its result.

// CHECK-LABEL: module @other_index
// CHECK:         func.func @step() attributes {kiln.fusion = {{{.*}}kernels = 2 : i64{{.*}}refused = 1 : i64}}
// CHECK:           %[[Y:.*]] = call @step_conv2d(
// CHECK:           call @step_add(%[[Y]])
// CHECK:         func.func private @step_conv2d(
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 1>
// CHECK:         func.func private @step_add(
// CHECK-SAME:        #graph.kernel<pointwise
module @other_index {
  func.func @step() {
    %x = graph.input "x" : tensor<1x2x6x6xf32>
    %w = graph.input "w" : tensor<3x2x3x3xf32>
    %y = graph.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1
        : tensor<1x2x6x6xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x6x6xf32>
    %t = graph.transpose %y [0, 1, 3, 2] : tensor<1x3x6x6xf32> -> tensor<1x3x6x6xf32>
    // expected-remark @below {{not fused: into the matmul kernel of graph.conv2d: it reads a kernel value through a broadcast or transpose (another thread's element)}}
    %s = graph.add %y, %t : tensor<1x3x6x6xf32>
    graph.output "s", %s : tensor<1x3x6x6xf32>
    return
  }
}
