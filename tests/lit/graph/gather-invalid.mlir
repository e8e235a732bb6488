// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// The shape rules of graph.gather (inferred, so a bad operand is reported by
// the rule and then by MLIR's "failed to infer"; indices that are not i32 are
// caught by the operand constraint first here, and by the rule in the
// builder, EmbeddingTest) and graph.scatter_add (a verifier): each message
// names the operand, the axis or the dimension.

func.func @gather_float_indices(%t: tensor<5x3xf32>, %i: tensor<4xf32>) {
  // expected-error @below {{'graph.gather' op operand #1 must be statically shaped tensor of 32-bit signless integer values, but got 'tensor<4xf32>'}}
  %e = "graph.gather"(%t, %i) {axis = 0 : i64} : (tensor<5x3xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @gather_axis(%t: tensor<5x3xf32>, %i: tensor<4xi32>) {
  // expected-error @below {{graph.gather: axis 2 is out of range for the table tensor<5x3xf32> of rank 2 (0 <= axis < 2)}}
  // expected-error @below {{failed to infer returned types}}
  %e = graph.gather %t, %i axis = 2 : tensor<5x3xf32>, tensor<4xi32> -> tensor<5x3xf32>
  return
}

// -----

func.func @gather_rank0_table(%t: tensor<f32>, %i: tensor<4xi32>) {
  // expected-error @below {{graph.gather: the table tensor<f32> has rank 0; it needs an axis to index}}
  // expected-error @below {{failed to infer returned types}}
  %e = graph.gather %t, %i axis = 0 : tensor<f32>, tensor<4xi32> -> tensor<4xf32>
  return
}

// -----

func.func @gather_wrong_result(%t: tensor<5x3xf32>, %i: tensor<4xi32>) {
  // expected-error @below {{'graph.gather' op inferred type(s) 'tensor<4x3xf32>' are incompatible with return type(s) of operation 'tensor<5x3xf32>'}}
  // expected-error @below {{failed to infer returned types}}
  %e = graph.gather %t, %i axis = 0 : tensor<5x3xf32>, tensor<4xi32> -> tensor<5x3xf32>
  return
}

// -----

func.func @scatter_updates_dim(%u: tensor<6x5xf32>, %i: tensor<6xi32>) {
  // expected-error @below {{graph.scatter_add: updates dimension 1 is 5 but must be 4 (result dimension 1); the updates of tensor<10x4xf32> at tensor<6xi32> along axis 0 are tensor<6x4xf32>}}
  %g = graph.scatter_add %u, %i axis = 0 : tensor<6x5xf32>, tensor<6xi32> -> tensor<10x4xf32>
  return
}

// -----

func.func @scatter_index_dim(%u: tensor<2x7x4xf32>, %i: tensor<2x6xi32>) {
  // expected-error @below {{graph.scatter_add: updates dimension 1 is 7 but must be 6 (indices dimension 1)}}
  %g = graph.scatter_add %u, %i axis = 0 : tensor<2x7x4xf32>, tensor<2x6xi32> -> tensor<10x4xf32>
  return
}

// -----

func.func @scatter_rank(%u: tensor<6xf32>, %i: tensor<6xi32>) {
  // expected-error @below {{graph.scatter_add: the updates tensor<6xf32> have rank 1 but the result tensor<10x4xf32> with its dimension 0 replaced by the indices' 1 dimension(s) tensor<6xi32> gives rank 2 (tensor<6x4xf32>)}}
  %g = graph.scatter_add %u, %i axis = 0 : tensor<6xf32>, tensor<6xi32> -> tensor<10x4xf32>
  return
}

// -----

func.func @scatter_axis(%u: tensor<6x4xf32>, %i: tensor<6xi32>) {
  // expected-error @below {{graph.scatter_add: axis -1 is out of range for the result tensor<10x4xf32> of rank 2 (0 <= axis < 2)}}
  %g = graph.scatter_add %u, %i axis = -1 : tensor<6x4xf32>, tensor<6xi32> -> tensor<10x4xf32>
  return
}
