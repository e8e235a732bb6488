//===- GraphOps.cpp - Kiln graph dialect: dialect, attributes and ops -----===//
//
// Registers the dialect and implements op verifiers and type inference by
// delegating to the shape rules in GraphShapes.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Dialect/Graph/GraphShapes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace kiln::graph;

#include "kiln/Dialect/Graph/GraphDialect.cpp.inc"
#include "kiln/Dialect/Graph/GraphEnums.cpp.inc"
#include "kiln/Dialect/Graph/GraphInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Graph/GraphAttrs.cpp.inc"

//===----------------------------------------------------------------------===//
// Initializer attribute: #graph.init<uniform(-0.1, 0.1), seed = 0, stream = 3>
//===----------------------------------------------------------------------===//

Attribute InitializerAttr::parse(AsmParser &parser, Type) {
  std::string name;
  double a = 0, b = 0;
  uint64_t seed = 0, stream = 0;
  SMLoc nameLoc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeywordOrString(&name) || parser.parseLParen() ||
      parser.parseFloat(a))
    return {};
  std::optional<Distribution> distribution = symbolizeDistribution(name);
  if (!distribution) {
    parser.emitError(nameLoc, "unknown distribution '")
        << name << "'; expected constant, uniform or normal";
    return {};
  }
  bool twoNumbers = *distribution != Distribution::constant;
  if ((twoNumbers && (parser.parseComma() || parser.parseFloat(b))) || parser.parseRParen() ||
      parser.parseComma() || parser.parseKeyword("seed") || parser.parseEqual() ||
      parser.parseInteger(seed) || parser.parseComma() || parser.parseKeyword("stream") ||
      parser.parseEqual() || parser.parseInteger(stream) || parser.parseGreater())
    return {};
  return InitializerAttr::get(parser.getContext(), *distribution, a, b, seed, stream);
}

void InitializerAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyDistribution(getDistribution()) << "(" << getFirst();
  if (getDistribution() != Distribution::constant)
    printer << ", " << getSecond();
  printer << "), seed = " << getSeed() << ", stream = " << getStream() << ">";
}

void GraphDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/Dialect/Graph/GraphAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/Graph/GraphOps.cpp.inc"
      >();
}

Operation *GraphDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                             Location loc) {
  auto elements = llvm::dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}

//===----------------------------------------------------------------------===//
// State, inputs and outputs
//===----------------------------------------------------------------------===//

LogicalResult VariableOp::verify() {
  InitializerAttr init = getInit();
  if (!std::isfinite(init.getFirst()) || !std::isfinite(init.getSecond()))
    return emitOpError("initializer parameters must be finite, got ") << init;
  if (init.getDistribution() == Distribution::uniform && !(init.getFirst() < init.getSecond()))
    return emitOpError("uniform initializer needs low < high, got [")
           << init.getFirst() << ", " << init.getSecond() << ")";
  if (init.getDistribution() == Distribution::normal && !(init.getSecond() >= 0))
    return emitOpError("normal initializer needs a standard deviation >= 0, got ")
           << init.getSecond();
  if (getTrainable() && !getTensorType().getElementType().isF32())
    return emitOpError("a trainable variable must have f32 elements, got ") << getType();
  if (init.getDistribution() != Distribution::constant &&
      !llvm::isa<FloatType>(getTensorType().getElementType()))
    return emitOpError("only a constant initializer suits integer elements, got ")
           << stringifyDistribution(init.getDistribution()) << " for " << getType();
  return success();
}

/// Resolves `symbol` to a `graph.variable` of type `type`, or reports why not.
static LogicalResult verifyVariableUse(Operation *op, SymbolTableCollection &symbolTable,
                                       FlatSymbolRefAttr symbol, Type type) {
  auto variable = symbolTable.lookupNearestSymbolFrom<VariableOp>(op, symbol);
  if (!variable)
    return op->emitOpError("refers to ") << symbol << ", which is not a graph.variable";
  if (variable.getType() != type)
    return op->emitOpError("has type ")
           << type << " but variable " << symbol << " has type " << variable.getType();
  return success();
}

LogicalResult ReadOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyVariableUse(*this, symbolTable, getVariableAttr(), getType());
}

LogicalResult AssignOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  if (failed(verifyVariableUse(*this, symbolTable, getVariableAttr(), getValue().getType())))
    return failure();
  // A variable is assigned at most once per step.
  for (Operation *other = getOperation()->getNextNode(); other; other = other->getNextNode()) {
    auto assign = llvm::dyn_cast<AssignOp>(other);
    if (assign && assign.getVariable() == getVariable())
      return assign.emitOpError("assigns ")
             << getVariableAttr() << " a second time in the same step";
  }
  return success();
}

