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

// An elementwise op: `payload` is the body of buildScalar, which reads the
// scalar operands `operands` and builds with `b` at `loc` (GraphInterfaces.td).
class Graph_ElementwiseOp<string mnemonic, code payload, list<Trait> traits = []>
    : Graph_DiffOp<mnemonic, !listconcat([
        DeclareOpInterfaceMethods<ElementwiseOpInterface>], traits)> {
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &b, ::mlir::Location loc,
                                         ::mlir::ValueRange operands) {
  }] # payload # [{
    }
  }];
}

// A view (GraphInterfaces.td): kernels recompute it from its source.
class Graph_ViewOp<string mnemonic, list<Trait> traits = [], list<string> overrides = []>
    : Graph_DiffOp<mnemonic, !listconcat([
        DeclareOpInterfaceMethods<IndexViewOpInterface, overrides>], traits)>;

// An op that loops over more than its result (GraphInterfaces.td).
class Graph_IteratingOp<string mnemonic, list<Trait> traits = [],
                        list<string> overrides = []>
    : Graph_DiffOp<mnemonic, !listconcat([
        DeclareOpInterfaceMethods<IterationSpaceOpInterface, overrides>], traits)>;

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
    AllTypesMatch<["value", "result"]>,
    DeclareOpInterfaceMethods<IndexViewOpInterface, ["isIndexView"]>]> {
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

class Graph_BinaryOp<string mnemonic, string math, code payload, list<Trait> traits = []>
    : Graph_ElementwiseOp<mnemonic, [{ ::mlir::Value lhs = operands[0], rhs = operands[1];
      }] # payload, !listconcat([SameOperandsAndResultType], traits)> {
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

def Graph_AddOp : Graph_BinaryOp<"add", "lhs + rhs",
    [{ return b.create<arith::AddFOp>(loc, lhs, rhs); }], [Commutative]> {
  let hasCanonicalizer = 1;
}
def Graph_SubOp : Graph_BinaryOp<"sub", "lhs - rhs",
    [{ return b.create<arith::SubFOp>(loc, lhs, rhs); }]> {
  let hasCanonicalizer = 1;
}
def Graph_MulOp : Graph_BinaryOp<"mul", "lhs * rhs",
    [{ return b.create<arith::MulFOp>(loc, lhs, rhs); }], [Commutative]>;
def Graph_DivOp : Graph_BinaryOp<"div", "lhs / rhs",
    [{ return b.create<arith::DivFOp>(loc, lhs, rhs); }]>;
// NaN in either operand gives NaN, as in PyTorch.
def Graph_MaxOp : Graph_BinaryOp<"max", "max(lhs, rhs)",
    [{ return b.create<arith::MaximumFOp>(loc, lhs, rhs); }], [Commutative]>;

// NaN in either operand gives NaN, as in PyTorch.
def Graph_MinimumOp : Graph_BinaryOp<"minimum", "min(lhs, rhs)",
    [{ return b.create<arith::MinimumFOp>(loc, lhs, rhs); }], [Commutative]>;

class Graph_UnaryOp<string mnemonic, string math, code payload>
    : Graph_ElementwiseOp<mnemonic, [{ ::mlir::Value x = operands[0];
      }] # payload, [SameOperandsAndResultType]> {
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

def Graph_NegOp : Graph_UnaryOp<"neg", "-x", [{ return b.create<arith::NegFOp>(loc, x); }]>;
def Graph_ExpOp : Graph_UnaryOp<"exp", "e^x", [{ return b.create<math::ExpOp>(loc, x); }]>;
def Graph_LogOp : Graph_UnaryOp<"log", "ln(x)", [{ return b.create<math::LogOp>(loc, x); }]>;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", "sqrt(x)",
    [{ return b.create<math::SqrtOp>(loc, x); }]>;
def Graph_ReluOp : Graph_UnaryOp<"relu", "max(x, 0)", [{
      ::mlir::Value zero = f32Constant(b, loc, 0.0);
      ::mlir::Value positive = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, zero);
      return b.create<arith::SelectOp>(loc, positive, x, zero);
    }]>;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "tanh(x)",
    [{ return b.create<math::TanhOp>(loc, x); }]>;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "1 / (1 + e^-x)", [{
      ::mlir::Value one = f32Constant(b, loc, 1.0);
      ::mlir::Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x));
      return b.create<arith::DivFOp>(loc, one, b.create<arith::AddFOp>(loc, one, e));
    }]>;

