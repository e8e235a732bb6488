// RUN: kiln-opt %s --kiln-fuse | FileCheck %s --check-prefix=FUSE
// RUN: kiln-opt %s --kiln-fuse --kiln-emit-kernels | FileCheck %s --check-prefix=KERNEL

// A token embedding plus a positional one, and the token table's update from
// the scatter-add of a gradient (as an SGD step). graph.gather is a view: the
// pointwise kernel of the add clones it and reads the table through it (load
// the token, compare it with the 16 rows unsigned, load row 0 in its place
// when it is out of range, select 0), so the gathered rows never exist in
// memory. graph.scatter_add is an ordered reduction kernel (one thread per
// table element, workgroup size 1, adding the matching updates in ascending
// position) that takes the update as its epilogue.

// FUSE-LABEL: module @embed
// FUSE:         %[[X:.*]] = call @step_add(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<16x4xf32>, tensor<2x3xi32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
// FUSE:         %[[N:.*]] = call @step_scatter_add_mul_sub(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x3x4xf32>, tensor<2x3xi32>, tensor<16x4xf32>) -> tensor<16x4xf32>
// FUSE:       func.func private @step_add(
// FUSE-SAME:      graph.kernel = #graph.kernel<pointwise, layers = [], ops = 1>
// FUSE-NEXT:    graph.gather %arg0, %arg1 axis = 0
// FUSE:       func.func private @step_scatter_add_mul_sub(
// FUSE-SAME:      graph.kernel = #graph.kernel<reduction, layers = [], ops = 3>
// FUSE:         graph.scatter_add %arg0, %arg1 axis = 0

// KERNEL-LABEL: gpu.func @step_add(
// KERNEL-SAME:      %{{[^:]*}}: memref<24xf32>, %[[TABLE:[^:]*]]: memref<64xf32>, %[[TOKENS:[^:]*]]: memref<6xi32>, %{{[^:]*}}: memref<12xf32>)
// KERNEL-DAG:       %[[ZERO32:.*]] = arith.constant 0 : i32
// KERNEL-DAG:       %[[ROWS:.*]] = arith.constant 16 : i32
// KERNEL:           %[[TOKEN:.*]] = memref.load %[[TOKENS]][%{{.*}}] : memref<6xi32>
// KERNEL-NEXT:      %[[IN:.*]] = arith.cmpi ult, %[[TOKEN]], %[[ROWS]] : i32
// KERNEL-NEXT:      %[[ROW:.*]] = arith.select %[[IN]], %[[TOKEN]], %[[ZERO32]] : i32
// KERNEL-NEXT:      arith.index_castui %[[ROW]] : i32 to index
// KERNEL:           %[[E:.*]] = memref.load %[[TABLE]][%{{.*}}] : memref<64xf32>
// KERNEL-NEXT:      arith.select %[[IN]], %[[E]], %{{.*}} : f32

// KERNEL-LABEL: gpu.func @step_scatter_add_mul_sub(
// KERNEL-SAME:      %{{[^:]*}}: memref<64xf32>, %[[UPDATES:[^:]*]]: memref<24xf32>, %[[IDX:[^:]*]]: memref<6xi32>, %{{[^:]*}}: memref<64xf32>)
// KERNEL-SAME:      kiln.grid = array<i32: 64, 1, 1>
// KERNEL-SAME:      known_block_size = array<i32: 1, 1, 1>
// KERNEL-DAG:       %[[ONE:.*]] = arith.constant 1 : index
// KERNEL-DAG:       %[[SIX:.*]] = arith.constant 6 : index
// KERNEL:           %[[V:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// KERNEL:           scf.for %{{.*}} = %{{.*}} to %[[SIX]] step %[[ONE]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// KERNEL:             %[[U:.*]] = memref.load %[[UPDATES]][%{{.*}}] : memref<24xf32>
// KERNEL:             %[[I:.*]] = memref.load %[[IDX]][%{{.*}}] : memref<6xi32>
// KERNEL-NEXT:        %[[V32:.*]] = arith.index_castui %[[V]] : index to i32
// KERNEL-NEXT:        %[[HIT:.*]] = arith.cmpi eq, %[[I]], %[[V32]] : i32
// KERNEL-NEXT:        %[[T:.*]] = arith.select %[[HIT]], %[[U]], %{{.*}} : f32
// KERNEL-NEXT:        %[[S:.*]] = arith.addf %[[ACC]], %[[T]] : f32
// KERNEL-NEXT:        scf.yield %[[S]] : f32

module @embed {
  func.func @step() {
    %wte = graph.input "wte" : tensor<16x4xf32>
    %wpe = graph.input "wpe" : tensor<3x4xf32>
    %tokens = graph.input "tokens" : tensor<2x3xi32>
    %g = graph.input "g" : tensor<2x3x4xf32>
    %e = graph.gather %wte, %tokens axis = 0 : tensor<16x4xf32>, tensor<2x3xi32> -> tensor<2x3x4xf32>
    %p = graph.broadcast %wpe [1, 2] : tensor<3x4xf32> to tensor<2x3x4xf32>
    %x = graph.add %e, %p : tensor<2x3x4xf32>
    %d = graph.scatter_add %g, %tokens axis = 0 : tensor<2x3x4xf32>, tensor<2x3xi32> -> tensor<16x4xf32>
    %lr = graph.constant dense<0.5> : tensor<16x4xf32>
    %s = graph.mul %d, %lr : tensor<16x4xf32>
    %n = graph.sub %wte, %s : tensor<16x4xf32>
    graph.output "x", %x : tensor<2x3x4xf32>
    graph.output "n", %n : tensor<16x4xf32>
    return
  }
}
