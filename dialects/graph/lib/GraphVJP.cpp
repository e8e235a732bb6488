//===- GraphVJP.cpp - The derivative of every graph op -------------------===//
//
// One vector-Jacobian product per op, in one table a reviewer can check. In
// each rule `g` is the gradient of the op's result, `y` the result itself,
// and the rule returns one gradient per operand (null: no gradient). Every
// emitted op carries the forward op's location, so backward kernels trace
// back to the user's model line.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace kiln::graph;

namespace {

/// Emits the graph ops of one rule at one location.
class Rule {
public:
  Rule(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  Value constant(Type type, double value) {
    auto tensor = llvm::cast<RankedTensorType>(type);
    auto attr =
        DenseElementsAttr::get(tensor, FloatAttr::get(tensor.getElementType(), value).getValue());
    return b.create<ConstantOp>(loc, tensor, attr);
  }
  Value zerosLike(Value v) { return constant(v.getType(), 0.0); }

  Value add(Value l, Value r) { return b.create<AddOp>(loc, l, r); }
  Value sub(Value l, Value r) { return b.create<SubOp>(loc, l, r); }
  Value mul(Value l, Value r) { return b.create<MulOp>(loc, l, r); }
  Value div(Value l, Value r) { return b.create<DivOp>(loc, l, r); }
  Value neg(Value v) { return b.create<NegOp>(loc, v); }
  Value exp(Value v) { return b.create<ExpOp>(loc, v); }
  Value erf(Value v) { return b.create<ErfOp>(loc, v); }
  Value tanh(Value v) { return b.create<TanhOp>(loc, v); }
  Value sigmoid(Value v) { return b.create<SigmoidOp>(loc, v); }
  Value square(Value v) { return b.create<SquareOp>(loc, v); }
  Value scale(Value v, double factor) { return mul(v, constant(v.getType(), factor)); }
  Value plus(Value v, double addend) { return add(v, constant(v.getType(), addend)); }
  Value compare(ComparePredicate predicate, Value l, Value r) {
    return b.create<CompareOp>(loc, predicate, l, r);
  }
  Value select(Value c, Value t, Value f) { return b.create<SelectOp>(loc, c, t, f); }
  Value reshape(Value v, Type type) {
    return v.getType() == type ? v : b.create<ReshapeOp>(loc, type, v).getResult();
  }
  Value broadcast(Value v, ArrayRef<int64_t> dims, Type type) {
    return v.getType() == type ? v : b.create<BroadcastOp>(loc, type, v, dims).getResult();
  }
  Value reduceSum(Value v, ArrayRef<int64_t> axes) {
    return axes.empty() ? v : b.create<ReduceSumOp>(loc, v, axes).getResult();
  }
  Value matmul(Value l, Value r, bool transposeLhs, bool transposeRhs) {
    return b.create<MatmulOp>(loc, l, r, transposeLhs, transposeRhs);
  }

  /// The dims that keep every dimension of `type` except `axes`: the inverse
  /// of a reduction over `axes`, for broadcasting its result back.
  static SmallVector<int64_t> keptDims(RankedTensorType type, ArrayRef<int64_t> axes) {
    SmallVector<int64_t> kept;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!llvm::is_contained(axes, d))
        kept.push_back(d);
    return kept;
  }

  /// Broadcasts a reduction's gradient `g` back to the reduced operand's type.
  Value unreduce(Value g, ArrayRef<int64_t> axes, Type operandType) {
    auto type = llvm::cast<RankedTensorType>(operandType);
    return broadcast(g, keptDims(type, axes), type);
  }

private:
  OpBuilder &b;
  Location loc;
};

/// Sets `operandGrads` to `grads` and succeeds: the tail of every rule.
LogicalResult result(SmallVectorImpl<Value> &operandGrads, ArrayRef<Value> grads) {
  operandGrads.assign(grads.begin(), grads.end());
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult AddOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  return result(out, {gs[0], gs[0]});
}

LogicalResult SubOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  return result(out, {gs[0], r.neg(gs[0])});
}

LogicalResult MulOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  return result(out, {r.mul(gs[0], getRhs()), r.mul(gs[0], getLhs())});
}