def Graph_SiluOp : Graph_UnaryOp<"silu", "x * sigmoid(x) = x / (1 + e^-x)", [{
      ::mlir::Value one = f32Constant(b, loc, 1.0);
      ::mlir::Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x));
      return b.create<arith::DivFOp>(loc, x, b.create<arith::AddFOp>(loc, one, e));
    }]>;
def Graph_ErfOp : Graph_UnaryOp<"erf", "erf(x)", [{ return b.create<math::ErfOp>(loc, x); }]>;
def Graph_AbsOp : Graph_UnaryOp<"abs", "|x|", [{ return b.create<math::AbsFOp>(loc, x); }]>;
def Graph_RsqrtOp : Graph_UnaryOp<"rsqrt", "1 / sqrt(x)",
    [{ return b.create<math::RsqrtOp>(loc, x); }]>;
def Graph_SquareOp : Graph_UnaryOp<"square", "x * x",
    [{ return b.create<arith::MulFOp>(loc, x, x); }]>;
def Graph_Log1pOp : Graph_UnaryOp<"log1p", "ln(1 + x), accurate for small x",
    [{ return b.create<math::Log1pOp>(loc, x); }]>;

def Graph_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how graph.gelu computes the Gaussian CDF", [
      I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"tanh", 1>]> {
  let cppNamespace = "::kiln::graph";
  let genSpecializedAttr = 0;
}
def Graph_GeluApproximationAttr
    : EnumAttr<Graph_Dialect, Graph_GeluApproximation, "gelu_approximation">;

