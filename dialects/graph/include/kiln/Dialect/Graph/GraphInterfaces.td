//===- GraphInterfaces.td - What a graph op says about itself -*- tablegen -*-===//
//
// Passes ask an op what it is instead of keeping lists of op names:
//
//  - `DifferentiableOpInterface`: its vector-Jacobian product (lib/GraphVJP.cpp);
//  - `ElementwiseOpInterface`: its scalar payload, result element i computed from
//    operand elements i (fusion groups these, every emitter inlines the payload);
//  - `IndexViewOpInterface`: how a result element is found from operand
//    elements at other indices (broadcast, transpose, reshape, one_hot, splat
//    constants; pad, slice, windows and gather fit the same method);
//  - `IterationSpaceOpInterface`: an op that loops over more than its result
//    (a contraction, a reduction or a row computation) describes its loops
//    and each operand's index map, as linalg does;
//  - `RowOpInterface`: a row computation (softmax family) as row statistics
//    (max, sum) followed by per-element or per-row results, so one row
//    kernel emits softmax, log_softmax, cross entropy and layer norm alike.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_INTERFACES
#define KILN_GRAPH_INTERFACES

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let description = [{
    An op whose operands' gradients can be written as graph ops of its
    operands, results and the gradients of its results (reverse mode).
  }];
  let cppNamespace = "::kiln::graph";
  let methods = [
    InterfaceMethod<[{
        Emits the vector-Jacobian product at the builder's insertion point.
        `resultGrads[i]` is the gradient of result `i` (same type as the
        result). On success `operandGrads` holds one value per operand, null
        for operands that take no gradient (integer labels, for example).
        Fails with a diagnostic when the rule does not apply.
      }],
      "::mlir::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

def ElementwiseOpInterface : OpInterface<"ElementwiseOpInterface"> {
  let description = [{
    An op whose result element at index i depends only on its operands'
    elements at index i (all operands and the result have one shape). Its
    scalar payload builds that computation from scalar operands with the
    `arith` and `math` dialects; GPU and CPU emitters inline it, fusion
    groups such ops, and the tests enumerate them by this interface.
  }];
  let cppNamespace = "::kiln::graph";
  let methods = [
    InterfaceMethod<[{
        Builds result element i from `operands`, the operands' elements i
        (f32 scalars; i1 for masks), at the builder's insertion point, and
        returns it (f32, or i1 for a comparison).
      }],
      "::mlir::Value", "buildScalar",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::ValueRange":$operands)>,
  ];
}

def IndexViewOpInterface : OpInterface<"IndexViewOpInterface"> {
  let description = [{
    An op whose result element at a multi-index is one of its operands'
    elements at another index, or a value computed from such elements and the
    index itself, with no arithmetic worth a kernel of its own: broadcast,
    transpose, reshape, one_hot, a splat constant. Kernels recompute views
    from their sources instead of storing them. Pad, slice, a sliding window
    and gather implement the same two methods: `buildElement` may compare the
    index against bounds (pad), scale and offset it (window) or read an index
    from another operand first (gather).
  }];
  let cppNamespace = "::kiln::graph";
  let methods = [
    InterfaceMethod<[{
        Builds the result element at `index` (one `index`-typed value per
        result dimension). `operandAt(i, idx)` yields operand i's element at
        `idx` (it may fail, and the failure is returned).
      }],
      "::mlir::FailureOr<::mlir::Value>", "buildElement",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::ValueRange":$index,
           "::kiln::graph::OperandElementFn":$operandAt)>,
    InterfaceMethod<[{
        The affine map from a result index to the index of operand
        `operand` it reads, when there is one (broadcast, transpose, one_hot's
        labels, pad and window offsets); null when the index is data-dependent
        (gather) or not affine (reshape). Fusion reads it to decide whose
        element a thread reads.
      }],
      "::mlir::AffineMap", "getOperandIndexMap", (ins "unsigned":$operand)>,
    InterfaceMethod<[{
        Whether the op is a view at all: a non-splat constant is data.
      }],
      "bool", "isIndexView", (ins), [{}], [{ return true; }]>,
    InterfaceMethod<[{
        Whether the result shares its operand's storage (a row-major
        reshape): then it is never recomputed, only renamed.
      }],
      "bool", "aliasesOperand", (ins), [{}], [{ return false; }]>,
  ];
}