// d(a/b) = da/b - (a/b) db/b: the rhs gradient reuses the lhs one, -g/b * y.
LogicalResult DivOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value gLhs = r.div(gs[0], getRhs());
  return result(out, {gLhs, r.neg(r.mul(gLhs, getResult()))});
}

// Ties (measure zero for real data) send the gradient to lhs.
LogicalResult MaxOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value lhsWins = r.compare(ComparePredicate::ge, getLhs(), getRhs());
  Value zero = r.zerosLike(gs[0]);
  return result(out, {r.select(lhsWins, gs[0], zero), r.select(lhsWins, zero, gs[0])});
}

// Ties send the gradient to lhs, as for max.
LogicalResult MinimumOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value lhsWins = r.compare(ComparePredicate::le, getLhs(), getRhs());
  Value zero = r.zerosLike(gs[0]);
  return result(out, {r.select(lhsWins, gs[0], zero), r.select(lhsWins, zero, gs[0])});
}

LogicalResult NegOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  return result(out, {Rule(b, getLoc()).neg(gs[0])});
}

LogicalResult ExpOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  return result(out, {Rule(b, getLoc()).mul(gs[0], getResult())});
}

LogicalResult LogOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  return result(out, {Rule(b, getLoc()).div(gs[0], getOperand())});
}

// d sqrt(x) = dx / (2 sqrt(x)).
LogicalResult SqrtOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  return result(out, {r.div(r.scale(gs[0], 0.5), getResult())});
}

// The subgradient at 0 is 0, as in PyTorch.
LogicalResult ReluOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value zero = r.zerosLike(gs[0]);
  Value positive = r.compare(ComparePredicate::gt, getOperand(), zero);
  return result(out, {r.select(positive, gs[0], zero)});
}

// d tanh(x) = (1 - y^2) dx.
LogicalResult TanhOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value y = getResult();
  return result(out, {r.mul(gs[0], r.sub(r.constant(y.getType(), 1.0), r.mul(y, y)))});
}

// d sigmoid(x) = y (1 - y) dx.
LogicalResult SigmoidOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value y = getResult();
  return result(out, {r.mul(gs[0], r.mul(y, r.sub(r.constant(y.getType(), 1.0), y)))});
}

// d silu(x) = s (1 + x (1 - s)) dx with s = sigmoid(x).
LogicalResult SiluOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value x = getOperand(), s = r.sigmoid(x);
  Value oneMinusS = r.sub(r.constant(x.getType(), 1.0), s);
  return result(out, {r.mul(gs[0], r.mul(s, r.plus(r.mul(x, oneMinusS), 1.0)))});
}

// d erf(x) = 2 / sqrt(pi) e^(-x^2) dx.
LogicalResult ErfOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value density = r.exp(r.neg(r.square(getOperand())));
  return result(out, {r.mul(gs[0], r.scale(density, 1.1283791670955126))});
}

// d |x| = sign(x) dx, with sign(0) = 0 as in PyTorch.
LogicalResult AbsOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value x = getOperand(), zero = r.zerosLike(x);
  Value negative =
      r.select(r.compare(ComparePredicate::lt, x, zero), r.constant(x.getType(), -1.0), zero);
  Value sign =
      r.select(r.compare(ComparePredicate::gt, x, zero), r.constant(x.getType(), 1.0), negative);
  return result(out, {r.mul(gs[0], sign)});
}

// d x^(-1/2) = -1/2 x^(-3/2) dx = -y^3 / 2 dx.
LogicalResult RsqrtOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value y = getResult();
  return result(out, {r.mul(r.scale(gs[0], -0.5), r.mul(r.square(y), y))});
}

LogicalResult SquareOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  return result(out, {r.mul(r.scale(gs[0], 2.0), getOperand())});
}

LogicalResult Log1pOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  return result(out, {r.div(gs[0], r.plus(getOperand(), 1.0))});
}

