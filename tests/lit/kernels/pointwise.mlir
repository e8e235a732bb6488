// RUN: kiln-opt %s --kiln-emit-kernels --split-input-file | FileCheck %s

// kiln-emit-kernels on pointwise and multi-tensor kernel functions: one
// grid-stride loop of 256-thread workgroups over the elements of every result
// shape. Payloads come from each op's ElementwiseOpInterface, views from its
// IndexViewOpInterface; an output stored at the element its thread loaded is
// an in-place pair.

// A broadcast bias (read at the column, x % 3) and a ReLU; the result may
// overwrite %x (binding 1) in place, not the bias.

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       func.func private @step_add_relu(
// CHECK:       gpu.module @step_add_relu_gpu {
// CHECK:         gpu.func @step_add_relu(%[[OUT:.*]]: memref<12xf32>, %[[X:.*]]: memref<12xf32>, %[[B:.*]]: memref<3xf32>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 1, 1, 1>
// CHECK-SAME:      kiln.in_place = [array<i32: 0, 1>]
// CHECK-SAME:      known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME:      spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [256, 1, 1]>
// CHECK-DAG:       %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:       %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:       %[[C12:.*]] = arith.constant 12 : index
// CHECK-DAG:       %[[C256:.*]] = arith.constant 256 : index
// CHECK:           %[[TID:.*]] = gpu.thread_id x
// CHECK:           %[[BID:.*]] = gpu.block_id x
// CHECK:           %[[BASE:.*]] = arith.muli %[[BID]], %[[C256]]
// CHECK:           %[[FIRST:.*]] = arith.addi %[[BASE]], %[[TID]]
// CHECK:           scf.for %[[I:.*]] = %[[FIRST]] to %[[C12]] step %[[C256]] {
// CHECK:             %[[COL:.*]] = arith.remui %[[I]], %[[C3]]
// CHECK:             %[[XV:.*]] = memref.load %[[X]][%[[I]]]
// CHECK:             %[[BV:.*]] = memref.load %[[B]][%[[COL]]]
// CHECK:             %[[S:.*]] = arith.addf %[[XV]], %[[BV]]
// CHECK:             %[[POS:.*]] = arith.cmpf ogt, %[[S]], %[[ZERO]]
// CHECK:             %[[R:.*]] = arith.select %[[POS]], %[[S]], %[[ZERO]]
// CHECK:             memref.store %[[R]], %[[OUT]][%[[I]]]
// CHECK:           gpu.return
func.func private @step_add_relu(%x: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["fc"], ops = 2>} {
  %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32>
  %s = graph.add %x, %bb : tensor<4x3xf32>
  %r = graph.relu %s : tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// A multi-tensor kernel: two updates of different shapes, one segment each
// (elements 0..999, then 1000..1009) in one loop striding 4 x 256 threads;
// each output may update either of its segment's operands in place.

// CHECK-LABEL: gpu.module @update_gpu
// CHECK:         gpu.func @update(%[[W1:.*]]: memref<1000xf32>, %[[W2:.*]]: memref<10xf32>, %[[A:.*]]: memref<1000xf32>, %[[G:.*]]: memref<1000xf32>, %[[V:.*]]: memref<10xf32>, %[[H:.*]]: memref<10xf32>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 4, 1, 1>
// CHECK-SAME:      kiln.in_place = [array<i32: 0, 2>, array<i32: 0, 3>, array<i32: 1, 4>, array<i32: 1, 5>]
// CHECK-SAME:      known_block_size = array<i32: 256, 1, 1>
// CHECK-DAG:       %[[C1000:.*]] = arith.constant 1000 : index
// CHECK-DAG:       %[[C1010:.*]] = arith.constant 1010 : index
// CHECK-DAG:       %[[C1024:.*]] = arith.constant 1024 : index
// CHECK:           scf.for %[[I:.*]] = %{{.*}} to %[[C1010]] step %[[C1024]] {
// CHECK:             %[[IN1:.*]] = arith.cmpi ult, %[[I]], %[[C1000]]
// CHECK:             scf.if
// CHECK:               memref.load %[[A]][%[[I]]]
// CHECK:               memref.store %{{.*}}, %[[W1]][%[[I]]]
// CHECK:             arith.cmpi uge, %[[I]], %[[C1000]]
// CHECK:             arith.cmpi ult, %[[I]], %[[C1010]]
// CHECK:             scf.if
// CHECK:               %[[J:.*]] = arith.subi %[[I]], %[[C1000]]
// CHECK:               memref.load %[[V]][%[[J]]]
// CHECK:               memref.store %{{.*}}, %[[W2]][%[[J]]]
func.func private @update(%w: tensor<1000xf32>, %g: tensor<1000xf32>, %v: tensor<10xf32>, %h: tensor<10xf32>) -> (tensor<1000xf32>, tensor<10xf32>)
    attributes {graph.kernel = #graph.kernel<multi_tensor, layers = ["optimizer"], ops = 4>} {
  %lr = graph.constant dense<0.5> : tensor<1000xf32>
  %step = graph.mul %g, %lr : tensor<1000xf32>
  %nw = graph.sub %w, %step : tensor<1000xf32>
  %lr2 = graph.constant dense<0.5> : tensor<10xf32>
  %step2 = graph.mul %h, %lr2 : tensor<10xf32>
  %nv = graph.sub %v, %step2 : tensor<10xf32>
  return %nw, %nv : tensor<1000xf32>, tensor<10xf32>
}

// -----

// A comparison gives an i1 mask, stored as one 32-bit word per element; an i1
// operand is a word compared with zero.

// CHECK-LABEL: gpu.module @mask_gpu
// CHECK:         gpu.func @mask(%[[M:.*]]: memref<8xi32>, %[[OUT:.*]]: memref<8xf32>, %[[X:.*]]: memref<8xf32>, %[[KEEP:.*]]: memref<8xi32>)
// CHECK:           %[[XV:.*]] = memref.load %[[X]]
// CHECK:           %[[GT:.*]] = arith.cmpf ogt, %[[XV]], %{{.*}} : f32
// CHECK:           %[[W:.*]] = arith.extui %[[GT]] : i1 to i32
// CHECK:           %[[K:.*]] = memref.load %[[KEEP]]
// CHECK:           %[[KB:.*]] = arith.cmpi ne, %[[K]], %{{.*}} : i32
// CHECK:           %[[KEPT:.*]] = arith.select %[[KB]], %[[XV]], %{{.*}} : f32
// CHECK:           memref.store %[[W]], %[[M]]
// CHECK:           memref.store %[[KEPT]], %[[OUT]]
func.func private @mask(%x: tensor<8xf32>, %keep: tensor<8xi1>) -> (tensor<8xi1>, tensor<8xf32>)
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["mask"], ops = 2>} {
  %zero = graph.constant dense<0.0> : tensor<8xf32>
  %positive = graph.compare gt, %x, %zero : tensor<8xf32>
  %kept = graph.select %keep, %x, %zero : tensor<8xi1>, tensor<8xf32>
  return %positive, %kept : tensor<8xi1>, tensor<8xf32>
}