def IterationSpaceOpInterface : OpInterface<"IterationSpaceOpInterface"> {
  let description = [{
    An op that iterates over more than its result's elements: a contraction
    (matmul), a reduction (reduce_sum, reduce_mean, reduce_max, mse) or a row
    computation (softmax, log_softmax, softmax_cross_entropy). It describes
    its loops (parallel or reduced, with extents) and one affine index map per
    operand and for the result, from the loop indices, as linalg.generic
    does. Fusion anchors kernels on these ops and picks the kernel kind from
    the description's kind; emitters read the loops and maps.
  }];
  let cppNamespace = "::kiln::graph";
  let methods = [
    InterfaceMethod<"The op's loops and index maps.",
      "::kiln::graph::IterationSpace", "getIterationSpace">,
    InterfaceMethod<[{
        For a reduction: the term contributed by one visited element, from
        the operands' elements there (default: operand 0's element).
      }],
      "::mlir::Value", "buildReductionTerm",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::ValueRange":$operands), [{}],
      [{ return operands.front(); }]>,
    InterfaceMethod<[{
        For a reduction whose term also depends on where it is taken: the
        term at `loopIndex` (one `index` value per loop, in the space's
        order) from the operands' elements there. Default: the term of
        buildReductionTerm, which ignores the position. graph.scatter_add
        compares its index operand with the result position.
      }],
      "::mlir::Value", "buildReductionTermAt",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::ValueRange":$operands, "::mlir::ValueRange":$loopIndex), [{}],
      [{ return $_op.buildReductionTerm(builder, loc, operands); }]>,
    InterfaceMethod<[{
        For a reduction: the result from the combined `total` of `count`
        terms (default: the total; a mean divides).
      }],
      "::mlir::Value", "buildReductionResult",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::Value":$total, "int64_t":$count), [{}],
      [{ return total; }]>,
  ];
}

def RowOpInterface : OpInterface<"RowOpInterface"> {
  let description = [{
    A row computation over operand 0 along one axis, written as row
    statistics followed by results. Statistic k combines (max or sum) one
    term per element of the row, built from the element and statistics
    0..k-1; a result is then built per element (softmax: same shape as the
    operand) or once per row (cross entropy: the axis dropped). The row kernel
    emits any such op, and reductions along the row axis, the same way.
  }];
  let cppNamespace = "::kiln::graph";
  let methods = [
    InterfaceMethod<"The axis the rows run along.", "int64_t", "getRowAxis">,
    InterfaceMethod<"How each statistic combines its terms, in order.",
      "::llvm::SmallVector<::kiln::graph::Combiner>", "getRowStatistics">,
    InterfaceMethod<[{
        The term of statistic `statistic` for row element `element`, given
        the statistics before it.
      }],
      "::mlir::Value", "buildStatisticTerm",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "unsigned":$statistic, "::mlir::Value":$element,
           "::mlir::ValueRange":$statistics)>,
    InterfaceMethod<[{
        The result: for a per-element op, at `element` (null for a per-row
        op); `rowOperands` are the other operands' elements at the row's
        index (cross entropy's label); `rowElementAt(j)` reads element j
        (an index value) of the row, for per-row results.
      }],
      "::mlir::Value", "buildRowResult",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::Value":$element, "::mlir::ValueRange":$statistics,
           "::mlir::ValueRange":$rowOperands,
           "::kiln::graph::RowElementFn":$rowElementAt)>,
    InterfaceMethod<"Whether the result has one element per row (the axis dropped).",
      "bool", "isPerRow", (ins), [{}], [{ return false; }]>,
  ];
}

#endif // KILN_GRAPH_INTERFACES
