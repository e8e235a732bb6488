// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// The convolution ops' shape rules and verifiers: each message names the
// dimension or attribute at fault. conv2d infers its type, so a bad operand is
// reported by the shape rule and then by MLIR's "failed to infer".

func.func @weight_channels(%x: tensor<1x4x5x5xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @below {{graph.conv2d: weight input channels (dim 1) = 3 but input has 4 channels (dim 1) / groups 2 = 2}}
  // expected-error @below {{failed to infer returned types}}
  %y = graph.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 2
      : tensor<1x4x5x5xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @kernel_too_large(%x: tensor<1x1x4x9xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @below {{graph.conv2d: input height (dim 2) = 4 padded by 0 on each side is 4, smaller than the dilated kernel height 5 (weight dim 2 = 3, dilation 2)}}
  // expected-error @below {{failed to infer returned types}}
  %y = graph.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [2, 1] groups = 1
      : tensor<1x1x4x9xf32>, tensor<1x1x3x3xf32> -> tensor<1x1x1x7xf32>
  return
}

// -----

func.func @stride_pair(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @below {{graph.conv2d: stride must have 2 values (height, width), got 1}}
  // expected-error @below {{failed to infer returned types}}
  %y = graph.conv2d %x, %w stride = [1] padding = [0, 0] dilation = [1, 1] groups = 1
      : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32> -> tensor<1x1x2x2xf32>
  return
}

// -----

// The result type of the input gradient states H and W; conv2d of that shape must give
// the gradient's shape.
func.func @input_grad_shape(%g: tensor<1x2x4x4xf32>, %w: tensor<2x3x3x3xf32>) {
  // expected-error @below {{graph.conv2d_input_grad: grad height (dim 2) is 4 but conv2d of the result shape by weight gives 3 (grad must be 1x2x3x4)}}
  %dx = graph.conv2d_input_grad %g, %w stride = [2, 1] padding = [1, 1] dilation = [1, 1] groups = 1
      : tensor<1x2x4x4xf32>, tensor<2x3x3x3xf32> -> tensor<1x3x6x4xf32>
  return
}

// -----

func.func @weight_grad_batch(%g: tensor<2x2x3x3xf32>, %x: tensor<1x3x5x5xf32>) {
  // expected-error @below {{graph.conv2d_weight_grad: grad batch (dim 0) is 2 but input batch (dim 0) is 1}}
  %dw = graph.conv2d_weight_grad %g, %x stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1
      : tensor<2x2x3x3xf32>, tensor<1x3x5x5xf32> -> tensor<2x3x3x3xf32>
  return
}

// -----

func.func @weight_grad_groups(%g: tensor<1x3x3x3xf32>, %x: tensor<1x4x5x5xf32>) {
  // expected-error @below {{graph.conv2d_weight_grad: result output channels (dim 0) = 3 are not divisible by groups = 2}}
  %dw = graph.conv2d_weight_grad %g, %x stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 2
      : tensor<1x3x3x3xf32>, tensor<1x4x5x5xf32> -> tensor<3x2x3x3xf32>
  return
}
