// RUN: kiln-opt %s --kiln-fuse --split-input-file | FileCheck %s

// kiln-fuse: one chunk per fusion decision. Each chunk checks the calls left
// in the program, the outlined kernels (kind, layers, op count, body) and the
// `kiln.fusion` totals. What must not fuse is in fuse-refused.mlir.

// An elementwise chain with a broadcast bias and a splat constant is one
// pointwise kernel. The broadcast and the constant are recomputed inside it
// (cloned), not materialized: the kernel binds the bias at its own shape.

// CHECK-LABEL: module @pointwise_chain
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 2 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[X:.*]] = graph.input "x"
// CHECK:           %[[B:.*]] = graph.read @b
// CHECK-NOT:       graph.broadcast
// CHECK-NOT:       graph.constant
// CHECK:           %[[T:.*]] = call @step_add_mul_tanh(%[[X]], %[[B]]) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT:      graph.output "t", %[[T]]
// CHECK-NEXT:      return
// CHECK:         func.func private @step_add_mul_tanh(%[[AX:.*]]: tensor<4x3xf32>, %[[AB:.*]]: tensor<3xf32>) -> tensor<4x3xf32>
// CHECK-SAME:        graph.kernel = #graph.kernel<pointwise, layers = [], ops = 3>
// CHECK-NEXT:      %[[BB:.*]] = graph.broadcast %[[AB]] [1] : tensor<3xf32> to tensor<4x3xf32>
// CHECK-NEXT:      %[[HALF:.*]] = graph.constant dense<5.000000e-01> : tensor<4x3xf32>
// CHECK-NEXT:      %[[S:.*]] = graph.add %[[AX]], %[[BB]]
// CHECK-NEXT:      %[[M:.*]] = graph.mul %[[S]], %[[HALF]]
// CHECK-NEXT:      %[[R:.*]] = graph.tanh %[[M]]
// CHECK-NEXT:      return %[[R]] : tensor<4x3xf32>
module @pointwise_chain {
  graph.variable @b trainable : tensor<3xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  func.func @step() {
    %x = graph.input "x" : tensor<4x3xf32>
    %b = graph.read @b : tensor<3xf32>
    %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32>
    %half = graph.constant dense<5.000000e-01> : tensor<4x3xf32>
    %s = graph.add %x, %bb : tensor<4x3xf32>
    %m = graph.mul %s, %half : tensor<4x3xf32>
    %t = graph.tanh %m : tensor<4x3xf32>
    graph.output "t", %t : tensor<4x3xf32>
    return
  }
}

// -----

// Matmul + bias + ReLU is one matmul kernel (the add and relu are its
// epilogue). The pre-activation is also needed later (by a graph.output), so
// the kernel returns it too. A second matmul reading the activation gets a
// kernel of its own.

// CHECK-LABEL: module @matmul_epilogue
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 2 : i64, fused_ops = 2 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[X:.*]] = graph.input "x"
// CHECK:           %[[W:.*]] = graph.input "w"
// CHECK:           %[[B:.*]] = graph.input "b"
// CHECK:           %[[FC:.*]]:2 = call @step_matmul_add_relu(%[[X]], %[[W]], %[[B]]) : (tensor<4x5xf32>, tensor<3x5xf32>, tensor<3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>)
// CHECK-NEXT:      %[[W2:.*]] = graph.input "w2"
// CHECK-NEXT:      %[[O:.*]] = call @step_matmul(%[[FC]]#1, %[[W2]])
// CHECK-NEXT:      graph.output "o", %[[O]]
// CHECK-NEXT:      graph.output "pre", %[[FC]]#0
// CHECK:         func.func private @step_matmul_add_relu(%[[AX:.*]]: tensor<4x5xf32>, %[[AW:.*]]: tensor<3x5xf32>, %[[AB:.*]]: tensor<3xf32>)
// CHECK-SAME:        graph.kernel = #graph.kernel<matmul, layers = [], ops = 3>
// CHECK-NEXT:      %[[BB:.*]] = graph.broadcast %[[AB]] [1]
// CHECK-NEXT:      %[[H:.*]] = graph.matmul %[[AX]], %[[AW]] transpose_rhs
// CHECK-NEXT:      %[[PRE:.*]] = graph.add %[[H]], %[[BB]]
// CHECK-NEXT:      %[[A:.*]] = graph.relu %[[PRE]]
// CHECK-NEXT:      return %[[PRE]], %[[A]]
// CHECK:         func.func private @step_matmul(
// CHECK-SAME:        graph.kernel = #graph.kernel<matmul, layers = [], ops = 1>
// CHECK-NEXT:      graph.matmul
// CHECK-NEXT:      return
module @matmul_epilogue {
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
    graph.output "pre", %pre : tensor<4x3xf32>
    return
  }
}

