// A model that is not a classifier: an autoencoder that reconstructs its
// "images" through a 4-wide bottleneck, trained on the mean squared error. It
// takes no "labels" (the data's labels field goes unused) and has no "logits",
// so kiln train reports its loss alone. Its input "loss_scale" has a default
// value, which kiln train leaves to it.
module @autoencoder attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-02 : f64}} {
  graph.variable @encoder.weight trainable : tensor<4x16xf32> = #graph.init<uniform(-0.25, 0.25), seed = 0, stream = 0>
  graph.variable @decoder.weight trainable : tensor<16x4xf32> = #graph.init<uniform(-0.5, 0.5), seed = 0, stream = 1>
  func.func @step() {
    %x = graph.input "images" : tensor<8x16xf32>
    %scale = graph.input "loss_scale" {default_value = dense<1.000000e+00> : tensor<f32>} : tensor<f32>
    %we = graph.read @encoder.weight : tensor<4x16xf32>
    %h = graph.matmul %x, %we transpose_rhs : tensor<8x16xf32>, tensor<4x16xf32> -> tensor<8x4xf32>
    %a = graph.relu %h : tensor<8x4xf32>
    %wd = graph.read @decoder.weight : tensor<16x4xf32>
    %r = graph.matmul %a, %wd transpose_rhs : tensor<8x4xf32>, tensor<16x4xf32> -> tensor<8x16xf32>
    %d = graph.sub %r, %x : tensor<8x16xf32>
    %sq = graph.square %d : tensor<8x16xf32>
    %row = graph.reduce_mean %sq [1] : tensor<8x16xf32> -> tensor<8xf32>
    %mse = graph.reduce_mean %row [0] : tensor<8xf32> -> tensor<f32>
    %loss = graph.mul %mse, %scale : tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
