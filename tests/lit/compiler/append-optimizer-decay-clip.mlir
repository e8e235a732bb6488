// RUN: kiln-opt %s --kiln-append-optimizer --split-input-file | FileCheck %s

// Weight decay only where graph.optimizer marks it: decay_min_rank = 2 keeps
// the bias @b (rank 1) undecayed and no_decay keeps the matrix @e undecayed;
// only @w shrinks by 1 - lr * weight_decay. Every parameter gets its Adam
// step.

// CHECK-LABEL: module @selective_decay
// CHECK:         %[[FACTOR:.*]] = graph.sub
// CHECK:         %[[W:.*]] = graph.read @w :
// CHECK-NEXT:    %[[WB:.*]] = graph.broadcast %[[FACTOR]] [] : tensor<f32> to tensor<3x2xf32>
// CHECK-NEXT:    graph.mul %[[W]], %[[WB]] : tensor<3x2xf32>
// CHECK-NEXT:    graph.read @w.adam_m
// CHECK:         graph.assign @w,
// CHECK-NOT:     broadcast %[[FACTOR]]
// CHECK:         graph.assign @b.adam_m
// CHECK:         graph.assign @b,
// CHECK-NOT:     broadcast %[[FACTOR]]
// CHECK:         graph.assign @e.adam_m
// CHECK:         graph.assign @e,
module @selective_decay attributes {graph.optimizer = {kind = "adamw", weight_decay = 0.1 : f64,
    decay_min_rank = 2, no_decay = ["e"]}} {
  graph.variable @w trainable : tensor<3x2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @b trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @e trainable : tensor<4x2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %gw = graph.input "grad.w" : tensor<3x2xf32>
    graph.gradient @w, %gw : tensor<3x2xf32>
    %gb = graph.input "grad.b" : tensor<2xf32>
    graph.gradient @b, %gb : tensor<2xf32>
    %ge = graph.input "grad.e" : tensor<4x2xf32>
    graph.gradient @e, %ge : tensor<4x2xf32>
    return
  }
}

// -----

// SGD's L2 term follows the same marks: only @w gets weight_decay * w added
// to its gradient.

// CHECK-LABEL: module @sgd_selective_decay
// CHECK:         %[[GW:.*]] = graph.input "grad.w"
// CHECK:         %[[WD:.*]] = graph.constant dense<5.000000e-01> : tensor<3x2xf32>
// CHECK:         graph.add %[[GW]],
// CHECK:         graph.assign @w,
// CHECK:         %[[GB:.*]] = graph.input "grad.b"
// CHECK-NOT:     graph.constant dense<5.000000e-01>
// CHECK:         graph.mul %{{.*}}, %[[GB]] : tensor<2xf32>
// CHECK:         graph.assign @b,
module @sgd_selective_decay attributes {graph.optimizer = {kind = "sgd", weight_decay = 0.5 : f64,
    no_decay = ["b"]}} {
  graph.variable @w trainable : tensor<3x2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @b trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %gw = graph.input "grad.w" : tensor<3x2xf32>
    graph.gradient @w, %gw : tensor<3x2xf32>
    %gb = graph.input "grad.b" : tensor<2xf32>
    graph.gradient @b, %gb : tensor<2xf32>
    return
  }
}

// -----

// Clipping by global norm: the squares of every gradient are summed on the
// device, norm = sqrt(total) becomes the output "grad_norm", the coefficient
// min(1, 2.5 / (norm + 1e-6)) scales every gradient, and the updates come
// after it (before the last gradient's place), in program order.

// CHECK-LABEL: module @clip
// CHECK:         %[[GW:.*]] = graph.input "grad.w"
// CHECK:         %[[GB:.*]] = graph.input "grad.b"
// CHECK-NEXT:    %[[SW:.*]] = graph.square %[[GW]] : tensor<3x2xf32>
// CHECK-NEXT:    %[[RW:.*]] = graph.reduce_sum %[[SW]] [0, 1] : tensor<3x2xf32> -> tensor<f32>
// CHECK-NEXT:    %[[SB:.*]] = graph.square %[[GB]] : tensor<2xf32>
// CHECK-NEXT:    %[[RB:.*]] = graph.reduce_sum %[[SB]] [0] : tensor<2xf32> -> tensor<f32>
// CHECK-NEXT:    %[[T:.*]] = graph.add %[[RW]], %[[RB]] : tensor<f32>
// CHECK-NEXT:    %[[NORM:.*]] = graph.sqrt %[[T]] : tensor<f32>
// CHECK-NEXT:    graph.output "grad_norm", %[[NORM]] : tensor<f32>
// CHECK-NEXT:    %[[MAX:.*]] = graph.constant dense<2.500000e+00> : tensor<f32>
// CHECK-NEXT:    %[[EPS:.*]] = graph.constant dense<9.99999997E-7> : tensor<f32>
// CHECK-NEXT:    %[[D:.*]] = graph.add %[[NORM]], %[[EPS]] : tensor<f32>
// CHECK-NEXT:    %[[C:.*]] = graph.div %[[MAX]], %[[D]] : tensor<f32>
// CHECK-NEXT:    %[[ONE:.*]] = graph.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT:    %[[COEF:.*]] = graph.minimum %[[C]], %[[ONE]] : tensor<f32>
// CHECK-NEXT:    %[[CW:.*]] = graph.broadcast %[[COEF]] [] : tensor<f32> to tensor<3x2xf32>
// CHECK-NEXT:    %[[CLW:.*]] = graph.mul %[[GW]], %[[CW]] : tensor<3x2xf32>
// CHECK:         graph.mul %{{.*}}, %[[CLW]] : tensor<3x2xf32>
// CHECK:         graph.assign @w,
// CHECK:         %[[CB:.*]] = graph.broadcast %[[COEF]] [] : tensor<f32> to tensor<2xf32>
// CHECK-NEXT:    %[[CLB:.*]] = graph.mul %[[GB]], %[[CB]] : tensor<2xf32>
// CHECK:         graph.mul %{{.*}}, %[[CLB]] : tensor<2xf32>
// CHECK:         graph.assign @b,
// CHECK-NOT:     graph.gradient
// CHECK:         return
module @clip attributes {graph.optimizer = {kind = "sgd", learning_rate = 0.1 : f64,
    clip_grad_norm = 2.5 : f64}} {
  graph.variable @w trainable : tensor<3x2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @b trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %gw = graph.input "grad.w" : tensor<3x2xf32>
    graph.gradient @w, %gw : tensor<3x2xf32>
    %gb = graph.input "grad.b" : tensor<2xf32>
    graph.gradient @b, %gb : tensor<2xf32>
    return
  }
}
