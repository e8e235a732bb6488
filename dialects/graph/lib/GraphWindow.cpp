//===- GraphWindow.cpp - pad, slice, concat, window, unwindow, iota -------===//
//
// Shape rules (WindowShapes.h; messages name the op, the attribute and the
// dimension), element functions and VJPs of the window views.
//
// The views close over each other under differentiation: pad and strided
// slice are each other's adjoint (XLA's interior padding makes the strided
// slice's adjoint a pad), concat's is slices, and the per-tap window and
// unwindow are adjoints of each other; the plain window's gradient is a sum
// over the taps of unwindow. Every element function reads its operands at
// in-bounds indices only (an index that falls in padding or outside every
// window is replaced by 0 before the read and the fill value selected after),
// so a kernel never reads outside a buffer.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Dialect/Graph/WindowShapes.h"

#include "TypeText.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kiln::graph {
namespace {

std::string list(ArrayRef<int64_t> values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

FailureOr<RankedTensorType> floatTensor(OptionalLoc loc, StringRef opName, StringRef what,
                                        Type type) {
  auto tensor = llvm::dyn_cast_or_null<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() || !tensor.getElementType().isF32())
    return emitOptionalError(loc, opName, ": ", what,
                             " must be a static-shaped tensor of f32, got ",
                             type ? str(type) : std::string("<null>"));
  return tensor;
}

/// Checks that attribute `name` has one entry per dimension of a rank-`rank` operand, each
/// at least `minimum`.
LogicalResult checkPerDim(OptionalLoc loc, StringRef opName, StringRef name,
                          ArrayRef<int64_t> values, int64_t rank, int64_t minimum,
                          StringRef what = "operand dimension") {
  if (static_cast<int64_t>(values.size()) != rank)
    return emitOptionalError(loc, opName, ": ", name, " has ", values.size(),
                             " entries but there are ", rank, " ", what, "s (one entry each)");
  for (auto [d, value] : llvm::enumerate(values))
    if (value < minimum)
      return emitOptionalError(loc, opName, ": ", name, "[", d, "] (", what, " ", d, ") is ", value,
                               "; it must be >= ", minimum);
  return success();
}

/// Index arithmetic for element functions: index-typed arith ops, omitting the identity ones.
struct Idx {
  OpBuilder &b;
  Location loc;

  Value c(int64_t value) { return b.create<arith::ConstantIndexOp>(loc, value); }
  Value add(Value lhs, int64_t rhs) {
    return rhs == 0 ? lhs : b.create<arith::AddIOp>(loc, lhs, c(rhs)).getResult();
  }
  Value add(Value lhs, Value rhs) { return b.create<arith::AddIOp>(loc, lhs, rhs); }
  Value sub(Value lhs, int64_t rhs) {
    return rhs == 0 ? lhs : b.create<arith::SubIOp>(loc, lhs, c(rhs)).getResult();
  }
  Value sub(Value lhs, Value rhs) { return b.create<arith::SubIOp>(loc, lhs, rhs); }
  Value mul(Value lhs, int64_t rhs) {
    return rhs == 1 ? lhs : b.create<arith::MulIOp>(loc, lhs, c(rhs)).getResult();
  }
  Value div(Value lhs, int64_t rhs) {
    return rhs == 1 ? lhs : b.create<arith::DivUIOp>(loc, lhs, c(rhs)).getResult();
  }
  Value rem(Value lhs, int64_t rhs) { return b.create<arith::RemUIOp>(loc, lhs, c(rhs)); }
  Value cmp(arith::CmpIPredicate predicate, Value lhs, Value rhs) {
    return b.create<arith::CmpIOp>(loc, predicate, lhs, rhs);
  }
  /// 0 <= value < limit for a value that may be negative (a position left of the first): one
  /// unsigned comparison, as a negative value wraps above every limit.
  Value inRange(Value value, int64_t limit) {
    return cmp(arith::CmpIPredicate::ult, value, c(limit));
  }
  /// `lhs && rhs`, where a null operand is true.
  Value both(Value lhs, Value rhs) {
    if (!lhs)
      return rhs;
    if (!rhs)
      return lhs;
    return b.create<arith::AndIOp>(loc, lhs, rhs);
  }
  Value select(Value condition, Value onTrue, Value onFalse) {
    return b.create<arith::SelectOp>(loc, condition, onTrue, onFalse);
  }
};

ArrayRef<int64_t> shapeOf(Value value) {
  return llvm::cast<ShapedType>(value.getType()).getShape();
}

/// The number of operand elements along a padded dimension: low + high + n + (n - 1) interior.
int64_t paddedExtent(int64_t n, int64_t low, int64_t high, int64_t interior) {
  return low + high + n + (n > 0 ? (n - 1) * interior : 0);
}

} // namespace

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> inferPadType(OptionalLoc loc, Type operand, ArrayRef<int64_t> low,
                                         ArrayRef<int64_t> high, ArrayRef<int64_t> interior) {
  StringRef opName = "graph.pad";
  auto x = floatTensor(loc, opName, "operand", operand);
  if (failed(x))
    return failure();
  int64_t rank = x->getRank();
  if (failed(checkPerDim(loc, opName, "low", low, rank, 0)) ||
      failed(checkPerDim(loc, opName, "high", high, rank, 0)) ||
      failed(checkPerDim(loc, opName, "interior", interior, rank, 0)))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(paddedExtent(x->getDimSize(d), low[d], high[d], interior[d]));
  return RankedTensorType::get(shape, x->getElementType());
}

