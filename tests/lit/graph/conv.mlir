// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// The convolution ops parse, print and round-trip (errors: conv-invalid.mlir).

// CHECK-LABEL: func.func @conv_ops
// CHECK:         graph.conv2d %{{.*}}, %{{.*}} stride = [2, 1] padding = [1, 0] dilation = [1, 2] groups = 2 : tensor<2x4x7x5xf32>, tensor<6x2x3x2xf32> -> tensor<2x6x4x3xf32>
// CHECK:         graph.conv2d_input_grad %{{.*}}, %{{.*}} stride = [2, 1] padding = [1, 0] dilation = [1, 2] groups = 2 : tensor<2x6x4x3xf32>, tensor<6x2x3x2xf32> -> tensor<2x4x7x5xf32>
// CHECK:         graph.conv2d_weight_grad %{{.*}}, %{{.*}} stride = [2, 1] padding = [1, 0] dilation = [1, 2] groups = 2 : tensor<2x6x4x3xf32>, tensor<2x4x7x5xf32> -> tensor<6x2x3x2xf32>
func.func @conv_ops(%x: tensor<2x4x7x5xf32>, %w: tensor<6x2x3x2xf32>) -> (tensor<2x4x7x5xf32>, tensor<6x2x3x2xf32>) {
  %y = graph.conv2d %x, %w stride = [2, 1] padding = [1, 0] dilation = [1, 2] groups = 2
      : tensor<2x4x7x5xf32>, tensor<6x2x3x2xf32> -> tensor<2x6x4x3xf32>
  %dx = graph.conv2d_input_grad %y, %w stride = [2, 1] padding = [1, 0] dilation = [1, 2] groups = 2
      : tensor<2x6x4x3xf32>, tensor<6x2x3x2xf32> -> tensor<2x4x7x5xf32>
  %dw = graph.conv2d_weight_grad %y, %x stride = [2, 1] padding = [1, 0] dilation = [1, 2] groups = 2
      : tensor<2x6x4x3xf32>, tensor<2x4x7x5xf32> -> tensor<6x2x3x2xf32>
  return %dx, %dw : tensor<2x4x7x5xf32>, tensor<6x2x3x2xf32>
}
