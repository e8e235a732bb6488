// RUN: kiln-opt %s --kiln-fuse="explain=true" --split-input-file -verify-diagnostics | FileCheck %s

// kiln-fuse: the general row kernel. A reduction along the last axis whose
// per-row result is read back along the row (through a broadcast that drops
// exactly the last dimension) becomes a row kernel; further reductions along
// the same rows of its elements, and elementwise work per element or per
// row, join it. What it still refuses is at the end, with the reason.

// A layer norm over the last axis written with existing ops (mean, subtract,
// square, mean, add eps, rsqrt, scale, shift) is ONE row kernel: two row
// statistics, the normalized row per element, rsqrt(var + eps) per row. The
// broadcasts of the per-row values, of gamma and beta, and the splat eps are
// recomputed inside. xc and r are also results (the backward pass reads them).

// CHECK-LABEL: module @layer_norm
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 7 : i64, fused_ops = 8 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[X:.*]] = graph.input "x"
// CHECK:           %[[K:.*]]:3 = call @step_reduce_mean_sub_mul_add_etc(%[[X]], %{{.*}}, %{{.*}}) : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>)
// CHECK-NEXT:      graph.output "xc", %[[K]]#0
// CHECK-NEXT:      graph.output "r", %[[K]]#1
// CHECK-NEXT:      graph.output "y", %[[K]]#2
// CHECK:         func.func private @step_reduce_mean_sub_mul_add_etc(
// CHECK-SAME:        graph.kernel = #graph.kernel<row, layers = [], ops = 9>
// CHECK:           %[[MEAN:.*]] = graph.reduce_mean %{{.*}} [1] : tensor<4x8xf32> -> tensor<4xf32>
// CHECK-NEXT:      %[[MB:.*]] = graph.broadcast %[[MEAN]] [0]
// CHECK-NEXT:      %[[XC:.*]] = graph.sub %{{.*}}, %[[MB]]
// CHECK-NEXT:      %[[SQ:.*]] = graph.mul %[[XC]], %[[XC]]
// CHECK-NEXT:      %[[VAR:.*]] = graph.reduce_mean %[[SQ]] [1] : tensor<4x8xf32> -> tensor<4xf32>
// CHECK-NEXT:      %[[VE:.*]] = graph.add %[[VAR]],
// CHECK-NEXT:      %[[R:.*]] = graph.rsqrt %[[VE]] : tensor<4xf32>
// CHECK-NEXT:      %[[RB:.*]] = graph.broadcast %[[R]] [0]
// CHECK-NEXT:      %[[N:.*]] = graph.mul %[[XC]], %[[RB]]
// CHECK-NEXT:      %[[S:.*]] = graph.mul %[[N]],
// CHECK-NEXT:      %[[Y:.*]] = graph.add %[[S]],
// CHECK-NEXT:      return %[[XC]], %[[R]], %[[Y]] : tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>
module @layer_norm {
  func.func @step() {
    %x = graph.input "x" : tensor<4x8xf32>
    %gamma = graph.input "gamma" : tensor<8xf32>
    %beta = graph.input "beta" : tensor<8xf32>
    %mean = graph.reduce_mean %x [1] : tensor<4x8xf32> -> tensor<4xf32>
    %mb = graph.broadcast %mean [0] : tensor<4xf32> to tensor<4x8xf32>
    %xc = graph.sub %x, %mb : tensor<4x8xf32>
    %sq = graph.mul %xc, %xc : tensor<4x8xf32>
    %var = graph.reduce_mean %sq [1] : tensor<4x8xf32> -> tensor<4xf32>
    %eps = graph.constant dense<1.000000e-05> : tensor<4xf32>
    %ve = graph.add %var, %eps : tensor<4xf32>
    %r = graph.rsqrt %ve : tensor<4xf32>
    %rb = graph.broadcast %r [0] : tensor<4xf32> to tensor<4x8xf32>
    %n = graph.mul %xc, %rb : tensor<4x8xf32>
    %gb = graph.broadcast %gamma [1] : tensor<8xf32> to tensor<4x8xf32>
    %s = graph.mul %n, %gb : tensor<4x8xf32>
    %bb = graph.broadcast %beta [1] : tensor<8xf32> to tensor<4x8xf32>
    %y = graph.add %s, %bb : tensor<4x8xf32>
    graph.output "xc", %xc : tensor<4x8xf32>
    graph.output "r", %r : tensor<4xf32>
    graph.output "y", %y : tensor<4x8xf32>
    return
  }
}

// -----

// A row reduction whose operand comes from a pointwise kernel takes it as its
// prologue; reading the row's sum back along the row then makes the whole
// group one row kernel (x / sum(x) with x = exp(a)).

// CHECK-LABEL: module @prologue_then_row
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 1 : i64, fused_ops = 2 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 1 : i64, refused = 0 : i64}}
// CHECK:         func.func private @step_exp_reduce_sum_div(
// CHECK-SAME:        #graph.kernel<row, layers = [], ops = 3>
module @prologue_then_row {
  func.func @step() {
    %a = graph.input "a" : tensor<2x5xf32>
    %e = graph.exp %a : tensor<2x5xf32>
    %sum = graph.reduce_sum %e [1] : tensor<2x5xf32> -> tensor<2xf32>
    %sb = graph.broadcast %sum [0] : tensor<2xf32> to tensor<2x5xf32>
    %p = graph.div %e, %sb : tensor<2x5xf32>
    graph.output "p", %p : tensor<2x5xf32>
    return
  }
}

// -----

// Not a row kernel: a column reduction (axis 0) read back through a
// broadcast. Each thread would need other rows' sums, so the division stays a
// pointwise kernel of its own (a column reduction is no candidate at all).

// CHECK-LABEL: module @column_reduction
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 0 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:         #graph.kernel<reduction,
// CHECK:         #graph.kernel<pointwise,
module @column_reduction {
  func.func @step() {
    %a = graph.input "a" : tensor<3x3xf32>
    %sum = graph.reduce_sum %a [0] : tensor<3x3xf32> -> tensor<3xf32>
    %sb = graph.broadcast %sum [1] : tensor<3xf32> to tensor<3x3xf32>
    %p = graph.div %a, %sb : tensor<3x3xf32>
    graph.output "p", %p : tensor<3x3xf32>
    return
  }
}

// -----

// Refused with its reason: a row reduction's value read through a transpose
// of its broadcast is another row's value.

// CHECK-LABEL: module @row_through_transpose
// CHECK:         #graph.kernel<reduction,
// CHECK:         #graph.kernel<pointwise,
module @row_through_transpose {
  func.func @step() {
    %a = graph.input "a" : tensor<3x3xf32>
    %sum = graph.reduce_sum %a [1] : tensor<3x3xf32> -> tensor<3xf32>
    %sb = graph.broadcast %sum [0] : tensor<3xf32> to tensor<3x3xf32>
    %t = graph.transpose %sb [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
    // expected-remark @+1 {{not fused: into the reduction kernel of graph.reduce_sum: it reads a kernel value through a view other than a broadcast of its own row's value along the row (another row's element)}}
    %p = graph.div %a, %t : tensor<3x3xf32>
    graph.output "p", %p : tensor<3x3xf32>
    return
  }
}