// -----

// A reduction takes its elementwise producers as a prologue (sub, mul at the
// operand's shape) and its elementwise consumer as an epilogue (sqrt at the
// result's shape): one reduction kernel.

// CHECK-LABEL: module @reduction_prologue_epilogue
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 1 : i64, fused_ops = 3 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 1 : i64, refused = 0 : i64}}
// CHECK:           %[[R:.*]] = call @step_sub_mul_reduce_mean_sqrt(%{{.*}}, %{{.*}}) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4xf32>
// CHECK-NEXT:      graph.output "r", %[[R]]
// CHECK:         func.func private @step_sub_mul_reduce_mean_sqrt(
// CHECK-SAME:        graph.kernel = #graph.kernel<reduction, layers = [], ops = 4>
// CHECK-NEXT:      %[[D:.*]] = graph.sub
// CHECK-NEXT:      %[[SQ:.*]] = graph.mul %[[D]], %[[D]]
// CHECK-NEXT:      %[[M:.*]] = graph.reduce_mean %[[SQ]] [1]
// CHECK-NEXT:      %[[S:.*]] = graph.sqrt %[[M]]
// CHECK-NEXT:      return %[[S]] : tensor<4xf32>
module @reduction_prologue_epilogue {
  func.func @step() {
    %x = graph.input "x" : tensor<4x3xf32>
    %y = graph.input "y" : tensor<4x3xf32>
    %d = graph.sub %x, %y : tensor<4x3xf32>
    %sq = graph.mul %d, %d : tensor<4x3xf32>
    %s = graph.reduce_mean %sq [1] : tensor<4x3xf32> -> tensor<4xf32>
    %r = graph.sqrt %s : tensor<4xf32>
    graph.output "r", %r : tensor<4xf32>
    return
  }
}

// -----

// The bias gradient of a ReLU layer: the column reduce_sum fuses with the
// compare/select mask feeding it (i1 mask stays in registers); the select's
// value, also an output, is written by the same kernel.

// CHECK-LABEL: module @bias_gradient
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 2 : i64, horizontal = 0 : i64, kernels = 1 : i64, prologues = 1 : i64, refused = 0 : i64}}
// CHECK:           %[[K:.*]]:2 = call @step_compare_select_reduce_sum(%{{.*}}, %{{.*}}) : (tensor<4x3xf32>, tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>)
// CHECK-NEXT:      graph.output "db", %[[K]]#1
// CHECK-NEXT:      graph.output "dpre", %[[K]]#0
// CHECK:         func.func private @step_compare_select_reduce_sum(%[[PRE:.*]]: tensor<4x3xf32>, %[[G:.*]]: tensor<4x3xf32>)
// CHECK-SAME:        graph.kernel = #graph.kernel<reduction, layers = [], ops = 3>
// CHECK-NEXT:      %[[Z:.*]] = graph.constant dense<0.000000e+00> : tensor<4x3xf32>
// CHECK-NEXT:      %[[MASK:.*]] = graph.compare gt, %[[PRE]], %[[Z]]
// CHECK-NEXT:      %[[D:.*]] = graph.select %[[MASK]], %[[G]], %[[Z]] : tensor<4x3xi1>, tensor<4x3xf32>
// CHECK-NEXT:      %[[DB:.*]] = graph.reduce_sum %[[D]] [0] : tensor<4x3xf32> -> tensor<3xf32>
// CHECK-NEXT:      return %[[D]], %[[DB]]
module @bias_gradient {
  func.func @step() {
    %pre = graph.input "pre" : tensor<4x3xf32>
    %g = graph.input "g" : tensor<4x3xf32>
    %z = graph.constant dense<0.000000e+00> : tensor<4x3xf32>
    %mask = graph.compare gt, %pre, %z : tensor<4x3xf32>
    %d = graph.select %mask, %g, %z : tensor<4x3xi1>, tensor<4x3xf32>
    %db = graph.reduce_sum %d [0] : tensor<4x3xf32> -> tensor<3xf32>
    graph.output "db", %db : tensor<3xf32>
    graph.output "dpre", %d : tensor<4x3xf32>
    return
  }
}