LogicalResult verifySlice(OptionalLoc loc, Type operand, ArrayRef<int64_t> start,
                          ArrayRef<int64_t> stride, Type result) {
  StringRef opName = "graph.slice";
  auto x = floatTensor(loc, opName, "operand", operand);
  auto y = floatTensor(loc, opName, "result", result);
  if (failed(x) || failed(y))
    return failure();
  int64_t rank = x->getRank();
  if (y->getRank() != rank)
    return emitOptionalError(loc, opName, ": the result ", str(*y), " has rank ", y->getRank(),
                             " but the operand ", str(*x), " has rank ", rank);
  if (failed(checkPerDim(loc, opName, "start", start, rank, 0)) ||
      failed(checkPerDim(loc, opName, "stride", stride, rank, 1)))
    return failure();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = x->getDimSize(d), size = y->getDimSize(d);
    if (size == 0)
      continue;
    int64_t last = start[d] + (size - 1) * stride[d];
    if (last >= n)
      return emitOptionalError(loc, opName, ": dimension ", d, " takes ", size,
                               " elements from start ", start[d], " with stride ", stride[d],
                               ", the last at ", last, ", but the operand has ", n,
                               " there (operand ", str(*x), ", result ", str(*y), ")");
  }
  return success();
}

FailureOr<RankedTensorType> inferConcatType(OptionalLoc loc, TypeRange parts, int64_t axis) {
  StringRef opName = "graph.concat";
  if (parts.empty())
    return emitOptionalError(loc, opName, ": needs at least one operand");
  auto first = floatTensor(loc, opName, "operand 0", parts.front());
  if (failed(first))
    return failure();
  int64_t rank = first->getRank();
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, opName, ": axis ", axis, " is out of range for operands of rank ",
                             rank);
  SmallVector<int64_t> shape(first->getShape());
  shape[axis] = 0;
  for (auto [i, type] : llvm::enumerate(parts)) {
    auto part = floatTensor(loc, opName, "operand " + std::to_string(i), type);
    if (failed(part))
      return failure();
    if (part->getRank() != rank)
      return emitOptionalError(loc, opName, ": operand ", i, " ", str(*part), " has rank ",
                               part->getRank(), " but operand 0 ", str(*first), " has rank ", rank);
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && part->getDimSize(d) != first->getDimSize(d))
        return emitOptionalError(loc, opName, ": operand ", i, " ", str(*part), " has ",
                                 part->getDimSize(d), " in dimension ", d, " but operand 0 ",
                                 str(*first), " has ", first->getDimSize(d), "; only the axis (",
                                 axis, ") may differ");
    shape[axis] += part->getDimSize(axis);
  }
  return RankedTensorType::get(shape, first->getElementType());
}

FailureOr<int64_t> windowCount(int64_t extent, int64_t window, int64_t stride, int64_t dilation) {
  int64_t span = dilation * (window - 1) + 1;
  if (window < 1 || stride < 1 || dilation < 1 || extent < span)
    return failure();
  return (extent - span) / stride + 1;
}

