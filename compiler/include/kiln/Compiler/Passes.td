//===- Passes.td - Kiln compiler passes ---------------------*- tablegen -*-===//
//
// Every pass of the Kiln compiler, grouped by stage, alphabetical within a
// stage. Each pass lives in compiler/passes/<Name>.cpp with its lit test in
// tests/lit/compiler/.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PASSES
#define KILN_COMPILER_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Training step construction
//===----------------------------------------------------------------------===//

def AppendOptimizer : Pass<"kiln-append-optimizer", "::mlir::ModuleOp"> {
  let summary = "Replaces each graph.gradient by an in-place optimizer update";
  let description = [{
    Reads the optimizer from the module's `graph.optimizer` dictionary (set by
    the builder's `TrainingSpec`) unless the `optimizer` option overrides it.
    SGD (momentum, Nesterov, weight decay) and Adam/AdamW (bias-corrected) are
    expressed as graph ops: momentum/moment buffers become `graph.variable`s,
    the step counter is a variable advanced inside the step, and the learning
    rate is the `graph.input "learning_rate"` (its default is the configured
    rate), so schedules change it between steps without recompiling.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"\"",
           "sgd | adam | adamw; empty uses the module's graph.optimizer">,
    Option<"learningRate", "lr", "double", /*default=*/"-1.0",
           "learning rate (negative: from the module, else 0.01)">,
    Option<"momentum", "momentum", "double", /*default=*/"-1.0",
           "SGD momentum (negative: from the module, else 0)">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false",
           "SGD Nesterov momentum">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"-1.0",
           "L2 weight decay (AdamW: decoupled) (negative: from the module, else 0)">,
    Option<"beta1", "beta1", "double", /*default=*/"-1.0",
           "Adam beta1 (negative: from the module, else 0.9)">,
    Option<"beta2", "beta2", "double", /*default=*/"-1.0",
           "Adam beta2 (negative: from the module, else 0.999)">,
    Option<"epsilon", "epsilon", "double", /*default=*/"-1.0",
           "Adam epsilon (negative: from the module, else 1e-8)">,
  ];
  let dependentDialects = ["::kiln::graph::GraphDialect"];
  let statistics = [
    Statistic<"numUpdates", "updates", "Parameters given an update rule">,
    Statistic<"numStateVariables", "state-variables", "Optimizer state variables created">,
  ];
}

def Autodiff : Pass<"kiln-autodiff", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode differentiation from graph.minimize to every parameter";
  let description = [{
    Walks the step backwards from the `graph.minimize` loss, calling each op's
    `DifferentiableOpInterface::buildVJP` and summing gradients where a value
    has several uses. Emits one `graph.gradient @param, %g` per trainable
    variable read in the step (zeros when the loss does not depend on it) and
    erases the `graph.minimize`.
  }];
  let dependentDialects = ["::kiln::graph::GraphDialect"];
  let statistics = [
    Statistic<"numGradients", "gradients", "graph.gradient ops emitted">,
    Statistic<"numAccumulations", "accumulations", "Gradient sums for multi-use values">,
  ];
}

