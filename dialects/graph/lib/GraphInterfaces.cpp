//===- GraphInterfaces.cpp - What the structural graph ops say about themselves -===//
//
// The interface methods of views (broadcast, transpose, reshape, one_hot,
// splat constants), of ops with an iteration space (matmul, reductions, mse,
// the softmax family) and their row decompositions, the comparison payload,
// and the verifier of `graph.kernel`. Elementwise payloads of the arithmetic
// ops are written next to each op in GraphOps.td.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectImplementation.h"

#include <limits>

using namespace mlir;

namespace kiln::graph {

Value f32Constant(OpBuilder &builder, Location loc, double value) {
  return builder.create<arith::ConstantOp>(loc, builder.getF32FloatAttr(static_cast<float>(value)));
}

namespace {

llvm::ArrayRef<int64_t> shapeOf(Value value) {
  return llvm::cast<ShapedType>(value.getType()).getShape();
}

Value indexConstant(OpBuilder &builder, Location loc, int64_t value) {
  return builder.create<arith::ConstantIndexOp>(loc, value);
}

/// The loops of a row computation over `shape` along `axis`: every dimension parallel but
/// the axis; the operand read at the loop index, the result at `perRow` ? the row : the loop.
IterationSpace rowSpace(MLIRContext *context, llvm::ArrayRef<int64_t> shape, int64_t axis,
                        bool perRow, unsigned operands) {
  IterationSpace space;
  space.kind = IterationKind::Row;
  int64_t rank = static_cast<int64_t>(shape.size());
  for (int64_t d = 0; d < rank; ++d) {
    space.iterators.push_back(d == axis ? IteratorType::Reduced : IteratorType::Parallel);
    space.extents.push_back(shape[d]);
  }
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  llvm::SmallVector<AffineExpr> row;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      row.push_back(getAffineDimExpr(d, context));
  AffineMap rowMap = AffineMap::get(rank, 0, row, context);
  space.operandMaps.push_back(identity);
  for (unsigned i = 1; i < operands; ++i)
    space.operandMaps.push_back(rowMap);
  space.resultMap = perRow ? rowMap : identity;
  return space;
}

/// The loops of a reduction of `shape` over `axes`.
IterationSpace reductionSpace(MLIRContext *context, llvm::ArrayRef<int64_t> shape,
                              llvm::ArrayRef<int64_t> axes, unsigned operands, Combiner combiner) {
  IterationSpace space;
  space.kind = IterationKind::Reduction;
  space.combiner = combiner;
  int64_t rank = static_cast<int64_t>(shape.size());
  llvm::SmallVector<AffineExpr> kept;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    space.iterators.push_back(reduced ? IteratorType::Reduced : IteratorType::Parallel);
    space.extents.push_back(shape[d]);
    if (!reduced)
      kept.push_back(getAffineDimExpr(d, context));
  }
  for (unsigned i = 0; i < operands; ++i)
    space.operandMaps.push_back(AffineMap::getMultiDimIdentityMap(rank, context));
  space.resultMap = AffineMap::get(rank, 0, kept, context);
  return space;
}

/// The statistics of the softmax family: the row's maximum, then the sum of exp(x - max).
llvm::SmallVector<Combiner> softmaxStatistics() { return {Combiner::Max, Combiner::Add}; }

Value softmaxStatisticTerm(OpBuilder &b, Location loc, unsigned statistic, Value element,
                           ValueRange statistics) {
  if (statistic == 0)
    return element;
  return b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, element, statistics[0]));
}

/// log(sum(exp(x))) from the statistics: max + log(sum(exp(x - max))).
Value logSumExp(OpBuilder &b, Location loc, ValueRange statistics) {
  return b.create<arith::AddFOp>(loc, statistics[0], b.create<math::LogOp>(loc, statistics[1]));
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise: the comparison (the other payloads are in GraphOps.td)
//===----------------------------------------------------------------------===//

Value CompareOp::buildScalar(OpBuilder &b, Location loc, ValueRange operands) {
  arith::CmpFPredicate predicate = arith::CmpFPredicate::OEQ;
  switch (getPredicate()) {
  case ComparePredicate::eq:
    predicate = arith::CmpFPredicate::OEQ;
    break;
  case ComparePredicate::ne:
    predicate = arith::CmpFPredicate::UNE;
    break;
  case ComparePredicate::lt:
    predicate = arith::CmpFPredicate::OLT;
    break;
  case ComparePredicate::le:
    predicate = arith::CmpFPredicate::OLE;
    break;
  case ComparePredicate::gt:
    predicate = arith::CmpFPredicate::OGT;
    break;
  case ComparePredicate::ge:
    predicate = arith::CmpFPredicate::OGE;
    break;
  }
  return b.create<arith::CmpFOp>(loc, predicate, operands[0], operands[1]);
}

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

// Operand dimension i is result dimension dims[i], or 0 where the operand has extent 1.
FailureOr<Value> BroadcastOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                           OperandElementFn operandAt) {
  llvm::ArrayRef<int64_t> operandShape = shapeOf(getOperand());
  llvm::SmallVector<Value, 4> operandIndex;
  for (auto [d, resultDim] : llvm::enumerate(getDims()))
    operandIndex.push_back(operandShape[d] == 1 ? indexConstant(b, loc, 0) : index[resultDim]);
  return operandAt(0, operandIndex);
}

