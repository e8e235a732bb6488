// RUN: kiln-opt %s --kiln-form-attention --split-input-file | FileCheck %s

// kiln-form-attention: the causal attention composite of kiln::causalAttention
// (q k^T, scale, iota mask t >= u with a -inf fill, softmax over the last axis,
// times v) becomes one graph.attention; the composite's ops stay for
// canonicalization to drop. Chunks after the first must be left alone.

// CHECK-LABEL: module @composite
// CHECK:         %[[Q:.*]] = graph.input "q"
// CHECK:         %[[K:.*]] = graph.input "k"
// CHECK:         %[[V:.*]] = graph.input "v"
// CHECK:         %[[OUT:.*]], %[[LSE:.*]] = graph.attention %[[Q]], %[[K]], %[[V]] causal scale = 5.000000e-01 : tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32> -> tensor<2x3x5x4xf32>, tensor<2x3x5xf32>
// CHECK-NEXT:    graph.output "o", %[[OUT]]
module @composite {
  func.func @step() {
    %q = graph.input "q" : tensor<2x3x5x4xf32>
    %k = graph.input "k" : tensor<2x3x5x4xf32>
    %v = graph.input "v" : tensor<2x3x5x4xf32>
    %s = graph.matmul %q, %k transpose_rhs : tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32> -> tensor<2x3x5x5xf32>
    %c = graph.constant dense<5.000000e-01> : tensor<f32>
    %cb = graph.broadcast %c [] : tensor<f32> to tensor<2x3x5x5xf32>
    %s2 = graph.mul %s, %cb : tensor<2x3x5x5xf32>
    %row = graph.iota dims = [2] : tensor<2x3x5x5xf32>
    %col = graph.iota dims = [3] : tensor<2x3x5x5xf32>
    %mask = graph.compare ge, %row, %col : tensor<2x3x5x5xf32>
    %ninf = graph.constant dense<0xFF800000> : tensor<2x3x5x5xf32>
    %s3 = graph.select %mask, %s2, %ninf : tensor<2x3x5x5xi1>, tensor<2x3x5x5xf32>
    %p = graph.softmax %s3 axis = 3 : tensor<2x3x5x5xf32>
    %o = graph.matmul %p, %v : tensor<2x3x5x5xf32>, tensor<2x3x5x4xf32> -> tensor<2x3x5x4xf32>
    graph.output "o", %o : tensor<2x3x5x4xf32>
    return
  }
}

// -----

// The mask on [T, T] broadcast over batch and heads, written le(col, row), the
// scale on the left and a division: still the composite (scale 1/4).

// CHECK-LABEL: module @broadcast_mask
// CHECK:         graph.attention %{{.*}}, %{{.*}}, %{{.*}} causal scale = 2.500000e-01
module @broadcast_mask {
  func.func @step() {
    %q = graph.input "q" : tensor<1x2x3x2xf32>
    %s = graph.matmul %q, %q transpose_rhs : tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32> -> tensor<1x2x3x3xf32>
    %c = graph.constant dense<4.0> : tensor<1x2x3x3xf32>
    %s2 = graph.div %s, %c : tensor<1x2x3x3xf32>
    %row = graph.iota dims = [0] : tensor<3x3xf32>
    %col = graph.iota dims = [1] : tensor<3x3xf32>
    %rowb = graph.broadcast %row [2, 3] : tensor<3x3xf32> to tensor<1x2x3x3xf32>
    %colb = graph.broadcast %col [2, 3] : tensor<3x3xf32> to tensor<1x2x3x3xf32>
    %mask = graph.compare le, %colb, %rowb : tensor<1x2x3x3xf32>
    %ninf = graph.constant dense<0xFF800000> : tensor<f32>
    %ninfb = graph.broadcast %ninf [] : tensor<f32> to tensor<1x2x3x3xf32>
    %s3 = graph.select %mask, %s2, %ninfb : tensor<1x2x3x3xi1>, tensor<1x2x3x3xf32>
    %p = graph.softmax %s3 axis = 3 : tensor<1x2x3x3xf32>
    %o = graph.matmul %p, %q : tensor<1x2x3x3xf32>, tensor<1x2x3x2xf32> -> tensor<1x2x3x2xf32>
    graph.output "o", %o : tensor<1x2x3x2xf32>
    return
  }
}

