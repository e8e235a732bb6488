// A pass option given explicitly with a value the optimizer cannot take is an error, never
// silently replaced by the module's setting (negative values mean "unset" inside the pass).

// RUN: not kiln-opt %s --kiln-append-optimizer="lr=-0.5" 2>&1 | FileCheck %s --check-prefix=LR
// LR: error: kiln-append-optimizer: the option lr=-0.5 is invalid: it must be a number >= 0

// RUN: not kiln-opt %s --kiln-append-optimizer="optimizer=adam beta1=nan" 2>&1 | FileCheck %s --check-prefix=BETA
// BETA: error: kiln-append-optimizer: the option beta1=nan is invalid: it must be a number >= 0

module attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-01 : f64}} {
  graph.variable @w trainable : tensor<4xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<4xf32>
    %l = graph.reduce_sum %w [0] : tensor<4xf32> -> tensor<f32>
    graph.minimize %l : tensor<f32>
    return
  }
}
