//===- Ops.cpp - Tensor ops of the builder --------------------------------===//
//
// Each op finds its operands' Builder, checks the shapes with the dialect's
// shared rules (GraphShapes.h) under the builder's diagnostic capture, and
// only then creates the op with its known result type, so MLIR's inferring
// builders never see bad shapes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Ops.h"

#include "OpSupport.h"
#include "kiln/Dialect/Graph/GraphShapes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlir/IR/Diagnostics.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using kiln::graph::ComparePredicate;

namespace kiln {
namespace {

/// True when every size of `shape` is >= 0; records an error otherwise.
bool validShape(Builder &b, StringRef opName, ArrayRef<int64_t> shape, SourceLocation loc) {
  if (llvm::all_of(shape, [](int64_t size) { return size >= 0; }))
    return true;
  b.reportError(absl::StrCat(opName.str(), ": the target shape [", absl::StrJoin(shape, ", "),
                             "] has a negative size"),
                loc);
  return false;
}

/// The element-type rule of the float ops: `what` of `opName` must be f32.
LogicalResult requireFloat(Location loc, StringRef opName, StringRef what, Tensor x) {
  if (x.type().getElementType().isF32())
    return success();
  return emitError(loc) << opName << ": " << what << " must have f32 elements, got "
                        << describe(x.type());
}

/// `axis` with a negative value counted from the end; out-of-range axes are
/// left for the shape rule to report.
int64_t normalizeAxis(int64_t axis, int64_t rank) {
  return axis < 0 && axis >= -rank ? axis + rank : axis;
}

/// The numpy broadcast of two shapes, assuming they are compatible; where
/// they are not the result keeps `lhs`'s size so the broadcast rule reports
/// the offending dimension.
SmallVector<int64_t> broadcastShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    shape[i] = l == 1 ? r : l;
  }
  return shape;
}

/// Broadcasts `x` to `shape` for op `opName` (the name errors carry).
Tensor broadcastFor(StringRef opName, Builder &b, Tensor x, ArrayRef<int64_t> shape,
                    SourceLocation loc) {
  if (x.shape() == shape)
    return x;
  FailureOr<SmallVector<int64_t>> dims;
  auto type = RankedTensorType::get(shape, x.type().getElementType());
  if (!b.check(
          [&](Location l) {
            if (failed(requireFloat(l, opName, "operand", x)))
              return failure();
            dims = graph::numpyBroadcastDims(l, opName, x.type(), shape);
            if (failed(dims))
              return failure();
            return graph::verifyBroadcast(l, x.type(), *dims, type);
          },
          loc))
    return b.poison();
  return b.create<graph::BroadcastOp>(loc, type, x.value(), *dims);
}

template <typename OpTy>
Tensor binary(StringRef opName, Tensor lhs, Tensor rhs, SourceLocation loc) {
  Builder *b = builderFor(opName, {lhs, rhs}, loc);
  if (!b)
    return poisoned({lhs, rhs});
  if (!b->check(
          [&](Location l) {
            return success(succeeded(requireFloat(l, opName, "lhs", lhs)) &&
                           succeeded(requireFloat(l, opName, "rhs", rhs)));
          },
          loc))
    return b->poison();
  SmallVector<int64_t> shape = broadcastShape(lhs.shape(), rhs.shape());
  lhs = broadcastFor(opName, *b, lhs, shape, loc);
  rhs = broadcastFor(opName, *b, rhs, shape, loc);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferElementwiseType(l, opName, lhs.type(), rhs.type());
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<OpTy>(loc, *type, lhs.value(), rhs.value());
}

/// A unary op; `attributes` follow the operand in its builder.
template <typename OpTy, typename... Attributes>
Tensor unary(StringRef opName, Tensor x, SourceLocation loc, Attributes &&...attributes) {
  Builder *b = builderFor(opName, {x}, loc);
  if (!b)
    return poisoned({x});
  if (!b->check([&](Location l) { return requireFloat(l, opName, "operand", x); }, loc))
    return b->poison();
  return b->create<OpTy>(loc, x.type(), x.value(), std::forward<Attributes>(attributes)...);
}

