//===- GraphShapes.cpp - Shape rules of the graph ops ---------------------===//
//
// The single source of shape truth for verifiers, type inference and the
// builder. Messages name the op and the dimension at fault and, where it
// helps, what to do about it.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphShapes.h"

#include "TypeText.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;

namespace kiln::graph {
namespace {

/// The ranked tensor behind `type`, or a diagnostic naming `what`.
FailureOr<RankedTensorType> rankedTensor(OptionalLoc loc, StringRef opName, StringRef what,
                                         Type type) {
  auto tensor = llvm::dyn_cast_or_null<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return emitOptionalError(loc, opName, ": ", what, " must be a static-shaped tensor, got ",
                             type ? str(type) : std::string("<null>"));
  return tensor;
}

FailureOr<RankedTensorType> floatTensor(OptionalLoc loc, StringRef opName, StringRef what,
                                        Type type) {
  auto tensor = rankedTensor(loc, opName, what, type);
  if (failed(tensor))
    return failure();
  if (!tensor->getElementType().isF32())
    return emitOptionalError(loc, opName, ": ", what, " must have f32 elements, got ",
                             str(*tensor));
  return tensor;
}

} // namespace

FailureOr<RankedTensorType> inferElementwiseType(OptionalLoc loc, StringRef opName, Type lhs,
                                                 Type rhs) {
  auto l = floatTensor(loc, opName, "lhs", lhs);
  auto r = floatTensor(loc, opName, "rhs", rhs);
  if (failed(l) || failed(r))
    return failure();
  if (*l != *r)
    return emitOptionalError(loc, opName, ": lhs is ", str(*l), " but rhs is ", str(*r),
                             "; operands must have one shape (broadcast one of them first)");
  return *l;
}

FailureOr<RankedTensorType> inferCompareType(OptionalLoc loc, Type lhs, Type rhs) {
  auto type = inferElementwiseType(loc, "graph.compare", lhs, rhs);
  if (failed(type))
    return failure();
  return RankedTensorType::get(type->getShape(), IntegerType::get(type->getContext(), 1));
}

FailureOr<RankedTensorType> inferSelectType(OptionalLoc loc, Type condition, Type onTrue,
                                            Type onFalse) {
  auto type = inferElementwiseType(loc, "graph.select", onTrue, onFalse);
  auto mask = rankedTensor(loc, "graph.select", "condition", condition);
  if (failed(type) || failed(mask))
    return failure();
  if (!mask->getElementType().isInteger(1))
    return emitOptionalError(loc, "graph.select: condition must have i1 elements, got ",
                             str(*mask));
  if (mask->getShape() != type->getShape())
    return emitOptionalError(loc, "graph.select: condition is ", str(*mask),
                             " but the branches are ", str(*type));
  return *type;
}

FailureOr<RankedTensorType> inferMatmulType(OptionalLoc loc, Type lhs, Type rhs, bool transposeLhs,
                                            bool transposeRhs) {
  StringRef op = "graph.matmul";
  auto l = floatTensor(loc, op, "lhs", lhs);
  auto r = floatTensor(loc, op, "rhs", rhs);
  if (failed(l) || failed(r))
    return failure();
  if (l->getRank() < 2 || r->getRank() < 2)
    return emitOptionalError(loc, op, ": operands must have rank 2 or more, got ", str(*l), " and ",
                             str(*r));
  if (l->getRank() != r->getRank())
    return emitOptionalError(loc, op, ": lhs has rank ", l->getRank(), " but rhs has rank ",
                             r->getRank());
  int64_t rank = l->getRank();
  ArrayRef<int64_t> ls = l->getShape(), rs = r->getShape();
  for (int64_t i = 0; i < rank - 2; ++i)
    if (ls[i] != rs[i])
      return emitOptionalError(loc, op, ": batch dimension ", i, " is ", ls[i], " in lhs but ",
                               rs[i], " in rhs");
  int64_t m = transposeLhs ? ls[rank - 1] : ls[rank - 2];
  int64_t lhsK = transposeLhs ? ls[rank - 2] : ls[rank - 1];
  int64_t rhsK = transposeRhs ? rs[rank - 1] : rs[rank - 2];
  int64_t n = transposeRhs ? rs[rank - 2] : rs[rank - 1];
  if (lhsK != rhsK)
    return emitOptionalError(loc, op, ": lhs", transposeLhs ? " (transposed)" : "", " has ", lhsK,
                             " columns but rhs", transposeRhs ? " (transposed)" : "", " has ", rhsK,
                             " rows");
  SmallVector<int64_t> shape(ls.begin(), ls.end() - 2);
  shape.push_back(m);
  shape.push_back(n);
  return RankedTensorType::get(shape, l->getElementType());
}

FailureOr<RankedTensorType> inferTransposeType(OptionalLoc loc, Type operand,
                                               ArrayRef<int64_t> perm) {
  StringRef op = "graph.transpose";
  auto t = floatTensor(loc, op, "operand", operand);
  if (failed(t))
    return failure();
  if (static_cast<int64_t>(perm.size()) != t->getRank())
    return emitOptionalError(loc, op, ": perm has ", perm.size(),
                             " entries but the operand has rank ", t->getRank());
  llvm::SmallBitVector seen(t->getRank());
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= t->getRank() || seen.test(p))
      return emitOptionalError(loc, op, ": perm entry ", p,
                               " is out of range or repeated; perm must be a permutation of 0..",
                               t->getRank() - 1);
    seen.set(p);
    shape.push_back(t->getDimSize(p));
  }
  return RankedTensorType::get(shape, t->getElementType());
}

