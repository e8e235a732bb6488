// RUN: kiln-opt %s --kiln-emit-kernels --split-input-file | FileCheck %s

// kiln-emit-kernels on row kernel functions: per-row reductions, then
// elementwise work over the row. One workgroup per row, a power of two of
// threads (32..256) striding along it. Each statistic, in body order (a row
// op's statistics from RowOpInterface, a reduction of the last axis from
// IterationSpaceOpInterface), is one pass over the row and a workgroup tree;
// it then holds for the whole row. A last pass stores the per-element
// results; thread 0 stores the per-row ones.

// The cross entropy and the softmax of the same logits, with the softmax's
// gradient against the one-hot labels: their statistics (the row's maximum,
// then the sum of exp(x - max)) are built alike, so they share two passes.
// The per-element pass stores softmax - one_hot; thread 0 stores
// max + log(sum) - x[label], NaN for a label outside [0, 10).

// CHECK-LABEL: gpu.module @loss_gpu
// CHECK:         gpu.func @loss(%[[CE:.*]]: memref<8xf32>, %[[GRAD:.*]]: memref<80xf32>, %[[X:.*]]: memref<80xf32>, %[[LABELS:.*]]: memref<8xi32>) workgroup(%[[SCRATCH:.*]] : memref<256xf32, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 8, 1, 1>
// CHECK-SAME:      kiln.in_place = []
// CHECK-SAME:      known_block_size = array<i32: 32, 1, 1>
// CHECK-DAG:       %[[NAN:.*]] = arith.constant 0x7FC00000 : f32
// CHECK-DAG:       %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:       %[[C10:.*]] = arith.constant 10 : index
// CHECK-DAG:       %[[C32:.*]] = arith.constant 32 : index
// CHECK:           %[[TID:.*]] = gpu.thread_id x
// CHECK:           %[[ROW:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK:           %[[BASE:.*]] = arith.muli %[[ROW]], %[[C10]]
// CHECK:           %[[LOCALMAX:.*]] = scf.for %[[J:.*]] = %[[TID]] to %[[C10]] step %[[C32]] iter_args(%[[M:.*]] = %[[NEGINF]])
// CHECK:             %[[AT:.*]] = arith.addi %[[BASE]], %[[J]]
// CHECK:             %[[XV:.*]] = memref.load %[[X]][%[[AT]]]
// CHECK:             arith.maximumf %[[M]], %[[XV]]
// CHECK:           %[[RAN:.*]] = arith.cmpi ult, %[[TID]], %[[C10]]
// CHECK:           %[[HELD:.*]] = arith.select %[[RAN]], %[[LOCALMAX]], %[[NEGINF]]
// CHECK:           memref.store %[[HELD]], %[[SCRATCH]][%[[TID]]]
// CHECK-COUNT-5:   arith.maximumf
// CHECK:           %[[MAX:.*]] = memref.load %[[SCRATCH]][%c0]
// CHECK:           %[[LOCALSUM:.*]] = scf.for
// CHECK:             %[[XS:.*]] = memref.load %[[X]]
// CHECK:             %[[SH:.*]] = arith.subf %[[XS]], %[[MAX]]
// CHECK:             %[[EX:.*]] = math.exp %[[SH]]
// CHECK:             arith.addf %{{.*}}, %[[EX]]
// CHECK-COUNT-5:   arith.addf
// CHECK:           %[[SUM:.*]] = memref.load %[[SCRATCH]][%c0]
// CHECK-NOT:       scf.for {{.*}} iter_args
// CHECK:           scf.for %[[K:.*]] = %[[TID]] to %[[C10]] step %[[C32]] {
// CHECK:             %[[E:.*]] = math.exp
// CHECK:             %[[P:.*]] = arith.divf %[[E]], %[[SUM]]
// CHECK:             %[[LABEL:.*]] = memref.load %[[LABELS]][%[[ROW]]]
// CHECK:             %[[COLUMN:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK:             arith.cmpi eq, %[[LABEL]], %[[COLUMN]]
// CHECK:             %[[G:.*]] = arith.subf %[[P]], %{{.*}}
// CHECK:             memref.store %[[G]], %[[GRAD]]
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[TID]]
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             %[[L:.*]] = memref.load %[[LABELS]][%[[ROW]]]
// CHECK:             %[[VALID:.*]] = arith.andi
// CHECK:             %[[PICKED:.*]] = memref.load %[[X]]
// CHECK:             %[[SAFE:.*]] = arith.select %[[VALID]], %[[PICKED]], %[[NAN]]
// CHECK:             %[[LOG:.*]] = math.log %[[SUM]]
// CHECK:             %[[LSE:.*]] = arith.addf %[[MAX]], %[[LOG]]
// CHECK:             %[[LOSS:.*]] = arith.subf %[[LSE]], %[[SAFE]]
// CHECK:             memref.store %[[LOSS]], %[[CE]][%[[ROW]]]
func.func private @loss(%logits: tensor<8x10xf32>, %labels: tensor<8xi32>) -> (tensor<8xf32>, tensor<8x10xf32>)
    attributes {graph.kernel = #graph.kernel<row, layers = ["loss"], ops = 3>} {
  %ce = graph.softmax_cross_entropy %logits, %labels : tensor<8x10xf32>, tensor<8xi32> -> tensor<8xf32>
  %p = graph.softmax %logits axis = 1 : tensor<8x10xf32>
  %oh = graph.one_hot %labels : tensor<8xi32> to tensor<8x10xf32>
  %g = graph.sub %p, %oh : tensor<8x10xf32>
  return %ce, %g : tensor<8xf32>, tensor<8x10xf32>
}