namespace {

/// The attributes' common checks: k = window.size() >= 1 entries each, all >= 1, and an
/// operand of rank >= `minimumRank(k)`.
LogicalResult checkWindowAttributes(OptionalLoc loc, StringRef opName, ArrayRef<int64_t> window,
                                    ArrayRef<int64_t> stride, ArrayRef<int64_t> dilation) {
  int64_t k = static_cast<int64_t>(window.size());
  if (k == 0)
    return emitOptionalError(loc, opName,
                             ": window is empty; name one size per windowed "
                             "(trailing) dimension");
  if (failed(checkPerDim(loc, opName, "window", window, k, 1, "windowed dimension")) ||
      failed(checkPerDim(loc, opName, "stride", stride, k, 1, "windowed dimension")) ||
      failed(checkPerDim(loc, opName, "dilation", dilation, k, 1, "windowed dimension")))
    return failure();
  return success();
}

/// The window count of spatial dimension `i` (operand dimension `dim`) of extent `extent`.
FailureOr<int64_t> spatialCount(OptionalLoc loc, StringRef opName, int64_t i, int64_t dim,
                                int64_t extent, ArrayRef<int64_t> window, ArrayRef<int64_t> stride,
                                ArrayRef<int64_t> dilation, StringRef whose) {
  FailureOr<int64_t> count = windowCount(extent, window[i], stride[i], dilation[i]);
  if (failed(count))
    return emitOptionalError(loc, opName, ": ", whose, " dimension ", dim, " (windowed dimension ",
                             i, ") has ", extent, " elements, fewer than the dilated window ",
                             dilation[i] * (window[i] - 1) + 1, " (window ", window[i],
                             ", dilation ", dilation[i], ")");
  return count;
}

} // namespace

FailureOr<RankedTensorType> inferWindowType(OptionalLoc loc, Type operand, ArrayRef<int64_t> window,
                                            ArrayRef<int64_t> stride, ArrayRef<int64_t> dilation) {
  StringRef opName = "graph.window";
  auto x = floatTensor(loc, opName, "operand", operand);
  if (failed(x) || failed(checkWindowAttributes(loc, opName, window, stride, dilation)))
    return failure();
  int64_t k = static_cast<int64_t>(window.size()), rank = x->getRank();
  if (rank < k)
    return emitOptionalError(loc, opName, ": the operand ", str(*x), " has rank ", rank,
                             ", fewer than the ", k, " windowed dimensions");
  SmallVector<int64_t> shape(x->getShape().drop_back(k));
  for (int64_t i = 0; i < k; ++i) {
    FailureOr<int64_t> count =
        spatialCount(loc, opName, i, rank - k + i, x->getDimSize(rank - k + i), window, stride,
                     dilation, "operand");
    if (failed(count))
      return failure();
    shape.push_back(*count);
  }
  shape.append(window.begin(), window.end());
  return RankedTensorType::get(shape, x->getElementType());
}

