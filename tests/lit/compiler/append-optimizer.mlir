// RUN: kiln-opt %s --kiln-append-optimizer --split-input-file | FileCheck %s
// RUN: kiln-opt %s --kiln-append-optimizer="optimizer=sgd lr=0.5 weight-decay=0" --split-input-file | FileCheck %s --check-prefix=OPTION
// RUN: kiln-opt %s --kiln-append-optimizer --kiln-simplify --split-input-file | FileCheck %s --check-prefix=SIMPLE

// Plain SGD: p = p - lr * g, with the learning rate an input whose default
// is the configured rate, broadcast to the parameter's shape. The update uses
// the step's own read of the parameter.

// CHECK-LABEL: module @sgd
// CHECK-NOT:     graph.variable @w.momentum
// CHECK:         func.func @step()
// CHECK-NEXT:    %[[LR:.*]] = graph.input "learning_rate" {default_value = dense<1.000000e-01> : tensor<f32>} : tensor<f32>
// CHECK-NEXT:    %[[P:.*]] = graph.read @w : tensor<4x3xf32>
// CHECK:         %[[G:.*]] = graph.input "grad.w"
// CHECK-NOT:     graph.read
// CHECK:         %[[LRB:.*]] = graph.broadcast %[[LR]] [] : tensor<f32> to tensor<4x3xf32>
// CHECK-NEXT:    %[[STEP:.*]] = graph.mul %[[LRB]], %[[G]] : tensor<4x3xf32>
// CHECK-NEXT:    %[[NEW:.*]] = graph.sub %[[P]], %[[STEP]] : tensor<4x3xf32>
// CHECK-NEXT:    graph.assign @w, %[[NEW]] : tensor<4x3xf32>
// CHECK-NOT:     graph.gradient
// CHECK:         return

// The options override the module: SGD at 0.5 whatever graph.optimizer says.
// OPTION-LABEL: module @sgd
// OPTION:         graph.input "learning_rate" {default_value = dense<5.000000e-01> : tensor<f32>}

// SIMPLE-LABEL: module @sgd
// SIMPLE:         graph.assign @w
// SIMPLE-NOT:     graph.gradient
module @sgd attributes {graph.optimizer = {kind = "sgd", learning_rate = 0.1 : f64}} {
  graph.variable @w trainable : tensor<4x3xf32> = #graph.init<uniform(-0.5, 0.5), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<4x3xf32>
    graph.output "w", %w : tensor<4x3xf32>
    %g = graph.input "grad.w" : tensor<4x3xf32>
    graph.gradient @w, %g : tensor<4x3xf32>
    return
  }
}

// -----

// SGD with weight decay, momentum and Nesterov:
//   g' = g + wd p; buf = momentum buf + g'; g'' = g' + momentum buf;
//   p = p - lr g''. The buffer is a zero-initialised variable beside @w.