/// Records `message` for `opName` and returns false unless `holds`.
bool requireArgument(bool holds, StringRef opName, Tensor x, const std::string &message,
                     SourceLocation loc) {
  if (holds)
    return true;
  if (x.builder())
    x.builder()->reportError(absl::StrCat(opName.str(), ": ", message), loc);
  return false;
}

/// A constant of `like`'s shape and element type holding `value`.
Tensor splatLike(Tensor like, float value, SourceLocation loc) {
  Builder *b = builderFor("graph.constant", {like}, loc);
  if (!b)
    return poisoned({like});
  return b->constant(like.shape(), value, loc);
}

template <typename OpTy>
Tensor reduce(StringRef opName, Tensor x, ArrayRef<int64_t> axes, SourceLocation loc) {
  Builder *b = builderFor(opName, {x}, loc);
  if (!b)
    return poisoned({x});
  SmallVector<int64_t> sorted;
  for (int64_t axis : axes)
    sorted.push_back(normalizeAxis(axis, x.rank()));
  llvm::sort(sorted);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferReduceType(l, opName, x.type(), sorted);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<OpTy>(loc, *type, x.value(), sorted);
}

SmallVector<int64_t> allAxes(Tensor x) {
  SmallVector<int64_t> axes;
  for (int64_t axis = 0; axis < x.rank(); ++axis)
    axes.push_back(axis);
  return axes;
}

