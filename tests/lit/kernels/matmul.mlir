// RUN: kiln-opt %s --kiln-emit-kernels --split-input-file | FileCheck %s

// kiln-emit-kernels on matmul kernel functions: one workgroup of 16x16
// threads per 64x64 output tile, each thread 4x4 outputs; both operands are
// staged 16 deep along k through two workgroup buffers of 64x16 floats. Which
// operand is transposed comes from the contraction's operand index maps. The
// epilogue runs per output on the accumulator. Matmul operands are never
// in place.

// x [8, 40] times w [3, 40] transposed: both operands are stored with k
// contiguous, so both stage as row * 40 + depth. The bias is read at the
// output's column; the pre-activation and the ReLU are both stored.

// CHECK-LABEL: gpu.module @fc_matmul_add_relu_gpu
// CHECK:         gpu.func @fc_matmul_add_relu(%[[PRE:.*]]: memref<24xf32>, %[[ACT:.*]]: memref<24xf32>, %[[X:.*]]: memref<320xf32>, %[[W:.*]]: memref<120xf32>, %[[B:.*]]: memref<3xf32>)
// CHECK-SAME:      workgroup(%[[LT:.*]] : memref<1024xf32, #gpu.address_space<workgroup>>, %[[RT:.*]] : memref<1024xf32, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 1, 1, 1>
// CHECK-SAME:      kiln.in_place = []
// CHECK-SAME:      known_block_size = array<i32: 16, 16, 1>
// CHECK-DAG:       %[[C40:.*]] = arith.constant 40 : index
// CHECK-DAG:       %[[C16:.*]] = arith.constant 16 : index
// CHECK:           %[[ACC:.*]]:16 = scf.for %{{.*}} = %{{.*}} to %[[C40]] step %[[C16]] iter_args(
// CHECK:             arith.muli %{{.*}}, %[[C40]] : index
// CHECK:             memref.load %[[X]]
// CHECK:             memref.store %{{.*}}, %[[LT]]
// CHECK:             arith.muli %{{.*}}, %[[C40]] : index
// CHECK:             memref.load %[[W]]
// CHECK:             memref.store %{{.*}}, %[[RT]]
// CHECK:             gpu.barrier
// CHECK:             scf.for
// CHECK:               memref.load %[[LT]]
// CHECK:               memref.load %[[RT]]
// CHECK:               arith.mulf
// CHECK:               arith.addf
// CHECK:             gpu.barrier
// CHECK:           scf.if
// CHECK:             %[[BIAS:.*]] = memref.load %[[B]]
// CHECK:             %[[S:.*]] = arith.addf %[[ACC]]#0, %[[BIAS]] : f32
// CHECK:             %[[POS:.*]] = arith.cmpf ogt, %[[S]]
// CHECK:             %[[R:.*]] = arith.select %[[POS]], %[[S]]
// CHECK:             memref.store %[[S]], %[[PRE]]
// CHECK:             memref.store %[[R]], %[[ACT]]
// CHECK-COUNT-15:  memref.store %{{.*}}, %[[ACT]]
// CHECK-NOT:       memref.store
// CHECK:           gpu.return
func.func private @fc_matmul_add_relu(%x: tensor<8x40xf32>, %w: tensor<3x40xf32>, %b: tensor<3xf32>) -> (tensor<8x3xf32>, tensor<8x3xf32>)
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 3>} {
  %h = graph.matmul %x, %w transpose_rhs : tensor<8x40xf32>, tensor<3x40xf32> -> tensor<8x3xf32>
  %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<8x3xf32>
  %s = graph.add %h, %bb : tensor<8x3xf32>
  %r = graph.relu %s : tensor<8x3xf32>
  return %s, %r : tensor<8x3xf32>, tensor<8x3xf32>
}

// -----

// x [40, 8] transposed times g [40, 3]: both are stored with the output's
// dimension contiguous, so x stages as depth * 8 + row and g as
// depth * 3 + column.

// CHECK-LABEL: gpu.module @grad_matmul_gpu
// CHECK:         gpu.func @grad_matmul(%[[OUT:.*]]: memref<24xf32>, %[[X:.*]]: memref<320xf32>, %[[G:.*]]: memref<120xf32>)
// CHECK-DAG:       %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:       %[[C3:.*]] = arith.constant 3 : index
// CHECK:           scf.for
// CHECK:             %[[XO:.*]] = arith.muli %{{.*}}, %[[C8]] : index
// CHECK:             %[[XI:.*]] = arith.addi %[[XO]], %{{.*}} : index
// CHECK:             %[[XB:.*]] = arith.addi %[[XI]], %{{.*}} : index
// CHECK:             memref.load %[[X]][%[[XB]]]
// CHECK:             %[[GO:.*]] = arith.muli %{{.*}}, %[[C3]] : index
// CHECK:             %[[GI:.*]] = arith.addi %[[GO]], %{{.*}} : index
// CHECK:             %[[GB:.*]] = arith.addi %[[GI]], %{{.*}} : index
// CHECK:             memref.load %[[G]][%[[GB]]]
// CHECK-COUNT-16:  memref.store %{{.*}}, %[[OUT]]
func.func private @grad_matmul(%x: tensor<40x8xf32>, %g: tensor<40x3xf32>) -> tensor<8x3xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 1>} {
  %h = graph.matmul %x, %g transpose_lhs : tensor<40x8xf32>, tensor<40x3xf32> -> tensor<8x3xf32>
  return %h : tensor<8x3xf32>
}

// -----

// A batched product: the batch is the grid's z, and each operand's batch
// offset is z times its matrix's size.

// CHECK-LABEL: gpu.module @batched_gpu
// CHECK:         gpu.func @batched(
// CHECK-SAME:      kiln.grid = array<i32: 2, 1, 5>
// CHECK-DAG:       %[[C2048:.*]] = arith.constant 2048 : index
// CHECK-DAG:       %[[C3200:.*]] = arith.constant 3200 : index
// CHECK:           %[[Z:.*]] = gpu.block_id z
// CHECK-DAG:       arith.muli %[[Z]], %[[C2048]] : index
// CHECK-DAG:       arith.muli %[[Z]], %[[C3200]] : index
func.func private @batched(%a: tensor<5x64x32xf32>, %b: tensor<5x32x100xf32>) -> tensor<5x64x100xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["attention"], ops = 1>} {
  %p = graph.matmul %a, %b : tensor<5x64x32xf32>, tensor<5x32x100xf32> -> tensor<5x64x100xf32>
  return %p : tensor<5x64x100xf32>
}