// -----

// softmax_cross_entropy and softmax of the same logits share one row kernel,
// with the gradient (softmax - one_hot) * scale as its per-element epilogue;
// the one-hot and the splat scale are recomputed inside. The mean of the
// per-row losses is a reduction kernel of its own (a reduction does not
// take a row kernel as its prologue).

// CHECK-LABEL: module @row
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 2 : i64, fused_ops = 3 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 1 : i64}}
// CHECK:           %[[LOGITS:.*]] = graph.input "logits"
// CHECK:           %[[Y:.*]] = graph.input "y"
// CHECK-NOT:       graph.one_hot
// CHECK:           %[[ROW:.*]]:2 = call @step_softmax_cross_entropy_softmax_sub_mul(%[[LOGITS]], %[[Y]]) : (tensor<4x3xf32>, tensor<4xi32>) -> (tensor<4xf32>, tensor<4x3xf32>)
// CHECK-NEXT:      %[[LOSS:.*]] = call @step_reduce_mean(%[[ROW]]#0)
// CHECK-NEXT:      graph.output "loss", %[[LOSS]]
// CHECK-NEXT:      graph.output "g", %[[ROW]]#1
// CHECK:         func.func private @step_softmax_cross_entropy_softmax_sub_mul(%[[AL:.*]]: tensor<4x3xf32>, %[[AY:.*]]: tensor<4xi32>)
// CHECK-SAME:        graph.kernel = #graph.kernel<row, layers = [], ops = 4>
// CHECK-NEXT:      %[[OH:.*]] = graph.one_hot %[[AY]]
// CHECK-NEXT:      %[[SCALE:.*]] = graph.constant dense<2.500000e-01>
// CHECK-NEXT:      %[[L:.*]] = graph.softmax_cross_entropy %[[AL]], %[[AY]]
// CHECK-NEXT:      %[[P:.*]] = graph.softmax %[[AL]] axis = 1
// CHECK-NEXT:      %[[D:.*]] = graph.sub %[[P]], %[[OH]]
// CHECK-NEXT:      %[[G:.*]] = graph.mul %[[D]], %[[SCALE]]
// CHECK-NEXT:      return %[[L]], %[[G]]
// CHECK:         func.func private @step_reduce_mean(
// CHECK-SAME:        #graph.kernel<reduction,
module @row {
  func.func @step() {
    %logits = graph.input "logits" : tensor<4x3xf32>
    %y = graph.input "y" : tensor<4xi32>
    %l = graph.softmax_cross_entropy %logits, %y : tensor<4x3xf32>, tensor<4xi32> -> tensor<4xf32>
    %loss = graph.reduce_mean %l [0] : tensor<4xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    %p = graph.softmax %logits axis = 1 : tensor<4x3xf32>
    %oh = graph.one_hot %y : tensor<4xi32> to tensor<4x3xf32>
    %d = graph.sub %p, %oh : tensor<4x3xf32>
    %s = graph.constant dense<2.500000e-01> : tensor<4x3xf32>
    %g = graph.mul %d, %s : tensor<4x3xf32>
    graph.output "g", %g : tensor<4x3xf32>
    return
  }
}

// -----

// Two independent parameter updates (no path between them) are one
// multi-tensor kernel; the learning-rate broadcast is recomputed for each.

