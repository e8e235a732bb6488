// RUN: kiln-opt %s --kiln-extract-eval | FileCheck %s --check-prefix=EXTRACT
// RUN: kiln-opt %s --kiln-resolve-train-or-eval | FileCheck %s --check-prefix=RESOLVE

// Dropout as the builder writes it: kiln-extract-eval gives @step the training
// branch and @eval the identity, and drops the mask and the step counter's
// read from @eval; kiln-resolve-train-or-eval alone resolves @step.

// EXTRACT-LABEL: func.func @step()
// EXTRACT:         %[[KEEP:.*]] = graph.dropout_mask %{{.*}} rate = 2.500000e-01 seed = 7 stream = 0 : tensor<f32> -> tensor<4x8xi1>
// EXTRACT:         %[[Y:.*]] = graph.select %[[KEEP]]
// EXTRACT:         graph.output "y", %[[Y]]
// EXTRACT:         graph.assign @step_counter
// EXTRACT-LABEL: func.func @eval()
// EXTRACT-NEXT:    %[[X:.*]] = graph.input "x"
// EXTRACT-NEXT:    graph.output "y", %[[X]]
// EXTRACT-NEXT:    return
// EXTRACT-NOT:   graph.train_or_eval

// RESOLVE-NOT:   graph.train_or_eval
// RESOLVE:       graph.select
// RESOLVE-NOT:   func.func @eval
module {
  graph.variable @step_counter : tensor<f32> = #graph.init<constant(0.0), seed = 7, stream = 0>
  func.func @step() {
    %x = graph.input "x" : tensor<4x8xf32>
    %step = graph.read @step_counter : tensor<f32>
    %one = graph.constant dense<1.0> : tensor<f32>
    %next = graph.add %step, %one : tensor<f32>
    %keep = graph.dropout_mask %step rate = 0.25 seed = 7 stream = 0 : tensor<f32> -> tensor<4x8xi1>
    %scale = graph.constant dense<1.33333337> : tensor<4x8xf32>
    %zero = graph.constant dense<0.0> : tensor<4x8xf32>
    %scaled = graph.mul %x, %scale : tensor<4x8xf32>
    %dropped = graph.select %keep, %scaled, %zero : tensor<4x8xi1>, tensor<4x8xf32>
    %y = graph.train_or_eval %dropped, %x : tensor<4x8xf32>
    graph.output "y", %y : tensor<4x8xf32>
    graph.assign @step_counter, %next : tensor<f32>
    return
  }
}
