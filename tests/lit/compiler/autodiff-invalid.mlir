// RUN: kiln-opt %s --kiln-autodiff --split-input-file --verify-diagnostics

// expected-error @below {{kiln-autodiff: the module has no func.func @step to differentiate}}
module {
}

// -----

module {
  // expected-error @below {{kiln-autodiff: @step has no graph.minimize; name the loss to differentiate}}
  func.func @step() {
    return
  }
}

// -----

module {
  graph.variable @p trainable : tensor<f32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %p = graph.read @p : tensor<f32>
    // expected-note @below {{the first is here}}
    graph.minimize %p : tensor<f32>
    // expected-error @below {{kiln-autodiff: a step minimizes one loss; found a second graph.minimize}}
    graph.minimize %p : tensor<f32>
    return
  }
}
