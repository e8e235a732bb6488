//===- GraphBase.td - Kiln graph dialect, types and attributes -*- tablegen -*-===//
//
// The graph dialect holds a model's training step as tensor ops on static
// shapes. Element types are constrained in one place (`Graph_Float`) so f16
// and bf16 can join f32 without touching the ops.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_BASE
#define KILN_GRAPH_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let cppNamespace = "::kiln::graph";
  let summary = "Static-shaped tensor ops of a training step";
  let description = [{
    A module of the graph dialect holds module-level `graph.variable`s
    (parameters and optimizer state) and one `func.func @step` whose body reads
    them, takes named per-step `graph.input`s, computes with tensor ops, names
    `graph.output`s and writes variables back with `graph.assign`. Reads see the
    values from the start of the step; assigns take effect when the step ends.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let hasCanonicalizer = 0;
  // `graph.kernel` on a kernel function is checked against its body.
  let hasOperationAttrVerify = 1;
  // Elementwise payloads are built with arith and math.
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

// Element types a floating-point graph tensor may have.
def Graph_Float : AnyTypeOf<[F32]>;
def Graph_FloatTensor : StaticShapeTensorOf<[Graph_Float]>;
def Graph_IndexTensor : StaticShapeTensorOf<[I32]>;
def Graph_MaskTensor : StaticShapeTensorOf<[I1]>;
def Graph_AnyTensor : StaticShapeTensorOf<[Graph_Float, I32, I1]>;

def Graph_ComparePredicate : I32EnumAttr<"ComparePredicate",
    "elementwise comparison", [
      I32EnumAttrCase<"eq", 0>, I32EnumAttrCase<"ne", 1>,
      I32EnumAttrCase<"lt", 2>, I32EnumAttrCase<"le", 3>,
      I32EnumAttrCase<"gt", 4>, I32EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::kiln::graph";
  let genSpecializedAttr = 0;
}
def Graph_ComparePredicateAttr
    : EnumAttr<Graph_Dialect, Graph_ComparePredicate, "predicate">;

def Graph_Distribution : I32EnumAttr<"Distribution",
    "distribution of a variable's initial values", [
      I32EnumAttrCase<"constant", 0>, I32EnumAttrCase<"uniform", 1>,
      I32EnumAttrCase<"normal", 2>]> {
  let cppNamespace = "::kiln::graph";
  let genSpecializedAttr = 0;
}
def Graph_DistributionAttr
    : EnumAttr<Graph_Dialect, Graph_Distribution, "distribution">;

def Graph_InitializerAttr : AttrDef<Graph_Dialect, "Initializer"> {
  let mnemonic = "init";
  let summary = "How a variable's initial values are drawn";
  let description = [{
    `constant(v)`: every element is v. `uniform(low, high)`: U[low, high).
    `normal(mean, stddev)`. The two numbers are stored as `a` and `b`. Random values come from Philox-4x32-10 keyed by
    (`seed`, `stream`) and counted by element index, so every device draws the
    same numbers. Xavier/He initializers are resolved to these by the builder.

    ```mlir
    #graph.init<uniform(-0.08, 0.08), seed = 42, stream = 0>
    ```
  }];
  let parameters = (ins "Distribution":$distribution, "::llvm::APFloat":$a,
                        "::llvm::APFloat":$b, "uint64_t":$seed, "uint64_t":$stream);
  let hasCustomAssemblyFormat = 1;
  let builders = [
    AttrBuilder<(ins "Distribution":$distribution, "double":$a, "double":$b,
                     "uint64_t":$seed, "uint64_t":$stream), [{
      return $_get($_ctxt, distribution, ::llvm::APFloat(a), ::llvm::APFloat(b), seed,
                   stream);
    }]>
  ];
  let extraClassDeclaration = [{
    double getFirst() const { return getA().convertToDouble(); }
    double getSecond() const { return getB().convertToDouble(); }
  }];
}

def Graph_KernelKind : I32EnumAttr<"KernelKind",
    "the kind of kernel a kernel function is emitted as", [
      I32EnumAttrCase<"pointwise", 0>, I32EnumAttrCase<"multi_tensor", 1>,
      I32EnumAttrCase<"matmul", 2>, I32EnumAttrCase<"reduction", 3>,
      I32EnumAttrCase<"row", 4>, I32EnumAttrCase<"mask_pack", 5>,
      I32EnumAttrCase<"mask_unpack", 6>, I32EnumAttrCase<"attention", 7>]> {
  let cppNamespace = "::kiln::graph";
  let genSpecializedAttr = 0;
}

def Graph_KernelAttr : AttrDef<Graph_Dialect, "Kernel"> {
  let mnemonic = "kernel";
  let summary = "A kernel function's kind, the user's layers it serves and its op count";
  let description = [{
    `kiln-fuse` puts `graph.kernel` on every kernel function it outlines; the
    dialect verifies the kind against the function's body (a `matmul` kernel
    holds exactly one contraction, a `reduction` kernel one reduction, a `row`
    kernel at least one row computation or row reduction and no other anchor,
    `pointwise` and `multi_tensor` kernels only elementwise ops and views).
    `kiln-emit-kernels` emits the function by this kind.

    ```mlir
    func.func private @fc1_matmul_add_relu(...)
        attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc1"], ops = 3>}
    ```
  }];
  let parameters = (ins EnumParameter<Graph_KernelKind>:$kind,
                        OptionalArrayRefParameter<"::mlir::StringAttr", "layer names">:$layers,
                        "int64_t":$ops);
  // Custom: the generated parser cannot read an empty layer list back.
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    /// The kind as plans and `kiln inspect` name it ("multi-tensor", "mask-pack").
    std::string getKindName() const;
  }];
}

#endif // KILN_GRAPH_BASE