LogicalResult GradientOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  if (failed(verifyVariableUse(*this, symbolTable, getVariableAttr(), getValue().getType())))
    return failure();
  auto variable = symbolTable.lookupNearestSymbolFrom<VariableOp>(*this, getVariableAttr());
  if (!variable.getTrainable())
    return emitOpError("is the gradient of ") << getVariableAttr() << ", which is not trainable";
  return success();
}

LogicalResult InputOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty name");
  if (auto value = getDefaultValueAttr()) {
    if (!llvm::isa<DenseElementsAttr>(value))
      return emitOpError("default value must be a dense<...> literal");
    if (value.getType() != getType())
      return emitOpError("default value has type ")
             << value.getType() << " but the input has type " << getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult ConstantOp::verify() {
  if (!llvm::isa<DenseElementsAttr>(getValue()))
    return emitOpError("value must be a dense<...> literal");
  if (getValue().getType() != getType())
    return emitOpError("value has type ")
           << getValue().getType() << " but the result has type " << getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

/// Stores `type` as the single inferred result, passing failure through.
static LogicalResult single(FailureOr<RankedTensorType> type,
                            SmallVectorImpl<Type> &inferredReturnTypes) {
  if (failed(type))
    return failure();
  inferredReturnTypes.push_back(*type);
  return success();
}

LogicalResult CompareOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(inferCompareType(loc, adaptor.getLhs().getType(), adaptor.getRhs().getType()),
                types);
}

LogicalResult SelectOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(inferSelectType(loc, adaptor.getCondition().getType(),
                                adaptor.getOnTrue().getType(), adaptor.getOnFalse().getType()),
                types);
}

// NaN bounds fail too: they would clamp every element to NaN.
LogicalResult ClampOp::verify() {
  double min = getMin().convertToDouble(), max = getMax().convertToDouble();
  if (!(min <= max))
    return emitOpError("min (") << min << ") must be <= max (" << max << ")";
  return success();
}

LogicalResult SoftplusOp::verify() {
  double beta = getBeta().convertToDouble();
  if (beta == 0 || !std::isfinite(beta))
    return emitOpError("beta (") << beta << ") must be finite and nonzero; softplus divides by it";
  return success();
}

LogicalResult BroadcastOp::verify() {
  return verifyBroadcast(getLoc(), getOperand().getType(), getDims(), getType());
}

LogicalResult ReshapeOp::verify() {
  return verifyReshape(getLoc(), getOperand().getType(), getType());
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(inferTransposeType(loc, adaptor.getOperand().getType(), adaptor.getPerm()), types);
}

#define KILN_REDUCE_INFERENCE(OpClass)                                                             \
  LogicalResult OpClass::inferReturnTypes(MLIRContext *, std::optional<Location> loc,              \
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {         \
    return single(inferReduceType(loc, getOperationName(), adaptor.getOperand().getType(),         \
                                  adaptor.getAxes()),                                              \
                  types);                                                                          \
  }
KILN_REDUCE_INFERENCE(ReduceSumOp)
KILN_REDUCE_INFERENCE(ReduceMeanOp)
KILN_REDUCE_INFERENCE(ReduceMaxOp)
#undef KILN_REDUCE_INFERENCE

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(inferMatmulType(loc, adaptor.getLhs().getType(), adaptor.getRhs().getType(),
                                adaptor.getTransposeLhs(), adaptor.getTransposeRhs()),
                types);
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(
      inferSoftmaxType(loc, getOperationName(), adaptor.getOperand().getType(), adaptor.getAxis()),
      types);
}

LogicalResult LogSoftmaxOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(
      inferSoftmaxType(loc, getOperationName(), adaptor.getOperand().getType(), adaptor.getAxis()),
      types);
}

LogicalResult OneHotOp::verify() {
  return verifyOneHot(getLoc(), getLabels().getType(), getType());
}

LogicalResult SoftmaxCrossEntropyOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                      Adaptor adaptor,
                                                      SmallVectorImpl<Type> &types) {
  return single(inferSoftmaxCrossEntropyType(loc, adaptor.getLogits().getType(),
                                             adaptor.getLabels().getType()),
                types);
}

LogicalResult MseOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  return single(inferMseType(loc, adaptor.getPrediction().getType(), adaptor.getTarget().getType()),
                types);
}

#define GET_OP_CLASSES
#include "kiln/Dialect/Graph/GraphOps.cpp.inc"
