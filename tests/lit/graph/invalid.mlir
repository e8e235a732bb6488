// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Every verifier and shape-rule message of the graph dialect, one case each.
// Ops that infer their result type report a wrong operand shape twice: the
// shape rule's message, then MLIR's "failed to infer returned types".

//===----------------------------------------------------------------------===//
// Initializers and variables
//===----------------------------------------------------------------------===//

// expected-error @+1 {{unknown distribution 'gaussian'; expected constant, uniform or normal}}
graph.variable @w : tensor<2xf32> = #graph.init<gaussian(0.0, 1.0), seed = 0, stream = 0>

// -----

// expected-error @+1 {{'graph.variable' op uniform initializer needs low < high, got [1.000000e+00, 1.000000e+00)}}
graph.variable @w : tensor<2xf32> = #graph.init<uniform(1.0, 1.0), seed = 0, stream = 0>

// -----

// expected-error @+1 {{'graph.variable' op normal initializer needs a standard deviation >= 0, got -1.000000e+00}}
graph.variable @w : tensor<2xf32> = #graph.init<normal(0.0, -1.0), seed = 0, stream = 0>

// -----

// Infinity is spelled in hexadecimal (0x7FF0000000000000).
// expected-error @+1 {{'graph.variable' op initializer parameters must be finite, got #graph.init<uniform(0.000000e+00, 0x7FF0000000000000), seed = 0, stream = 0>}}
graph.variable @w : tensor<2xf32> = #graph.init<uniform(0.0, 0x7FF0000000000000), seed = 0, stream = 0>

// -----

// A NaN constant would make every element NaN.
// expected-error @+1 {{'graph.variable' op initializer parameters must be finite}}
graph.variable @w : tensor<2xf32> = #graph.init<constant(0x7FF8000000000000), seed = 0, stream = 0>

// -----

// expected-error @+1 {{'graph.variable' op a trainable variable must have f32 elements, got 'tensor<2xi32>'}}
graph.variable @w trainable : tensor<2xi32> = #graph.init<constant(0.0), seed = 0, stream = 0>

// -----

