// RUN: kiln-opt %s --kiln-append-optimizer --split-input-file --verify-diagnostics

// expected-error @below {{kiln-append-optimizer: unknown optimizer kind 'rmsprop'; expected one of sgd, adam, adamw}}
module attributes {graph.optimizer = {kind = "rmsprop"}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: no optimizer given: set the module's graph.optimizer kind or the pass option optimizer to one of sgd, adam, adamw}}
module {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

// expected-error @below {{kiln-append-optimizer: no optimizer given}}
module attributes {graph.optimizer = {learning_rate = 0.1 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: unknown graph.optimizer entry 'lr'; expected one of kind, learning_rate, momentum, nesterov, weight_decay, beta1, beta2, epsilon, no_decay, decay_min_rank, clip_grad_norm}}
module attributes {graph.optimizer = {kind = "sgd", lr = 0.1 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer must be a dictionary, got "sgd"}}
module attributes {graph.optimizer = "sgd"} {
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'kind' must be a string, got 1 : i64}}
module attributes {graph.optimizer = {kind = 1}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'learning_rate' must be a number, got "fast"}}
module attributes {graph.optimizer = {kind = "sgd", learning_rate = "fast"}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'nesterov' must be true or false, got 1 : i64}}
module attributes {graph.optimizer = {kind = "sgd", momentum = 0.9 : f64, nesterov = 1}} {
}

// -----

// Hyper-parameters are checked even when there is nothing to update.
// expected-error @below {{kiln-append-optimizer: invalid learning rate 0: it must be a finite number > 0}}
module attributes {graph.optimizer = {kind = "sgd", learning_rate = 0.0 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid learning rate -0.1: it must be a finite number > 0}}
module attributes {graph.optimizer = {kind = "adam", learning_rate = -0.1 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid momentum -0.5: it must be >= 0}}
module attributes {graph.optimizer = {kind = "sgd", momentum = -0.5 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: Nesterov momentum needs a momentum > 0; set momentum or drop nesterov}}
module attributes {graph.optimizer = {kind = "sgd", nesterov = true}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid weight decay -0.01: it must be >= 0}}
module attributes {graph.optimizer = {kind = "adamw", weight_decay = -0.01 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid beta1 1: it must be in [0, 1)}}
module attributes {graph.optimizer = {kind = "adam", beta1 = 1.0 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid beta2 -0.5: it must be in [0, 1)}}
module attributes {graph.optimizer = {kind = "adam", beta2 = -0.5 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid epsilon 0: it must be > 0}}
module attributes {graph.optimizer = {kind = "adam", epsilon = 0.0 : f64}} {
}

// -----

module attributes {graph.optimizer = {kind = "sgd"}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<2xf32>
    %l = graph.reduce_sum %w [0] : tensor<2xf32> -> tensor<f32>
    // expected-error @below {{kiln-append-optimizer: graph.minimize is still present: run kiln-autodiff first}}
    graph.minimize %l : tensor<f32>
    return
  }
}

// -----

module attributes {graph.optimizer = {kind = "sgd"}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    // expected-error @below {{kiln-append-optimizer: a second graph.gradient of @w}}
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

module attributes {graph.optimizer = {kind = "sgd"}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @other() {
    %g = graph.input "grad.w" : tensor<2xf32>
    // expected-error @below {{kiln-append-optimizer: graph.gradient must be in the body of func.func @step}}
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

module attributes {graph.optimizer = {kind = "sgd"}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    // expected-error @below {{kiln-append-optimizer: graph.input "learning_rate" must be a 'tensor<f32>', got 'tensor<2xf32>'}}
    %lr = graph.input "learning_rate" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

module attributes {graph.optimizer = {kind = "sgd", momentum = 0.9 : f64}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @w.momentum : tensor<2xf32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    // expected-error @below {{kiln-append-optimizer: cannot create optimizer state @w.momentum: the module already has a symbol of that name}}
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

module attributes {graph.optimizer = {kind = "adam"}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @optimizer.step : tensor<f32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    // expected-error @below {{kiln-append-optimizer: cannot create optimizer state @optimizer.step: the module already has a symbol of that name}}
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}