AffineMap BroadcastOp::getOperandIndexMap(unsigned) {
  MLIRContext *context = getContext();
  llvm::ArrayRef<int64_t> operandShape = shapeOf(getOperand());
  llvm::SmallVector<AffineExpr> exprs;
  for (auto [d, resultDim] : llvm::enumerate(getDims()))
    exprs.push_back(operandShape[d] == 1 ? getAffineConstantExpr(0, context)
                                         : getAffineDimExpr(resultDim, context));
  return AffineMap::get(getType().getRank(), 0, exprs, context);
}

// Result dimension i is operand dimension perm[i].
FailureOr<Value> TransposeOp::buildElement(OpBuilder &, Location, ValueRange index,
                                           OperandElementFn operandAt) {
  llvm::SmallVector<Value, 4> operandIndex(index.size());
  for (auto [resultDim, source] : llvm::enumerate(getPerm()))
    operandIndex[source] = index[resultDim];
  return operandAt(0, operandIndex);
}

AffineMap TransposeOp::getOperandIndexMap(unsigned) {
  llvm::SmallVector<AffineExpr> exprs(getPerm().size());
  for (auto [resultDim, source] : llvm::enumerate(getPerm()))
    exprs[source] = getAffineDimExpr(resultDim, getContext());
  return AffineMap::get(getPerm().size(), 0, exprs, getContext());
}

// Row-major: the same linear position in both shapes.
FailureOr<Value> ReshapeOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                         OperandElementFn operandAt) {
  llvm::ArrayRef<int64_t> resultShape = getType().getShape();
  Value linear = indexConstant(b, loc, 0);
  int64_t stride = 1;
  for (int64_t d = static_cast<int64_t>(resultShape.size()) - 1; d >= 0; --d) {
    Value term = b.create<arith::MulIOp>(loc, index[d], indexConstant(b, loc, stride));
    linear = b.create<arith::AddIOp>(loc, linear, term);
    stride *= resultShape[d];
  }
  llvm::ArrayRef<int64_t> operandShape = shapeOf(getOperand());
  llvm::SmallVector<Value, 4> operandIndex(operandShape.size());
  for (int64_t d = static_cast<int64_t>(operandShape.size()) - 1; d >= 0; --d) {
    operandIndex[d] = b.create<arith::RemUIOp>(loc, linear, indexConstant(b, loc, operandShape[d]));
    linear = b.create<arith::DivUIOp>(loc, linear, indexConstant(b, loc, operandShape[d]));
  }
  return operandAt(0, operandIndex);
}

AffineMap ReshapeOp::getOperandIndexMap(unsigned) { return {}; }
bool ReshapeOp::aliasesOperand() { return true; }

// result[..., c] = labels[...] == c ? 1 : 0 (a label outside [0, C) gives a row of zeros).
FailureOr<Value> OneHotOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                        OperandElementFn operandAt) {
  FailureOr<Value> label = operandAt(0, index.drop_back());
  if (failed(label))
    return failure();
  Value column = b.create<arith::IndexCastOp>(loc, b.getI32Type(), index.back());
  Value hit = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, *label, column);
  return b.create<arith::SelectOp>(loc, hit, f32Constant(b, loc, 1.0), f32Constant(b, loc, 0.0))
      .getResult();
}

AffineMap OneHotOp::getOperandIndexMap(unsigned) {
  int64_t rank = getType().getRank();
  return AffineMap::getMultiDimIdentityMap(rank, getContext()).getMajorSubMap(rank - 1);
}

bool ConstantOp::isIndexView() {
  auto dense = llvm::dyn_cast<DenseElementsAttr>(getValue());
  return dense && dense.isSplat();
}