func.func @step() {
  // expected-error @+1 {{'graph.variable' op expects parent op 'builtin.module'}}
  graph.variable @w : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Symbol uses: read, assign, gradient
//===----------------------------------------------------------------------===//

func.func @step() {
  // expected-error @+1 {{'graph.read' op refers to @missing, which is not a graph.variable}}
  %0 = graph.read @missing : tensor<2xf32>
  return
}

// -----

// A symbol that is not a variable is refused like a missing one.
func.func @step() {
  // expected-error @+1 {{'graph.read' op refers to @step, which is not a graph.variable}}
  %0 = graph.read @step : tensor<2xf32>
  return
}

// -----

graph.variable @w : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
func.func @step() {
  // expected-error @+1 {{'graph.read' op has type 'tensor<3xf32>' but variable @w has type 'tensor<2xf32>'}}
  %0 = graph.read @w : tensor<3xf32>
  return
}

// -----

graph.variable @w : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
func.func @step(%v: tensor<2x1xf32>) {
  // expected-error @+1 {{'graph.assign' op has type 'tensor<2x1xf32>' but variable @w has type 'tensor<2xf32>'}}
  graph.assign @w, %v : tensor<2x1xf32>
  return
}

// -----

func.func @step(%v: tensor<2xf32>) {
  // expected-error @+1 {{'graph.assign' op refers to @w, which is not a graph.variable}}
  graph.assign @w, %v : tensor<2xf32>
  return
}

// -----

graph.variable @w : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
func.func @step(%v: tensor<2xf32>) {
  graph.assign @w, %v : tensor<2xf32>
  // expected-error @+1 {{'graph.assign' op assigns @w a second time in the same step}}
  graph.assign @w, %v : tensor<2xf32>
  return
}

// -----

graph.variable @w : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
func.func @step(%g: tensor<2xf32>) {
  // expected-error @+1 {{'graph.gradient' op is the gradient of @w, which is not trainable}}
  graph.gradient @w, %g : tensor<2xf32>
  return
}

// -----

func.func @step(%g: tensor<2xf32>) {
  // expected-error @+1 {{'graph.gradient' op refers to @w, which is not a graph.variable}}
  graph.gradient @w, %g : tensor<2xf32>
  return
}

// -----

graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
func.func @step(%g: tensor<3xf32>) {
  // expected-error @+1 {{'graph.gradient' op has type 'tensor<3xf32>' but variable @w has type 'tensor<2xf32>'}}
  graph.gradient @w, %g : tensor<3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

func.func @step() {
  // expected-error @+1 {{'graph.input' op needs a non-empty name}}
  %0 = graph.input "" : tensor<2xf32>
  return
}

// -----

func.func @step() {
  // expected-error @+1 {{'graph.input' op default value has type 'tensor<2xf32>' but the input has type 'tensor<f32>'}}
  %0 = graph.input "learning_rate" {default_value = dense<0.1> : tensor<2xf32>} : tensor<f32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Element types and static shapes (reached through inferring ops)
//===----------------------------------------------------------------------===//

func.func @f(%a: tensor<2xi32>) {
  // expected-error @+2 {{graph.compare: lhs must have f32 elements, got tensor<2xi32>}}
  // expected-error @+1 {{graph.compare: rhs must have f32 elements, got tensor<2xi32>}}
  %0 = graph.compare eq, %a, %a : tensor<2xi32>
  return
}

// -----

func.func @f(%a: tensor<?xf32>) {
  // expected-error @+2 {{graph.compare: lhs must be a static-shaped tensor, got tensor<?xf32>}}
  // expected-error @+1 {{graph.compare: rhs must be a static-shaped tensor, got tensor<?xf32>}}
  %0 = graph.compare eq, %a, %a : tensor<?xf32>
  return
}

// -----

// The custom form gives both operands one type, so a shape mismatch needs
// the generic form; the op's own constraint rejects it first.
func.func @f(%a: tensor<2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'graph.compare' op failed to verify that all of {lhs, rhs} have same type}}
  %0 = "graph.compare"(%a, %b) {predicate = #graph<predicate lt>} : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xi1>
  return
}

// -----

func.func @f(%a: tensor<2xf32>) {
  // expected-error @+2 {{'graph.compare' op inferred type(s) 'tensor<2xi1>' are incompatible with return type(s) of operation 'tensor<3xi1>'}}
  // expected-error @+1 {{'graph.compare' op failed to infer returned types}}
  %0 = "graph.compare"(%a, %a) {predicate = #graph<predicate lt>} : (tensor<2xf32>, tensor<2xf32>) -> tensor<3xi1>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Elementwise and select
//===----------------------------------------------------------------------===//

func.func @f(%a: tensor<2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'graph.add' op requires the same type for all operands and results}}
  %0 = "graph.add"(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>) {
  // expected-error @+1 {{'graph.exp' op requires the same type for all operands and results}}
  %0 = "graph.exp"(%a) : (tensor<2xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>, %m: tensor<2xf32>) {
  // expected-error @+1 {{graph.select: condition must have i1 elements, got tensor<2xf32>}}
  %0 = graph.select %m, %a, %a : tensor<2xf32>, tensor<2xf32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>, %m: tensor<3xi1>) {
  // expected-error @+1 {{graph.select: condition is tensor<3xi1> but the branches are tensor<2xf32>}}
  %0 = graph.select %m, %a, %a : tensor<3xi1>, tensor<2xf32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>, %m: tensor<3xi1>) {
  // expected-error @+2 {{graph.select: condition is tensor<3xi1> but the branches are tensor<2xf32>}}
  // expected-error @+1 {{'graph.select' op failed to infer returned types}}
  %0 = "graph.select"(%m, %a, %a) : (tensor<3xi1>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Broadcast, reshape, transpose
//===----------------------------------------------------------------------===//

func.func @f(%a: tensor<3xf32>) {
  // expected-error @+1 {{graph.broadcast: dims has 0 entries but the operand has rank 1}}
  %0 = graph.broadcast %a [] : tensor<3xf32> to tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<3xf32>) {
  // expected-error @+1 {{graph.broadcast: dims[0] = 2 is out of range for a result of rank 2}}
  %0 = graph.broadcast %a [2] : tensor<3xf32> to tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<3xf32>) {
  // expected-error @+1 {{graph.broadcast: dims[0] = -1 is out of range for a result of rank 2}}
  %0 = graph.broadcast %a [-1] : tensor<3xf32> to tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<3x3xf32>) {
  // expected-error @+1 {{graph.broadcast: dims must be strictly increasing, got 1 before 0}}
  %0 = graph.broadcast %a [1, 0] : tensor<3x3xf32> to tensor<3x3xf32>
  return
}

// -----

func.func @f(%a: tensor<3xf32>) {
  // expected-error @+1 {{graph.broadcast: operand dimension 0 is 3 but result dimension 0 is 2; it must match or be 1}}
  %0 = graph.broadcast %a [0] : tensor<3xf32> to tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{graph.reshape: tensor<2x3xf32> has 6 elements but tensor<7xf32> has 7}}
  %0 = graph.reshape %a : tensor<2x3xf32> to tensor<7xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.transpose: perm has 1 entries but the operand has rank 2}}
  // expected-error @+1 {{'graph.transpose' op failed to infer returned types}}
  %0 = graph.transpose %a [0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.transpose: perm entry 2 is out of range or repeated; perm must be a permutation of 0..1}}
  // expected-error @+1 {{'graph.transpose' op failed to infer returned types}}
  %0 = graph.transpose %a [0, 2] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.transpose: perm entry 0 is out of range or repeated; perm must be a permutation of 0..1}}
  // expected-error @+1 {{'graph.transpose' op failed to infer returned types}}
  %0 = graph.transpose %a [0, 0] : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

// A valid perm with the wrong result type: inference succeeds and disagrees.
func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{'graph.transpose' op inferred type(s) 'tensor<3x2xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{'graph.transpose' op failed to infer returned types}}
  %0 = graph.transpose %a [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.reduce_sum: axis 2 is out of range for rank 2}}
  // expected-error @+1 {{'graph.reduce_sum' op failed to infer returned types}}
  %0 = graph.reduce_sum %a [2] : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.reduce_mean: axis -1 is out of range for rank 2}}
  // expected-error @+1 {{'graph.reduce_mean' op failed to infer returned types}}
  %0 = graph.reduce_mean %a [-1] : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.reduce_max: axes must be sorted and distinct, got 1 before 0}}
  // expected-error @+1 {{'graph.reduce_max' op failed to infer returned types}}
  %0 = graph.reduce_max %a [1, 0] : tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.reduce_sum: axes must be sorted and distinct, got 0 before 0}}
  // expected-error @+1 {{'graph.reduce_sum' op failed to infer returned types}}
  %0 = graph.reduce_sum %a [0, 0] : tensor<2x3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{'graph.reduce_sum' op inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{'graph.reduce_sum' op failed to infer returned types}}
  %0 = graph.reduce_sum %a [0] : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