// CHECK-LABEL: module @sgd_nesterov
// CHECK:         graph.variable @w trainable
// CHECK-NEXT:    graph.variable @w.momentum : tensor<3xf32> = #graph.init<constant(0.000000e+00), seed = 0, stream = 0>
// CHECK-NEXT:    graph.variable @b trainable
// CHECK-NOT:     graph.variable @b.momentum
// CHECK:         %[[LR:.*]] = graph.input "learning_rate" {default_value = dense<0.00999999977> : tensor<f32>}
// CHECK:         %[[G:.*]] = graph.input "grad.w"
// CHECK:         %[[P:.*]] = graph.read @w : tensor<3xf32>
// CHECK-NEXT:    %[[WD:.*]] = graph.constant dense<1.000000e-03> : tensor<3xf32>
// CHECK-NEXT:    %[[DECAY:.*]] = graph.mul %[[P]], %[[WD]]
// CHECK-NEXT:    %[[GD:.*]] = graph.add %[[G]], %[[DECAY]]
// CHECK-NEXT:    %[[BUF:.*]] = graph.read @w.momentum : tensor<3xf32>
// CHECK-NEXT:    %[[MU:.*]] = graph.constant dense<0.899999976> : tensor<3xf32>
// CHECK-NEXT:    %[[SCALED:.*]] = graph.mul %[[BUF]], %[[MU]]
// CHECK-NEXT:    %[[NEWBUF:.*]] = graph.add %[[SCALED]], %[[GD]]
// CHECK-NEXT:    graph.assign @w.momentum, %[[NEWBUF]]
// CHECK-NEXT:    %[[MU2:.*]] = graph.constant dense<0.899999976> : tensor<3xf32>
// CHECK-NEXT:    %[[LOOK:.*]] = graph.mul %[[NEWBUF]], %[[MU2]]
// CHECK-NEXT:    %[[DIR:.*]] = graph.add %[[GD]], %[[LOOK]]
// CHECK-NEXT:    %[[LRB:.*]] = graph.broadcast %[[LR]] [] : tensor<f32> to tensor<3xf32>
// CHECK-NEXT:    %[[STEP:.*]] = graph.mul %[[LRB]], %[[DIR]]
// CHECK-NEXT:    %[[NEW:.*]] = graph.sub %[[P]], %[[STEP]]
// CHECK-NEXT:    graph.assign @w, %[[NEW]]

// The bias is not differentiated here, so it gets no update and no state.
// CHECK-NOT:     graph.assign @b

// Options that are not given (momentum here) still come from the module.
// OPTION-LABEL: module @sgd_nesterov
// OPTION:         graph.variable @w.momentum
// OPTION:         graph.input "learning_rate" {default_value = dense<5.000000e-01> : tensor<f32>}
// OPTION-NOT:     dense<1.000000e-03>
// OPTION:         graph.assign @w.momentum
module @sgd_nesterov attributes {graph.optimizer = {kind = "sgd", learning_rate = 0.01 : f64, momentum = 0.9 : f64, nesterov = true, weight_decay = 0.001 : f64}} {
  graph.variable @w trainable : tensor<3xf32> = #graph.init<uniform(-0.5, 0.5), seed = 0, stream = 0>
  graph.variable @b trainable : tensor<3xf32> = #graph.init<constant(0.0), seed = 0, stream = 1>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<3xf32>
    graph.gradient @w, %g : tensor<3xf32>
    return
  }
}

// -----

// Adam: the step counter is a scalar variable after the last variable,
// advanced at the top of the step; the bias corrections 1 - beta^t are
// -expm1(x) with x = t ln beta (ln 0.9 = -0.105360515,
// ln 0.999 = -0.00100050028) clamped to [-20, 0]: a 12-term Taylor series of
// expm1 in Horner form at x / 16, then 4 doublings e * (e + 2), then negated.
// No exp: multiplications and additions round alike on every device. m and v
// are zero-initialised variables beside each parameter. A scalar parameter
// needs no broadcast.