LogicalResult verifyWindow(OptionalLoc loc, StringRef opName, Type operand,
                           ArrayRef<int64_t> window, ArrayRef<int64_t> stride,
                           ArrayRef<int64_t> dilation, Type result) {
  auto x = floatTensor(loc, opName, "operand", operand);
  auto y = floatTensor(loc, opName, "result", result);
  if (failed(x) || failed(y) ||
      failed(checkWindowAttributes(loc, opName, window, stride, dilation)))
    return failure();
  int64_t k = static_cast<int64_t>(window.size());
  bool unwindow = opName == "graph.unwindow";
  bool plain = !unwindow && y->getRank() == x->getRank() + k;
  if (!plain && y->getRank() != x->getRank())
    return emitOptionalError(loc, opName, ": the result ", str(*y), " has rank ", y->getRank(),
                             " but the operand ", str(*x), " has rank ", x->getRank(),
                             unwindow ? "; they must be equal ([..., O, K] -> [..., S, K])"
                                      : "; expected operand rank + window size (plain form) or "
                                        "the operand's rank (per-tap form)");
  // The spatial tensor [..., S(, K)] and the windowed one [..., O, K].
  RankedTensorType spatial = unwindow ? *y : *x, windowed = unwindow ? *x : *y;
  StringRef spatialName = unwindow ? "result" : "operand",
            windowedName = unwindow ? "operand" : "result";
  int64_t batch = windowed.getRank() - 2 * k;
  if (batch < 0)
    return emitOptionalError(loc, opName, ": the ", windowedName, " ", str(windowed), " has rank ",
                             windowed.getRank(), ", fewer than 2 x ", k,
                             " (window positions and taps)");
  for (int64_t d = 0; d < batch; ++d)
    if (spatial.getDimSize(d) != windowed.getDimSize(d))
      return emitOptionalError(loc, opName, ": dimension ", d, " (not windowed) is ",
                               spatial.getDimSize(d), " in the ", spatialName, " ", str(spatial),
                               " but ", windowed.getDimSize(d), " in the ", windowedName, " ",
                               str(windowed));
  for (int64_t i = 0; i < k; ++i) {
    int64_t tapDim = batch + k + i;
    if (windowed.getDimSize(tapDim) != window[i])
      return emitOptionalError(loc, opName, ": ", windowedName, " dimension ", tapDim,
                               " (the taps of windowed dimension ", i, ") is ",
                               windowed.getDimSize(tapDim), " but window[", i, "] is ", window[i]);
    if (!plain && spatial.getDimSize(tapDim) != window[i])
      return emitOptionalError(loc, opName, ": ", spatialName, " dimension ", tapDim,
                               " (the taps of windowed dimension ", i, ") is ",
                               spatial.getDimSize(tapDim), " but window[", i, "] is ", window[i]);
    FailureOr<int64_t> count =
        spatialCount(loc, opName, i, batch + i, spatial.getDimSize(batch + i), window, stride,
                     dilation, spatialName);
    if (failed(count))
      return failure();
    if (windowed.getDimSize(batch + i) != *count)
      return emitOptionalError(
          loc, opName, ": ", windowedName, " dimension ", batch + i,
          " (the windows of windowed dimension ", i, ") is ", windowed.getDimSize(batch + i),
          " but ", spatial.getDimSize(batch + i), " elements (", spatialName, " dimension ",
          batch + i, ") give ", *count, " windows of ", window[i], " with stride ", stride[i],
          " and dilation ", dilation[i]);
  }
  return success();
}

LogicalResult verifyIota(OptionalLoc loc, ArrayRef<int64_t> dims, Type result) {
  StringRef opName = "graph.iota";
  auto y = floatTensor(loc, opName, "result", result);
  if (failed(y))
    return failure();
  int64_t count = 1;
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= y->getRank())
      return emitOptionalError(loc, opName, ": dims[", i, "] = ", d,
                               " is out of range for the result ", str(*y));
    if (i > 0 && d <= dims[i - 1])
      return emitOptionalError(loc, opName, ": dims ", list(dims), " must be sorted and distinct");
    count *= y->getDimSize(d);
  }
  if (count > (int64_t{1} << 24))
    return emitOptionalError(loc, opName, ": dims ", list(dims), " number ", count,
                             " positions, more than f32 counts exactly (2^24)");
  return success();
}

//===----------------------------------------------------------------------===//
// Verifiers and type inference
//===----------------------------------------------------------------------===//

static LogicalResult single(FailureOr<RankedTensorType> type, SmallVectorImpl<Type> &types) {
  if (failed(type))
    return failure();
  types.push_back(*type);
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  return single(inferPadType(loc, adaptor.getOperand().getType(), adaptor.getLow(),
                             adaptor.getHigh(), adaptor.getInterior()),
                types);
}

LogicalResult SliceOp::verify() {
  return verifySlice(getLoc(), getOperand().getType(), getStart(), getStride(), getType());
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return single(inferConcatType(loc, adaptor.getParts().getTypes(), adaptor.getAxis()), types);
}

LogicalResult WindowOp::verify() {
  return verifyWindow(getLoc(), getOperationName(), getOperand().getType(), getWindow(),
                      getStride(), getDilation(), getType());
}

LogicalResult UnwindowOp::verify() {
  return verifyWindow(getLoc(), getOperationName(), getOperand().getType(), getWindow(),
                      getStride(), getDilation(), getType());
}

LogicalResult IotaOp::verify() { return verifyIota(getLoc(), getDims(), getType()); }

//===----------------------------------------------------------------------===//
// Element functions
//===----------------------------------------------------------------------===//

