// A classifier whose inputs are named "x" and "y": no dataset has fields of
// those names, so kiln train refuses it and lists what the data provides.
module @renamed_inputs attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-01 : f64}} {
  graph.variable @fc.weight trainable : tensor<10x16xf32> = #graph.init<uniform(-0.25, 0.25), seed = 0, stream = 0>
  func.func @step() {
    %x = graph.input "x" : tensor<8x16xf32>
    %y = graph.input "y" : tensor<8xi32>
    %w = graph.read @fc.weight : tensor<10x16xf32>
    %logits = graph.matmul %x, %w transpose_rhs : tensor<8x16xf32>, tensor<10x16xf32> -> tensor<8x10xf32>
    %l = graph.softmax_cross_entropy %logits, %y : tensor<8x10xf32>, tensor<8xi32> -> tensor<8xf32>
    %loss = graph.reduce_mean %l [0] : tensor<8xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.output "logits", %logits : tensor<8x10xf32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