// CHECK-LABEL: module @adam
// CHECK:         graph.variable @w trainable : tensor<2x2xf32>
// CHECK-NEXT:    graph.variable @w.adam_m : tensor<2x2xf32> = #graph.init<constant(0.000000e+00), seed = 0, stream = 0>
// CHECK-NEXT:    graph.variable @w.adam_v : tensor<2x2xf32> = #graph.init<constant(0.000000e+00), seed = 0, stream = 0>
// CHECK-NEXT:    graph.variable @s trainable : tensor<f32>
// CHECK-NEXT:    graph.variable @s.adam_m : tensor<f32>
// CHECK-NEXT:    graph.variable @s.adam_v : tensor<f32>
// CHECK-NEXT:    graph.variable @optimizer.step : tensor<f32> = #graph.init<constant(0.000000e+00), seed = 0, stream = 0>
// CHECK-NEXT:    func.func @step()
// CHECK-NEXT:    %[[LR:.*]] = graph.input "learning_rate" {default_value = dense<1.000000e-03> : tensor<f32>} : tensor<f32>
// CHECK-NEXT:    %[[T0:.*]] = graph.read @optimizer.step : tensor<f32>
// CHECK-NEXT:    %[[ONE:.*]] = graph.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT:    %[[T:.*]] = graph.add %[[T0]], %[[ONE]] : tensor<f32>
// CHECK-NEXT:    graph.assign @optimizer.step, %[[T]] : tensor<f32>
// CHECK-NEXT:    %[[LN1:.*]] = graph.constant dense<-0.105360515> : tensor<f32>
// CHECK-NEXT:    %[[X1:.*]] = graph.mul %[[T]], %[[LN1]]
// CHECK-NEXT:    %[[XC1:.*]] = graph.clamp %[[X1]] min = -2.000000e+01, max = 0.000000e+00
// CHECK-NEXT:    %[[HALF1:.*]] = graph.constant dense<6.250000e-02>
// CHECK-NEXT:    %[[Y1:.*]] = graph.mul %[[XC1]], %[[HALF1]]
// CHECK-NEXT:    %[[C12:.*]] = graph.constant dense<2.08767559E-9>
// CHECK-NEXT:    %[[C11:.*]] = graph.constant dense<2.50521079E-8>
// CHECK-NEXT:    %[[H11:.*]] = graph.mul %[[Y1]], %[[C12]]
// CHECK-NEXT:    graph.add %[[C11]], %[[H11]]
// CHECK-COUNT-10: graph.add
// CHECK-NEXT:    %[[S1:.*]] = graph.mul %[[Y1]], %{{.*}}
// CHECK-NEXT:    %[[TWO1:.*]] = graph.constant dense<2.000000e+00>
// CHECK-NEXT:    %[[SUM1:.*]] = graph.add %[[S1]], %[[TWO1]]
// CHECK-NEXT:    graph.mul %[[S1]], %[[SUM1]]
// CHECK-COUNT-3: graph.mul
// CHECK-NEXT:    %[[BC1:.*]] = graph.neg
// CHECK-NEXT:    %[[STEPSIZE:.*]] = graph.div %[[LR]], %[[BC1]]
// CHECK-NEXT:    %[[LN2:.*]] = graph.constant dense<-0.00100050028> : tensor<f32>
// CHECK-NEXT:    %[[X2:.*]] = graph.mul %[[T]], %[[LN2]]
// CHECK-NEXT:    graph.clamp %[[X2]] min = -2.000000e+01, max = 0.000000e+00
// CHECK-COUNT-12: graph.add
// CHECK-COUNT-4: graph.mul
// CHECK-NEXT:    %[[BC2:.*]] = graph.neg
// CHECK-NEXT:    %[[BC2SQRT:.*]] = graph.sqrt %[[BC2]]
// CHECK-NOT:     graph.exp
// CHECK:         %[[G:.*]] = graph.input "grad.w"
// CHECK:         %[[P:.*]] = graph.read @w : tensor<2x2xf32>
// CHECK-NEXT:    %[[M0:.*]] = graph.read @w.adam_m
// CHECK-NEXT:    %[[B1:.*]] = graph.constant dense<0.899999976> : tensor<2x2xf32>
// CHECK-NEXT:    %[[MB:.*]] = graph.mul %[[M0]], %[[B1]]
// CHECK-NEXT:    %[[C1:.*]] = graph.constant dense<1.000000e-01> : tensor<2x2xf32>
// CHECK-NEXT:    %[[GC:.*]] = graph.mul %[[G]], %[[C1]]
// CHECK-NEXT:    %[[M:.*]] = graph.add %[[MB]], %[[GC]]
// CHECK-NEXT:    %[[V0:.*]] = graph.read @w.adam_v
// CHECK-NEXT:    %[[B2:.*]] = graph.constant dense<9.990000e-01> : tensor<2x2xf32>
// CHECK-NEXT:    %[[VB:.*]] = graph.mul %[[V0]], %[[B2]]
// CHECK-NEXT:    %[[C2:.*]] = graph.constant dense<1.000000e-03> : tensor<2x2xf32>
// CHECK-NEXT:    %[[GC2:.*]] = graph.mul %[[G]], %[[C2]]
// CHECK-NEXT:    %[[GG:.*]] = graph.mul %[[GC2]], %[[G]]
// CHECK-NEXT:    %[[V:.*]] = graph.add %[[VB]], %[[GG]]
// CHECK-NEXT:    graph.assign @w.adam_m, %[[M]]
// CHECK-NEXT:    graph.assign @w.adam_v, %[[V]]
// CHECK-NEXT:    %[[ROOT:.*]] = graph.sqrt %[[V]]
// CHECK-NEXT:    %[[BC2B:.*]] = graph.broadcast %[[BC2SQRT]] [] : tensor<f32> to tensor<2x2xf32>
// CHECK-NEXT:    %[[SCALED:.*]] = graph.div %[[ROOT]], %[[BC2B]]
// CHECK-NEXT:    %[[EPS:.*]] = graph.constant dense<9.99999993E-9> : tensor<2x2xf32>
// CHECK-NEXT:    %[[DENOM:.*]] = graph.add %[[SCALED]], %[[EPS]]
// CHECK-NEXT:    %[[SSB:.*]] = graph.broadcast %[[STEPSIZE]] [] : tensor<f32> to tensor<2x2xf32>
// CHECK-NEXT:    %[[NUM:.*]] = graph.mul %[[SSB]], %[[M]]
// CHECK-NEXT:    %[[UPDATE:.*]] = graph.div %[[NUM]], %[[DENOM]]
// CHECK-NEXT:    %[[NEW:.*]] = graph.sub %[[P]], %[[UPDATE]]
// CHECK-NEXT:    graph.assign @w, %[[NEW]]
// CHECK:         graph.read @s : tensor<f32>
// CHECK-NOT:     graph.broadcast
// CHECK:         graph.assign @s, %{{.*}} : tensor<f32>
// CHECK-NEXT:    return
// The optimizer option replaces the module's kind: no Adam state.
// OPTION-LABEL: module @adam
// OPTION-NOT:     adam_m
// OPTION-NOT:     optimizer.step
// OPTION:         graph.input "learning_rate" {default_value = dense<5.000000e-01> : tensor<f32>}
// OPTION-NOT:     graph.exp
// OPTION:         return

