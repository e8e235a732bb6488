//===- GraphIndex.cpp - gather and scatter_add ----------------------------===//
//
// Shape rules (IndexShapes.h; messages name the op, the operand and the
// dimension), gather's element function, scatter_add's iteration space and
// term, and the VJPs, which are each other: gather's table gradient is a
// scatter_add of the result's gradient, scatter_add's updates gradient a
// gather of the result's gradient, and the indices take none.
//
// An index is compared with the extent V of the indexed axis as an unsigned
// 32-bit number, so a negative index is out of range like one >= V; gather
// then reads table row 0 (or nothing when V = 0) and selects 0, so no kernel
// reads outside the table, and scatter_add's term is 0 at every result row.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Dialect/Graph/IndexShapes.h"

#include "TypeText.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Diagnostics.h"

#include <limits>

using namespace mlir;

namespace kiln::graph {
namespace {

FailureOr<RankedTensorType> staticTensor(OptionalLoc loc, StringRef opName, StringRef what,
                                         Type type, bool index) {
  auto tensor = llvm::dyn_cast_or_null<RankedTensorType>(type);
  bool elementOk = tensor && (index ? tensor.getElementType().isSignlessInteger(32)
                                    : tensor.getElementType().isF32());
  if (!tensor || !tensor.hasStaticShape() || !elementOk)
    return emitOptionalError(loc, opName, ": ", what, " must be a static-shaped tensor of ",
                             index ? "i32" : "f32", ", got ",
                             type ? str(type) : std::string("<null>"));
  return tensor;
}

LogicalResult checkAxis(OptionalLoc loc, StringRef opName, StringRef what, RankedTensorType tensor,
                        int64_t axis) {
  if (tensor.getRank() == 0)
    return emitOptionalError(loc, opName, ": the ", what, " ", str(tensor),
                             " has rank 0; it needs an axis to index");
  if (axis < 0 || axis >= tensor.getRank())
    return emitOptionalError(loc, opName, ": axis ", axis, " is out of range for the ", what, " ",
                             str(tensor), " of rank ", tensor.getRank(), " (0 <= axis < ",
                             tensor.getRank(), ")");
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

SmallVector<int64_t> gatheredShape(ArrayRef<int64_t> table, ArrayRef<int64_t> indices,
                                   int64_t axis) {
  SmallVector<int64_t> shape(table.take_front(axis));
  shape.append(indices.begin(), indices.end());
  shape.append(table.begin() + axis + 1, table.end());
  return shape;
}

FailureOr<RankedTensorType> inferGatherType(OptionalLoc loc, Type table, Type indices,
                                            int64_t axis) {
  StringRef opName = "graph.gather";
  auto t = staticTensor(loc, opName, "table", table, /*index=*/false);
  if (failed(t))
    return failure();
  auto i = staticTensor(loc, opName, "indices", indices, /*index=*/true);
  if (failed(i) || failed(checkAxis(loc, opName, "table", *t, axis)))
    return failure();
  if (t->getDimSize(axis) > std::numeric_limits<int32_t>::max())
    return emitOptionalError(loc, opName, ": the table ", str(*t), " has ", t->getDimSize(axis),
                             " rows along axis ", axis, ", more than i32 indices address");
  return RankedTensorType::get(gatheredShape(t->getShape(), i->getShape(), axis),
                               t->getElementType());
}

LogicalResult verifyScatterAdd(OptionalLoc loc, Type updates, Type indices, int64_t axis,
                               Type result) {
  StringRef opName = "graph.scatter_add";
  auto r = staticTensor(loc, opName, "result", result, /*index=*/false);
  if (failed(r))
    return failure();
  auto u = staticTensor(loc, opName, "updates", updates, /*index=*/false);
  if (failed(u))
    return failure();
  auto i = staticTensor(loc, opName, "indices", indices, /*index=*/true);
  if (failed(i) || failed(checkAxis(loc, opName, "result", *r, axis)))
    return failure();
  SmallVector<int64_t> expected = gatheredShape(r->getShape(), i->getShape(), axis);
  auto expectedType = RankedTensorType::get(expected, r->getElementType());
  if (u->getRank() != static_cast<int64_t>(expected.size()))
    return emitOptionalError(loc, opName, ": the updates ", str(*u), " have rank ", u->getRank(),
                             " but the result ", str(*r), " with its dimension ", axis,
                             " replaced by the indices' ", i->getRank(), " dimension(s) ", str(*i),
                             " gives rank ", expected.size(), " (", str(expectedType), ")");
  int64_t k = i->getRank();
  for (int64_t d = 0; d < u->getRank(); ++d) {
    if (u->getDimSize(d) == expected[d])
      continue;
    std::string from = d < axis       ? "result dimension " + std::to_string(d)
                       : d < axis + k ? "indices dimension " + std::to_string(d - axis)
                                      : "result dimension " + std::to_string(d - k + 1);
    return emitOptionalError(loc, opName, ": updates dimension ", d, " is ", u->getDimSize(d),
                             " but must be ", expected[d], " (", from, "); the updates of ",
                             str(*r), " at ", str(*i), " along axis ", axis, " are ",
                             str(expectedType));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Verifiers and type inference
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  FailureOr<RankedTensorType> type =
      inferGatherType(loc, adaptor.getTable().getType(), adaptor.getIndices().getType(),
                      static_cast<int64_t>(adaptor.getAxis()));
  if (failed(type))
    return failure();
  types.push_back(*type);
  return success();
}

LogicalResult ScatterAddOp::verify() {
  return verifyScatterAdd(getLoc(), getUpdates().getType(), getIndices().getType(),
                          static_cast<int64_t>(getAxis()), getType());
}

//===----------------------------------------------------------------------===//
// gather: an index view
//===----------------------------------------------------------------------===//

// result[a, n, b] = 0 <= indices[n] < V ? table[a, indices[n], b] : 0, where the table is
// read at row 0 when the index is out of range (and not at all when V = 0).
FailureOr<Value> GatherOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                        OperandElementFn operandAt) {
  int64_t axis = static_cast<int64_t>(getAxis());
  int64_t k = getIndices().getType().getRank();
  int64_t rows = getTable().getType().getDimSize(axis);
  Value zero = f32Constant(b, loc, 0.0);
  if (rows == 0)
    return zero;
  FailureOr<Value> position = operandAt(1, index.slice(axis, k));
  if (failed(position))
    return failure();
  Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, *position,
                                         b.create<arith::ConstantIntOp>(loc, rows, 32).getResult());
  Value row = b.create<arith::SelectOp>(loc, inside, *position,
                                        b.create<arith::ConstantIntOp>(loc, 0, 32).getResult());
  SmallVector<Value, 4> tableIndex(index.take_front(axis));
  tableIndex.push_back(b.create<arith::IndexCastUIOp>(loc, b.getIndexType(), row));
  tableIndex.append(index.begin() + axis + k, index.end());
  FailureOr<Value> element = operandAt(0, tableIndex);
  if (failed(element))
    return failure();
  return b.create<arith::SelectOp>(loc, inside, *element, zero).getResult();
}

AffineMap GatherOp::getOperandIndexMap(unsigned operand) {
  if (operand == 0)
    return {}; // the table row is data-dependent
  int64_t axis = static_cast<int64_t>(getAxis());
  int64_t k = getIndices().getType().getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = axis; d < axis + k; ++d)
    exprs.push_back(getAffineDimExpr(d, getContext()));
  return AffineMap::get(getType().getRank(), 0, exprs, getContext());
}

//===----------------------------------------------------------------------===//
// scatter_add: an ordered reduction over the index positions
//===----------------------------------------------------------------------===//

// Loops: the result's dimensions (parallel), then the indices' (reduced, in row-major order).
// updates [a, n, b] and indices [n]; the result [a, v, b].
IterationSpace ScatterAddOp::getIterationSpace() {
  MLIRContext *context = getContext();
  int64_t axis = static_cast<int64_t>(getAxis());
  ArrayRef<int64_t> result = getType().getShape();
  ArrayRef<int64_t> indices = getIndices().getType().getShape();
  int64_t rank = static_cast<int64_t>(result.size()), k = static_cast<int64_t>(indices.size());
  IterationSpace space;
  space.kind = IterationKind::Reduction;
  space.combiner = Combiner::Add;
  space.ordered = true;
  for (int64_t extent : result) {
    space.iterators.push_back(IteratorType::Parallel);
    space.extents.push_back(extent);
  }
  for (int64_t extent : indices) {
    space.iterators.push_back(IteratorType::Reduced);
    space.extents.push_back(extent);
  }
  auto dim = [&](int64_t d) { return getAffineDimExpr(d, context); };
  SmallVector<AffineExpr> updates, positions, out;
  for (int64_t d = 0; d < axis; ++d)
    updates.push_back(dim(d));
  for (int64_t d = 0; d < k; ++d) {
    updates.push_back(dim(rank + d));
    positions.push_back(dim(rank + d));
  }
  for (int64_t d = axis + 1; d < rank; ++d)
    updates.push_back(dim(d));
  for (int64_t d = 0; d < rank; ++d)
    out.push_back(dim(d));
  space.operandMaps = {AffineMap::get(rank + k, 0, updates, context),
                       AffineMap::get(rank + k, 0, positions, context)};
  space.resultMap = AffineMap::get(rank + k, 0, out, context);
  return space;
}

// The term of index position n at result row v: updates[a, n, b] when indices[n] == v, else 0
// (an out-of-range index equals no row).
Value ScatterAddOp::buildReductionTermAt(OpBuilder &b, Location loc, ValueRange operands,
                                         ValueRange loopIndex) {
  Value row = b.create<arith::IndexCastUIOp>(loc, b.getI32Type(),
                                             loopIndex[static_cast<int64_t>(getAxis())]);
  Value hit = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, operands[1], row);
  return b.create<arith::SelectOp>(loc, hit, operands[0], f32Constant(b, loc, 0.0)).getResult();
}

//===----------------------------------------------------------------------===//
// VJPs
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Value table =
      b.create<ScatterAddOp>(getLoc(), getTable().getType(), gs[0], getIndices(), getAxisAttr());
  out.assign({table, Value()});
  return success();
}

LogicalResult ScatterAddOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Value updates = b.create<GatherOp>(getLoc(), gs[0], getIndices(), getAxisAttr());
  out.assign({updates, Value()});
  return success();
}

} // namespace kiln::graph
