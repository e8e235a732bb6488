// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Every graph op and every optional flag or attribute form parses, prints and
// reads back unchanged, in the custom form and through the generic form.

// CHECK-LABEL: module @ops
// CHECK-SAME: graph.optimizer = {beta1 = 9.000000e-01 : f64, kind = "adam", learning_rate = 1.000000e-03 : f64}
module @ops attributes {graph.optimizer = {kind = "adam", learning_rate = 1.0e-03 : f64,
                                           beta1 = 0.9 : f64}} {
  // CHECK: graph.variable @fc.weight trainable : tensor<4x3xf32> = #graph.init<uniform(-5.000000e-01, 5.000000e-01), seed = 7, stream = 2>
  graph.variable @fc.weight trainable : tensor<4x3xf32>
      = #graph.init<uniform(-0.5, 0.5), seed = 7, stream = 2>
  // CHECK: graph.variable @fc.bias trainable : tensor<4xf32> = #graph.init<constant(0.000000e+00), seed = 0, stream = 0>
  graph.variable @fc.bias trainable : tensor<4xf32>
      = #graph.init<constant(0.0), seed = 0, stream = 0>
  // CHECK: graph.variable @noise : tensor<4xf32> = #graph.init<normal(1.000000e+00, 2.000000e-02), seed = 18446744073709551615, stream = 1>
  graph.variable @noise : tensor<4xf32>
      = #graph.init<normal(1.0, 0.02), seed = 18446744073709551615, stream = 1>
  // Irrational bounds print with every digit they need to read back exactly.
  // CHECK: graph.variable @xavier : tensor<2xf32> = #graph.init<uniform(-0.035714285714285698, 0.035714285714285698), seed = 0, stream = 3>
  graph.variable @xavier : tensor<2xf32>
      = #graph.init<uniform(-0.0357142857142857, 0.0357142857142857), seed = 0, stream = 3>
  // CHECK: graph.variable @counts : tensor<2xi32> = #graph.init<constant(3.000000e+00), seed = 0, stream = 0>
  graph.variable @counts : tensor<2xi32> = #graph.init<constant(3.0), seed = 0, stream = 0>
  // CHECK: graph.variable @flag : tensor<i1> = #graph.init<constant(1.000000e+00), seed = 0, stream = 0>
  graph.variable @flag : tensor<i1> = #graph.init<constant(1.0), seed = 0, stream = 0>

  // CHECK-LABEL: func.func @step()
  func.func @step() {
    // CHECK: %[[X:.+]] = graph.input "x" : tensor<2x3xf32>
    %x = graph.input "x" : tensor<2x3xf32>
    // CHECK: %[[LABELS:.+]] = graph.input "labels" : tensor<2xi32>
    %labels = graph.input "labels" : tensor<2xi32>
    // CHECK: %[[LR:.+]] = graph.input "learning_rate" {default_value = dense<1.000000e-01> : tensor<f32>} : tensor<f32>
    %lr = graph.input "learning_rate" {default_value = dense<0.1> : tensor<f32>} : tensor<f32>
    // CHECK: %[[W:.+]] = graph.read @fc.weight : tensor<4x3xf32>
    %w = graph.read @fc.weight : tensor<4x3xf32>
    // CHECK: %[[B:.+]] = graph.read @fc.bias : tensor<4xf32>
    %b = graph.read @fc.bias : tensor<4xf32>
    // CHECK: graph.read @counts : tensor<2xi32>
    %counts = graph.read @counts : tensor<2xi32>
    // CHECK: graph.read @flag : tensor<i1>
    %flag = graph.read @flag : tensor<i1>

    // CHECK: %[[C:.+]] = graph.constant dense<5.000000e-01> : tensor<2x4xf32>
    %c = graph.constant dense<0.5> : tensor<2x4xf32>
    // CHECK: graph.constant dense<[1, 2]> : tensor<2xi32>
    %ci = graph.constant dense<[1, 2]> : tensor<2xi32>
    // CHECK: graph.constant dense<true> : tensor<i1>
    %cb = graph.constant dense<true> : tensor<i1>

    // CHECK: %[[H:.+]] = graph.matmul %[[X]], %[[W]] transpose_rhs : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
    %h = graph.matmul %x, %w transpose_rhs : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
    // CHECK: graph.matmul %[[H]], %[[W]] : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
    %m0 = graph.matmul %h, %w : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
    // CHECK: graph.matmul %[[H]], %[[X]] transpose_lhs : tensor<2x4xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
    %m1 = graph.matmul %h, %x transpose_lhs : tensor<2x4xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
    // CHECK: graph.matmul %[[W]], %[[H]] transpose_lhs transpose_rhs : tensor<4x3xf32>, tensor<2x4xf32> -> tensor<3x2xf32>
    %m2 = graph.matmul %w, %h transpose_lhs transpose_rhs
        : tensor<4x3xf32>, tensor<2x4xf32> -> tensor<3x2xf32>
    // CHECK: %[[BATCH:.+]] = graph.constant dense<1.000000e+00> : tensor<5x2x3xf32>
    %batch = graph.constant dense<1.0> : tensor<5x2x3xf32>
    // CHECK: graph.matmul %[[BATCH]], %[[BATCH]] transpose_rhs : tensor<5x2x3xf32>, tensor<5x2x3xf32> -> tensor<5x2x2xf32>
    %m3 = graph.matmul %batch, %batch transpose_rhs
        : tensor<5x2x3xf32>, tensor<5x2x3xf32> -> tensor<5x2x2xf32>

    // CHECK: %[[BB:.+]] = graph.broadcast %[[B]] [1] : tensor<4xf32> to tensor<2x4xf32>
    %bb = graph.broadcast %b [1] : tensor<4xf32> to tensor<2x4xf32>
    // CHECK: graph.broadcast %[[LR]] [] : tensor<f32> to tensor<2x4xf32>
    %lrb = graph.broadcast %lr [] : tensor<f32> to tensor<2x4xf32>
    // CHECK: %[[Y:.+]] = graph.add %[[H]], %[[BB]] : tensor<2x4xf32>
    %y = graph.add %h, %bb : tensor<2x4xf32>
    // CHECK: graph.sub %[[Y]], %[[C]] : tensor<2x4xf32>
    %sub = graph.sub %y, %c : tensor<2x4xf32>
    // CHECK: graph.mul %[[Y]], %[[C]] : tensor<2x4xf32>
    %mul = graph.mul %y, %c : tensor<2x4xf32>
    // CHECK: graph.div %[[Y]], %[[C]] : tensor<2x4xf32>
    %div = graph.div %y, %c : tensor<2x4xf32>
    // CHECK: graph.max %[[Y]], %[[C]] : tensor<2x4xf32>
    %max = graph.max %y, %c : tensor<2x4xf32>
    // CHECK: graph.neg %[[Y]] : tensor<2x4xf32>
    %neg = graph.neg %y : tensor<2x4xf32>
    // CHECK: graph.exp %[[Y]] : tensor<2x4xf32>
    %exp = graph.exp %y : tensor<2x4xf32>
    // CHECK: graph.log %[[Y]] : tensor<2x4xf32>
    %log = graph.log %y : tensor<2x4xf32>
    // CHECK: graph.sqrt %[[Y]] : tensor<2x4xf32>
    %sqrt = graph.sqrt %y : tensor<2x4xf32>
    // CHECK: graph.relu %[[Y]] : tensor<2x4xf32>
    %relu = graph.relu %y : tensor<2x4xf32>
    // CHECK: graph.tanh %[[Y]] : tensor<2x4xf32>
    %tanh = graph.tanh %y : tensor<2x4xf32>
    // CHECK: graph.sigmoid %[[Y]] : tensor<2x4xf32>
    %sigmoid = graph.sigmoid %y : tensor<2x4xf32>
    // CHECK: graph.minimum %[[Y]], %[[C]] : tensor<2x4xf32>
    %minimum = graph.minimum %y, %c : tensor<2x4xf32>
    // Attributes at their defaults are elided; the others print after the operand.
    // CHECK: graph.gelu %[[Y]] : tensor<2x4xf32>
    %gelu = graph.gelu %y : tensor<2x4xf32>
    // CHECK: graph.gelu %[[Y]] : tensor<2x4xf32>
    %gelu_none = graph.gelu %y approximate = none : tensor<2x4xf32>
    // CHECK: graph.gelu %[[Y]] approximate = tanh : tensor<2x4xf32>
    %gelu_tanh = graph.gelu %y approximate = tanh : tensor<2x4xf32>
    // CHECK: graph.pow %[[Y]] exponent = 1.500000e+00 : tensor<2x4xf32>
    %pow = graph.pow %y exponent = 1.5 : tensor<2x4xf32>
    // CHECK: graph.clamp %[[Y]] min = -1.000000e+00, max = 1.000000e+00 : tensor<2x4xf32>
    %clamp = graph.clamp %y min = -1.0, max = 1.0 : tensor<2x4xf32>
    // CHECK: graph.leaky_relu %[[Y]] : tensor<2x4xf32>
    %leaky = graph.leaky_relu %y : tensor<2x4xf32>
    // CHECK: graph.leaky_relu %[[Y]] negative_slope = 2.000000e-01 : tensor<2x4xf32>
    %leaky_slope = graph.leaky_relu %y negative_slope = 0.2 : tensor<2x4xf32>
    // CHECK: graph.softplus %[[Y]] : tensor<2x4xf32>
    %softplus = graph.softplus %y : tensor<2x4xf32>
    // CHECK: graph.softplus %[[Y]] beta = 2.000000e+00 threshold = 1.000000e+01 : tensor<2x4xf32>
    %softplus_both = graph.softplus %y beta = 2.0 threshold = 10.0 : tensor<2x4xf32>
    // CHECK: graph.softplus %[[Y]] threshold = 5.000000e+00 : tensor<2x4xf32>
    %softplus_threshold = graph.softplus %y threshold = 5.0 : tensor<2x4xf32>

    // CHECK: graph.compare eq, %[[Y]], %[[C]] : tensor<2x4xf32>
    %eq = graph.compare eq, %y, %c : tensor<2x4xf32>
    // CHECK: graph.compare ne, %[[Y]], %[[C]] : tensor<2x4xf32>
    %ne = graph.compare ne, %y, %c : tensor<2x4xf32>
    // CHECK: graph.compare lt, %[[Y]], %[[C]] : tensor<2x4xf32>
    %lt = graph.compare lt, %y, %c : tensor<2x4xf32>
    // CHECK: graph.compare le, %[[Y]], %[[C]] : tensor<2x4xf32>
    %le = graph.compare le, %y, %c : tensor<2x4xf32>
    // CHECK: %[[GT:.+]] = graph.compare gt, %[[Y]], %[[C]] : tensor<2x4xf32>
    %gt = graph.compare gt, %y, %c : tensor<2x4xf32>
    // CHECK: graph.compare ge, %[[Y]], %[[C]] : tensor<2x4xf32>
    %ge = graph.compare ge, %y, %c : tensor<2x4xf32>
    // CHECK: graph.select %[[GT]], %[[Y]], %[[C]] : tensor<2x4xi1>, tensor<2x4xf32>
    %sel = graph.select %gt, %y, %c : tensor<2x4xi1>, tensor<2x4xf32>

    // CHECK: graph.reshape %[[Y]] : tensor<2x4xf32> to tensor<8xf32>
    %flat = graph.reshape %y : tensor<2x4xf32> to tensor<8xf32>
    // CHECK: graph.transpose %[[Y]] [1, 0] : tensor<2x4xf32> -> tensor<4x2xf32>
    %t = graph.transpose %y [1, 0] : tensor<2x4xf32> -> tensor<4x2xf32>
    // CHECK: graph.reduce_sum %[[Y]] [0] : tensor<2x4xf32> -> tensor<4xf32>
    %rs = graph.reduce_sum %y [0] : tensor<2x4xf32> -> tensor<4xf32>
    // CHECK: graph.reduce_mean %[[Y]] [0, 1] : tensor<2x4xf32> -> tensor<f32>
    %rm = graph.reduce_mean %y [0, 1] : tensor<2x4xf32> -> tensor<f32>
    // CHECK: graph.reduce_max %[[Y]] [1] : tensor<2x4xf32> -> tensor<2xf32>
    %rx = graph.reduce_max %y [1] : tensor<2x4xf32> -> tensor<2xf32>
    // CHECK: graph.softmax %[[Y]] axis = 1 : tensor<2x4xf32>
    %sm = graph.softmax %y axis = 1 : tensor<2x4xf32>
    // CHECK: graph.log_softmax %[[Y]] axis = 0 : tensor<2x4xf32>
    %lsm = graph.log_softmax %y axis = 0 : tensor<2x4xf32>
    // CHECK: graph.one_hot %[[LABELS]] : tensor<2xi32> to tensor<2x4xf32>
    %oh = graph.one_hot %labels : tensor<2xi32> to tensor<2x4xf32>
    // CHECK: %[[CE:.+]] = graph.softmax_cross_entropy %[[Y]], %[[LABELS]] : tensor<2x4xf32>, tensor<2xi32> -> tensor<2xf32>
    %ce = graph.softmax_cross_entropy %y, %labels : tensor<2x4xf32>, tensor<2xi32> -> tensor<2xf32>
    // CHECK: %[[LOSS:.+]] = graph.reduce_mean %[[CE]] [0] : tensor<2xf32> -> tensor<f32>
    %loss = graph.reduce_mean %ce [0] : tensor<2xf32> -> tensor<f32>
    // CHECK: graph.mse %[[Y]], %[[C]] : tensor<2x4xf32> -> tensor<f32>
    %mse = graph.mse %y, %c : tensor<2x4xf32> -> tensor<f32>

    // CHECK: graph.output "loss", %[[LOSS]] : tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    // CHECK: graph.output "labels", %[[LABELS]] : tensor<2xi32>
    graph.output "labels", %labels : tensor<2xi32>
    // CHECK: graph.minimize %[[LOSS]] : tensor<f32>
    graph.minimize %loss : tensor<f32>
    // CHECK: graph.gradient @fc.weight, %[[W]] : tensor<4x3xf32>
    graph.gradient @fc.weight, %w : tensor<4x3xf32>
    // CHECK: graph.assign @fc.bias, %[[B]] : tensor<4xf32>
    graph.assign @fc.bias, %b : tensor<4xf32>
    // CHECK: graph.assign @counts, %{{.+}} : tensor<2xi32>
    graph.assign @counts, %ci : tensor<2xi32>
    // CHECK: graph.assign @flag, %{{.+}} : tensor<i1>
    graph.assign @flag, %cb : tensor<i1>
    // CHECK: return
    return
  }
}

