// A NaN pass option is an error, never silently replaced by the module's setting (a negative
// option means "take the module's setting", as the pass's options document; NaN used to be
// taken for that too).

// RUN: not kiln-opt %s --kiln-append-optimizer="optimizer=adam beta1=nan" 2>&1 | FileCheck %s --check-prefix=BETA
// BETA: error: kiln-append-optimizer: invalid beta1 nan: it must be in [0, 1)

module attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-01 : f64}} {
  graph.variable @w trainable : tensor<4xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<4xf32>
    %l = graph.reduce_sum %w [0] : tensor<4xf32> -> tensor<f32>
    graph.minimize %l : tensor<f32>
    return
  }
}