// After simplification the shared scalars are computed once and every state
// variable is still updated.
// SIMPLE-LABEL: module @adam
// SIMPLE-COUNT-1: graph.constant dense<1.000000e+00> : tensor<f32>
// SIMPLE-NOT:     graph.constant dense<1.000000e+00> : tensor<f32>
// SIMPLE:         graph.assign @optimizer.step
// SIMPLE-COUNT-2: graph.clamp
// SIMPLE-NOT:     graph.clamp
// SIMPLE-NOT:     graph.exp
// SIMPLE:         graph.assign @w.adam_m
// SIMPLE:         graph.assign @w.adam_v
// SIMPLE:         graph.assign @w,
// SIMPLE:         graph.assign @s.adam_m
// SIMPLE:         graph.assign @s.adam_v
// SIMPLE:         graph.assign @s,
module @adam attributes {graph.optimizer = {kind = "adam"}} {
  graph.variable @w trainable : tensor<2x2xf32> = #graph.init<normal(0.0, 1.0), seed = 0, stream = 0>
  graph.variable @s trainable : tensor<f32> = #graph.init<constant(1.0), seed = 0, stream = 1>
  func.func @step() {
    %gw = graph.input "grad.w" : tensor<2x2xf32>
    %gs = graph.input "grad.s" : tensor<f32>
    graph.gradient @w, %gw : tensor<2x2xf32>
    graph.gradient @s, %gs : tensor<f32>
    return
  }
}

