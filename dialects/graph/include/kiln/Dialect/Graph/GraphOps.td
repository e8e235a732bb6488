//===- GraphOps.td - Kiln graph dialect ops -----------------*- tablegen -*-===//
//
// Ops of a training step. Shape rules live in GraphShapes.cpp so the verifier,
// type inference and the C++ builder share one source of truth; derivatives
// (`buildVJP`) live in GraphVJP.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_OPS
#define KILN_GRAPH_OPS

include "kiln/Dialect/Graph/GraphBase.td"
include "kiln/Dialect/Graph/GraphInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Variables (read at step start, assigned at step end) and the step's host
// interface (inputs, outputs, the loss, gradients) are separate resources, so
// reads of variables are not ordered against outputs.
def Graph_VariableResource : Resource<"::kiln::graph::VariableResource">;
def Graph_StepIOResource : Resource<"::kiln::graph::StepIOResource">;

class Graph_Op<string mnemonic, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic, traits>;

// A pure tensor op with a derivative.
class Graph_DiffOp<string mnemonic, list<Trait> traits = []>
    : Graph_Op<mnemonic, !listconcat([Pure,
        DeclareOpInterfaceMethods<DifferentiableOpInterface>], traits)>;

//===----------------------------------------------------------------------===//
// State, inputs and outputs
//===----------------------------------------------------------------------===//

def Graph_VariableOp : Graph_Op<"variable", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "A tensor that lives across steps (parameter or optimizer state)";
  let description = [{
    Declares state held on the device for the life of a session. `trainable`
    variables are the parameters autodiff differentiates with respect to.

    ```mlir
    graph.variable @fc1.weight trainable : tensor<128x784xf32>
        = #graph.init<uniform(-0.08, 0.08), seed = 0, stream = 0>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<Graph_AnyTensor>:$type,
                       Graph_InitializerAttr:$init,
                       UnitAttr:$trainable);
  let assemblyFormat = [{
    $sym_name (`trainable` $trainable^)? attr-dict `:` $type `=` qualified($init)
  }];
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
  let hasVerifier = 1;
}

def Graph_ReadOp : Graph_Op<"read", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    MemoryEffects<[MemRead<Graph_VariableResource>]>]> {
  let summary = "Reads a variable's value at the start of the step";
  let description = [{
    ```mlir
    %w = graph.read @fc1.weight : tensor<128x784xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variable);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$variable attr-dict `:` type($result)";
}

