//===- GraphTrainingOps.td - Ops that differ in training and eval -*- tablegen -*-===//
//
// Batch norm and dropout behave differently in the training step and in the
// eval program. `graph.train_or_eval` names both behaviours; kiln-extract-eval
// picks one in each program (kiln-resolve-train-or-eval in @step alone, when
// there is no eval program), so no pass after them sees it. `graph.dropout_mask` is dropout's random keep mask: a
// Philox-4x32-10 view of the element index and a step counter, identical bit
// for bit on every device. C++ in GraphTraining.cpp.
//
//===----------------------------------------------------------------------===//

def Graph_TrainOrEvalOp : Graph_DiffOp<"train_or_eval",
    [AllTypesMatch<["train", "eval", "result"]>]> {
  let summary = "One value in the training step, another in the eval program";
  let description = [{
    `kiln-extract-eval` replaces it by `%eval` in the func @eval it derives
    and by `%train` in func @step (`kiln-resolve-train-or-eval` does the
    latter alone, for a compile without an eval program). One that reaches
    autodiff or a device is rejected with an error naming the op. Batch norm uses it to normalize with batch
    statistics in training and running statistics in eval; dropout to be the
    identity in eval.

    ```mlir
    %y = graph.train_or_eval %dropped, %x : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_AnyTensor:$train, Graph_AnyTensor:$eval);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$train `,` $eval attr-dict `:` type($result)";
}

def Graph_DropoutMaskOp : Graph_Op<"dropout_mask", [Pure,
    DeclareOpInterfaceMethods<IndexViewOpInterface>]> {
  let summary = "Dropout's keep mask: true with probability 1 - rate, from Philox";
  let description = [{
    Element `i` (row-major) of the result is
    `word >= floor(rate * 2^32)` (unsigned), where `word` is the first word
    of Philox-4x32-10 with key `{lo32(seed), hi32(seed)}` and counter
    `{i, step, lo32(stream), 0x44524f50}`; `step` is the f32 scalar
    `%counter` converted to an unsigned integer (a non-negative whole number
    below 2^24, the builder's step counter). The last counter word ("DROP")
    keeps these draws apart from the initializers' Philox streams, whose last
    word is the high half of their stream number. Integer arithmetic only, so
    every device draws the same mask. A view: kernels recompute it where they
    read it (forward and backward alike), nothing stores it.

    ```mlir
    %keep = graph.dropout_mask %step rate = 5.000000e-01 seed = 0 stream = 0
        : tensor<f32> -> tensor<128x10xi1>
    ```
  }];
  let arguments = (ins 0DTensorOf<[Graph_Float]>:$counter, F64Attr:$rate, I64Attr:$seed,
                       I64Attr:$stream);
  let results = (outs Graph_MaskTensor:$result);
  let assemblyFormat = [{
    $counter `rate` `=` $rate `seed` `=` $seed `stream` `=` $stream attr-dict `:`
    type($counter) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The last counter word of every dropout draw ("DROP").
    static constexpr uint32_t kCounterTag = 0x44524f50;
    /// floor(rate * 2^32): an element is kept when its word is at least this.
    static uint32_t keepThreshold(double rate);
  }];
}
