// RUN: kiln-opt %s --kiln-emit-kernels --split-input-file | FileCheck %s

// kiln-emit-kernels on reduction kernel functions: one workgroup per output
// element, a power of two of threads (32..256) striding over the reduced
// elements; the prologue runs (and stores its results) at each visited
// element, a tree in workgroup memory combines the threads, and thread 0
// finishes the result and runs the epilogue. The reduced dimensions, the
// combiner, the term and the result come from IterationSpaceOpInterface.

// A column sum of x * y (the product is also a result, stored where it is
// computed, so it may update x or y in place) scaled by 0.5 on thread 0.

// CHECK-LABEL: gpu.module @sum_gpu
// CHECK:         gpu.func @sum(%[[P:.*]]: memref<1200xf32>, %[[E:.*]]: memref<300xf32>, %[[X:.*]]: memref<1200xf32>, %[[Y:.*]]: memref<1200xf32>) workgroup(%[[SCRATCH:.*]] : memref<256xf32, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 300, 1, 1>
// CHECK-SAME:      kiln.in_place = [array<i32: 0, 2>, array<i32: 0, 3>]
// CHECK-SAME:      known_block_size = array<i32: 32, 1, 1>
// CHECK-DAG:       %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG:       %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:       %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:       %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:       %[[C300:.*]] = arith.constant 300 : index
// CHECK:           %[[TID:.*]] = gpu.thread_id x
// CHECK:           %[[BX:.*]] = gpu.block_id x
// CHECK:           %[[COL:.*]] = arith.addi %[[BX]], %{{.*}} : index
// CHECK:           %[[PART:.*]] = scf.for %[[ROW:.*]] = %[[TID]] to %[[C4]] step %[[C32]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:             %[[OFF:.*]] = arith.muli %[[ROW]], %[[C300]]
// CHECK:             %[[AT:.*]] = arith.addi %[[COL]], %[[OFF]]
// CHECK:             %[[XV:.*]] = memref.load %[[X]][%[[AT]]]
// CHECK:             %[[YV:.*]] = memref.load %[[Y]][%[[AT]]]
// CHECK:             %[[PV:.*]] = arith.mulf %[[XV]], %[[YV]]
// CHECK:             memref.store %[[PV]], %[[P]][%[[AT]]]
// CHECK:             %[[NEXT:.*]] = arith.addf %[[ACC]], %[[PV]]
// CHECK:             scf.yield %[[NEXT]]
// CHECK:           %[[RAN:.*]] = arith.cmpi ult, %[[TID]], %[[C4]]
// CHECK:           %[[HELD:.*]] = arith.select %[[RAN]], %[[PART]], %[[ZERO]]
// CHECK:           memref.store %[[HELD]], %[[SCRATCH]][%[[TID]]]
// CHECK:           gpu.barrier
// CHECK-COUNT-5:   arith.addf
// CHECK:           %[[TOTAL:.*]] = memref.load %[[SCRATCH]][%{{.*}}]
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[TID]]
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             %[[SCALED:.*]] = arith.mulf %[[TOTAL]], %[[HALF]]
// CHECK:             memref.store %[[SCALED]], %[[E]][%[[COL]]]
func.func private @sum(%x: tensor<4x300xf32>, %y: tensor<4x300xf32>) -> (tensor<4x300xf32>, tensor<300xf32>)
    attributes {graph.kernel = #graph.kernel<reduction, layers = ["loss"], ops = 3>} {
  %p = graph.mul %x, %y : tensor<4x300xf32>
  %s = graph.reduce_sum %p [0] : tensor<4x300xf32> -> tensor<300xf32>
  %half = graph.constant dense<0.5> : tensor<300xf32>
  %e = graph.mul %s, %half : tensor<300xf32>
  return %p, %e : tensor<4x300xf32>, tensor<300xf32>
}

// -----

// mse: the term is (p - t)^2 (buildReductionTerm), the result the total over
// 80 (buildReductionResult); 128 threads cover the 80 elements.

// CHECK-LABEL: gpu.module @loss_mse_gpu
// CHECK:         gpu.func @loss_mse(%[[L:.*]]: memref<1xf32>, %[[PR:.*]]: memref<80xf32>, %[[T:.*]]: memref<80xf32>)
// CHECK-SAME:      kiln.grid = array<i32: 1, 1, 1>
// CHECK-SAME:      known_block_size = array<i32: 128, 1, 1>
// CHECK-DAG:       %[[C80F:.*]] = arith.constant 8.000000e+01 : f32
// CHECK:           scf.for
// CHECK:             %[[PV:.*]] = memref.load %[[PR]]
// CHECK:             %[[TV:.*]] = memref.load %[[T]]
// CHECK:             %[[D:.*]] = arith.subf %[[PV]], %[[TV]]
// CHECK:             %[[SQ:.*]] = arith.mulf %[[D]], %[[D]]
// CHECK:             arith.addf %{{.*}}, %[[SQ]]
// CHECK-COUNT-7:   arith.addf
// CHECK:           %[[TOTAL:.*]] = memref.load
// CHECK:           %[[MEAN:.*]] = arith.divf %[[TOTAL]], %[[C80F]]
// CHECK:           scf.if
// CHECK:             memref.store %[[MEAN]], %[[L]]
func.func private @loss_mse(%p: tensor<8x10xf32>, %t: tensor<8x10xf32>) -> tensor<f32>
    attributes {graph.kernel = #graph.kernel<reduction, layers = ["loss"], ops = 1>} {
  %l = graph.mse %p, %t : tensor<8x10xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// reduce_max starts from -inf and combines with maximumf; 70000 outputs need
// a second grid row (65535 x 2 groups), and the surplus groups skip the body.

// CHECK-LABEL: gpu.module @rowmax_gpu
// CHECK:         gpu.func @rowmax(
// CHECK-SAME:      kiln.grid = array<i32: 65535, 2, 1>
// CHECK-SAME:      known_block_size = array<i32: 32, 1, 1>
// CHECK-DAG:       %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:       %[[COUNT:.*]] = arith.constant 70000 : index
// CHECK:           %[[G:.*]] = arith.addi
// CHECK:           %[[INSIDE:.*]] = arith.cmpi ult, %[[G]], %[[COUNT]]
// CHECK:           scf.if %[[INSIDE]] {
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[NEGINF]])
// CHECK:               arith.maximumf
func.func private @rowmax(%x: tensor<70000x3xf32>) -> tensor<70000xf32>
    attributes {graph.kernel = #graph.kernel<reduction, layers = ["pool"], ops = 1>} {
  %m = graph.reduce_max %x [1] : tensor<70000x3xf32> -> tensor<70000xf32>
  return %m : tensor<70000xf32>
}