template <typename OpTy>
Tensor softmaxLike(StringRef opName, Tensor x, int64_t axis, SourceLocation loc) {
  Builder *b = builderFor(opName, {x}, loc);
  if (!b)
    return poisoned({x});
  int64_t normalized = normalizeAxis(axis, x.rank());
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferSoftmaxType(l, opName, x.type(), normalized);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<OpTy>(loc, *type, x.value(), static_cast<uint64_t>(normalized));
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Tensor add(Tensor lhs, Tensor rhs, SourceLocation loc) {
  return binary<graph::AddOp>("graph.add", lhs, rhs, loc);
}
Tensor sub(Tensor lhs, Tensor rhs, SourceLocation loc) {
  return binary<graph::SubOp>("graph.sub", lhs, rhs, loc);
}
Tensor mul(Tensor lhs, Tensor rhs, SourceLocation loc) {
  return binary<graph::MulOp>("graph.mul", lhs, rhs, loc);
}
Tensor div(Tensor lhs, Tensor rhs, SourceLocation loc) {
  return binary<graph::DivOp>("graph.div", lhs, rhs, loc);
}
Tensor maximum(Tensor lhs, Tensor rhs, SourceLocation loc) {
  return binary<graph::MaxOp>("graph.max", lhs, rhs, loc);
}

Tensor add(Tensor lhs, float rhs, SourceLocation loc) {
  return add(lhs, splatLike(lhs, rhs, loc), loc);
}
Tensor sub(Tensor lhs, float rhs, SourceLocation loc) {
  return sub(lhs, splatLike(lhs, rhs, loc), loc);
}
Tensor sub(float lhs, Tensor rhs, SourceLocation loc) {
  return sub(splatLike(rhs, lhs, loc), rhs, loc);
}
Tensor mul(Tensor lhs, float rhs, SourceLocation loc) {
  return mul(lhs, splatLike(lhs, rhs, loc), loc);
}
Tensor div(Tensor lhs, float rhs, SourceLocation loc) {
  return div(lhs, splatLike(lhs, rhs, loc), loc);
}
Tensor div(float lhs, Tensor rhs, SourceLocation loc) {
  return div(splatLike(rhs, lhs, loc), rhs, loc);
}
Tensor maximum(Tensor lhs, float rhs, SourceLocation loc) {
  return maximum(lhs, splatLike(lhs, rhs, loc), loc);
}
Tensor minimum(Tensor lhs, Tensor rhs, SourceLocation loc) {
  return binary<graph::MinimumOp>("graph.minimum", lhs, rhs, loc);
}
Tensor minimum(Tensor lhs, float rhs, SourceLocation loc) {
  return minimum(lhs, splatLike(lhs, rhs, loc), loc);
}

Tensor neg(Tensor x, SourceLocation loc) { return unary<graph::NegOp>("graph.neg", x, loc); }
Tensor exp(Tensor x, SourceLocation loc) { return unary<graph::ExpOp>("graph.exp", x, loc); }
Tensor log(Tensor x, SourceLocation loc) { return unary<graph::LogOp>("graph.log", x, loc); }
Tensor sqrt(Tensor x, SourceLocation loc) { return unary<graph::SqrtOp>("graph.sqrt", x, loc); }
Tensor relu(Tensor x, SourceLocation loc) { return unary<graph::ReluOp>("graph.relu", x, loc); }
Tensor tanh(Tensor x, SourceLocation loc) { return unary<graph::TanhOp>("graph.tanh", x, loc); }
Tensor sigmoid(Tensor x, SourceLocation loc) {
  return unary<graph::SigmoidOp>("graph.sigmoid", x, loc);
}
Tensor silu(Tensor x, SourceLocation loc) { return unary<graph::SiluOp>("graph.silu", x, loc); }
Tensor erf(Tensor x, SourceLocation loc) { return unary<graph::ErfOp>("graph.erf", x, loc); }
Tensor abs(Tensor x, SourceLocation loc) { return unary<graph::AbsOp>("graph.abs", x, loc); }
Tensor rsqrt(Tensor x, SourceLocation loc) { return unary<graph::RsqrtOp>("graph.rsqrt", x, loc); }
Tensor square(Tensor x, SourceLocation loc) {
  return unary<graph::SquareOp>("graph.square", x, loc);
}
Tensor log1p(Tensor x, SourceLocation loc) { return unary<graph::Log1pOp>("graph.log1p", x, loc); }
Tensor gelu(Tensor x, graph::GeluApproximation approximate, SourceLocation loc) {
  return unary<graph::GeluOp>("graph.gelu", x, loc, approximate);
}

Tensor pow(Tensor x, double exponent, SourceLocation loc) {
  if (!requireArgument(std::isfinite(exponent), "graph.pow", x,
                       absl::StrCat("the exponent (", exponent, ") must be finite"), loc))
    return poisoned({x});
  return unary<graph::PowOp>("graph.pow", x, loc, APFloat(exponent));
}

Tensor clamp(Tensor x, double min, double max, SourceLocation loc) {
  if (!requireArgument(min <= max, "graph.clamp", x,
                       absl::StrCat("min (", min, ") must be <= max (", max, ")"), loc))
    return poisoned({x});
  return unary<graph::ClampOp>("graph.clamp", x, loc, APFloat(min), APFloat(max));
}

Tensor leakyRelu(Tensor x, double negativeSlope, SourceLocation loc) {
  if (!requireArgument(std::isfinite(negativeSlope), "graph.leaky_relu", x,
                       absl::StrCat("negative_slope (", negativeSlope, ") must be finite"), loc))
    return poisoned({x});
  return unary<graph::LeakyReluOp>("graph.leaky_relu", x, loc, APFloat(negativeSlope));
}

Tensor softplus(Tensor x, double beta, double threshold, SourceLocation loc) {
  if (!requireArgument(
          std::isfinite(beta) && beta != 0, "graph.softplus", x,
          absl::StrCat("beta (", beta, ") must be finite and nonzero; softplus divides by it"),
          loc))
    return poisoned({x});
  return unary<graph::SoftplusOp>("graph.softplus", x, loc, APFloat(beta), APFloat(threshold));
}

Tensor compare(Tensor lhs, ComparePredicate predicate, Tensor rhs, SourceLocation loc) {
  StringRef opName = "graph.compare";
  Builder *b = builderFor(opName, {lhs, rhs}, loc);
  if (!b)
    return poisoned({lhs, rhs});
  SmallVector<int64_t> shape = broadcastShape(lhs.shape(), rhs.shape());
  lhs = broadcastFor(opName, *b, lhs, shape, loc);
  rhs = broadcastFor(opName, *b, rhs, shape, loc);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferCompareType(l, lhs.type(), rhs.type());
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::CompareOp>(loc, *type, predicate, lhs.value(), rhs.value());
}

Tensor select(Tensor condition, Tensor onTrue, Tensor onFalse, SourceLocation loc) {
  StringRef opName = "graph.select";
  Builder *b = builderFor(opName, {condition, onTrue, onFalse}, loc);
  if (!b)
    return poisoned({condition, onTrue, onFalse});
  onTrue = broadcastFor(opName, *b, onTrue, condition.shape(), loc);
  onFalse = broadcastFor(opName, *b, onFalse, condition.shape(), loc);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferSelectType(l, condition.type(), onTrue.type(), onFalse.type());
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::SelectOp>(loc, *type, condition.value(), onTrue.value(), onFalse.value());
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

Tensor broadcastTo(Tensor x, ArrayRef<int64_t> shape, SourceLocation loc) {
  Builder *b = builderFor("graph.broadcast", {x}, loc);
  if (!b || !validShape(*b, "graph.broadcast", shape, loc))
    return poisoned({x});
  return broadcastFor("graph.broadcast", *b, x, shape, loc);
}

Tensor broadcastInDim(Tensor x, ArrayRef<int64_t> dims, ArrayRef<int64_t> shape,
                      SourceLocation loc) {
  Builder *b = builderFor("graph.broadcast", {x}, loc);
  if (!b || !validShape(*b, "graph.broadcast", shape, loc))
    return poisoned({x});
  auto type = RankedTensorType::get(shape, x.type().getElementType());
  if (!b->check([&](Location l) { return graph::verifyBroadcast(l, x.type(), dims, type); }, loc))
    return b->poison();
  return b->create<graph::BroadcastOp>(loc, type, x.value(), dims);
}

Tensor reshape(Tensor x, ArrayRef<int64_t> shape, SourceLocation loc) {
  StringRef opName = "graph.reshape";
  Builder *b = builderFor(opName, {x}, loc);
  if (!b)
    return poisoned({x});
  SmallVector<int64_t> resolved(shape);
  auto inferred = llvm::find(resolved, -1);
  int64_t known = 1;
  for (int64_t size : resolved)
    if (size != -1)
      known *= size;
  int64_t count = x.type().getNumElements();
  if (llvm::count(resolved, -1) > 1 || llvm::any_of(resolved, [](int64_t s) { return s < -1; }) ||
      (inferred != resolved.end() && (known == 0 || count % known != 0))) {
    b->reportError(absl::StrCat(opName.str(), ": cannot reshape ", describe(x.type()), " to [",
                                absl::StrJoin(shape, ", "),
                                "]; sizes must be >= 0 with at most one -1 that divides evenly"),
                   loc);
    return b->poison();
  }
  if (inferred != resolved.end())
    *inferred = count / known;
  auto type = RankedTensorType::get(resolved, x.type().getElementType());
  if (!b->check([&](Location l) { return graph::verifyReshape(l, x.type(), type); }, loc))
    return b->poison();
  return b->create<graph::ReshapeOp>(loc, type, x.value());
}

Tensor transpose(Tensor x, ArrayRef<int64_t> perm, SourceLocation loc) {
  Builder *b = builderFor("graph.transpose", {x}, loc);
  if (!b)
    return poisoned({x});
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferTransposeType(l, x.type(), perm);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::TransposeOp>(loc, *type, x.value(), perm);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

Tensor reduceSum(Tensor x, ArrayRef<int64_t> axes, SourceLocation loc) {
  return reduce<graph::ReduceSumOp>("graph.reduce_sum", x, axes, loc);
}
Tensor reduceMean(Tensor x, ArrayRef<int64_t> axes, SourceLocation loc) {
  return reduce<graph::ReduceMeanOp>("graph.reduce_mean", x, axes, loc);
}
Tensor reduceMax(Tensor x, ArrayRef<int64_t> axes, SourceLocation loc) {
  return reduce<graph::ReduceMaxOp>("graph.reduce_max", x, axes, loc);
}
Tensor reduceSum(Tensor x, SourceLocation loc) { return reduceSum(x, allAxes(x), loc); }
Tensor reduceMean(Tensor x, SourceLocation loc) { return reduceMean(x, allAxes(x), loc); }

//===----------------------------------------------------------------------===//
// Linear algebra, normalisation, labels
//===----------------------------------------------------------------------===//

Tensor matmul(Tensor lhs, Tensor rhs, MatmulOptions options, SourceLocation loc) {
  Builder *b = builderFor("graph.matmul", {lhs, rhs}, loc);
  if (!b)
    return poisoned({lhs, rhs});
  int64_t lhsRank = lhs.rank(), rhsRank = rhs.rank();
  if (lhsRank >= 2 && rhsRank >= 2 &&
      (lhsRank != rhsRank || lhs.shape().drop_back(2) != rhs.shape().drop_back(2))) {
    // lhs [..., M, K] x rhs [K, N]: one 2-D matmul on the flattened rows, so no broadcast of
    // rhs is materialized.
    if (rhsRank == 2 && !options.transposeLhs) {
      ArrayRef<int64_t> shape = lhs.shape();
      int64_t rows = 1;
      for (int64_t size : shape.drop_back())
        rows *= size;
      Tensor flat = reshape(lhs, {rows, shape.back()}, loc);
      Tensor product = matmul(flat, rhs, options, loc);
      if (!product.ok())
        return b->poison();
      SmallVector<int64_t> resultShape(shape.drop_back());
      resultShape.push_back(product.dim(1));
      return reshape(product, resultShape, loc);
    }
    // Otherwise the leading (batch) axes broadcast numpy-style.
    ArrayRef<int64_t> lhsBatch = lhs.shape().drop_back(2), rhsBatch = rhs.shape().drop_back(2);
    size_t rank = std::max(lhsBatch.size(), rhsBatch.size());
    for (size_t i = 0; i < rank; ++i) {
      int64_t l = i < rank - lhsBatch.size() ? 1 : lhsBatch[i - (rank - lhsBatch.size())];
      int64_t r = i < rank - rhsBatch.size() ? 1 : rhsBatch[i - (rank - rhsBatch.size())];
      if (l != r && l != 1 && r != 1) {
        b->reportError(absl::StrCat("graph.matmul: the batch dimensions [",
                                    absl::StrJoin(lhsBatch, ", "), "] of lhs and [",
                                    absl::StrJoin(rhsBatch, ", "), "] of rhs do not broadcast"),
                       loc);
        return b->poison();
      }
    }
    SmallVector<int64_t> batch = broadcastShape(lhsBatch, rhsBatch);
    auto full = [&](Tensor x) {
      SmallVector<int64_t> shape(batch);
      shape.append(x.shape().end() - 2, x.shape().end());
      return broadcastTo(x, shape, loc);
    };
    Tensor l = full(lhs), r = full(rhs);
    if (!l.ok() || !r.ok())
      return b->poison();
    return matmul(l, r, options, loc);
  }
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferMatmulType(l, lhs.type(), rhs.type(), options.transposeLhs,
                                          options.transposeRhs);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::MatmulOp>(loc, *type, lhs.value(), rhs.value(), options.transposeLhs,
                                    options.transposeRhs);
}

Tensor softmax(Tensor x, int64_t axis, SourceLocation loc) {
  return softmaxLike<graph::SoftmaxOp>("graph.softmax", x, axis, loc);
}

Tensor logSoftmax(Tensor x, int64_t axis, SourceLocation loc) {
  return softmaxLike<graph::LogSoftmaxOp>("graph.log_softmax", x, axis, loc);
}

Tensor oneHot(Tensor labels, int64_t numClasses, SourceLocation loc) {
  StringRef opName = "graph.one_hot";
  Builder *b = builderFor(opName, {labels}, loc);
  if (!b)
    return poisoned({labels});
  if (numClasses <= 0) {
    b->reportError(absl::StrCat(opName.str(), ": numClasses must be > 0, got ", numClasses), loc);
    return b->poison();
  }
  SmallVector<int64_t> shape(labels.shape());
  shape.push_back(numClasses);
  auto type = RankedTensorType::get(shape, Float32Type::get(&b->context()));
  if (!b->check([&](Location l) { return graph::verifyOneHot(l, labels.type(), type); }, loc))
    return b->poison();
  return b->create<graph::OneHotOp>(loc, type, labels.value());
}

} // namespace kiln