// CHECK-LABEL: module @multi_tensor
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 2 : i64, horizontal = 1 : i64, kernels = 1 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[K:.*]]:2 = call @step_multi_tensor(
// CHECK-SAME:        -> (tensor<3x5xf32>, tensor<7xf32>)
// CHECK-NEXT:      graph.assign @w1, %[[K]]#0
// CHECK-NEXT:      graph.assign @w2, %[[K]]#1
// CHECK-NEXT:      return
// CHECK:         func.func private @step_multi_tensor(
// CHECK-SAME:        graph.kernel = #graph.kernel<multi_tensor, layers = [], ops = 4>
// CHECK-NEXT:      graph.broadcast %{{.*}} [] : tensor<f32> to tensor<3x5xf32>
// CHECK-NEXT:      graph.broadcast %{{.*}} [] : tensor<f32> to tensor<7xf32>
// CHECK-NEXT:      graph.mul
// CHECK-NEXT:      %[[N1:.*]] = graph.sub
// CHECK-NEXT:      graph.mul
// CHECK-NEXT:      %[[N2:.*]] = graph.sub
// CHECK-NEXT:      return %[[N1]], %[[N2]] : tensor<3x5xf32>, tensor<7xf32>
module @multi_tensor {
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

// Dependent pointwise groups are not merged: the second reads the first
// through a transpose (another thread's element), so it is a kernel of its
// own, and it depends on the first, so no multi-tensor kernel either.

// CHECK-LABEL: module @dependent_pointwise
// CHECK:         func.func @step() attributes {kiln.fusion = {epilogues = 0 : i64, fused_ops = 0 : i64, horizontal = 0 : i64, kernels = 2 : i64, prologues = 0 : i64, refused = 0 : i64}}
// CHECK:           %[[A:.*]] = call @step_exp(%{{.*}}) : (tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT:      %[[B:.*]] = call @step_neg(%[[A]]) : (tensor<4x3xf32>) -> tensor<3x4xf32>
// CHECK-NOT:     #graph.kernel<multi_tensor,
// CHECK:         func.func private @step_exp(
// CHECK-SAME:        #graph.kernel<pointwise,
// CHECK:         func.func private @step_neg(
// CHECK-SAME:        #graph.kernel<pointwise,
// CHECK-NEXT:      graph.transpose
// CHECK-NEXT:      graph.neg
module @dependent_pointwise {
  func.func @step() {
    %x = graph.input "x" : tensor<4x3xf32>
    %a = graph.exp %x : tensor<4x3xf32>
    %t = graph.transpose %a [1, 0] : tensor<4x3xf32> -> tensor<3x4xf32>
    %b = graph.neg %t : tensor<3x4xf32>
    graph.output "a", %a : tensor<4x3xf32>
    graph.output "b", %b : tensor<3x4xf32>
    return
  }
}

// -----

// Kernels are named after the layers of their ops' NameLocs (outermost
// first), then their ops; `layers` lists them.

// CHECK-LABEL: module @layer_names
// CHECK:           call @fc1_matmul_add_relu(
// CHECK:           call @head_exp_2(
// CHECK:         func.func private @fc1_matmul_add_relu(
// CHECK-SAME:        graph.kernel = #graph.kernel<matmul, layers = ["fc1"], ops = 3>
// CHECK:         func.func private @head_exp_2(
// CHECK-SAME:        graph.kernel = #graph.kernel<pointwise, layers = ["head"], ops = 1>
module @layer_names {
  func.func private @head_exp() -> ()
  func.func @step() {
    %x = graph.input "x" : tensor<4x5xf32>
    %w = graph.input "w" : tensor<3x5xf32>
    %b = graph.input "b" : tensor<3xf32>
    %h = graph.matmul %x, %w transpose_rhs : tensor<4x5xf32>, tensor<3x5xf32> -> tensor<4x3xf32> loc("fc1"("model.cc":10:3))
    %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32> loc("fc1"("model.cc":10:3))
    %pre = graph.add %h, %bb : tensor<4x3xf32> loc("fc1"("model.cc":10:3))
    %a = graph.relu %pre : tensor<4x3xf32> loc("fc1"("model.cc":11:3))
    %t = graph.transpose %a [1, 0] : tensor<4x3xf32> -> tensor<3x4xf32> loc("head"("model.cc":12:3))
    %e = graph.exp %t : tensor<3x4xf32> loc("head"("model.cc":12:3))
    graph.output "e", %e : tensor<3x4xf32>
    return
  }
}

// -----

// Every program is fused (@eval too), with kernel names unique in the module.

// CHECK-LABEL: module @programs
// CHECK:         func.func @step() attributes {kiln.fusion = {{.*}}kernels = 1 : i64
// CHECK:           call @step_exp(
// CHECK:         func.func @eval() attributes {kiln.fusion = {{.*}}kernels = 1 : i64
// CHECK:           call @step_exp_2(
// CHECK:         func.func private @step_exp(
// CHECK:         func.func private @step_exp_2(
module @programs {
  func.func @step() {
    %x = graph.input "x" : tensor<3xf32>
    %e = graph.exp %x : tensor<3xf32>
    graph.output "e", %e : tensor<3xf32>
    return
  }
  func.func @eval() {
    %x = graph.input "x" : tensor<3xf32>
    %e = graph.exp %x : tensor<3xf32>
    graph.output "e", %e : tensor<3xf32>
    return
  }
}