FailureOr<Value> ConstantOp::buildElement(OpBuilder &b, Location loc, ValueRange,
                                          OperandElementFn) {
  auto dense = llvm::dyn_cast<DenseElementsAttr>(getValue());
  if (!dense || !dense.isSplat())
    return emitOpError("internal compiler error: a non-splat constant read as a view");
  Type element = dense.getElementType();
  if (element.isF32())
    return f32Constant(b, loc, dense.getSplatValue<APFloat>().convertToFloat());
  if (element.isInteger(1))
    return b.create<arith::ConstantIntOp>(loc, dense.getSplatValue<bool>(), 1).getResult();
  return b.create<arith::ConstantIntOp>(loc, dense.getSplatValue<APInt>().getSExtValue(), 32)
      .getResult();
}

AffineMap ConstantOp::getOperandIndexMap(unsigned) { return {}; }

//===----------------------------------------------------------------------===//
// Iteration spaces
//===----------------------------------------------------------------------===//

// Loops (batch..., m, n, k); lhs (batch..., m, k) or, transposed, (batch..., k, m).
IterationSpace MatmulOp::getIterationSpace() {
  MLIRContext *context = getContext();
  llvm::ArrayRef<int64_t> result = getType().getShape();
  int64_t rank = static_cast<int64_t>(result.size());
  llvm::ArrayRef<int64_t> lhsShape = shapeOf(getLhs());
  int64_t k = getTransposeLhs() ? lhsShape[rank - 2] : lhsShape[rank - 1];
  IterationSpace space;
  space.kind = IterationKind::Contraction;
  for (int64_t d = 0; d < rank; ++d) {
    space.iterators.push_back(IteratorType::Parallel);
    space.extents.push_back(result[d]);
  }
  space.iterators.push_back(IteratorType::Reduced);
  space.extents.push_back(k);
  auto dim = [&](int64_t d) { return getAffineDimExpr(d, context); };
  llvm::SmallVector<AffineExpr> batch, lhs, rhs, out;
  for (int64_t d = 0; d < rank - 2; ++d)
    batch.push_back(dim(d));
  AffineExpr m = dim(rank - 2), n = dim(rank - 1), depth = dim(rank);
  lhs = batch, rhs = batch, out = batch;
  lhs.append(getTransposeLhs() ? llvm::SmallVector<AffineExpr>{depth, m}
                               : llvm::SmallVector<AffineExpr>{m, depth});
  rhs.append(getTransposeRhs() ? llvm::SmallVector<AffineExpr>{n, depth}
                               : llvm::SmallVector<AffineExpr>{depth, n});
  out.append({m, n});
  space.operandMaps = {AffineMap::get(rank + 1, 0, lhs, context),
                       AffineMap::get(rank + 1, 0, rhs, context)};
  space.resultMap = AffineMap::get(rank + 1, 0, out, context);
  return space;
}

IterationSpace ReduceSumOp::getIterationSpace() {
  return reductionSpace(getContext(), shapeOf(getOperand()), getAxes(), 1, Combiner::Add);
}

IterationSpace ReduceMeanOp::getIterationSpace() {
  return reductionSpace(getContext(), shapeOf(getOperand()), getAxes(), 1, Combiner::Add);
}

Value ReduceMeanOp::buildReductionResult(OpBuilder &b, Location loc, Value total, int64_t count) {
  return b.create<arith::DivFOp>(loc, total, f32Constant(b, loc, static_cast<double>(count)));
}

IterationSpace ReduceMaxOp::getIterationSpace() {
  return reductionSpace(getContext(), shapeOf(getOperand()), getAxes(), 1, Combiner::Max);
}

IterationSpace MseOp::getIterationSpace() {
  llvm::ArrayRef<int64_t> shape = shapeOf(getPrediction());
  llvm::SmallVector<int64_t> all;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    all.push_back(d);
  return reductionSpace(getContext(), shape, all, 2, Combiner::Add);
}

Value MseOp::buildReductionTerm(OpBuilder &b, Location loc, ValueRange operands) {
  Value difference = b.create<arith::SubFOp>(loc, operands[0], operands[1]);
  return b.create<arith::MulFOp>(loc, difference, difference);
}

Value MseOp::buildReductionResult(OpBuilder &b, Location loc, Value total, int64_t count) {
  return b.create<arith::DivFOp>(loc, total, f32Constant(b, loc, static_cast<double>(count)));
}

//===----------------------------------------------------------------------===//
// Row computations: the softmax family
//===----------------------------------------------------------------------===//