// -----

// Adam's L2 weight decay goes into the gradient before the moments.

// CHECK-LABEL: module @adam_l2
// CHECK:         %[[G:.*]] = graph.input "grad.w"
// CHECK:         %[[P:.*]] = graph.read @w
// CHECK-NEXT:    %[[WD:.*]] = graph.constant dense<5.000000e-02> : tensor<2xf32>
// CHECK-NEXT:    %[[DECAY:.*]] = graph.mul %[[P]], %[[WD]]
// CHECK-NEXT:    %[[GD:.*]] = graph.add %[[G]], %[[DECAY]]
// CHECK:         graph.mul %[[GD]]
// CHECK:         graph.sub %[[P]]
module @adam_l2 attributes {graph.optimizer = {kind = "adam", weight_decay = 0.05 : f64}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<normal(0.0, 1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

// AdamW (default weight decay 0.01) shrinks the parameter by
// 1 - lr * weight_decay, computed from the learning-rate input, before the
// Adam step; the gradient itself is not decayed.

// CHECK-LABEL: module @adamw
// CHECK:         %[[LR:.*]] = graph.input "learning_rate" {default_value = dense<2.000000e-03> : tensor<f32>}
// CHECK:         graph.sqrt
// CHECK-NEXT:    %[[ONE:.*]] = graph.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT:    %[[WD:.*]] = graph.constant dense<0.00999999977> : tensor<f32>
// CHECK-NEXT:    %[[LRWD:.*]] = graph.mul %[[LR]], %[[WD]]
// CHECK-NEXT:    %[[FACTOR:.*]] = graph.sub %[[ONE]], %[[LRWD]]
// CHECK:         %[[G:.*]] = graph.input "grad.w"
// CHECK:         %[[P:.*]] = graph.read @w
// CHECK-NEXT:    %[[FB:.*]] = graph.broadcast %[[FACTOR]] [] : tensor<f32> to tensor<2xf32>
// CHECK-NEXT:    %[[SHRUNK:.*]] = graph.mul %[[P]], %[[FB]]
// CHECK-NEXT:    graph.read @w.adam_m
// CHECK-NEXT:    graph.constant
// CHECK-NEXT:    graph.mul
// CHECK-NEXT:    graph.constant
// CHECK-NEXT:    graph.mul %[[G]]
// CHECK:         %[[NEW:.*]] = graph.sub %[[SHRUNK]]
// CHECK-NEXT:    graph.assign @w, %[[NEW]]
module @adamw attributes {graph.optimizer = {kind = "adamw", learning_rate = 0.002 : f64}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<normal(0.0, 1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

// An existing learning-rate input is reused: moved to the top of the step
// and given the configured default when it has none.

// CHECK-LABEL: module @existing_learning_rate
// CHECK:         func.func @step()
// CHECK-NEXT:    %[[LR:.*]] = graph.input "learning_rate" {default_value = dense<1.000000e-01> : tensor<f32>} : tensor<f32>
// CHECK-NOT:     graph.input "learning_rate"
// CHECK:         graph.output "lr", %[[LR]]
// CHECK:         graph.broadcast %[[LR]]
module @existing_learning_rate attributes {graph.optimizer = {kind = "sgd", learning_rate = 0.1 : f64}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    %lr = graph.input "learning_rate" : tensor<f32>
    graph.output "lr", %lr : tensor<f32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

// Without gradients the module is left as it was (after its optimizer is
// checked): no learning rate, no state.

// CHECK-LABEL: module @no_gradients
// CHECK-NOT:     graph.variable @optimizer.step
// CHECK:         func.func @step()
// CHECK-NEXT:    graph.read @w
// CHECK-NEXT:    graph.output
// CHECK-NEXT:    return
module @no_gradients attributes {graph.optimizer = {kind = "adam"}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<2xf32>
    graph.output "w", %w : tensor<2xf32>
    return
  }
}