FailureOr<RankedTensorType> inferReduceType(OptionalLoc loc, StringRef opName, Type operand,
                                            ArrayRef<int64_t> axes) {
  auto t = floatTensor(loc, opName, "operand", operand);
  if (failed(t))
    return failure();
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (axis < 0 || axis >= t->getRank())
      return emitOptionalError(loc, opName, ": axis ", axis, " is out of range for rank ",
                               t->getRank());
    if (i > 0 && axes[i - 1] >= axis)
      return emitOptionalError(loc, opName, ": axes must be sorted and distinct, got ", axes[i - 1],
                               " before ", axis);
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t->getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      shape.push_back(t->getDimSize(d));
  return RankedTensorType::get(shape, t->getElementType());
}

FailureOr<RankedTensorType> inferSoftmaxType(OptionalLoc loc, StringRef opName, Type operand,
                                             int64_t axis) {
  auto t = floatTensor(loc, opName, "operand", operand);
  if (failed(t))
    return failure();
  if (axis < 0 || axis >= t->getRank())
    return emitOptionalError(loc, opName, ": axis ", axis, " is out of range for rank ",
                             t->getRank());
  return *t;
}

FailureOr<RankedTensorType> inferSoftmaxCrossEntropyType(OptionalLoc loc, Type logits,
                                                         Type labels) {
  StringRef op = "graph.softmax_cross_entropy";
  auto l = floatTensor(loc, op, "logits", logits);
  auto y = rankedTensor(loc, op, "labels", labels);
  if (failed(l) || failed(y))
    return failure();
  if (l->getRank() != 2)
    return emitOptionalError(loc, op, ": logits must be [batch, classes], got ", str(*l));
  if (!y->getElementType().isInteger(32) || y->getRank() != 1)
    return emitOptionalError(loc, op, ": labels must be [batch] of i32 class indices, got ",
                             str(*y));
  if (y->getDimSize(0) != l->getDimSize(0))
    return emitOptionalError(loc, op, ": logits have batch ", l->getDimSize(0),
                             " but labels have batch ", y->getDimSize(0));
  return RankedTensorType::get({l->getDimSize(0)}, l->getElementType());
}

FailureOr<RankedTensorType> inferMseType(OptionalLoc loc, Type prediction, Type target) {
  auto type = inferElementwiseType(loc, "graph.mse", prediction, target);
  if (failed(type))
    return failure();
  return RankedTensorType::get({}, type->getElementType());
}

LogicalResult verifyBroadcast(OptionalLoc loc, Type operand, ArrayRef<int64_t> dims, Type result) {
  StringRef op = "graph.broadcast";
  auto in = floatTensor(loc, op, "operand", operand);
  auto out = floatTensor(loc, op, "result", result);
  if (failed(in) || failed(out))
    return failure();
  if (static_cast<int64_t>(dims.size()) != in->getRank())
    return emitOptionalError(loc, op, ": dims has ", dims.size(),
                             " entries but the operand has rank ", in->getRank());
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= out->getRank())
      return emitOptionalError(loc, op, ": dims[", i, "] = ", d,
                               " is out of range for a result of rank ", out->getRank());
    if (i > 0 && dims[i - 1] >= d)
      return emitOptionalError(loc, op, ": dims must be strictly increasing, got ", dims[i - 1],
                               " before ", d);
    int64_t from = in->getDimSize(i), to = out->getDimSize(d);
    if (from != to && from != 1)
      return emitOptionalError(loc, op, ": operand dimension ", i, " is ", from,
                               " but result dimension ", d, " is ", to, "; it must match or be 1");
  }
  return success();
}

FailureOr<SmallVector<int64_t>> numpyBroadcastDims(OptionalLoc loc, StringRef opName,
                                                   RankedTensorType from,
                                                   ArrayRef<int64_t> toShape) {
  int64_t offset = static_cast<int64_t>(toShape.size()) - from.getRank();
  if (offset < 0)
    return emitOptionalError(loc, opName, ": cannot broadcast ", str(from), " to rank ",
                             toShape.size());
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < from.getRank(); ++i) {
    int64_t size = from.getDimSize(i), target = toShape[i + offset];
    if (size != target && size != 1)
      return emitOptionalError(loc, opName, ": dimension ", i, " of ", str(from), " is ", size,
                               " but must be ", target, " or 1 to broadcast");
    dims.push_back(i + offset);
  }
  return dims;
}

LogicalResult verifyReshape(OptionalLoc loc, Type operand, Type result) {
  StringRef op = "graph.reshape";
  auto in = floatTensor(loc, op, "operand", operand);
  auto out = floatTensor(loc, op, "result", result);
  if (failed(in) || failed(out))
    return failure();
  if (in->getNumElements() != out->getNumElements())
    return emitOptionalError(loc, op, ": ", str(*in), " has ", in->getNumElements(),
                             " elements but ", str(*out), " has ", out->getNumElements());
  return success();
}

LogicalResult verifyOneHot(OptionalLoc loc, Type labels, Type result) {
  StringRef op = "graph.one_hot";
  auto y = rankedTensor(loc, op, "labels", labels);
  auto out = floatTensor(loc, op, "result", result);
  if (failed(y) || failed(out))
    return failure();
  if (!y->getElementType().isInteger(32))
    return emitOptionalError(loc, op, ": labels must have i32 elements, got ", str(*y));
  if (out->getRank() != y->getRank() + 1 || out->getShape().drop_back() != y->getShape())
    return emitOptionalError(loc, op,
                             ": result must be the labels' shape plus a class "
                             "dimension, got ",
                             str(*y), " to ", str(*out));
  return success();
}

} // namespace kiln::graph
