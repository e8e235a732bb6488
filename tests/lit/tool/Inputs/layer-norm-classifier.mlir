// A classifier with a layer norm over the hidden features, written with
// existing graph ops (mean, subtract, square, mean, add eps, rsqrt, scale,
// shift): fc1 -> layer norm -> relu -> fc2 -> softmax cross entropy.
module @layer_norm_classifier attributes {graph.optimizer = {kind = "sgd", learning_rate = 1.000000e-01 : f64}} {
  graph.variable @fc1.weight trainable : tensor<12x16xf32> = #graph.init<uniform(-0.25, 0.25), seed = 0, stream = 0>
  graph.variable @ln.gamma trainable : tensor<12xf32> = #graph.init<constant(1.0), seed = 0, stream = 1>
  graph.variable @ln.beta trainable : tensor<12xf32> = #graph.init<constant(0.0), seed = 0, stream = 2>
  graph.variable @fc2.weight trainable : tensor<10x12xf32> = #graph.init<uniform(-0.28, 0.28), seed = 0, stream = 3>
  func.func @step() {
    %x = graph.input "images" : tensor<8x16xf32>
    %y = graph.input "labels" : tensor<8xi32>
    %w1 = graph.read @fc1.weight : tensor<12x16xf32>
    %h = graph.matmul %x, %w1 transpose_rhs : tensor<8x16xf32>, tensor<12x16xf32> -> tensor<8x12xf32>
    %gamma = graph.read @ln.gamma : tensor<12xf32>
    %beta = graph.read @ln.beta : tensor<12xf32>
    %mean = graph.reduce_mean %h [1] : tensor<8x12xf32> -> tensor<8xf32>
    %mb = graph.broadcast %mean [0] : tensor<8xf32> to tensor<8x12xf32>
    %xc = graph.sub %h, %mb : tensor<8x12xf32>
    %sq = graph.square %xc : tensor<8x12xf32>
    %var = graph.reduce_mean %sq [1] : tensor<8x12xf32> -> tensor<8xf32>
    %eps = graph.constant dense<1.000000e-05> : tensor<8xf32>
    %ve = graph.add %var, %eps : tensor<8xf32>
    %r = graph.rsqrt %ve : tensor<8xf32>
    %rb = graph.broadcast %r [0] : tensor<8xf32> to tensor<8x12xf32>
    %n = graph.mul %xc, %rb : tensor<8x12xf32>
    %gb = graph.broadcast %gamma [1] : tensor<12xf32> to tensor<8x12xf32>
    %s = graph.mul %n, %gb : tensor<8x12xf32>
    %bb = graph.broadcast %beta [1] : tensor<12xf32> to tensor<8x12xf32>
    %ln = graph.add %s, %bb : tensor<8x12xf32>
    %a = graph.relu %ln : tensor<8x12xf32>
    %w2 = graph.read @fc2.weight : tensor<10x12xf32>
    %logits = graph.matmul %a, %w2 transpose_rhs : tensor<8x12xf32>, tensor<10x12xf32> -> tensor<8x10xf32>
    %l = graph.softmax_cross_entropy %logits, %y : tensor<8x10xf32>, tensor<8xi32> -> tensor<8xf32>
    %loss = graph.reduce_mean %l [0] : tensor<8xf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