// -----

// An anti-causal mask (t <= u) is not causal attention: left alone.

// CHECK-LABEL: module @anticausal
// CHECK-NOT:     graph.attention
// CHECK:         graph.softmax
module @anticausal {
  func.func @step() {
    %q = graph.input "q" : tensor<1x1x3x2xf32>
    %s = graph.matmul %q, %q transpose_rhs : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x3xf32>
    %row = graph.iota dims = [2] : tensor<1x1x3x3xf32>
    %col = graph.iota dims = [3] : tensor<1x1x3x3xf32>
    %mask = graph.compare le, %row, %col : tensor<1x1x3x3xf32>
    %ninf = graph.constant dense<0xFF800000> : tensor<1x1x3x3xf32>
    %s3 = graph.select %mask, %s, %ninf : tensor<1x1x3x3xi1>, tensor<1x1x3x3xf32>
    %p = graph.softmax %s3 axis = 3 : tensor<1x1x3x3xf32>
    %o = graph.matmul %p, %q : tensor<1x1x3x3xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x2xf32>
    graph.output "o", %o : tensor<1x1x3x2xf32>
    return
  }
}

// -----

// A strict mask (t > u: no position attends to itself) and a finite fill are
// not the composite either.

// CHECK-LABEL: module @strict_and_finite
// CHECK-NOT:     graph.attention
module @strict_and_finite {
  func.func @step() {
    %q = graph.input "q" : tensor<1x1x3x2xf32>
    %s = graph.matmul %q, %q transpose_rhs : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x3xf32>
    %row = graph.iota dims = [2] : tensor<1x1x3x3xf32>
    %col = graph.iota dims = [3] : tensor<1x1x3x3xf32>
    %strict = graph.compare gt, %row, %col : tensor<1x1x3x3xf32>
    %causal = graph.compare ge, %row, %col : tensor<1x1x3x3xf32>
    %ninf = graph.constant dense<0xFF800000> : tensor<1x1x3x3xf32>
    %big = graph.constant dense<-1.0e+09> : tensor<1x1x3x3xf32>
    %a = graph.select %strict, %s, %ninf : tensor<1x1x3x3xi1>, tensor<1x1x3x3xf32>
    %b = graph.select %causal, %s, %big : tensor<1x1x3x3xi1>, tensor<1x1x3x3xf32>
    %pa = graph.softmax %a axis = 3 : tensor<1x1x3x3xf32>
    %pb = graph.softmax %b axis = 3 : tensor<1x1x3x3xf32>
    %oa = graph.matmul %pa, %q : tensor<1x1x3x3xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x2xf32>
    %ob = graph.matmul %pb, %q : tensor<1x1x3x3xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x2xf32>
    graph.output "a", %oa : tensor<1x1x3x2xf32>
    graph.output "b", %ob : tensor<1x1x3x2xf32>
    return
  }
}

// -----

// A scale that is not a constant (here a learned one) is not fused.

// CHECK-LABEL: module @learned_scale
// CHECK-NOT:     graph.attention
module @learned_scale {
  func.func @step() {
    %q = graph.input "q" : tensor<1x1x3x2xf32>
    %g = graph.input "g" : tensor<1x1x3x3xf32>
    %s = graph.matmul %q, %q transpose_rhs : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x3xf32>
    %s2 = graph.mul %s, %g : tensor<1x1x3x3xf32>
    %row = graph.iota dims = [2] : tensor<1x1x3x3xf32>
    %col = graph.iota dims = [3] : tensor<1x1x3x3xf32>
    %mask = graph.compare ge, %row, %col : tensor<1x1x3x3xf32>
    %ninf = graph.constant dense<0xFF800000> : tensor<1x1x3x3xf32>
    %s3 = graph.select %mask, %s2, %ninf : tensor<1x1x3x3xi1>, tensor<1x1x3x3xf32>
    %p = graph.softmax %s3 axis = 3 : tensor<1x1x3x3xf32>
    %o = graph.matmul %p, %q : tensor<1x1x3x3xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x2xf32>
    graph.output "o", %o : tensor<1x1x3x2xf32>
    return
  }
}