// With u = x + 0.044715 x^3 and Phi the approximated or exact normal CDF:
//   none: d gelu = Phi(x) + x e^(-x^2/2) / sqrt(2 pi);
//   tanh: d gelu = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2,
//         t = tanh(sqrt(2/pi) u).
LogicalResult GeluOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value x = getOperand(), x2 = r.square(x);
  Value derivative;
  if (getApproximate() == GeluApproximation::tanh) {
    constexpr double kSqrt2OverPi = 0.7978845608028654, kCubic = 0.044715;
    Value t = r.tanh(r.scale(r.add(x, r.scale(r.mul(x2, x), kCubic)), kSqrt2OverPi));
    Value one = r.constant(x.getType(), 1.0);
    Value innerSlope = r.scale(r.plus(r.scale(x2, 3 * kCubic), 1.0), kSqrt2OverPi);
    Value tail = r.mul(r.mul(x, r.sub(one, r.square(t))), innerSlope);
    derivative = r.scale(r.add(r.add(one, t), tail), 0.5);
  } else {
    Value cdf = r.scale(r.plus(r.erf(r.scale(x, 0.7071067811865476)), 1.0), 0.5);
    Value density = r.scale(r.exp(r.scale(x2, -0.5)), 0.3989422804014327);
    derivative = r.add(cdf, r.mul(x, density));
  }
  return result(out, {r.mul(gs[0], derivative)});
}

// d x^e = e x^(e-1) dx; a zero exponent gives a zero gradient, as in PyTorch.
LogicalResult PowOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  double exponent = getExponent().convertToDouble();
  if (exponent == 0)
    return result(out, {r.zerosLike(gs[0])});
  Value lower = b.create<PowOp>(getLoc(), getOperand(), APFloat(exponent - 1));
  return result(out, {r.mul(r.scale(gs[0], exponent), lower)});
}

// The gradient passes where min <= x <= max (both bounds included, as in PyTorch).
LogicalResult ClampOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value x = getOperand(), zero = r.zerosLike(gs[0]);
  Value aboveMin =
      r.compare(ComparePredicate::ge, x, r.constant(x.getType(), getMin().convertToDouble()));
  Value belowMax =
      r.compare(ComparePredicate::le, x, r.constant(x.getType(), getMax().convertToDouble()));
  return result(out, {r.select(aboveMin, r.select(belowMax, gs[0], zero), zero)});
}

// The slope is negative_slope at x <= 0, as in PyTorch.
LogicalResult LeakyReluOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value x = getOperand();
  Value positive = r.compare(ComparePredicate::gt, x, r.zerosLike(x));
  double slope = getNegativeSlope().convertToDouble();
  return result(out, {r.select(positive, gs[0], r.scale(gs[0], slope))});
}

// d softplus = sigmoid(beta x) dx below the threshold, dx above it.
LogicalResult SoftplusOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value scaled = r.scale(getOperand(), getBeta().convertToDouble());
  Value linear = r.compare(ComparePredicate::gt, scaled,
                           r.constant(scaled.getType(), getThreshold().convertToDouble()));
  return result(out, {r.select(linear, gs[0], r.mul(gs[0], r.sigmoid(scaled)))});
}

LogicalResult SelectOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value zero = r.zerosLike(gs[0]);
  return result(
      out, {Value(), r.select(getCondition(), gs[0], zero), r.select(getCondition(), zero, gs[0])});
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

// Sum over every result dimension the broadcast created or repeated, then
// restore the operand's shape (its size-1 dimensions).
LogicalResult BroadcastOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  RankedTensorType in = getOperand().getType(), res = getType();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < res.getRank(); ++d) {
    const int64_t *mapped = llvm::find(getDims(), d);
    bool created = mapped == getDims().end();
    bool repeated = !created && in.getDimSize(mapped - getDims().begin()) != res.getDimSize(d);
    if (created || repeated)
      axes.push_back(d);
  }
  return result(out, {r.reshape(r.reduceSum(gs[0], axes), in)});
}

LogicalResult ReshapeOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  return result(out, {Rule(b, getLoc()).reshape(gs[0], getOperand().getType())});
}

LogicalResult TransposeOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> inverse(getPerm().size());
  for (auto [i, p] : llvm::enumerate(getPerm()))
    inverse[p] = i;
  return result(out, {b.create<TransposeOp>(getLoc(), gs[0], inverse).getResult()});
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

LogicalResult ReduceSumOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  return result(out, {Rule(b, getLoc()).unreduce(gs[0], getAxes(), getOperand().getType())});
}

LogicalResult ReduceMeanOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  RankedTensorType in = getOperand().getType();
  int64_t count = in.getNumElements() / std::max<int64_t>(getType().getNumElements(), 1);
  return result(out, {r.unreduce(r.scale(gs[0], 1.0 / count), getAxes(), in)});
}

