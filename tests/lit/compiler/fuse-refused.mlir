// RUN: kiln-opt %s --kiln-fuse="explain=true" --split-input-file -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s --kiln-fuse="max-bindings=4" --split-input-file | FileCheck %s --check-prefix=BUDGET
// RUN: kiln-opt %s --kiln-fuse="explain=true max-bindings=4" --split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// kiln-fuse: what must not fuse. With explain=true every refused fusion is a
// remark at the op saying why; the refusal is also counted in `kiln.fusion`.

// A matmul never joins another matmul's kernel: two matmul kernels. A
// reduction does not take a matmul kernel as its prologue (reported), so the
// bias gradient's column sum is a reduction kernel of its own; the mask and
// select join the first matmul's epilogue at the product's shape.

// CHECK-LABEL: module @two_matmuls
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 4 : i64, fused_ops = 4 : i64, horizontal = 0 : i64, kernels = 3 : i64, prologues = 0 : i64, refused = 1 : i64}}
// CHECK:           %[[FC:.*]]:2 = call @step_matmul_add_relu_compare_etc(
// CHECK-NEXT:      %[[O:.*]] = call @step_matmul(%[[FC]]#0, %{{.*}})
// CHECK-NEXT:      graph.output "o", %[[O]]
// CHECK-NEXT:      %[[DB:.*]] = call @step_reduce_sum(%[[FC]]#1)
// CHECK:         func.func private @step_matmul_add_relu_compare_etc(
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 5>
// CHECK-COUNT-1:   graph.matmul
// CHECK-NOT:       graph.matmul
// CHECK:           graph.select
// CHECK-NEXT:      return
// CHECK:         func.func private @step_matmul(
// CHECK-SAME:        #graph.kernel<matmul, layers = [], ops = 1>
// CHECK:         func.func private @step_reduce_sum(
// CHECK-SAME:        #graph.kernel<reduction, layers = [], ops = 1>
module @two_matmuls {
  func.func @step() {
    %x = graph.input "x" : tensor<4x5xf32>
    %w = graph.input "w" : tensor<3x5xf32>
    %b = graph.input "b" : tensor<3xf32>
    %h = graph.matmul %x, %w transpose_rhs : tensor<4x5xf32>, tensor<3x5xf32> -> tensor<4x3xf32>
    %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32>
    %pre = graph.add %h, %bb : tensor<4x3xf32>
    %a = graph.relu %pre : tensor<4x3xf32>
    %w2 = graph.input "w2" : tensor<2x3xf32>
    %o = graph.matmul %a, %w2 transpose_rhs : tensor<4x3xf32>, tensor<2x3xf32> -> tensor<4x2xf32>
    graph.output "o", %o : tensor<4x2xf32>
    %g = graph.input "g" : tensor<4x3xf32>
    %z = graph.constant dense<0.000000e+00> : tensor<4x3xf32>
    %mask = graph.compare gt, %pre, %z : tensor<4x3xf32>
    %d = graph.select %mask, %g, %z : tensor<4x3xi1>, tensor<4x3xf32>
    // expected-remark @below {{not fused: its operand comes from a matmul kernel; only an elementwise kernel of the operand's shape becomes a reduction's prologue}}
    %db = graph.reduce_sum %d [0] : tensor<4x3xf32> -> tensor<3xf32>
    graph.output "db", %db : tensor<3xf32>
    return
  }
}

// -----

// An elementwise op that reads a kernel value through a broadcast needs
// another thread's element (here the column sums of exp(x), each read by
// every row), so it does not join the reduction kernel: it is a pointwise
// kernel of its own. (Row sums read back along their rows do fuse, into a
// row kernel: fuse-row.mlir.)

