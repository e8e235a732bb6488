// A linear regression onto "labels" taken as f32 [batch]: the image datasets'
// labels are i32, so kiln train refuses the plan, naming the input, the field
// and both types.
module @float_labels attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-02 : f64}} {
  graph.variable @fc.weight trainable : tensor<1x16xf32> = #graph.init<uniform(-0.25, 0.25), seed = 0, stream = 0>
  func.func @step() {
    %x = graph.input "images" : tensor<8x16xf32>
    %y = graph.input "labels" : tensor<8xf32>
    %w = graph.read @fc.weight : tensor<1x16xf32>
    %p = graph.matmul %x, %w transpose_rhs : tensor<8x16xf32>, tensor<1x16xf32> -> tensor<8x1xf32>
    %pf = graph.reshape %p : tensor<8x1xf32> to tensor<8xf32>
    %d = graph.sub %pf, %y : tensor<8xf32>
    %sq = graph.square %d : tensor<8xf32>
    %loss = graph.reduce_mean %sq [0] : tensor<8xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
