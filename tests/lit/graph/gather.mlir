// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// graph.gather and graph.scatter_add parse, print and round-trip, with rank-0,
// 1 and 2 indices and a middle axis (errors: gather-invalid.mlir).

// CHECK-LABEL: func.func @index_ops
// CHECK:         graph.gather %{{.*}}, %{{.*}} axis = 0 : tensor<256x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
// CHECK:         graph.gather %{{.*}}, %{{.*}} axis = 1 : tensor<2x5x3xf32>, tensor<4xi32> -> tensor<2x4x3xf32>
// CHECK:         graph.gather %{{.*}}, %{{.*}} axis = 0 : tensor<256x8xf32>, tensor<i32> -> tensor<8xf32>
// CHECK:         graph.scatter_add %{{.*}}, %{{.*}} axis = 0 : tensor<2x3x8xf32>, tensor<2x3xi32> -> tensor<256x8xf32>
// CHECK:         graph.scatter_add %{{.*}}, %{{.*}} axis = 1 : tensor<2x4x3xf32>, tensor<4xi32> -> tensor<2x5x3xf32>
func.func @index_ops(%t: tensor<256x8xf32>, %i: tensor<2x3xi32>, %m: tensor<2x5x3xf32>,
                     %j: tensor<4xi32>, %k: tensor<i32>)
    -> (tensor<8xf32>, tensor<256x8xf32>, tensor<2x5x3xf32>) {
  %e = graph.gather %t, %i axis = 0 : tensor<256x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
  %f = graph.gather %m, %j axis = 1 : tensor<2x5x3xf32>, tensor<4xi32> -> tensor<2x4x3xf32>
  %s = graph.gather %t, %k axis = 0 : tensor<256x8xf32>, tensor<i32> -> tensor<8xf32>
  %g = graph.scatter_add %e, %i axis = 0 : tensor<2x3x8xf32>, tensor<2x3xi32> -> tensor<256x8xf32>
  %h = graph.scatter_add %f, %j axis = 1 : tensor<2x4x3xf32>, tensor<4xi32> -> tensor<2x5x3xf32>
  return %s, %g, %h : tensor<8xf32>, tensor<256x8xf32>, tensor<2x5x3xf32>
}