// CHECK-LABEL: module @through_broadcast
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 1 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 1 : i64, refused = 1 : i64}}
// CHECK:           %[[R:.*]]:2 = call @step_exp_reduce_sum(%{{.*}}) : (tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>)
// CHECK-NEXT:      %[[N:.*]] = call @step_div(%[[R]]#0, %[[R]]#1) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
// CHECK:         func.func private @step_exp_reduce_sum(
// CHECK-SAME:        #graph.kernel<reduction,
// CHECK:         func.func private @step_div(%[[E:.*]]: tensor<4x3xf32>, %[[S:.*]]: tensor<3xf32>)
// CHECK-SAME:        #graph.kernel<pointwise,
// CHECK-NEXT:      %[[SB:.*]] = graph.broadcast %[[S]] [1]
// CHECK-NEXT:      graph.div %[[E]], %[[SB]]
module @through_broadcast {
  func.func @step() {
    %x = graph.input "x" : tensor<4x3xf32>
    %e = graph.exp %x : tensor<4x3xf32>
    %s = graph.reduce_sum %e [0] : tensor<4x3xf32> -> tensor<3xf32>
    %sb = graph.broadcast %s [1] : tensor<3xf32> to tensor<4x3xf32>
    // expected-remark @below {{not fused: into the reduction kernel of graph.exp: it reads a kernel value through a broadcast or transpose (another thread's element)}}
    %n = graph.div %e, %sb : tensor<4x3xf32>
    graph.output "n", %n : tensor<4x3xf32>
    return
  }
}

// -----

// A = exp(x); M = matmul(A, w); B = add(A, M): B joins M's kernel as an
// epilogue (it reads A from memory there), never A's kernel, which would
// need M before A exists. Nothing is refused.

// CHECK-LABEL: module @cycle_as_epilogue
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 1 : i64, fused_ops = 1 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[A:.*]] = call @step_exp(%{{.*}})
// CHECK-NEXT:      %[[B:.*]] = call @step_matmul_add(%[[A]], %{{.*}})
// CHECK-NEXT:      graph.output "b", %[[B]]
// CHECK:         func.func private @step_matmul_add(%[[AA:.*]]: tensor<4x4xf32>, %[[AW:.*]]: tensor<4x4xf32>)
// CHECK-SAME:        #graph.kernel<matmul,
// CHECK-NEXT:      %[[M:.*]] = graph.matmul %[[AA]], %[[AW]]
// CHECK-NEXT:      graph.add %[[AA]], %[[M]]
module @cycle_as_epilogue {
  func.func @step() {
    %x = graph.input "x" : tensor<4x4xf32>
    %w = graph.input "w" : tensor<4x4xf32>
    %a = graph.exp %x : tensor<4x4xf32>
    %m = graph.matmul %a, %w : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
    %b = graph.add %a, %m : tensor<4x4xf32>
    graph.output "b", %b : tensor<4x4xf32>
    return
  }
}

// -----

// The same with the product read through a transpose, so B cannot be M's
// epilogue; joining A's kernel would form a cycle (M reads A, B reads M):
// refused, and B is a pointwise kernel after the matmul.

// CHECK-LABEL: module @cycle
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 0 : i64, horizontal = 0 : i64, kernels = 3 : i64, prologues = 0 : i64, refused = 1 : i64}}
// CHECK:           %[[A:.*]] = call @step_exp(%{{.*}})
// CHECK-NEXT:      %[[M:.*]] = call @step_matmul(%[[A]], %{{.*}})
// CHECK-NEXT:      %[[B:.*]] = call @step_add(%[[A]], %[[M]])
// CHECK-NEXT:      graph.output "b", %[[B]]
// CHECK:         func.func private @step_add(
// CHECK-SAME:        #graph.kernel<pointwise,
// CHECK-NEXT:      graph.transpose
// CHECK-NEXT:      graph.add
module @cycle {
  func.func @step() {
    %x = graph.input "x" : tensor<4x4xf32>
    %w = graph.input "w" : tensor<4x4xf32>
    %a = graph.exp %x : tensor<4x4xf32>
    %m = graph.matmul %a, %w : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
    %t = graph.transpose %m [1, 0] : tensor<4x4xf32> -> tensor<4x4xf32>
    // expected-remark @below {{not fused: into the pointwise kernel of graph.exp: another of its inputs is computed from this kernel's results (matmul kernel), so fusing would form a cycle}}
    %b = graph.add %a, %t : tensor<4x4xf32>
    graph.output "b", %b : tensor<4x4xf32>
    return
  }
}

// -----

// Two independent updates bind 5 buffers together (lr, g1, w1, g2, w2 read;
// two written): within the default budget they merge (fuse.mlir); with
// max-bindings=4 they do not, and the second is reported.

