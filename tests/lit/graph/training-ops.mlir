// RUN: kiln-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// graph.train_or_eval and graph.dropout_mask parse, print and verify.

// CHECK-LABEL: func.func @round_trip
// CHECK: graph.train_or_eval %{{.*}}, %{{.*}} : tensor<2x3xf32>
// CHECK: graph.dropout_mask %{{.*}} rate = 5.000000e-01 seed = -1 stream = 4 : tensor<f32> -> tensor<2x3xi1>
func.func @round_trip(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %step: tensor<f32>) -> (tensor<2x3xf32>, tensor<2x3xi1>) {
  %y = graph.train_or_eval %a, %b : tensor<2x3xf32>
  %keep = graph.dropout_mask %step rate = 0.5 seed = -1 stream = 4 : tensor<f32> -> tensor<2x3xi1>
  return %y, %keep : tensor<2x3xf32>, tensor<2x3xi1>
}

// -----

func.func @dropout_rate_one(%step: tensor<f32>) -> tensor<4xi1> {
  // expected-error @+1 {{'graph.dropout_mask' op rate must be in [0, 1), got 1.000000e+00}}
  %keep = graph.dropout_mask %step rate = 1.0 seed = 0 stream = 0 : tensor<f32> -> tensor<4xi1>
  return %keep : tensor<4xi1>
}

// -----

func.func @train_or_eval_types_differ(%a: tensor<2xf32>, %b: tensor<3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'graph.train_or_eval' op failed to verify that all of {train, eval, result} have same type}}
  %y = "graph.train_or_eval"(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
