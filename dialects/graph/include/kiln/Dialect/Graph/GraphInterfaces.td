//===- GraphInterfaces.td - The Differentiable op interface -*- tablegen -*-===//
//
// Every graph op that has a derivative implements `DifferentiableOpInterface`:
// given the gradients of its results it emits the graph ops that compute the
// gradients of its operands (its vector-Jacobian product). The rules for all
// ops live together in lib/GraphVJP.cpp so they read as one table.
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

#endif // KILN_GRAPH_INTERFACES