// CHECK-LABEL: module @binding_budget
// CHECK:         kiln.fusion = {{.*}}horizontal = 1 : i64, kernels = 1 : i64
// REMARK:        remark: not fused: into a multi-tensor kernel: it would bind more than 4 buffers
// REMARK-NEXT:   %s2 = graph.mul %lr2, %g2
// BUDGET-LABEL:  module @binding_budget
// BUDGET:          func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 2 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 1 : i64}}
// BUDGET:          call @step_mul_sub(
// BUDGET:          call @step_mul_sub_2(
// BUDGET-NOT:    multi-tensor
module @binding_budget {
  graph.variable @w1 trainable : tensor<3x5xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  graph.variable @w2 trainable : tensor<7xf32> = #graph.init<constant(0.0), seed = 0, stream = 1>
  func.func @step() {
    %lr = graph.input "learning_rate" : tensor<f32>
    %w1 = graph.read @w1 : tensor<3x5xf32>
    %g1 = graph.input "g1" : tensor<3x5xf32>
    %lr1 = graph.broadcast %lr [] : tensor<f32> to tensor<3x5xf32>
    %s1 = graph.mul %lr1, %g1 : tensor<3x5xf32>
    %n1 = graph.sub %w1, %s1 : tensor<3x5xf32>
    graph.assign @w1, %n1 : tensor<3x5xf32>
    %w2 = graph.read @w2 : tensor<7xf32>
    %g2 = graph.input "g2" : tensor<7xf32>
    %lr2 = graph.broadcast %lr [] : tensor<f32> to tensor<7xf32>
    %s2 = graph.mul %lr2, %g2 : tensor<7xf32>
    %n2 = graph.sub %w2, %s2 : tensor<7xf32>
    graph.assign @w2, %n2 : tensor<7xf32>
    return
  }
}

// -----

// A same-shape producer group is not absorbed into a kernel that reads it through a transpose
// (each thread would need another thread's element).
module @absorb_transpose {
  func.func @step() {
    %x = graph.input "x" : tensor<3x3xf32>
    // expected-remark @below {{not fused: into the pointwise kernel that reads it: an op there reads it through a broadcast or transpose}}
    %a = graph.exp %x : tensor<3x3xf32>
    %t = graph.transpose %a [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
    %c = graph.neg %t : tensor<3x3xf32>
    %d = graph.add %a, %c : tensor<3x3xf32>
    graph.output "d", %d : tensor<3x3xf32>
    return
  }
}

// -----

// A dependence through an op no kernel owns yet counts too. The matmul reads
// exp(x) through a transpose, which becomes a kernel of its own only after
// the grouping; the add reads exp(x) at its own index and the matmul's column
// broadcast, so joining exp's kernel would make that kernel both feed the
// matmul (through the transpose) and read it: refused, four kernels in order.
// (The grouping once missed the path through the transpose and formed the
// cycle; a GPT's attention backward hit it.)

// CHECK-LABEL: module @through_a_view
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 0 : i64, horizontal = 0 : i64, kernels = 4 : i64, prologues = 0 : i64, refused = 1 : i64}}
// CHECK:           %[[A:.*]] = call @step_exp(
// CHECK-NEXT:      %[[T:.*]] = call @step_transpose(%[[A]])
// CHECK-NEXT:      %[[M:.*]] = call @step_matmul(%[[T]],
// CHECK-NEXT:      %[[E:.*]] = call @step_add(%[[A]], %[[M]])
// CHECK-NEXT:      graph.output "e", %[[E]]
module @through_a_view {
  func.func @step() {
    %x = graph.input "x" : tensor<4x4xf32>
    %w = graph.input "w" : tensor<4x1xf32>
    %a = graph.exp %x : tensor<4x4xf32>
    %t = graph.transpose %a [1, 0] : tensor<4x4xf32> -> tensor<4x4xf32>
    %m = graph.matmul %t, %w : tensor<4x4xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
    %mb = graph.broadcast %m [0, 1] : tensor<4x1xf32> to tensor<4x4xf32>
    // expected-remark @below {{not fused: into the pointwise kernel of graph.exp: another of its inputs is computed from this kernel's results (matmul kernel), so fusing would form a cycle}}
    %e = graph.add %a, %mb : tensor<4x4xf32>
    graph.output "e", %e : tensor<4x4xf32>
    return
  }
}