def FormAttention : Pass<"kiln-form-attention", "::mlir::ModuleOp"> {
  let summary = "Fuses the causal attention composite into graph.attention";
  let description = [{
    In every function, rewrites `matmul(softmax(select(t >= u, scale * (q
    k^T), -inf), axis = 3), v)` (the composite kiln::causalAttention builds:
    q, k, v of [B, H, T, D], the mask from graph.iota positions, the scale a
    splat constant, through any broadcasts) into one `graph.attention`, whose
    kernel never stores the [B, H, T, T] scores. Anything else (no mask, a mask
    other than u <= t, a finite fill, a softmax along another axis, a head
    size above the kernels' limit) is left alone. Runs before kiln-autodiff
    (whose VJP of graph.attention is graph.attention_grad) and after
    kiln-extract-eval, so every program gets it; docs/design/attention.md.
  }];
  let dependentDialects = ["::kiln::graph::GraphDialect"];
  let statistics = [
    Statistic<"numFormed", "formed", "graph.attention ops formed from the composite">,
  ];
}

def ExtractEval : Pass<"kiln-extract-eval", "::mlir::ModuleOp"> {
  let summary = "Adds func @eval: the forward part of @step, for evaluation";
  let description = [{
    Copies func @step into func @eval without its `graph.minimize`,
    `graph.assign`s and `graph.gradient`s, replaces each
    `graph.train_or_eval` by its eval operand in @eval and by its training
    operand in @step (and by its eval operand in every other function: the
    forward-only programs the builder adds with beginProgram, such as
    @generate), then drops whatever no output of @eval needs. Run it before `kiln-autodiff`: @eval then computes the model's
    outputs (loss, logits) with the current parameters and changes nothing, so
    a trainer can measure a test set without training on it. Fails if the
    module already has a @eval or has no @step.
  }];
  let dependentDialects = ["::kiln::graph::GraphDialect"];
}

def ResolveTrainOrEval : Pass<"kiln-resolve-train-or-eval", "::mlir::ModuleOp"> {
  let summary = "Replaces graph.train_or_eval by its training operand";
  let description = [{
    In @step, `graph.train_or_eval %train, %eval` becomes `%train`; in every
    other function (@eval, forward-only programs such as @generate) it becomes
    `%eval`.
    kiln-extract-eval does this for @step itself; this pass is for a compile
    without an eval program (`kiln compile --no-eval`), before autodiff.
  }];
  let dependentDialects = ["::kiln::graph::GraphDialect"];
}


//===----------------------------------------------------------------------===//
// Kernel formation
//===----------------------------------------------------------------------===//

def Fuse : Pass<"kiln-fuse", "::mlir::ModuleOp"> {
  let summary = "Forms kernels: outlines fused groups of graph ops into kernel functions";
  let description = [{
    Partitions the compute ops of every program (func @step, @eval, ...) into
    kernels and outlines each as a private `func.func` carrying
    `graph.kernel = #graph.kernel<kind, layers = [...], ops = N>`; the program
    calls it with `func.call`, and kiln-emit-kernels emits it by its kind. Interface ops (inputs, reads, outputs, assigns, reshapes,
    non-splat constants) stay in the program. Kinds:

    - `pointwise`: elementwise ops with the broadcasts, transposes, one-hots
      and splat constants they read (views are recomputed in every kernel
      that reads them, never materialized unless a non-pointwise consumer or
      the host needs them);
    - `matmul`: a matrix product with its elementwise epilogue (bias,
      activation) at the product's shape;
    - `reduction`: a reduction with its elementwise producers (the prologue,
      each element visited once, so materializing them costs nothing extra)
      and its elementwise consumers at the result's shape;
    - `row`: softmax, log-softmax and softmax-cross-entropy over one row
      (several on the same operand share one kernel) with their elementwise
      consumers, per element or per row;
    - `multi-tensor`: independent pointwise kernels (such as every parameter's
      optimizer update) launched as one, within the binding budget.

    Fusion never duplicates a matmul, reduction or row op, and never creates
    a cycle between kernels. With `explain`, every refused fusion is reported
    as a remark at the op's location saying why. With `no-fusion`, every
    compute op becomes its own kernel (for comparison and tests).
  }];
  let options = [
    Option<"noFusion", "no-fusion", "bool", /*default=*/"false",
           "one kernel per compute op">,
    Option<"explain", "explain", "bool", /*default=*/"false",
           "report refused fusions as remarks">,
    Option<"maxBindings", "max-bindings", "unsigned", /*default=*/"32",
           "most buffers one kernel may bind (Vulkan maxPerStageDescriptorStorageBuffers)">,
  ];
  let dependentDialects = ["::kiln::graph::GraphDialect", "::mlir::func::FuncDialect"];
  let statistics = [
    Statistic<"numKernels", "kernels", "Kernels formed">,
    Statistic<"numFusedOps", "fused-ops", "Compute ops placed in a kernel with others">,
    Statistic<"numEpilogues", "epilogues", "Elementwise ops fused after a matmul, reduction or row op">,
    Statistic<"numPrologues", "prologues", "Elementwise groups fused before a reduction">,
    Statistic<"numHorizontal", "horizontal", "Independent kernels merged into multi-tensor kernels">,
    Statistic<"numRefused", "refused", "Fusions considered and refused">,
  ];
}

//===----------------------------------------------------------------------===//
// Kernel emission
//===----------------------------------------------------------------------===//

def EmitKernels : Pass<"kiln-emit-kernels", "::mlir::ModuleOp"> {
  let summary = "Emits every kernel function as a gpu.module with one gpu.func";
  let description = [{
    For every `func.func` carrying `graph.kernel` (formed by `kiln-fuse`),
    adds a `gpu.module @<kernel>_gpu` after it holding one `gpu.func @<kernel>`
    over flat buffers (results are bindings 0..R-1, arguments R..R+A-1), as
    the kernel generator in `kernels/` emits it for the kernel's kind with the
    GPU targets' tile sizes, then canonicalized and CSE'd (a row kernel's
    per-row values are also hoisted out of its loops). The launch is
    recorded on the gpu.func: `known_block_size` and the SPIR-V entry-point
    ABI give the workgroup, `kiln.grid` the number of workgroups per
    dimension, and `kiln.in_place` the (output, input) binding pairs that may
    share storage. The module gets `gpu.container_module`.

    ```mlir
    gpu.module @step_relu_gpu {
      gpu.func @step_relu(%out: memref<64xf32>, %in: memref<64xf32>) kernel
          attributes {kiln.grid = array<i32: 1, 1, 1>,
                      kiln.in_place = [array<i32: 0, 1>], known_block_size = ...}
    ```

    Fails, with an error at the offending op, for an element type other than
    f32, i32 or i1, a grid beyond the dispatch limits, or a body its kind
    cannot emit.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::spirv::SPIRVDialect"];
  let statistics = [
    Statistic<"numKernels", "kernels", "Kernel functions emitted as gpu.func">,
    Statistic<"numInPlace", "in-place-pairs", "Output bindings that may update an input in place">,
  ];
}

#endif // KILN_COMPILER_PASSES
