// RUN: kiln-opt %s --canonicalize | FileCheck %s

// Folders and canonicalization patterns of the graph dialect, one function
// per rewrite, then the rewrites that must NOT happen because they would
// change a result for some input (NaN, infinities or the sign of zero).

//===----------------------------------------------------------------------===//
// Identities that leave an existing value
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @add_zero(
// CHECK-SAME:    %[[X:.*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[X]], %[[X]]
func.func @add_zero(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %zero = graph.constant dense<0.0> : tensor<4xf32>
  %a = graph.add %x, %zero : tensor<4xf32>
  %b = graph.add %zero, %x : tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @sub_zero(
// CHECK-SAME:    %[[X:.*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[X]]
func.func @sub_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = graph.constant dense<0.0> : tensor<4xf32>
  %y = graph.sub %x, %zero : tensor<4xf32>
  return %y : tensor<4xf32>
}

// CHECK-LABEL: func.func @mul_one(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]], %[[X]]
func.func @mul_one(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %one = graph.constant dense<1.0> : tensor<2x3xf32>
  %a = graph.mul %x, %one : tensor<2x3xf32>
  %b = graph.mul %one, %x : tensor<2x3xf32>
  return %a, %b : tensor<2x3xf32>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @div_one(
// CHECK-SAME:    %[[X:.*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[X]]
func.func @div_one(%x: tensor<4xf32>) -> tensor<4xf32> {
  %one = graph.constant dense<1.0> : tensor<4xf32>
  %y = graph.div %x, %one : tensor<4xf32>
  return %y : tensor<4xf32>
}

// CHECK-LABEL: func.func @neg_neg(
// CHECK-SAME:    %[[X:.*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[X]]
func.func @neg_neg(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = graph.neg %x : tensor<4xf32>
  %b = graph.neg %a : tensor<4xf32>
  return %b : tensor<4xf32>
}

// CHECK-LABEL: func.func @reshape_same_type(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]]
func.func @reshape_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.reshape %x : tensor<2x3xf32> to tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @reshape_round_trip(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]]
func.func @reshape_round_trip(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %flat = graph.reshape %x : tensor<2x3xf32> to tensor<6xf32>
  %back = graph.reshape %flat : tensor<6xf32> to tensor<2x3xf32>
  return %back : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @transpose_identity(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]]
func.func @transpose_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.transpose %x [0, 1] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @transpose_inverse(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3x4xf32>
// CHECK-NEXT:    return %[[X]]
func.func @transpose_inverse(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %a = graph.transpose %x [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %b = graph.transpose %a [2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  return %b : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @broadcast_same_type(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]]
func.func @broadcast_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.broadcast %x [0, 1] : tensor<2x3xf32> to tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @reduce_no_axes(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]], %[[X]], %[[X]]
func.func @reduce_no_axes(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %s = graph.reduce_sum %x [] : tensor<2x3xf32> -> tensor<2x3xf32>
  %m = graph.reduce_mean %x [] : tensor<2x3xf32> -> tensor<2x3xf32>
  %x2 = graph.reduce_max %x [] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %s, %m, %x2 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @select_constant_condition(
// CHECK-SAME:    %[[A:[^:]*]]: tensor<4xf32>, %[[B:[^:]*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[A]], %[[B]]
func.func @select_constant_condition(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %yes = graph.constant dense<true> : tensor<4xi1>
  %no = graph.constant dense<false> : tensor<4xi1>
  %t = graph.select %yes, %a, %b : tensor<4xi1>, tensor<4xf32>
  %f = graph.select %no, %a, %b : tensor<4xi1>, tensor<4xf32>
  return %t, %f : tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @select_same_branches(
// CHECK-SAME:    %[[C:[^:]*]]: tensor<4xi1>, %[[A:[^:]*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[A]]
func.func @select_same_branches(%c: tensor<4xi1>, %a: tensor<4xf32>) -> tensor<4xf32> {
  %y = graph.select %c, %a, %a : tensor<4xi1>, tensor<4xf32>
  return %y : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// Rewrites that build a new op
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reshape_of_reshape(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.reshape %[[X]] : tensor<2x3x4xf32> to tensor<4x6xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @reshape_of_reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %a = graph.reshape %x : tensor<2x3x4xf32> to tensor<24xf32>
  %b = graph.reshape %a : tensor<24xf32> to tensor<4x6xf32>
  return %b : tensor<4x6xf32>
}

// Result dim i of the pair is operand dim inner[outer[i]]: [1, 2, 0] then
// [1, 0, 2] is [2, 1, 0].
// CHECK-LABEL: func.func @transpose_of_transpose(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.transpose %[[X]] [2, 1, 0] : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  %a = graph.transpose %x [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %b = graph.transpose %a [1, 0, 2] : tensor<3x4x2xf32> -> tensor<4x3x2xf32>
  return %b : tensor<4x3x2xf32>
}

// Operand dim 0 goes to dim 1 of the middle type, which goes to dim 2.
// CHECK-LABEL: func.func @broadcast_of_broadcast(
// CHECK-SAME:    %[[X:.*]]: tensor<3xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.broadcast %[[X]] [2] : tensor<3xf32> to tensor<5x2x3xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @broadcast_of_broadcast(%x: tensor<3xf32>) -> tensor<5x2x3xf32> {
  %a = graph.broadcast %x [1] : tensor<3xf32> to tensor<2x3xf32>
  %b = graph.broadcast %a [1, 2] : tensor<2x3xf32> to tensor<5x2x3xf32>
  return %b : tensor<5x2x3xf32>
}

// A size-1 dimension repeated by the outer broadcast stays a valid mapping.
// CHECK-LABEL: func.func @broadcast_of_broadcast_size_one(
// CHECK-SAME:    %[[X:.*]]: tensor<1xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.broadcast %[[X]] [1] : tensor<1xf32> to tensor<4x5xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @broadcast_of_broadcast_size_one(%x: tensor<1xf32>) -> tensor<4x5xf32> {
  %a = graph.broadcast %x [1] : tensor<1xf32> to tensor<4x1xf32>
  %b = graph.broadcast %a [0, 1] : tensor<4x1xf32> to tensor<4x5xf32>
  return %b : tensor<4x5xf32>
}

// CHECK-LABEL: func.func @sub_of_negation(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>, %[[Y:[^:]*]]: tensor<4xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.add %[[X]], %[[Y]] : tensor<4xf32>
// CHECK-NEXT:    return %[[S]]
func.func @sub_of_negation(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %n = graph.neg %y : tensor<4xf32>
  %s = graph.sub %x, %n : tensor<4xf32>
  return %s : tensor<4xf32>
}

// CHECK-LABEL: func.func @add_of_negation(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>, %[[Y:[^:]*]]: tensor<4xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.sub %[[X]], %[[Y]] : tensor<4xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.sub %[[X]], %[[Y]] : tensor<4xf32>
// CHECK-NEXT:    return %[[A]], %[[B]]
func.func @add_of_negation(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %n = graph.neg %y : tensor<4xf32>
  %a = graph.add %x, %n : tensor<4xf32>
  %b = graph.add %n, %x : tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// Constant folding of splats
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @fold_binary(
// CHECK-DAG:     %[[SUM:.*]] = graph.constant dense<5.000000e+00> : tensor<4xf32>
// CHECK-DAG:     %[[DIFF:.*]] = graph.constant dense<-1.000000e+00> : tensor<4xf32>
// CHECK-DAG:     %[[PROD:.*]] = graph.constant dense<6.000000e+00> : tensor<4xf32>
// CHECK-DAG:     %[[QUOT:.*]] = graph.constant dense<1.500000e+00> : tensor<4xf32>
// CHECK-DAG:     %[[MAX:.*]] = graph.constant dense<3.000000e+00> : tensor<4xf32>
// CHECK-NOT:     graph.add
// CHECK-NOT:     graph.sub
// CHECK-NOT:     graph.mul
// CHECK-NOT:     graph.div
// CHECK-NOT:     graph.max
// CHECK:         return %[[SUM]], %[[DIFF]], %[[PROD]], %[[QUOT]], %[[MAX]]
func.func @fold_binary() -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %two = graph.constant dense<2.0> : tensor<4xf32>
  %three = graph.constant dense<3.0> : tensor<4xf32>
  %sum = graph.add %two, %three : tensor<4xf32>
  %diff = graph.sub %two, %three : tensor<4xf32>
  %prod = graph.mul %two, %three : tensor<4xf32>
  %quot = graph.div %three, %two : tensor<4xf32>
  %max = graph.max %two, %three : tensor<4xf32>
  return %sum, %diff, %prod, %quot, %max : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @fold_unary(
// CHECK-DAG:     %[[NEG:.*]] = graph.constant dense<-4.000000e+00> : tensor<2xf32>
// CHECK-DAG:     %[[SQRT:.*]] = graph.constant dense<2.000000e+00> : tensor<2xf32>
// CHECK-DAG:     %[[EXP:.*]] = graph.constant dense<54.5981483> : tensor<2xf32>
// CHECK-DAG:     %[[LOG:.*]] = graph.constant dense<1.38629436> : tensor<2xf32>
// CHECK-DAG:     %[[TANH:.*]] = graph.constant dense<0.999329328> : tensor<2xf32>
// CHECK-DAG:     %[[SIGMOID:.*]] = graph.constant dense<0.982013761> : tensor<2xf32>
// CHECK-DAG:     %[[RELU:.*]] = graph.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK:         return %[[NEG]], %[[SQRT]], %[[EXP]], %[[LOG]], %[[TANH]], %[[SIGMOID]], %[[RELU]]
func.func @fold_unary() -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %four = graph.constant dense<4.0> : tensor<2xf32>
  %minus = graph.constant dense<-4.0> : tensor<2xf32>
  %neg = graph.neg %four : tensor<2xf32>
  %sqrt = graph.sqrt %four : tensor<2xf32>
  %exp = graph.exp %four : tensor<2xf32>
  %log = graph.log %four : tensor<2xf32>
  %tanh = graph.tanh %four : tensor<2xf32>
  %sigmoid = graph.sigmoid %four : tensor<2xf32>
  %relu = graph.relu %minus : tensor<2xf32>
  return %neg, %sqrt, %exp, %log, %tanh, %sigmoid, %relu : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// A constant comparison folds to a mask, and the select on it to a branch.
// CHECK-LABEL: func.func @fold_compare_then_select(
// CHECK-SAME:    %[[A:[^:]*]]: tensor<4xf32>, %[[B:[^:]*]]: tensor<4xf32>
// CHECK-NEXT:    return %[[B]]
func.func @fold_compare_then_select(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %one = graph.constant dense<1.0> : tensor<4xf32>
  %two = graph.constant dense<2.0> : tensor<4xf32>
  %greater = graph.compare gt, %one, %two : tensor<4xf32>
  %y = graph.select %greater, %a, %b : tensor<4xi1>, tensor<4xf32>
  return %y : tensor<4xf32>
}

// Shape ops of a splat are the splat of the new shape: autodiff's
// broadcast zeros then fold into the additions that use them.
// CHECK-LABEL: func.func @fold_shape_of_splat(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>
// CHECK-DAG:     %[[T:.*]] = graph.constant dense<2.000000e+00> : tensor<3x2xf32>
// CHECK-DAG:     %[[R:.*]] = graph.constant dense<2.000000e+00> : tensor<6xf32>
// CHECK-NOT:     graph.broadcast
// CHECK-NOT:     graph.add
// CHECK:         return %[[X]], %[[T]], %[[R]]
func.func @fold_shape_of_splat(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>, tensor<6xf32>) {
  %zero = graph.constant dense<0.0> : tensor<f32>
  %zeros = graph.broadcast %zero [] : tensor<f32> to tensor<2x3xf32>
  %sum = graph.add %x, %zeros : tensor<2x3xf32>
  %two = graph.constant dense<2.0> : tensor<2x3xf32>
  %t = graph.transpose %two [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %r = graph.reshape %two : tensor<2x3xf32> to tensor<6xf32>
  return %sum, %t, %r : tensor<2x3xf32>, tensor<3x2xf32>, tensor<6xf32>
}

// Dead pure ops go: nothing is left of an unused computation.
// CHECK-LABEL: func.func @dead_ops(
// CHECK-NEXT:    return
func.func @dead_ops(%x: tensor<4xf32>) {
  %e = graph.exp %x : tensor<4xf32>
  %s = graph.reduce_sum %e [0] : tensor<4xf32> -> tensor<f32>
  return
}

//===----------------------------------------------------------------------===//
// What must NOT be simplified
//===----------------------------------------------------------------------===//

// x * 0 is NaN for x = NaN or +-inf, and -0 for negative x.
// CHECK-LABEL: func.func @keep_mul_by_zero(
// CHECK:         %[[Y:.*]] = graph.mul
// CHECK-NEXT:    return %[[Y]]
func.func @keep_mul_by_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = graph.constant dense<0.0> : tensor<4xf32>
  %y = graph.mul %x, %zero : tensor<4xf32>
  return %y : tensor<4xf32>
}

// x - x and x / x are NaN for NaN and infinities; 0 - x is +0 where -x is -0.
// CHECK-LABEL: func.func @keep_self_arithmetic(
// CHECK:         graph.sub
// CHECK:         graph.div
// CHECK:         graph.sub
// CHECK:         return
func.func @keep_self_arithmetic(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %zero = graph.constant dense<0.0> : tensor<4xf32>
  %d = graph.sub %x, %x : tensor<4xf32>
  %q = graph.div %x, %x : tensor<4xf32>
  %n = graph.sub %zero, %x : tensor<4xf32>
  return %d, %q, %n : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// x - (-0) is +0 for x = -0, so only a +0 subtrahend folds.
// CHECK-LABEL: func.func @keep_sub_negative_zero(
// CHECK:         %[[Y:.*]] = graph.sub
// CHECK-NEXT:    return %[[Y]]
func.func @keep_sub_negative_zero(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = graph.constant dense<-0.0> : tensor<4xf32>
  %y = graph.sub %x, %zero : tensor<4xf32>
  return %y : tensor<4xf32>
}

// exp(log(x)) is NaN for negative x, and log(exp(x)) overflows for large x.
// CHECK-LABEL: func.func @keep_exp_log(
// CHECK:         graph.log
// CHECK:         graph.exp
// CHECK:         graph.exp
// CHECK:         graph.log
func.func @keep_exp_log(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %l = graph.log %x : tensor<4xf32>
  %a = graph.exp %l : tensor<4xf32>
  %e = graph.exp %x : tensor<4xf32>
  %b = graph.log %e : tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}

// Devices disagree on max with a NaN and on max(-0, +0): left to them.
// CHECK-LABEL: func.func @keep_max_of_nan_and_zeros(
// CHECK:         graph.max
// CHECK:         graph.max
// CHECK:         graph.relu
// CHECK:         return
func.func @keep_max_of_nan_and_zeros() -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %nan = graph.constant dense<0x7FC00000> : tensor<2xf32>
  %one = graph.constant dense<1.0> : tensor<2xf32>
  %pz = graph.constant dense<0.0> : tensor<2xf32>
  %nz = graph.constant dense<-0.0> : tensor<2xf32>
  %a = graph.max %nan, %one : tensor<2xf32>
  %b = graph.max %nz, %pz : tensor<2xf32>
  %c = graph.relu %nz : tensor<2xf32>
  return %a, %b, %c : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// A reshape or broadcast that changes the type is not an identity, and a
// non-constant condition keeps its select.
// CHECK-LABEL: func.func @keep_real_shape_changes(
// CHECK:         graph.reshape
// CHECK:         graph.select
// CHECK:         graph.broadcast
// CHECK:         return
func.func @keep_real_shape_changes(%x: tensor<2x3xf32>, %c: tensor<6xi1>, %b: tensor<6xf32>) -> (tensor<6xf32>, tensor<4x2x3xf32>) {
  %r = graph.reshape %x : tensor<2x3xf32> to tensor<6xf32>
  %s = graph.select %c, %r, %b : tensor<6xi1>, tensor<6xf32>
  %w = graph.broadcast %x [1, 2] : tensor<2x3xf32> to tensor<4x2x3xf32>
  return %s, %w : tensor<6xf32>, tensor<4x2x3xf32>
}