IterationSpace SoftmaxOp::getIterationSpace() {
  return rowSpace(getContext(), getType().getShape(), getAxis(), false, 1);
}
int64_t SoftmaxOp::getRowAxis() { return getAxis(); }
llvm::SmallVector<Combiner> SoftmaxOp::getRowStatistics() { return softmaxStatistics(); }
Value SoftmaxOp::buildStatisticTerm(OpBuilder &b, Location loc, unsigned statistic, Value element,
                                    ValueRange statistics) {
  return softmaxStatisticTerm(b, loc, statistic, element, statistics);
}
// exp(x - max) / sum.
Value SoftmaxOp::buildRowResult(OpBuilder &b, Location loc, Value element, ValueRange statistics,
                                ValueRange, RowElementFn) {
  Value shifted = b.create<arith::SubFOp>(loc, element, statistics[0]);
  return b.create<arith::DivFOp>(loc, b.create<math::ExpOp>(loc, shifted), statistics[1]);
}

IterationSpace LogSoftmaxOp::getIterationSpace() {
  return rowSpace(getContext(), getType().getShape(), getAxis(), false, 1);
}
int64_t LogSoftmaxOp::getRowAxis() { return getAxis(); }
llvm::SmallVector<Combiner> LogSoftmaxOp::getRowStatistics() { return softmaxStatistics(); }
Value LogSoftmaxOp::buildStatisticTerm(OpBuilder &b, Location loc, unsigned statistic,
                                       Value element, ValueRange statistics) {
  return softmaxStatisticTerm(b, loc, statistic, element, statistics);
}
// x - logsumexp.
Value LogSoftmaxOp::buildRowResult(OpBuilder &b, Location loc, Value element, ValueRange statistics,
                                   ValueRange, RowElementFn) {
  return b.create<arith::SubFOp>(loc, element, logSumExp(b, loc, statistics));
}

IterationSpace SoftmaxCrossEntropyOp::getIterationSpace() {
  llvm::ArrayRef<int64_t> shape = shapeOf(getLogits());
  return rowSpace(getContext(), shape, static_cast<int64_t>(shape.size()) - 1, true, 2);
}
int64_t SoftmaxCrossEntropyOp::getRowAxis() {
  return static_cast<int64_t>(shapeOf(getLogits()).size()) - 1;
}
llvm::SmallVector<Combiner> SoftmaxCrossEntropyOp::getRowStatistics() {
  return softmaxStatistics();
}
Value SoftmaxCrossEntropyOp::buildStatisticTerm(OpBuilder &b, Location loc, unsigned statistic,
                                                Value element, ValueRange statistics) {
  return softmaxStatisticTerm(b, loc, statistic, element, statistics);
}
bool SoftmaxCrossEntropyOp::isPerRow() { return true; }
// logsumexp - x[label]; a label outside [0, C) has no probability: NaN, as on the reference.
Value SoftmaxCrossEntropyOp::buildRowResult(OpBuilder &b, Location loc, Value,
                                            ValueRange statistics, ValueRange rowOperands,
                                            RowElementFn rowElementAt) {
  Value label = rowOperands[0];
  int64_t classes = shapeOf(getLogits()).back();
  Value valid = b.create<arith::AndIOp>(
      loc,
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, label,
                              b.create<arith::ConstantIntOp>(loc, 0, 32)),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, label,
                              b.create<arith::ConstantIntOp>(loc, classes, 32)));
  Value position = b.create<arith::IndexCastOp>(loc, b.getIndexType(), label);
  Value safe = b.create<arith::SelectOp>(loc, valid, position, indexConstant(b, loc, 0));
  Value picked =
      b.create<arith::SelectOp>(loc, valid, rowElementAt(safe),
                                f32Constant(b, loc, std::numeric_limits<double>::quiet_NaN()));
  return b.create<arith::SubFOp>(loc, logSumExp(b, loc, statistics), picked);
}

//===----------------------------------------------------------------------===//
// graph.kernel
//===----------------------------------------------------------------------===//

// #graph.kernel<matmul, layers = ["fc1", "relu1"], ops = 3>; the layer list may be empty.
Attribute KernelAttr::parse(AsmParser &parser, Type) {
  std::string kindName;
  SMLoc kindLoc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeywordOrString(&kindName))
    return {};
  std::optional<KernelKind> kind = symbolizeKernelKind(kindName);
  if (!kind) {
    parser.emitError(kindLoc, "unknown kernel kind '")
        << kindName << "'; expected pointwise, multi_tensor, matmul, reduction, row, "
        << "mask_pack, mask_unpack or attention";
    return {};
  }
  llvm::SmallVector<StringAttr> layers;
  int64_t ops = 0;
  if (parser.parseComma() || parser.parseKeyword("layers") || parser.parseEqual() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     [&]() -> ParseResult {
                                       std::string layer;
                                       if (parser.parseString(&layer))
                                         return failure();
                                       layers.push_back(
                                           StringAttr::get(parser.getContext(), layer));
                                       return success();
                                     }) ||
      parser.parseComma() || parser.parseKeyword("ops") || parser.parseEqual() ||
      parser.parseInteger(ops) || parser.parseGreater())
    return {};
  return KernelAttr::get(parser.getContext(), *kind, layers, ops);
}

void KernelAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyKernelKind(getKind()) << ", layers = [";
  llvm::interleaveComma(getLayers(), printer,
                        [&](StringAttr layer) { printer.printString(layer.getValue()); });
  printer << "], ops = " << getOps() << ">";
}

std::string KernelAttr::getKindName() const {
  switch (getKind()) {
  case KernelKind::multi_tensor:
    return "multi-tensor";
  case KernelKind::mask_pack:
    return "mask-pack";
  case KernelKind::mask_unpack:
    return "mask-unpack";
  default:
    return stringifyKernelKind(getKind()).str();
  }
}

/// Checks a kernel function's body against its kind.
static LogicalResult verifyKernel(func::FuncOp function, KernelAttr kernel) {
  int contractions = 0, reductions = 0, rows = 0, attentions = 0;
  for (Operation &op : function.getBody().front()) {
    if (llvm::isa<AttentionOp, AttentionGradOp>(op)) {
      ++attentions;
      continue;
    }
    if (auto iterating = llvm::dyn_cast<IterationSpaceOpInterface>(op)) {
      IterationKind kind = iterating.getIterationSpace().kind;
      contractions += kind == IterationKind::Contraction;
      reductions += kind == IterationKind::Reduction;
      rows += kind == IterationKind::Row;
      continue;
    }
    if (llvm::isa<ElementwiseOpInterface, IndexViewOpInterface, func::ReturnOp>(op))
      continue;
    return function.emitOpError("is a ")
           << stringifyKernelKind(kernel.getKind()) << " kernel but holds " << op.getName()
           << ", which is neither elementwise, a view nor an op with an iteration space";
  }
  auto expect = [&](bool ok, llvm::StringRef what) -> LogicalResult {
    if (ok)
      return success();
    return function.emitOpError("is a ")
           << stringifyKernelKind(kernel.getKind()) << " kernel, which holds " << what
           << ", but it holds " << contractions << " contraction(s), " << reductions
           << " reduction(s) and " << rows << " row computation(s)";
  };
  switch (kernel.getKind()) {
  case KernelKind::pointwise:
  case KernelKind::multi_tensor:
    return expect(contractions + reductions + rows == 0, "only elementwise ops and views");
  case KernelKind::matmul:
    return expect(contractions == 1 && reductions + rows == 0, "exactly one contraction");
  case KernelKind::reduction:
    return expect(reductions == 1 && contractions + rows == 0, "exactly one reduction");
  case KernelKind::row:
    return expect(contractions == 0 && rows + reductions >= 1,
                  "row computations or row reductions and no contraction");
  case KernelKind::attention:
    if (attentions != 1 || contractions + reductions + rows != 0)
      return function.emitOpError("is an attention kernel, which holds exactly one "
                                  "graph.attention or graph.attention_grad and nothing else "
                                  "that computes, but it holds ")
             << attentions << " attention op(s)";
    return success();
  case KernelKind::mask_pack:
  case KernelKind::mask_unpack:
    return function.emitOpError("cannot be a ")
           << stringifyKernelKind(kernel.getKind())
           << " kernel: mask conversions are emitted by the compiler, never formed";
  }
  return success();
}

LogicalResult GraphDialect::verifyOperationAttribute(Operation *op, NamedAttribute attribute) {
  // The builder's optimizer settings, read by kiln-append-optimizer.
  if (attribute.getName() == "graph.optimizer")
    return success();
  if (attribute.getName() != "graph.kernel")
    return op->emitError("unknown graph dialect attribute '")
           << attribute.getName().getValue() << "' (graph.optimizer and graph.kernel are known)";
  auto kernel = llvm::dyn_cast<KernelAttr>(attribute.getValue());
  if (!kernel)
    return op->emitError("'graph.kernel' must be a #graph.kernel<...> attribute");
  auto function = llvm::dyn_cast<func::FuncOp>(op);
  if (!function || function.isExternal())
    return op->emitError("'graph.kernel' belongs on a func.func with a body (a kernel function)");
  return verifyKernel(function, kernel);
}

} // namespace kiln::graph
