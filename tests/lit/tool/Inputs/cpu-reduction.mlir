// A model whose loss is a reduction (a whole training step: reduction, pointwise gradient and
// the SGD update), for the CPU target.
module @cpu_reduction attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.0e-02 : f64}} {
  graph.variable @w trainable : tensor<64xf32> = #graph.init<uniform(-0.5, 0.5), seed = 0, stream = 0>
  func.func @step() {
    %x = graph.input "x" : tensor<64xf32>
    %w = graph.read @w : tensor<64xf32>
    %p = graph.mul %x, %w : tensor<64xf32>
    %loss = graph.reduce_sum %p [0] : tensor<64xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
