// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// The window views and reduce_max's first_max_gradient parse, print and round-trip
// (errors: window-invalid.mlir).

// CHECK-LABEL: func.func @window_ops
// CHECK:         graph.pad %{{.*}} low = [0, 1] high = [1, 1] interior = [1, 2] value = -1.500000e+00 : tensor<2x3xf32> -> tensor<4x9xf32>
// CHECK:         graph.slice %{{.*}} start = [0, 1] stride = [2, 3] : tensor<4x9xf32> -> tensor<2x3xf32>
// CHECK:         graph.concat %{{.*}}, %{{.*}}, %{{.*}} axis = 1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x9xf32>
// CHECK:         graph.window %{{.*}} window = [2, 3] stride = [2, 1] dilation = [1, 2] : tensor<1x2x5x7xf32> -> tensor<1x2x2x3x2x3xf32>
// CHECK:         graph.unwindow %{{.*}} window = [2, 3] stride = [2, 1] dilation = [1, 2] : tensor<1x2x2x3x2x3xf32> -> tensor<1x2x5x7x2x3xf32>
// CHECK:         graph.window %{{.*}} window = [2, 3] stride = [2, 1] dilation = [1, 2] : tensor<1x2x5x7x2x3xf32> -> tensor<1x2x2x3x2x3xf32>
// CHECK:         graph.iota dims = [4, 5] : tensor<1x2x2x3x2x3xf32>
// CHECK:         graph.reduce_max %{{.*}} [4, 5] first_max_gradient : tensor<1x2x2x3x2x3xf32> -> tensor<1x2x2x3xf32>
func.func @window_ops(%x: tensor<2x3xf32>, %i: tensor<1x2x5x7xf32>) -> (tensor<2x9xf32>, tensor<1x2x2x3x2x3xf32>, tensor<1x2x2x3xf32>) {
  %p = graph.pad %x low = [0, 1] high = [1, 1] interior = [1, 2] value = -1.5 : tensor<2x3xf32> -> tensor<4x9xf32>
  %s = graph.slice %p start = [0, 1] stride = [2, 3] : tensor<4x9xf32> -> tensor<2x3xf32>
  %c = graph.concat %s, %x, %s axis = 1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x9xf32>
  %w = graph.window %i window = [2, 3] stride = [2, 1] dilation = [1, 2] : tensor<1x2x5x7xf32> -> tensor<1x2x2x3x2x3xf32>
  %u = graph.unwindow %w window = [2, 3] stride = [2, 1] dilation = [1, 2] : tensor<1x2x2x3x2x3xf32> -> tensor<1x2x5x7x2x3xf32>
  %t = graph.window %u window = [2, 3] stride = [2, 1] dilation = [1, 2] : tensor<1x2x5x7x2x3xf32> -> tensor<1x2x2x3x2x3xf32>
  %n = graph.iota dims = [4, 5] : tensor<1x2x2x3x2x3xf32>
  %m = graph.reduce_max %t [4, 5] first_max_gradient : tensor<1x2x2x3x2x3xf32> -> tensor<1x2x2x3xf32>
  return %c, %n, %m : tensor<2x9xf32>, tensor<1x2x2x3x2x3xf32>, tensor<1x2x2x3xf32>
}