// The custom form infers the result while parsing, so only the rule speaks.
func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{graph.softmax: axis 2 is out of range for rank 2}}
  %0 = graph.softmax %a axis = 2 : tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{graph.log_softmax: axis -1 is out of range for rank 2}}
  %0 = graph.log_softmax %a axis = -1 : tensor<2x3xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{graph.log_softmax: axis 5 is out of range for rank 2}}
  // expected-error @+1 {{'graph.log_softmax' op failed to infer returned types}}
  %0 = "graph.log_softmax"(%a) {axis = 5 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//

func.func @f(%a: tensor<3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+2 {{graph.matmul: operands must have rank 2 or more, got tensor<3xf32> and tensor<3x4xf32>}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<3xf32>, tensor<3x4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<5x2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+2 {{graph.matmul: lhs has rank 3 but rhs has rank 2}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<5x2x3xf32>, tensor<3x4xf32> -> tensor<5x2x4xf32>
  return
}

// -----

func.func @f(%a: tensor<5x2x3xf32>, %b: tensor<6x3x4xf32>) {
  // expected-error @+2 {{graph.matmul: batch dimension 0 is 5 in lhs but 6 in rhs}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<5x2x3xf32>, tensor<6x3x4xf32> -> tensor<5x2x4xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{graph.matmul: lhs has 3 columns but rhs has 4 rows}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+2 {{graph.matmul: lhs (transposed) has 2 columns but rhs (transposed) has 5 rows}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %a, %b transpose_lhs transpose_rhs : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<3x4xf32>
  return
}

// -----

// A linear weight stored [out, in] needs `transpose_rhs`.
func.func @f(%x: tensor<8x784xf32>, %w: tensor<128x784xf32>) {
  // expected-error @+2 {{graph.matmul: lhs has 784 columns but rhs has 128 rows}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %x, %w : tensor<8x784xf32>, tensor<128x784xf32> -> tensor<8x128xf32>
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) {
  // expected-error @+2 {{'graph.matmul' op inferred type(s) 'tensor<2x5xf32>' are incompatible with return type(s) of operation 'tensor<2x6xf32>'}}
  // expected-error @+1 {{'graph.matmul' op failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<2x3xf32>, tensor<3x5xf32> -> tensor<2x6xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Labels and losses
//===----------------------------------------------------------------------===//

func.func @f(%labels: tensor<2xi32>) {
  // expected-error @+1 {{graph.one_hot: result must be the labels' shape plus a class dimension, got tensor<2xi32> to tensor<2xf32>}}
  %0 = graph.one_hot %labels : tensor<2xi32> to tensor<2xf32>
  return
}

// -----

func.func @f(%labels: tensor<2xi32>) {
  // expected-error @+1 {{graph.one_hot: result must be the labels' shape plus a class dimension, got tensor<2xi32> to tensor<3x10xf32>}}
  %0 = graph.one_hot %labels : tensor<2xi32> to tensor<3x10xf32>
  return
}

// -----

func.func @f(%logits: tensor<2x3x4xf32>, %labels: tensor<2xi32>) {
  // expected-error @+2 {{graph.softmax_cross_entropy: logits must be [batch, classes], got tensor<2x3x4xf32>}}
  // expected-error @+1 {{'graph.softmax_cross_entropy' op failed to infer returned types}}
  %0 = graph.softmax_cross_entropy %logits, %labels : tensor<2x3x4xf32>, tensor<2xi32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%logits: tensor<2x4xf32>, %labels: tensor<2x1xi32>) {
  // expected-error @+2 {{graph.softmax_cross_entropy: labels must be [batch] of i32 class indices, got tensor<2x1xi32>}}
  // expected-error @+1 {{'graph.softmax_cross_entropy' op failed to infer returned types}}
  %0 = graph.softmax_cross_entropy %logits, %labels : tensor<2x4xf32>, tensor<2x1xi32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%logits: tensor<2x4xf32>, %labels: tensor<3xi32>) {
  // expected-error @+2 {{graph.softmax_cross_entropy: logits have batch 2 but labels have batch 3}}
  // expected-error @+1 {{'graph.softmax_cross_entropy' op failed to infer returned types}}
  %0 = graph.softmax_cross_entropy %logits, %labels : tensor<2x4xf32>, tensor<3xi32> -> tensor<2xf32>
  return
}

// -----

// The loss is per example: a scalar result is refused.
func.func @f(%logits: tensor<2x4xf32>, %labels: tensor<2xi32>) {
  // expected-error @+2 {{'graph.softmax_cross_entropy' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<f32>'}}
  // expected-error @+1 {{'graph.softmax_cross_entropy' op failed to infer returned types}}
  %0 = graph.softmax_cross_entropy %logits, %labels : tensor<2x4xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'graph.mse' op failed to verify that all of {prediction, target} have same type}}
  %0 = "graph.mse"(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> tensor<f32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>) {
  // expected-error @+1 {{'graph.mse' op result #0 must be 0D tensor of 32-bit float values, but got 'tensor<1xf32>'}}
  %0 = graph.mse %a, %a : tensor<2xf32> -> tensor<1xf32>
  return
}

// -----

func.func @f(%a: tensor<2xf32>) {
  // expected-error @+1 {{'graph.minimize' op operand #0 must be 0D tensor of 32-bit float values, but got 'tensor<2xf32>'}}
  graph.minimize %a : tensor<2xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'graph.constant' op failed to verify that all of {value, result} have same type}}
  %0 = "graph.constant"() {value = dense<1.0> : tensor<3xf32>} : () -> tensor<2xf32>
  return
}

// -----

// expected-error @below {{'graph.variable' op only a constant initializer suits integer elements, got uniform for 'tensor<4xi32>'}}
graph.variable @labels : tensor<4xi32> = #graph.init<uniform(0.0, 1.0), seed = 0, stream = 0>

// -----

func.func @step() {
  // expected-error @below {{'graph.input' op default value must be a dense<...> literal}}
  %lr = graph.input "learning_rate" {default_value = sparse<[[0]], [1.0]> : tensor<1xf32>} : tensor<1xf32>
  return
}

// -----

func.func @step() {
  // expected-error @below {{'graph.constant' op value must be a dense<...> literal}}
  %c = graph.constant sparse<[[0]], [1.0]> : tensor<2xf32>
  return
}

// -----

func.func @clamp_bounds_reversed(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'graph.clamp' op min (2.000000e+00) must be <= max (1.000000e+00)}}
  %y = graph.clamp %x min = 2.0, max = 1.0 : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @softplus_zero_beta(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'graph.softplus' op beta (0.000000e+00) must be finite and nonzero; softplus divides by it}}
  %y = graph.softplus %x beta = 0.0 : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @gelu_unknown_approximation(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{expected ::kiln::graph::GeluApproximation to be one of: none, tanh}}
  // expected-error @+1 {{failed to parse Graph_GeluApproximationAttr parameter 'value'}}
  %y = graph.gelu %x approximate = sigmoid : tensor<2xf32>
  return %y : tensor<2xf32>
}