// -----

// A log-softmax along axis 0 of a [300, 6] tensor: six rows of 300 elements
// at stride 6 (element j of row r at r + 6 * j), 256 threads per row; the
// result is x - (max + log(sum)).

// CHECK-LABEL: gpu.module @columns_gpu
// CHECK:         gpu.func @columns(%[[OUT:.*]]: memref<1800xf32>, %[[X:.*]]: memref<1800xf32>)
// CHECK-SAME:      kiln.grid = array<i32: 6, 1, 1>
// CHECK-SAME:      known_block_size = array<i32: 256, 1, 1>
// CHECK-DAG:       %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG:       %[[C300:.*]] = arith.constant 300 : index
// CHECK:           %[[OUTER:.*]] = arith.muli %{{.*}}, %c1800 : index
// CHECK-NEXT:      %[[BASE:.*]] = arith.addi %[[OUTER]], %{{.*}} : index
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %[[C300]] step %{{.*}} iter_args
// CHECK:             %[[STRIDED:.*]] = arith.muli %[[J]], %[[C6]]
// CHECK:             %[[AT:.*]] = arith.addi %[[BASE]], %[[STRIDED]]
// CHECK:             memref.load %[[X]][%[[AT]]]
// CHECK:           scf.for {{.*}} iter_args
// CHECK:           %[[LOG:.*]] = math.log
// CHECK:           %[[LSE:.*]] = arith.addf %{{.*}}, %[[LOG]]
// CHECK:           scf.for
// CHECK:             %[[XV:.*]] = memref.load %[[X]][%[[AT2:.*]]]
// CHECK:             %[[R:.*]] = arith.subf %[[XV]], %[[LSE]]
// CHECK:             memref.store %[[R]], %[[OUT]][%[[AT2]]]
func.func private @columns(%x: tensor<300x6xf32>) -> tensor<300x6xf32>
    attributes {graph.kernel = #graph.kernel<row, layers = ["head"], ops = 1>} {
  %l = graph.log_softmax %x axis = 0 : tensor<300x6xf32>
  return %l : tensor<300x6xf32>
}

// -----

// Layer norm over the last axis, written as ops, in one row kernel: two row
// reductions (the mean, then the mean of the squared deviations, whose term
// reads the first through a broadcast), then per element
// (x - mean) / sqrt(var + eps) * gamma + beta, and the per-row standard
// deviation on thread 0. Three passes over the row in all; the per-row
// sqrt(var + eps) is computed once, before the last pass.

