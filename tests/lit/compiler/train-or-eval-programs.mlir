// RUN: kiln-opt %s --kiln-extract-eval | FileCheck %s
// RUN: kiln-opt %s --kiln-resolve-train-or-eval | FileCheck %s --check-prefix=RESOLVE

// A forward-only program besides the step (Builder::beginProgram("generate")):
// both kiln-extract-eval and kiln-resolve-train-or-eval give its
// graph.train_or_eval the eval operand; only @step trains.

// CHECK-LABEL: func.func @step()
// CHECK:         %[[D:.*]] = graph.mul
// CHECK:         graph.output "y", %[[D]]
// CHECK-LABEL: func.func @eval()
// CHECK-LABEL: func.func @generate()
// CHECK-NEXT:    %[[X:.*]] = graph.input "generate.x"
// CHECK-NEXT:    %{{.*}} = graph.constant
// CHECK-NEXT:    %{{.*}} = graph.mul
// CHECK-NEXT:    graph.output "y", %[[X]]
// CHECK-NOT:   graph.train_or_eval

// RESOLVE-LABEL: func.func @step()
// RESOLVE:         %[[D:.*]] = graph.mul
// RESOLVE:         graph.output "y", %[[D]]
// RESOLVE-LABEL: func.func @generate()
// RESOLVE-NEXT:    %[[X:.*]] = graph.input "generate.x"
// RESOLVE:         graph.output "y", %[[X]]
// RESOLVE-NOT:   graph.train_or_eval
module {
  func.func @step() {
    %x = graph.input "x" : tensor<4x8xf32>
    %two = graph.constant dense<2.0> : tensor<4x8xf32>
    %doubled = graph.mul %x, %two : tensor<4x8xf32>
    %y = graph.train_or_eval %doubled, %x : tensor<4x8xf32>
    graph.output "y", %y : tensor<4x8xf32>
    return
  }
  func.func @generate() {
    %x = graph.input "generate.x" : tensor<1x8xf32>
    %two = graph.constant dense<2.0> : tensor<1x8xf32>
    %doubled = graph.mul %x, %two : tensor<1x8xf32>
    %y = graph.train_or_eval %doubled, %x : tensor<1x8xf32>
    graph.output "y", %y : tensor<1x8xf32>
    return
  }
}
