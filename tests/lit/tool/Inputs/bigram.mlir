// A byte-level bigram language model, the smallest model kiln train
// --data text:FILE and kiln generate work with: logits = one_hot(tokens) @ W,
// so each token's row of W holds the logits of the token after it. The step
// takes "tokens" and "targets" i32 [4, 8] (batch 4, context 8) and minimizes
// the mean cross entropy over every position; the forward-only program
// @generate (as Builder::beginProgram("generate") writes it) takes
// "generate.tokens" i32 [1, 8] and gives "logits" f32 [1, 8, 256].
module @bigram attributes {graph.optimizer = {kind = "adam", learning_rate = 5.000000e-02 : f64}} {
  graph.variable @bigram.weight trainable : tensor<256x256xf32> = #graph.init<normal(0.0, 0.02), seed = 0, stream = 0>
  func.func @step() {
    %tokens = graph.input "tokens" : tensor<4x8xi32>
    %targets = graph.input "targets" : tensor<4x8xi32>
    %x = graph.one_hot %tokens : tensor<4x8xi32> to tensor<4x8x256xf32>
    %rows = graph.reshape %x : tensor<4x8x256xf32> to tensor<32x256xf32>
    %w = graph.read @bigram.weight : tensor<256x256xf32>
    %flat = graph.matmul %rows, %w : tensor<32x256xf32>, tensor<256x256xf32> -> tensor<32x256xf32>
    %logits = graph.reshape %flat : tensor<32x256xf32> to tensor<4x8x256xf32>
    %logp = graph.log_softmax %logits axis = 2 : tensor<4x8x256xf32>
    %y = graph.one_hot %targets : tensor<4x8xi32> to tensor<4x8x256xf32>
    %picked = graph.mul %y, %logp : tensor<4x8x256xf32>
    %sum = graph.reduce_sum %picked [2] : tensor<4x8x256xf32> -> tensor<4x8xf32>
    %mean = graph.reduce_mean %sum [0, 1] : tensor<4x8xf32> -> tensor<f32>
    %loss = graph.neg %mean : tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
  func.func @generate() {
    %tokens = graph.input "generate.tokens" : tensor<1x8xi32>
    %x = graph.one_hot %tokens : tensor<1x8xi32> to tensor<1x8x256xf32>
    %rows = graph.reshape %x : tensor<1x8x256xf32> to tensor<8x256xf32>
    %w = graph.read @bigram.weight : tensor<256x256xf32>
    %flat = graph.matmul %rows, %w : tensor<8x256xf32>, tensor<256x256xf32> -> tensor<8x256xf32>
    %logits = graph.reshape %flat : tensor<8x256xf32> to tensor<1x8x256xf32>
    graph.output "logits", %logits : tensor<1x8x256xf32>
    return
  }
}