// CHECK-LABEL: gpu.module @layer_norm_gpu
// CHECK:         gpu.func @layer_norm(%[[Y:.*]]: memref<256xf32>, %[[STD:.*]]: memref<8xf32>, %[[X:.*]]: memref<256xf32>, %[[GAMMA:.*]]: memref<32xf32>, %[[BETA:.*]]: memref<32xf32>) workgroup(%[[SCRATCH:.*]] : memref<256xf32, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME:      kiln.grid = array<i32: 8, 1, 1>
// CHECK-SAME:      kiln.in_place = []
// CHECK-SAME:      known_block_size = array<i32: 32, 1, 1>
// CHECK-DAG:       %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG:       %[[C32F:.*]] = arith.constant 3.200000e+01 : f32
// CHECK-DAG:       %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:           %[[ROW:.*]] = arith.addi
// CHECK:           %[[BASE:.*]] = arith.muli %[[ROW]], %{{.*}}
// CHECK:           %[[PART1:.*]] = scf.for %{{.*}} iter_args(%[[A1:.*]] = %[[ZERO]])
// CHECK:             %[[X1:.*]] = memref.load %[[X]]
// CHECK:             arith.addf %[[A1]], %[[X1]]
// CHECK:           memref.store %[[PART1]], %[[SCRATCH]]
// CHECK:           %[[TOTAL1:.*]] = memref.load %[[SCRATCH]][%c0]
// CHECK:           %[[MEAN:.*]] = arith.divf %[[TOTAL1]], %[[C32F]]
// CHECK:           %[[PART2:.*]] = scf.for %{{.*}} iter_args(%[[A2:.*]] = %[[ZERO]])
// CHECK:             %[[X2:.*]] = memref.load %[[X]]
// CHECK:             %[[D2:.*]] = arith.subf %[[X2]], %[[MEAN]]
// CHECK:             %[[SQ:.*]] = arith.mulf %[[D2]], %[[D2]]
// CHECK:             arith.addf %[[A2]], %[[SQ]]
// CHECK:           memref.store %[[PART2]], %[[SCRATCH]]
// CHECK:           %[[TOTAL2:.*]] = memref.load %[[SCRATCH]][%c0]
// CHECK:           %[[VAR:.*]] = arith.divf %[[TOTAL2]], %[[C32F]]
// CHECK:           %[[VE:.*]] = arith.addf %[[VAR]], %[[EPS]]
// CHECK:           %[[SD:.*]] = math.sqrt %[[VE]]
// CHECK:           scf.for %[[J:.*]] = {{.*}} {
// CHECK:             %[[AT:.*]] = arith.addi %[[BASE]], %[[J]]
// CHECK:             %[[X3:.*]] = memref.load %[[X]][%[[AT]]]
// CHECK:             %[[D3:.*]] = arith.subf %[[X3]], %[[MEAN]]
// CHECK:             %[[N:.*]] = arith.divf %[[D3]], %[[SD]]
// CHECK:             %[[G:.*]] = memref.load %[[GAMMA]][%[[J]]]
// CHECK:             %[[S:.*]] = arith.mulf %[[N]], %[[G]]
// CHECK:             %[[B:.*]] = memref.load %[[BETA]][%[[J]]]
// CHECK:             %[[OUTV:.*]] = arith.addf %[[S]], %[[B]]
// CHECK:             memref.store %[[OUTV]], %[[Y]][%[[AT]]]
// CHECK:           scf.if
// CHECK-NEXT:        memref.store %[[SD]], %[[STD]][%[[ROW]]]
// CHECK:           gpu.return
func.func private @layer_norm(%x: tensor<8x32xf32>, %gamma: tensor<32xf32>, %beta: tensor<32xf32>) -> (tensor<8x32xf32>, tensor<8xf32>)
    attributes {graph.kernel = #graph.kernel<row, layers = ["ln"], ops = 11>} {
  %mean = graph.reduce_mean %x [1] : tensor<8x32xf32> -> tensor<8xf32>
  %mb = graph.broadcast %mean [0] : tensor<8xf32> to tensor<8x32xf32>
  %centered = graph.sub %x, %mb : tensor<8x32xf32>
  %sq = graph.mul %centered, %centered : tensor<8x32xf32>
  %var = graph.reduce_mean %sq [1] : tensor<8x32xf32> -> tensor<8xf32>
  %eps = graph.constant dense<1.0e-05> : tensor<8xf32>
  %ve = graph.add %var, %eps : tensor<8xf32>
  %std = graph.sqrt %ve : tensor<8xf32>
  %sb = graph.broadcast %std [0] : tensor<8xf32> to tensor<8x32xf32>
  %norm = graph.div %centered, %sb : tensor<8x32xf32>
  %gb = graph.broadcast %gamma [1] : tensor<32xf32> to tensor<8x32xf32>
  %bb = graph.broadcast %beta [1] : tensor<32xf32> to tensor<8x32xf32>
  %scaled = graph.mul %norm, %gb : tensor<8x32xf32>
  %y = graph.add %scaled, %bb : tensor<8x32xf32>
  return %y, %std : tensor<8x32xf32>, tensor<8xf32>
}

// -----

// A softmax whose operand is computed in the kernel from a row statistic:
// softmax(x - mean(x)). The mean's pass comes first (body order); the
// softmax's maximum and sum passes read it through the broadcast.

// CHECK-LABEL: gpu.module @centered_softmax_gpu
// CHECK:         gpu.func @centered_softmax(
// CHECK:           %[[MEAN:.*]] = arith.divf
// CHECK:           scf.for {{.*}} iter_args
// CHECK:             %[[C:.*]] = arith.subf %{{.*}}, %[[MEAN]]
// CHECK:             arith.maximumf %{{.*}}, %[[C]]
// CHECK:           scf.for {{.*}} iter_args
// CHECK:             arith.subf %{{.*}}, %[[MEAN]]
// CHECK:             math.exp
// CHECK:           scf.for
// CHECK:             arith.divf
// CHECK:             memref.store
func.func private @centered_softmax(%x: tensor<4x64xf32>) -> tensor<4x64xf32>
    attributes {graph.kernel = #graph.kernel<row, layers = ["attention"], ops = 3>} {
  %mean = graph.reduce_mean %x [1] : tensor<4x64xf32> -> tensor<4xf32>
  %mb = graph.broadcast %mean [0] : tensor<4xf32> to tensor<4x64xf32>
  %c = graph.sub %x, %mb : tensor<4x64xf32>
  %p = graph.softmax %c axis = 1 : tensor<4x64xf32>
  return %p : tensor<4x64xf32>
}