def Graph_AssignOp : Graph_Op<"assign", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    MemoryEffects<[MemWrite<Graph_VariableResource>]>]> {
  let summary = "Gives a variable its value for the next step";
  let description = [{
    Takes effect when the step ends: every `graph.read` of the step sees the
    old value. A variable is assigned at most once per step.

    ```mlir
    graph.assign @fc1.weight, %new : tensor<128x784xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variable, Graph_AnyTensor:$value);
  let assemblyFormat = "$variable `,` $value attr-dict `:` type($value)";
}

def Graph_InputOp : Graph_Op<"input", [MemoryEffects<[MemRead<Graph_StepIOResource>]>]> {
  let summary = "A named tensor supplied by the host each step (a batch, a learning rate)";
  let description = [{
    `default_value`, when present, is the value used when the host supplies none
    (the learning rate's initial value, for example).

    ```mlir
    %x = graph.input "images" : tensor<128x784xf32>
    %lr = graph.input "learning_rate" {default_value = dense<0.1> : tensor<f32>} : tensor<f32>
    ```
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<ElementsAttr>:$default_value);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Graph_OutputOp : Graph_Op<"output", [MemoryEffects<[MemWrite<Graph_StepIOResource>]>]> {
  let summary = "Names a value the host may read after the step (loss, logits)";
  let description = [{
    ```mlir
    graph.output "loss", %loss : tensor<f32>
    ```
  }];
  let arguments = (ins StrAttr:$name, Graph_AnyTensor:$value);
  let assemblyFormat = "$name `,` $value attr-dict `:` type($value)";
}

def Graph_MinimizeOp : Graph_Op<"minimize", [MemoryEffects<[MemWrite<Graph_StepIOResource>]>]> {
  let summary = "Marks the scalar loss that training minimizes";
  let description = [{
    The root of reverse-mode differentiation: `kiln-autodiff` replaces it by
    one `graph.gradient` per trainable variable.

    ```mlir
    graph.minimize %loss : tensor<f32>
    ```
  }];
  let arguments = (ins 0DTensorOf<[Graph_Float]>:$loss);
  let assemblyFormat = "$loss attr-dict `:` type($loss)";
}

def Graph_GradientOp : Graph_Op<"gradient", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    MemoryEffects<[MemWrite<Graph_StepIOResource>]>]> {
  let summary = "The loss's gradient with respect to a trainable variable";
  let description = [{
    Produced by `kiln-autodiff`, consumed by `kiln-append-optimizer`. Before
    the optimizer is appended, a device reports it like an output.

    ```mlir
    graph.gradient @fc1.weight, %dw : tensor<128x784xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variable, Graph_FloatTensor:$value);
  let assemblyFormat = "$variable `,` $value attr-dict `:` type($value)";
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Graph_ConstantOp : Graph_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "A constant tensor";
  let description = [{
    ```mlir
    %half = graph.constant dense<0.5> : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Graph_AnyTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Graph_BinaryOp<string mnemonic, string math, list<Trait> traits = []>
    : Graph_DiffOp<mnemonic, !listconcat([SameOperandsAndResultType], traits)> {
  let summary = "Elementwise " # math;
  let description = [{
    Operands and result have one type; broadcast first with `graph.broadcast`
    (the builder does this for you).

    ```mlir
    %c = graph.}] # mnemonic # [{ %a, %b : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Graph_AddOp : Graph_BinaryOp<"add", "lhs + rhs", [Commutative]> {
  let hasCanonicalizer = 1;
}
def Graph_SubOp : Graph_BinaryOp<"sub", "lhs - rhs"> {
  let hasCanonicalizer = 1;
}
def Graph_MulOp : Graph_BinaryOp<"mul", "lhs * rhs", [Commutative]>;
def Graph_DivOp : Graph_BinaryOp<"div", "lhs / rhs">;
def Graph_MaxOp : Graph_BinaryOp<"max", "max(lhs, rhs)", [Commutative]>;

class Graph_UnaryOp<string mnemonic, string math>
    : Graph_DiffOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "Elementwise " # math;
  let description = [{
    ```mlir
    %y = graph.}] # mnemonic # [{ %x : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$operand attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Graph_NegOp : Graph_UnaryOp<"neg", "-x">;
def Graph_ExpOp : Graph_UnaryOp<"exp", "e^x">;
def Graph_LogOp : Graph_UnaryOp<"log", "ln(x)">;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", "sqrt(x)">;
def Graph_ReluOp : Graph_UnaryOp<"relu", "max(x, 0)">;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "tanh(x)">;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "1 / (1 + e^-x)">;

def Graph_CompareOp : Graph_Op<"compare", [Pure, InferTypeOpAdaptor,
    AllTypesMatch<["lhs", "rhs"]>]> {
  let summary = "Elementwise comparison giving an i1 mask";
  let description = [{
    ```mlir
    %m = graph.compare gt, %a, %b : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_ComparePredicateAttr:$predicate,
                       Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs);
  let results = (outs Graph_MaskTensor:$result);
  let assemblyFormat = "$predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs)";
  let hasFolder = 1;
}

def Graph_SelectOp : Graph_DiffOp<"select", [InferTypeOpAdaptor,
    AllTypesMatch<["on_true", "on_false"]>]> {
  let summary = "Elementwise choice: cond ? on_true : on_false";
  let description = [{
    ```mlir
    %y = graph.select %mask, %a, %b : tensor<128x10xi1>, tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_MaskTensor:$condition, Graph_FloatTensor:$on_true,
                       Graph_FloatTensor:$on_false);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $condition `,` $on_true `,` $on_false attr-dict `:` type($condition) `,` type($on_true)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Graph_BroadcastOp : Graph_DiffOp<"broadcast"> {
  let summary = "Broadcasts a tensor to a larger shape";
  let description = [{
    Operand dimension `i` becomes result dimension `dims[i]`; it must equal
    that dimension or be 1 (then it is repeated). Result dimensions not named
    in `dims` are new.

    ```mlir
    %b = graph.broadcast %bias [1] : tensor<10xf32> to tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$dims);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $operand $dims attr-dict `:` type($operand) `to` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Graph_ReshapeOp : Graph_DiffOp<"reshape"> {
  let summary = "Reinterprets a tensor's shape (row-major, same element count)";
  let description = [{
    ```mlir
    %flat = graph.reshape %img : tensor<128x28x28xf32> to tensor<128x784xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$operand attr-dict `:` type($operand) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Graph_TransposeOp : Graph_DiffOp<"transpose", [InferTypeOpAdaptor]> {
  let summary = "Permutes dimensions: result dim i is operand dim perm[i]";
  let description = [{
    ```mlir
    %t = graph.transpose %x [1, 0] : tensor<128x784xf32> -> tensor<784x128xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$perm);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $operand $perm attr-dict `:` type($operand) `->` type($result)
  }];
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Graph_ReduceOp<string mnemonic, string math>
    : Graph_DiffOp<mnemonic, [InferTypeOpAdaptor]> {
  let summary = "Reduces with " # math # " over `axes` (dropping them)";
  let description = [{
    ```mlir
    %s = graph.}] # mnemonic # [{ %x [0] : tensor<128x10xf32> -> tensor<10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$axes);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $operand $axes attr-dict `:` type($operand) `->` type($result)
  }];
  let hasFolder = 1;
}

def Graph_ReduceSumOp : Graph_ReduceOp<"reduce_sum", "a sum">;
def Graph_ReduceMeanOp : Graph_ReduceOp<"reduce_mean", "the mean">;
def Graph_ReduceMaxOp : Graph_ReduceOp<"reduce_max", "the maximum">;

//===----------------------------------------------------------------------===//
// Linear algebra and normalisation
//===----------------------------------------------------------------------===//

def Graph_MatmulOp : Graph_DiffOp<"matmul", [InferTypeOpAdaptor]> {
  let summary = "Matrix product op(lhs) x op(rhs), batched over leading dims";
  let description = [{
    `op` transposes the last two dimensions when the flag is set. Operands of
    rank 3 or more share their leading (batch) dimensions.

    ```mlir
    %y = graph.matmul %x, %w transpose_rhs
        : tensor<128x784xf32>, tensor<128x784xf32> -> tensor<128x128xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$lhs, Graph_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`transpose_lhs` $transpose_lhs^)? (`transpose_rhs` $transpose_rhs^)?
    attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

class Graph_SoftmaxLikeOp<string mnemonic, string math>
    : Graph_DiffOp<mnemonic, [InferTypeOpAdaptor]> {
  let summary = math # " along `axis`";
  let description = [{
    ```mlir
    %p = graph.}] # mnemonic # [{ %logits axis = 1 : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, I64Attr:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$operand `axis` `=` $axis attr-dict `:` type($operand)";
}

def Graph_SoftmaxOp : Graph_SoftmaxLikeOp<"softmax", "exp(x) / sum(exp(x))">;
def Graph_LogSoftmaxOp : Graph_SoftmaxLikeOp<"log_softmax", "x - log(sum(exp(x)))">;

//===----------------------------------------------------------------------===//
// Losses and labels
//===----------------------------------------------------------------------===//

def Graph_OneHotOp : Graph_Op<"one_hot", [Pure]> {
  let summary = "Integer labels [N] to one-hot rows [N, C]";
  let description = [{
    Labels outside [0, C) give a row of zeros.

    ```mlir
    %t = graph.one_hot %labels : tensor<128xi32> to tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_IndexTensor:$labels);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = "$labels attr-dict `:` type($labels) `to` type($result)";
  let hasVerifier = 1;
}

def Graph_SoftmaxCrossEntropyOp
    : Graph_DiffOp<"softmax_cross_entropy", [InferTypeOpAdaptor]> {
  let summary = "Per-example cross entropy of softmax(logits) and integer labels";
  let description = [{
    `result[n] = logsumexp(logits[n, :]) - logits[n, labels[n]]`. Reduce with
    `graph.reduce_mean` for the usual mean loss. Labels take no gradient.

    ```mlir
    %l = graph.softmax_cross_entropy %logits, %labels
        : tensor<128x10xf32>, tensor<128xi32> -> tensor<128xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$logits, Graph_IndexTensor:$labels);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` type($logits) `,` type($labels) `->` type($result)
  }];
}

def Graph_MseOp : Graph_DiffOp<"mse", [InferTypeOpAdaptor,
    AllTypesMatch<["prediction", "target"]>]> {
  let summary = "Mean squared error: mean((prediction - target)^2), a scalar";
  let description = [{
    ```mlir
    %l = graph.mse %pred, %target : tensor<128x1xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$prediction, Graph_FloatTensor:$target);
  let results = (outs 0DTensorOf<[Graph_Float]>:$result);
  let assemblyFormat = [{
    $prediction `,` $target attr-dict `:` type($prediction) `->` type($result)
  }];
}

#endif // KILN_GRAPH_OPS
