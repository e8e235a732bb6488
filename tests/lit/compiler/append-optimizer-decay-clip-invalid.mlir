// RUN: kiln-opt %s --kiln-append-optimizer --split-input-file --verify-diagnostics

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'no_decay' names 'fc9.bias', which is not a variable of the module; name trainable parameters by their full name ("fc1.bias")}}
module attributes {graph.optimizer = {kind = "adamw", no_decay = ["fc9.bias"]}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'no_decay' names 's', which is not trainable: the optimizer never updates it}}
module attributes {graph.optimizer = {kind = "adamw", no_decay = ["s"]}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @s : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'no_decay' must be an array of variable names, got "w"}}
module attributes {graph.optimizer = {kind = "adamw", no_decay = "w"}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'decay_min_rank' must be an integer >= 0, got -1 : i64}}
module attributes {graph.optimizer = {kind = "adamw", decay_min_rank = -1}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: invalid clip_grad_norm 0: it must be a finite number > 0}}
module attributes {graph.optimizer = {kind = "adamw", clip_grad_norm = 0.0 : f64}} {
}

// -----

// expected-error @below {{kiln-append-optimizer: graph.optimizer entry 'clip_grad_norm' must be a number, got "big"}}
module attributes {graph.optimizer = {kind = "adamw", clip_grad_norm = "big"}} {
}

// -----

module attributes {graph.optimizer = {kind = "sgd", clip_grad_norm = 1.0 : f64}} {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  func.func @step() {
    %g = graph.input "grad.w" : tensor<2xf32>
    // expected-error @below {{kiln-append-optimizer: gradient clipping outputs the global gradient norm as "grad_norm", but the step already has an output of that name}}
    graph.output "grad_norm", %g : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}