// The generic form spells out the properties the custom form hides behind
// keywords.
// GENERIC: "graph.variable"() <{init = #graph.init<uniform(-5.000000e-01, 5.000000e-01), seed = 7, stream = 2>, sym_name = "fc.weight", trainable, type = tensor<4x3xf32>}>
// GENERIC: "graph.variable"() <{init = #graph.init<constant(0.000000e+00), seed = 0, stream = 0>, sym_name = "fc.bias", trainable, type = tensor<4xf32>}>
// GENERIC: "graph.variable"() <{init = #graph.init<normal(1.000000e+00, 2.000000e-02), seed = 18446744073709551615, stream = 1>, sym_name = "noise", type = tensor<4xf32>}>
// GENERIC: "graph.input"() <{name = "x"}> : () -> tensor<2x3xf32>
// GENERIC: "graph.input"() <{default_value = dense<1.000000e-01> : tensor<f32>, name = "learning_rate"}> : () -> tensor<f32>
// GENERIC: "graph.read"() <{variable = @fc.weight}> : () -> tensor<4x3xf32>
// GENERIC: "graph.matmul"(%{{.+}}, %{{.+}}) <{transpose_rhs}> : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
// GENERIC: "graph.matmul"(%{{.+}}, %{{.+}}) : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
// GENERIC: "graph.matmul"(%{{.+}}, %{{.+}}) <{transpose_lhs}> : (tensor<2x4xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// GENERIC: "graph.matmul"(%{{.+}}, %{{.+}}) <{transpose_lhs, transpose_rhs}> : (tensor<4x3xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
// GENERIC: "graph.broadcast"(%{{.+}}) <{dims = array<i64: 1>}> : (tensor<4xf32>) -> tensor<2x4xf32>
// GENERIC: "graph.compare"(%{{.+}}, %{{.+}}) <{predicate = #graph<predicate eq>}> : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xi1>
// GENERIC: "graph.compare"(%{{.+}}, %{{.+}}) <{predicate = #graph<predicate ge>}> : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xi1>
// GENERIC: "graph.transpose"(%{{.+}}) <{perm = array<i64: 1, 0>}> : (tensor<2x4xf32>) -> tensor<4x2xf32>
// GENERIC: "graph.reduce_sum"(%{{.+}}) <{axes = array<i64: 0>}> : (tensor<2x4xf32>) -> tensor<4xf32>
// GENERIC: "graph.softmax"(%{{.+}}) <{axis = 1 : i64}> : (tensor<2x4xf32>) -> tensor<2x4xf32>
// GENERIC: "graph.minimize"(%{{.+}}) : (tensor<f32>) -> ()
// GENERIC: "graph.gradient"(%{{.+}}) <{variable = @fc.weight}> : (tensor<4x3xf32>) -> ()
// GENERIC: "graph.assign"(%{{.+}}) <{variable = @fc.bias}> : (tensor<4xf32>) -> ()