// Per dimension: j = i - low lands on operand element j / (interior + 1) when 0 <= j, j is
// a multiple of interior + 1 and the quotient is below n; anywhere else is padding.
FailureOr<Value> PadOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                     OperandElementFn operandAt) {
  Idx m{b, loc};
  Value fill = f32Constant(b, loc, getValue().convertToDouble());
  ArrayRef<int64_t> shape = shapeOf(getOperand());
  if (llvm::is_contained(shape, 0))
    return fill;
  SmallVector<Value, 4> operandIndex;
  Value inside;
  for (auto [d, n] : llvm::enumerate(shape)) {
    int64_t low = getLow()[d], high = getHigh()[d], step = getInterior()[d] + 1;
    if (low == 0 && high == 0 && step == 1) {
      operandIndex.push_back(index[d]);
      continue;
    }
    Value j = m.sub(index[d], low);
    Value valid = m.inRange(j, (n - 1) * step + 1);
    if (step > 1)
      valid = m.both(valid, m.cmp(arith::CmpIPredicate::eq, m.rem(j, step), m.c(0)));
    inside = m.both(inside, valid);
    operandIndex.push_back(m.select(valid, m.div(j, step), m.c(0)));
  }
  FailureOr<Value> element = operandAt(0, operandIndex);
  if (failed(element) || !inside)
    return element;
  return m.select(inside, *element, fill);
}

AffineMap PadOp::getOperandIndexMap(unsigned) {
  if (llvm::any_of(getInterior(), [](int64_t gap) { return gap != 0; }))
    return {};
  SmallVector<AffineExpr> exprs;
  for (auto [d, low] : llvm::enumerate(getLow()))
    exprs.push_back(getAffineDimExpr(d, getContext()) - low);
  return AffineMap::get(getLow().size(), 0, exprs, getContext());
}

FailureOr<Value> SliceOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                       OperandElementFn operandAt) {
  Idx m{b, loc};
  SmallVector<Value, 4> operandIndex;
  for (auto [d, i] : llvm::enumerate(index))
    operandIndex.push_back(m.add(m.mul(i, getStride()[d]), getStart()[d]));
  return operandAt(0, operandIndex);
}

AffineMap SliceOp::getOperandIndexMap(unsigned) {
  SmallVector<AffineExpr> exprs;
  for (auto [d, start] : llvm::enumerate(getStart()))
    exprs.push_back(getAffineDimExpr(d, getContext()) * getStride()[d] + start);
  return AffineMap::get(getStart().size(), 0, exprs, getContext());
}

// Each part is read at its own (clamped) index and the part that holds the position chosen.
FailureOr<Value> ConcatOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                        OperandElementFn operandAt) {
  Idx m{b, loc};
  int64_t axis = getAxis(), offset = 0;
  Value result;
  for (auto [p, part] : llvm::enumerate(getParts())) {
    int64_t size = shapeOf(part)[axis];
    SmallVector<Value, 4> partIndex(index.begin(), index.end());
    Value local = m.sub(index[axis], offset);
    Value inside = p == 0 ? Value() : m.inRange(local, size);
    if (inside)
      local = m.select(inside, local, m.c(0));
    else if (getParts().size() > 1)
      // The first part is the fallback: clamp its index into range for positions past it.
      local = m.select(m.cmp(arith::CmpIPredicate::ult, local, m.c(size)), local, m.c(0));
    partIndex[axis] = local;
    FailureOr<Value> element = operandAt(p, partIndex);
    if (failed(element))
      return failure();
    result = inside ? m.select(inside, *element, result) : *element;
    offset += size;
  }
  return result;
}

AffineMap ConcatOp::getOperandIndexMap(unsigned operand) {
  int64_t axis = getAxis(), offset = 0;
  for (unsigned p = 0; p < operand; ++p)
    offset += shapeOf(getParts()[p])[axis];
  int64_t rank = getType().getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, getContext()) - (d == axis ? offset : 0));
  return AffineMap::get(rank, 0, exprs, getContext());
}

namespace {

/// The operand index of a window's result element [..., o, q]: [..., o*s + q*d] (plain) or
/// [..., o*s + q*d, q] (per-tap), as index values or as affine expressions.
template <typename Index, typename Mul, typename Add>
SmallVector<Index, 8> windowOperandIndex(ArrayRef<Index> result, int64_t operandRank,
                                         ArrayRef<int64_t> stride, ArrayRef<int64_t> dilation,
                                         Mul mul, Add add) {
  int64_t k = static_cast<int64_t>(stride.size());
  int64_t batch = static_cast<int64_t>(result.size()) - 2 * k;
  SmallVector<Index, 8> out(result.begin(), result.begin() + batch);
  for (int64_t i = 0; i < k; ++i)
    out.push_back(add(mul(result[batch + i], stride[i]), mul(result[batch + k + i], dilation[i])));
  if (operandRank == static_cast<int64_t>(result.size()))
    out.append(result.begin() + batch + k, result.end());
  return out;
}

} // namespace