// Ties share the gradient equally, as PyTorch's amax does; with first_max_gradient the first
// maximum (row-major over the reduced axes) takes all of it, as PyTorch's max_pool2d: its
// position is the smallest of iota over the axes among the maxima, a max of negated positions
// (so the second reduction is the same reduce_max every device has).
LogicalResult ReduceMaxOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  RankedTensorType in = getOperand().getType();
  Value isMax =
      r.compare(ComparePredicate::eq, getOperand(), r.unreduce(getResult(), getAxes(), in));
  Value zero = r.zerosLike(getOperand());
  if (getFirstMaxGradient()) {
    Value position = b.create<IotaOp>(getLoc(), in, getAxes());
    int64_t count = in.getNumElements() / std::max<int64_t>(getType().getNumElements(), 1);
    // Not a maximum: a position past every real one, so it never wins.
    Value candidate = r.select(isMax, r.neg(position), r.constant(in, -static_cast<double>(count)));
    Value first = r.neg(b.create<ReduceMaxOp>(getLoc(), candidate, getAxes(), false));
    Value chosen = r.compare(ComparePredicate::eq, position, r.unreduce(first, getAxes(), in));
    return result(out, {r.select(chosen, r.unreduce(gs[0], getAxes(), in), zero)});
  }
  Value count = r.reduceSum(r.select(isMax, r.constant(in, 1.0), zero), getAxes());
  Value share = r.unreduce(r.div(gs[0], count), getAxes(), in);
  return result(out, {r.select(isMax, share, zero)});
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalisation
//===----------------------------------------------------------------------===//

// For C = op(A) op(B) with gradient G (on the last two dimensions):
//   plain:     dA = G B^T      dB = A^T G
//   A^T:       dA = B G^T      dB = A G
//   B^T:       dA = G B        dB = G^T A
//   A^T, B^T:  dA = B^T G^T    dB = G^T A^T
LogicalResult MatmulOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value g = gs[0], lhs = getLhs(), rhs = getRhs();
  bool tl = getTransposeLhs(), tr = getTransposeRhs();
  Value gLhs = tl ? r.matmul(rhs, g, tr, true) : r.matmul(g, rhs, false, !tr);
  Value gRhs = tr ? r.matmul(g, lhs, true, tl) : r.matmul(lhs, g, !tl, false);
  return result(out, {gLhs, gRhs});
}

// dx = y (g - sum(g y)) along the axis.
LogicalResult SoftmaxOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value y = getResult();
  int64_t axis = getAxis();
  Value dot = r.unreduce(r.reduceSum(r.mul(gs[0], y), {axis}), {axis}, y.getType());
  return result(out, {r.mul(y, r.sub(gs[0], dot))});
}

// dx = g - exp(y) sum(g) along the axis.
LogicalResult LogSoftmaxOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  Value y = getResult();
  int64_t axis = getAxis();
  Value total = r.unreduce(r.reduceSum(gs[0], {axis}), {axis}, y.getType());
  return result(out, {r.sub(gs[0], r.mul(r.exp(y), total))});
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

// d logits[n, :] = (softmax(logits[n, :]) - one_hot(labels[n])) g[n].
LogicalResult SoftmaxCrossEntropyOp::buildVJP(OpBuilder &b, ValueRange gs,
                                              SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  RankedTensorType logits = getLogits().getType();
  Value probabilities = b.create<SoftmaxOp>(getLoc(), getLogits(), 1);
  Value target = b.create<OneHotOp>(getLoc(), logits, getLabels());
  Value perExample = r.broadcast(gs[0], {0}, logits);
  return result(out, {r.mul(r.sub(probabilities, target), perExample), Value()});
}

// d mean((p - t)^2) = 2 (p - t) / count, and its negation for the target.
LogicalResult MseOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  Rule r(b, getLoc());
  RankedTensorType type = getPrediction().getType();
  Value scaled = r.broadcast(r.scale(gs[0], 2.0 / type.getNumElements()), {}, type);
  Value gPrediction = r.mul(r.sub(getPrediction(), getTarget()), scaled);
  return result(out, {gPrediction, r.neg(gPrediction)});
}