def Graph_GeluOp : Graph_UnaryOp<"gelu", "x * Phi(x), Phi the standard normal CDF", [{
      ::mlir::Value half = f32Constant(b, loc, 0.5), one = f32Constant(b, loc, 1.0);
      ::mlir::Value cdf;
      if (getApproximate() == GeluApproximation::tanh) {
        // Phi(x) ~ (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2
        ::mlir::Value cube = b.create<arith::MulFOp>(loc, b.create<arith::MulFOp>(loc, x, x), x);
        ::mlir::Value inner = b.create<arith::AddFOp>(
            loc, x, b.create<arith::MulFOp>(loc, f32Constant(b, loc, 0.044715), cube));
        cdf = b.create<math::TanhOp>(loc, b.create<arith::MulFOp>(
                  loc, f32Constant(b, loc, 0.7978845608028654), inner));
      } else {
        // Phi(x) = (1 + erf(x / sqrt(2))) / 2
        cdf = b.create<math::ErfOp>(loc, b.create<arith::MulFOp>(
                  loc, x, f32Constant(b, loc, 0.7071067811865476)));
      }
      ::mlir::Value halfX = b.create<arith::MulFOp>(loc, half, x);
      return b.create<arith::MulFOp>(loc, halfX, b.create<arith::AddFOp>(loc, one, cdf));
    }]> {
  let description = [{
    As PyTorch's `gelu(x, approximate=...)`: `none` (the default, elided)
    computes `0.5 x (1 + erf(x / sqrt(2)))`, `tanh` computes
    `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`.

    ```mlir
    %y = graph.gelu %x : tensor<128x10xf32>
    %z = graph.gelu %x approximate = tanh : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand,
                       DefaultValuedAttr<Graph_GeluApproximationAttr,
                                         "::kiln::graph::GeluApproximation::none">:$approximate);
  let assemblyFormat = [{
    $operand (`approximate` `=` $approximate^)? attr-dict `:` type($result)
  }];
}

def Graph_PowOp : Graph_UnaryOp<"pow", "x^exponent for a constant exponent", [{
      double exponent = getExponent().convertToDouble();
      // Integer exponents multiply (square and multiply), so negative bases work on every
      // device; a negative one takes the reciprocal.
      if (exponent == std::trunc(exponent) && std::abs(exponent) <= 1024.0) {
        ::mlir::Value power = f32Constant(b, loc, 1.0), square = x;
        for (int64_t n = static_cast<int64_t>(std::abs(exponent)); n > 0; n >>= 1) {
          if (n & 1)
            power = b.create<arith::MulFOp>(loc, power, square);
          if (n > 1)
            square = b.create<arith::MulFOp>(loc, square, square);
        }
        if (exponent < 0)
          return b.create<arith::DivFOp>(loc, f32Constant(b, loc, 1.0), power);
        return power;
      }
      return b.create<math::PowFOp>(loc, x, f32Constant(b, loc, exponent));
    }]> {
  let description = [{
    `exponent` is an f64 constant. Integer exponents are exact products (a
    negative base is fine); others follow `powf` (NaN for a negative base).

    ```mlir
    %y = graph.pow %x exponent = 3.000000e+00 : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, F64Attr:$exponent);
  let assemblyFormat = "$operand `exponent` `=` $exponent attr-dict `:` type($result)";
}

def Graph_ClampOp : Graph_UnaryOp<"clamp", "min(max(x, min), max)", [{
      ::mlir::Value low = f32Constant(b, loc, getMin().convertToDouble());
      ::mlir::Value high = f32Constant(b, loc, getMax().convertToDouble());
      return b.create<arith::MinimumFOp>(loc, b.create<arith::MaximumFOp>(loc, x, low), high);
    }]> {
  let description = [{
    As PyTorch's `clamp(x, min, max)`: a NaN stays NaN. The verifier requires
    `min <= max`.

    ```mlir
    %y = graph.clamp %x min = -1.000000e+00, max = 1.000000e+00 : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, F64Attr:$min, F64Attr:$max);
  let assemblyFormat = [{
    $operand `min` `=` $min `,` `max` `=` $max attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def Graph_LeakyReluOp : Graph_UnaryOp<"leaky_relu", "x > 0 ? x : negative_slope * x", [{
      ::mlir::Value zero = f32Constant(b, loc, 0.0);
      ::mlir::Value slope = f32Constant(b, loc, getNegativeSlope().convertToDouble());
      ::mlir::Value positive = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, zero);
      return b.create<arith::SelectOp>(loc, positive, x, b.create<arith::MulFOp>(loc, slope, x));
    }]> {
  let description = [{
    As PyTorch's `leaky_relu(x, negative_slope=0.01)`; the default slope is
    elided.

    ```mlir
    %y = graph.leaky_relu %x negative_slope = 2.000000e-01 : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand,
                       DefaultValuedAttr<F64Attr, "0.01">:$negative_slope);
  let assemblyFormat = [{
    $operand (`negative_slope` `=` $negative_slope^)? attr-dict `:` type($result)
  }];
}

def Graph_SoftplusOp : Graph_UnaryOp<"softplus",
    "beta x > threshold ? x : ln(1 + e^(beta x)) / beta", [{
      double beta = getBeta().convertToDouble();
      ::mlir::Value scaled = b.create<arith::MulFOp>(loc, f32Constant(b, loc, beta), x);
      // ln(1 + e^s) = max(s, 0) + ln(1 + e^-|s|): the logarithm of a value near 1 keeps
      // f32 accuracy on devices whose log1p is log(1 + x).
      ::mlir::Value tail = b.create<math::Log1pOp>(loc, b.create<math::ExpOp>(
          loc, b.create<arith::NegFOp>(loc, b.create<math::AbsFOp>(loc, scaled))));
      ::mlir::Value positivePart =
          b.create<arith::MaximumFOp>(loc, scaled, f32Constant(b, loc, 0.0));
      ::mlir::Value smooth = b.create<arith::DivFOp>(
          loc, b.create<arith::AddFOp>(loc, positivePart, tail), f32Constant(b, loc, beta));
      ::mlir::Value linear = b.create<arith::CmpFOp>(
          loc, arith::CmpFPredicate::OGT, scaled,
          f32Constant(b, loc, getThreshold().convertToDouble()));
      return b.create<arith::SelectOp>(loc, linear, x, smooth);
    }]> {
  let description = [{
    As PyTorch's `softplus(x, beta=1, threshold=20)`: linear above the
    threshold, where `ln(1 + e^(beta x))` would overflow. Defaults are elided.

    ```mlir
    %y = graph.softplus %x beta = 2.000000e+00 threshold = 1.000000e+01 : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand,
                       DefaultValuedAttr<F64Attr, "1.0">:$beta,
                       DefaultValuedAttr<F64Attr, "20.0">:$threshold);
  let assemblyFormat = [{
    $operand (`beta` `=` $beta^)? (`threshold` `=` $threshold^)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def Graph_CompareOp : Graph_Op<"compare", [Pure, InferTypeOpAdaptor,
    AllTypesMatch<["lhs", "rhs"]>, DeclareOpInterfaceMethods<ElementwiseOpInterface>]> {
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

def Graph_SelectOp : Graph_ElementwiseOp<"select",
    [{ return b.create<arith::SelectOp>(loc, operands[0], operands[1], operands[2]); }],
    [InferTypeOpAdaptor, AllTypesMatch<["on_true", "on_false"]>]> {
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

def Graph_BroadcastOp : Graph_ViewOp<"broadcast"> {
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

def Graph_ReshapeOp : Graph_ViewOp<"reshape", [], ["aliasesOperand"]> {
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

def Graph_TransposeOp : Graph_ViewOp<"transpose", [InferTypeOpAdaptor]> {
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

class Graph_ReduceOp<string mnemonic, string math, list<string> overrides = []>
    : Graph_IteratingOp<mnemonic, [InferTypeOpAdaptor], overrides> {
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
def Graph_ReduceMeanOp : Graph_ReduceOp<"reduce_mean", "the mean", ["buildReductionResult"]>;
def Graph_ReduceMaxOp : Graph_ReduceOp<"reduce_max", "the maximum"> {
  let description = [{
    A NaN among the reduced elements gives NaN. The gradient goes to the
    maxima: shared equally among ties (as PyTorch's `amax`), or, with
    `first_max_gradient`, all of it to the first maximum in row-major order
    of the reduced axes (as PyTorch's `max_pool2d` and `max(dim)`), found
    with `graph.iota` and a second reduction.

    ```mlir
    %m = graph.reduce_max %x [0] : tensor<128x10xf32> -> tensor<10xf32>
    %p = graph.reduce_max %w [4, 5] first_max_gradient
        : tensor<8x3x16x16x3x3xf32> -> tensor<8x3x16x16xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$operand, DenseI64ArrayAttr:$axes,
                       UnitAttr:$first_max_gradient);
  let assemblyFormat = [{
    $operand $axes (`first_max_gradient` $first_max_gradient^)? attr-dict `:` type($operand)
    `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalisation
//===----------------------------------------------------------------------===//

def Graph_MatmulOp : Graph_IteratingOp<"matmul", [InferTypeOpAdaptor]> {
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
    : Graph_IteratingOp<mnemonic, [InferTypeOpAdaptor,
        DeclareOpInterfaceMethods<RowOpInterface>]> {
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

def Graph_OneHotOp : Graph_Op<"one_hot", [Pure,
    DeclareOpInterfaceMethods<IndexViewOpInterface>]> {
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
    : Graph_IteratingOp<"softmax_cross_entropy", [InferTypeOpAdaptor,
        DeclareOpInterfaceMethods<RowOpInterface, ["isPerRow"]>]> {
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

def Graph_MseOp : Graph_IteratingOp<"mse", [InferTypeOpAdaptor,
    AllTypesMatch<["prediction", "target"]>],
    ["buildReductionTerm", "buildReductionResult"]> {
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

// Convolutional and training ops, each family in its own file.
include "kiln/Dialect/Graph/GraphConvOps.td"
include "kiln/Dialect/Graph/GraphWindowOps.td"
include "kiln/Dialect/Graph/GraphTrainingOps.td"
include "kiln/Dialect/Graph/GraphIndexOps.td"
include "kiln/Dialect/Graph/GraphAttentionOps.td"

#endif // KILN_GRAPH_OPS