FailureOr<Value> WindowOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                        OperandElementFn operandAt) {
  Idx m{b, loc};
  SmallVector<Value, 4> result(index.begin(), index.end());
  SmallVector<Value, 8> operandIndex = windowOperandIndex<Value>(
      result, getOperand().getType().getRank(), getStride(), getDilation(),
      [&](Value v, int64_t f) { return m.mul(v, f); },
      [&](Value l, Value r) { return m.add(l, r); });
  return operandAt(0, operandIndex);
}

AffineMap WindowOp::getOperandIndexMap(unsigned) {
  int64_t rank = getType().getRank();
  SmallVector<AffineExpr, 8> dims;
  for (int64_t d = 0; d < rank; ++d)
    dims.push_back(getAffineDimExpr(d, getContext()));
  SmallVector<AffineExpr, 8> exprs = windowOperandIndex<AffineExpr>(
      dims, getOperand().getType().getRank(), getStride(), getDilation(),
      [](AffineExpr e, int64_t f) { return e * f; },
      [](AffineExpr l, AffineExpr r) { return l + r; });
  return AffineMap::get(rank, 0, exprs, getContext());
}

// result[..., y, q] = operand[..., (y - q*d) / s, q] where y - q*d = o*s with 0 <= o < O.
FailureOr<Value> UnwindowOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                          OperandElementFn operandAt) {
  Idx m{b, loc};
  int64_t k = static_cast<int64_t>(getWindow().size());
  int64_t batch = getType().getRank() - 2 * k;
  ArrayRef<int64_t> windows = shapeOf(getOperand()).slice(batch, k);
  SmallVector<Value, 8> operandIndex(index.begin(), index.end());
  Value inside;
  for (int64_t i = 0; i < k; ++i) {
    int64_t s = getStride()[i];
    Value t = m.sub(index[batch + i], m.mul(index[batch + k + i], getDilation()[i]));
    Value valid = m.inRange(t, (windows[i] - 1) * s + 1);
    if (s > 1)
      valid = m.both(valid, m.cmp(arith::CmpIPredicate::eq, m.rem(t, s), m.c(0)));
    inside = m.both(inside, valid);
    operandIndex[batch + i] = m.select(valid, m.div(t, s), m.c(0));
  }
  FailureOr<Value> element = operandAt(0, operandIndex);
  if (failed(element))
    return failure();
  return m.select(inside, *element, f32Constant(b, loc, 0.0));
}

AffineMap UnwindowOp::getOperandIndexMap(unsigned) { return {}; }

namespace {

bool isZeroSplat(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  auto dense = constant ? llvm::dyn_cast<DenseElementsAttr>(constant.getValue()) : nullptr;
  return dense && dense.isSplat() && dense.getElementType().isF32() &&
         dense.getSplatValue<APFloat>().isZero();
}

/// unwindow(select(compare(a, b), t, 0)) -> select(compare(unwindow(a), unwindow(b)),
/// unwindow(t), 0): inside a window both read the same elements; outside, unwindow(t) is 0
/// whatever the comparison gives. Max pooling's gradient is this select, and in the second
/// form the reduction over the taps computes it from its sources (a view of the first
/// maximum's position and of the pooled gradient) instead of reading a stored
/// [..., O, K] tensor.
struct UnwindowOfSelect : OpRewritePattern<UnwindowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(UnwindowOp op, PatternRewriter &rewriter) const override {
    auto select = op.getOperand().getDefiningOp<SelectOp>();
    auto compare = select ? select.getCondition().getDefiningOp<CompareOp>() : nullptr;
    if (!compare || !isZeroSplat(select.getOnFalse()))
      return failure();
    Location loc = op.getLoc();
    auto unwindow = [&](Value value) -> Value {
      return rewriter.create<UnwindowOp>(loc, op.getType(), value, op.getWindow(), op.getStride(),
                                         op.getDilation());
    };
    Value condition = rewriter.create<CompareOp>(
        loc, compare.getPredicate(), unwindow(compare.getLhs()), unwindow(compare.getRhs()));
    Value zero = rewriter.create<ConstantOp>(loc, op.getType(),
                                             DenseElementsAttr::get(op.getType(), APFloat(0.0f)));
    rewriter.replaceOpWithNewOp<SelectOp>(op, condition, unwindow(select.getOnTrue()), zero);
    return success();
  }
};

} // namespace

void UnwindowOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<UnwindowOfSelect>(context);
}

FailureOr<Value> IotaOp::buildElement(OpBuilder &b, Location loc, ValueRange index,
                                      OperandElementFn) {
  Idx m{b, loc};
  ArrayRef<int64_t> shape = getType().getShape();
  Value linear = m.c(0);
  int64_t stride = 1;
  for (int64_t d : llvm::reverse(getDims())) {
    linear = m.add(linear, m.mul(index[d], stride));
    stride *= shape[d];
  }
  Value word = b.create<arith::IndexCastUIOp>(loc, b.getI32Type(), linear);
  return b.create<arith::UIToFPOp>(loc, b.getF32Type(), word).getResult();
}

AffineMap IotaOp::getOperandIndexMap(unsigned) { return {}; }

//===----------------------------------------------------------------------===//
// VJPs
//===----------------------------------------------------------------------===//

namespace {

Value zeroPad(OpBuilder &b, Location loc, Value g, RankedTensorType type, ArrayRef<int64_t> low,
              ArrayRef<int64_t> high, ArrayRef<int64_t> interior) {
  return b.create<PadOp>(loc, type, g, low, high, interior, llvm::APFloat(0.0f));
}

} // namespace

// The operand's elements sit at low + j (interior + 1): a strided slice.
LogicalResult PadOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> stride;
  for (int64_t gap : getInterior())
    stride.push_back(gap + 1);
  out.assign(
      {b.create<SliceOp>(getLoc(), getOperand().getType(), gs[0], getLow(), stride).getResult()});
  return success();
}

// Zeros around and between the taken elements: a pad with interior stride - 1.
LogicalResult SliceOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  RankedTensorType in = getOperand().getType();
  SmallVector<int64_t> high, interior;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t size = getType().getDimSize(d), stride = getStride()[d], start = getStart()[d];
    interior.push_back(stride - 1);
    high.push_back(size == 0 ? in.getDimSize(d) - start
                             : in.getDimSize(d) - start - (size - 1) * stride - 1);
  }
  out.assign({zeroPad(b, getLoc(), gs[0], in, getStart(), high, interior)});
  return success();
}

LogicalResult ConcatOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  int64_t axis = getAxis(), offset = 0;
  int64_t rank = getType().getRank();
  out.clear();
  for (Value part : getParts()) {
    SmallVector<int64_t> start(rank, 0), stride(rank, 1);
    start[axis] = offset;
    out.push_back(b.create<SliceOp>(getLoc(), part.getType(), gs[0], start, stride));
    offset += shapeOf(part)[axis];
  }
  return success();
}

// Every operand element gets the sum of the window elements that read it: unwindow to
// [..., S, K] (per-tap: that is the gradient) and, for the plain form, sum over the taps.
LogicalResult WindowOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  RankedTensorType in = getOperand().getType();
  int64_t k = static_cast<int64_t>(getWindow().size());
  bool plain = getType().getRank() == in.getRank() + k;
  SmallVector<int64_t> shape(in.getShape());
  if (plain)
    shape.append(getWindow().begin(), getWindow().end());
  auto tapsType = RankedTensorType::get(shape, in.getElementType());
  Value taps =
      b.create<UnwindowOp>(getLoc(), tapsType, gs[0], getWindow(), getStride(), getDilation());
  if (plain) {
    SmallVector<int64_t> axes;
    for (int64_t i = 0; i < k; ++i)
      axes.push_back(in.getRank() + i);
    taps = b.create<ReduceSumOp>(getLoc(), taps, axes);
  }
  out.assign({taps});
  return success();
}

// The adjoint of unwindow is the per-tap window.
LogicalResult UnwindowOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  out.assign({b.create<WindowOp>(getLoc(), getOperand().getType(), gs[0], getWindow(), getStride(),
                                 getDilation())
                  .getResult()});
  return success();
}

LogicalResult IotaOp::buildVJP(OpBuilder &, ValueRange, SmallVectorImpl<Value> &out) {
  out.clear();
  return success();
}

} // namespace kiln::graph
