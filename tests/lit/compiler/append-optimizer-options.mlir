// A NaN pass option is an error, never silently replaced by the module's setting (a negative
// option means "take the module's setting", as the pass's options document; NaN used to be
// taken for that too).

// RUN: not kiln-opt %s --kiln-append-optimizer="optimizer=adam beta1=nan" 2>&1 | FileCheck %s --check-prefix=BETA
// BETA: error: kiln-append-optimizer: invalid beta1 nan: it must be in [0, 1)

// kiln compile's optimizer flags take numbers >= 0; a negative or NaN one is an error there.
// RUN: not kiln compile %s --beta1 nan -o %t.kplan 2>&1 | FileCheck %s --check-prefix=COMPILE
// COMPILE: kiln compile: --beta1 must be a number >= 0, not nan
// RUN: not kiln compile %s --lr -1 -o %t.kplan 2>&1 | FileCheck %s --check-prefix=COMPILELR
// COMPILELR: kiln compile: --lr must be a number >= 0, not -1

module attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-01 : f64}} {
  graph.variable @w trainable : tensor<4xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<4xf32>
    %l = graph.reduce_sum %w [0] : tensor<4xf32> -> tensor<f32>
    graph.minimize %l : tensor<f32>
    return
  }
}
