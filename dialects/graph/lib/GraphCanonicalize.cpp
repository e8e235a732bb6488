//===- GraphCanonicalize.cpp - Folders and simplification patterns -------===//
//
// The algebra `--canonicalize` applies to graph ops, mostly to tidy autodiff
// output: identities that leave an existing value (folders), rewrites that
// build a new op (canonicalization patterns) and constant folding of
// elementwise ops on splat constants. Every rewrite gives the same f32 result
// for every input, NaN and infinities included, with two exceptions: x + 0 ->
// x keeps the sign of a -0 input that the addition would have made +0 (XLA
// makes the same trade), and folded exp/log/tanh/sigmoid are correctly
// rounded where a device may be an ulp off. Rewrites that need finite inputs,
// such as `x * 0 -> 0` or `x - x -> 0`, are deliberately absent.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace kiln::graph;

namespace {

constexpr llvm::RoundingMode kRound = llvm::RoundingMode::NearestTiesToEven;

/// The element of `attr` when it is a splat float constant.
std::optional<APFloat> splatFloat(Attribute attr) {
  auto dense = llvm::dyn_cast_if_present<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat() || !llvm::isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  return dense.getSplatValue<APFloat>();
}

/// The element of `attr` when it is a splat i1 constant.
std::optional<bool> splatBool(Attribute attr) {
  auto dense = llvm::dyn_cast_if_present<DenseElementsAttr>(attr);
  if (!dense || !dense.isSplat() || !dense.getElementType().isInteger(1))
    return std::nullopt;
  return dense.getSplatValue<bool>();
}

bool isSplatZero(Attribute attr) {
  std::optional<APFloat> value = splatFloat(attr);
  return value && value->isZero();
}

bool isSplatPositiveZero(Attribute attr) {
  std::optional<APFloat> value = splatFloat(attr);
  return value && value->isPosZero();
}

bool isSplatOne(Attribute attr) {
  std::optional<APFloat> value = splatFloat(attr);
  return value && value->isExactlyValue(1.0);
}

/// `value` repeated over `type`, for folding shape ops of a splat.
Attribute splatOf(Type type, Attribute value) {
  auto dense = llvm::dyn_cast_if_present<DenseElementsAttr>(value);
  if (!dense || !dense.isSplat())
    return {};
  return DenseElementsAttr::get(llvm::cast<ShapedType>(type), dense.getSplatValue<Attribute>());
}

/// Folds a binary op of two splat float constants with `compute`, which
/// returns nothing when the result is not well defined.
template <typename Compute>
Attribute foldSplatBinary(Attribute lhs, Attribute rhs, Type resultType, Compute compute) {
  std::optional<APFloat> a = splatFloat(lhs), b = splatFloat(rhs);
  if (!a || !b)
    return {};
  std::optional<APFloat> result = compute(*a, *b);
  if (!result)
    return {};
  return DenseElementsAttr::get(llvm::cast<ShapedType>(resultType), *result);
}

/// Folds a unary op of a splat float constant with `compute`.
template <typename Compute>
Attribute foldSplatUnary(Attribute operand, Type resultType, Compute compute) {
  std::optional<APFloat> a = splatFloat(operand);
  if (!a)
    return {};
  std::optional<APFloat> result = compute(*a);
  if (!result)
    return {};
  return DenseElementsAttr::get(llvm::cast<ShapedType>(resultType), *result);
}

/// `function(x)` evaluated in double and rounded once to x's format: as
/// accurate as any device's f32 implementation (correctly rounded for sqrt).
APFloat viaDouble(const APFloat &x, llvm::function_ref<double(double)> function) {
  bool losesInfo = false;
  APFloat wide = x;
  wide.convert(APFloat::IEEEdouble(), kRound, &losesInfo);
  APFloat result(function(wide.convertToDouble()));
  result.convert(x.getSemantics(), kRound, &losesInfo);
  return result;
}

bool isIdentityPermutation(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if (static_cast<int64_t>(i) != p)
      return false;
  return true;
}

/// The permutation of `transpose(transpose(x, inner), outer)` as one transpose of x.
SmallVector<int64_t> composePermutations(ArrayRef<int64_t> inner, ArrayRef<int64_t> outer) {
  SmallVector<int64_t> composed;
  for (int64_t p : outer)
    composed.push_back(inner[p]);
  return composed;
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise binary ops
//===----------------------------------------------------------------------===//

// x + 0 -> x is exact except that (-0) + (+0) is +0, not -0; no graph op but
// a division by that zero can tell the two apart.
OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatZero(adaptor.getRhs()))
    return getLhs();
  if (isSplatZero(adaptor.getLhs()))
    return getRhs();
  return foldSplatBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),
                         [](APFloat a, const APFloat &b) -> std::optional<APFloat> {
                           a.add(b, kRound);
                           return a;
                         });
}

// Only +0: (-0) - (-0) is +0, so x - (-0) -> x would change a -0.
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatPositiveZero(adaptor.getRhs()))
    return getLhs();
  return foldSplatBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),
                         [](APFloat a, const APFloat &b) -> std::optional<APFloat> {
                           a.subtract(b, kRound);
                           return a;
                         });
}

// x * 0 -> 0 is wrong for NaN and infinities (and for the sign of zero).
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOne(adaptor.getRhs()))
    return getLhs();
  if (isSplatOne(adaptor.getLhs()))
    return getRhs();
  return foldSplatBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),
                         [](APFloat a, const APFloat &b) -> std::optional<APFloat> {
                           a.multiply(b, kRound);
                           return a;
                         });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOne(adaptor.getRhs()))
    return getLhs();
  return foldSplatBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),
                         [](APFloat a, const APFloat &b) -> std::optional<APFloat> {
                           a.divide(b, kRound);
                           return a;
                         });
}

// Devices differ on max with a NaN and on max(-0, +0); those stay unfolded.
OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  return foldSplatBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),
                         [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
                           if (a.isNaN() || b.isNaN() || (a.isZero() && b.isZero()))
                             return std::nullopt;
                           return a.compare(b) == APFloat::cmpLessThan ? b : a;
                         });
}

OpFoldResult MinimumOp::fold(FoldAdaptor adaptor) {
  return foldSplatBinary(adaptor.getLhs(), adaptor.getRhs(), getType(),
                         [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
                           if (a.isNaN() || b.isNaN() || (a.isZero() && b.isZero()))
                             return std::nullopt;
                           return a.compare(b) == APFloat::cmpGreaterThan ? b : a;
                         });
}

namespace {

/// x + (-y) -> x - y, whichever operand the negation is.
struct AddOfNegation : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op, PatternRewriter &rewriter) const override {
    for (auto [negated, other] :
         {std::pair(op.getRhs(), op.getLhs()), std::pair(op.getLhs(), op.getRhs())}) {
      if (auto neg = negated.getDefiningOp<NegOp>()) {
        rewriter.replaceOpWithNewOp<SubOp>(op, other, neg.getOperand());
        return success();
      }
    }
    return failure();
  }
};

/// x - (-y) -> x + y (IEEE defines x - z as x + (-z)).
struct SubOfNegation : OpRewritePattern<SubOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubOp op, PatternRewriter &rewriter) const override {
    auto neg = op.getRhs().getDefiningOp<NegOp>();
    if (!neg)
      return failure();
    rewriter.replaceOpWithNewOp<AddOp>(op, op.getLhs(), neg.getOperand());
    return success();
  }
};

} // namespace

void AddOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<AddOfNegation>(context);
}

void SubOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<SubOfNegation>(context);
}

//===----------------------------------------------------------------------===//
// Elementwise unary ops
//===----------------------------------------------------------------------===//

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (auto inner = getOperand().getDefiningOp<NegOp>())
    return inner.getOperand();
  return foldSplatUnary(adaptor.getOperand(), getType(), [](APFloat a) -> std::optional<APFloat> {
    a.changeSign();
    return a;
  });
}

OpFoldResult ExpOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return std::exp(x); });
                        });
}

OpFoldResult LogOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return std::log(x); });
                        });
}

OpFoldResult SqrtOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return std::sqrt(x); });
                        });
}

// As for max, a NaN or a zero operand is left to the device.
OpFoldResult ReluOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          if (a.isNaN() || a.isZero())
                            return std::nullopt;
                          return a.isNegative() ? APFloat::getZero(a.getSemantics()) : a;
                        });
}

OpFoldResult TanhOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return std::tanh(x); });
                        });
}

OpFoldResult SigmoidOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
                        });
}

OpFoldResult SiluOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return x / (1.0 + std::exp(-x)); });
                        });
}

OpFoldResult ErfOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return std::erf(x); });
                        });
}

OpFoldResult AbsOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(), [](APFloat a) -> std::optional<APFloat> {
    a.clearSign();
    return a;
  });
}

OpFoldResult RsqrtOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return 1.0 / std::sqrt(x); });
                        });
}

OpFoldResult SquareOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(), [](APFloat a) -> std::optional<APFloat> {
    APFloat x = a;
    a.multiply(x, kRound);
    return a;
  });
}

OpFoldResult Log1pOp::fold(FoldAdaptor adaptor) {
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [](double x) { return std::log1p(x); });
                        });
}

OpFoldResult GeluOp::fold(FoldAdaptor adaptor) {
  bool tanh = getApproximate() == GeluApproximation::tanh;
  return foldSplatUnary(
      adaptor.getOperand(), getType(), [tanh](const APFloat &a) -> std::optional<APFloat> {
        return viaDouble(a, [tanh](double x) {
          double cdf = tanh ? std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))
                            : std::erf(x * 0.7071067811865476);
          return 0.5 * x * (1.0 + cdf);
        });
      });
}

// Integer exponents multiply on the devices, so only a double pow matches them to an ulp.
OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  double exponent = getExponent().convertToDouble();
  return foldSplatUnary(
      adaptor.getOperand(), getType(), [exponent](const APFloat &a) -> std::optional<APFloat> {
        return viaDouble(a, [exponent](double x) { return std::pow(x, exponent); });
      });
}

// As for max, a NaN operand is left to the device.
OpFoldResult ClampOp::fold(FoldAdaptor adaptor) {
  double min = getMin().convertToDouble(), max = getMax().convertToDouble();
  return foldSplatUnary(
      adaptor.getOperand(), getType(), [&](const APFloat &a) -> std::optional<APFloat> {
        if (a.isNaN())
          return std::nullopt;
        return viaDouble(a, [&](double x) { return std::min(std::max(x, min), max); });
      });
}

OpFoldResult LeakyReluOp::fold(FoldAdaptor adaptor) {
  double slope = getNegativeSlope().convertToDouble();
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [slope](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [slope](double x) { return x > 0 ? x : slope * x; });
                        });
}

OpFoldResult SoftplusOp::fold(FoldAdaptor adaptor) {
  double beta = getBeta().convertToDouble(), threshold = getThreshold().convertToDouble();
  return foldSplatUnary(adaptor.getOperand(), getType(),
                        [&](const APFloat &a) -> std::optional<APFloat> {
                          return viaDouble(a, [&](double x) {
                            return beta * x > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
                          });
                        });
}

//===----------------------------------------------------------------------===//
// Comparison and selection
//===----------------------------------------------------------------------===//

// Follows C++: every predicate but `ne` is false when an operand is NaN.
OpFoldResult CompareOp::fold(FoldAdaptor adaptor) {
  std::optional<APFloat> a = splatFloat(adaptor.getLhs()), b = splatFloat(adaptor.getRhs());
  if (!a || !b)
    return {};
  APFloat::cmpResult order = a->compare(*b);
  bool holds = false;
  switch (getPredicate()) {
  case ComparePredicate::eq:
    holds = order == APFloat::cmpEqual;
    break;
  case ComparePredicate::ne:
    holds = order != APFloat::cmpEqual;
    break;
  case ComparePredicate::lt:
    holds = order == APFloat::cmpLessThan;
    break;
  case ComparePredicate::le:
    holds = order == APFloat::cmpLessThan || order == APFloat::cmpEqual;
    break;
  case ComparePredicate::gt:
    holds = order == APFloat::cmpGreaterThan;
    break;
  case ComparePredicate::ge:
    holds = order == APFloat::cmpGreaterThan || order == APFloat::cmpEqual;
    break;
  }
  return DenseElementsAttr::get(getType(), holds);
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  if (getOnTrue() == getOnFalse())
    return getOnTrue();
  if (std::optional<bool> condition = splatBool(adaptor.getCondition()))
    return *condition ? getOnTrue() : getOnFalse();
  return {};
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

// The verifier makes a same-typed broadcast the identity (dims strictly
// increasing over every dimension, no size changes).
OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  return splatOf(getType(), adaptor.getOperand());
}

namespace {

/// broadcast(broadcast(x, inner), outer) -> broadcast(x, outer . inner): x's
/// dimension i lands in outer[inner[i]], still strictly increasing.
struct BroadcastOfBroadcast : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getOperand().getDefiningOp<BroadcastOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> dims;
    for (int64_t d : inner.getDims())
      dims.push_back(op.getDims()[d]);
    rewriter.replaceOpWithNewOp<BroadcastOp>(op, op.getType(), inner.getOperand(), dims);
    return success();
  }
};

} // namespace

void BroadcastOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<BroadcastOfBroadcast>(context);
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  if (auto inner = getOperand().getDefiningOp<ReshapeOp>();
      inner && inner.getOperand().getType() == getType())
    return inner.getOperand();
  return splatOf(getType(), adaptor.getOperand());
}

namespace {

/// reshape(reshape(x)) -> reshape(x): only the final shape matters.
struct ReshapeOfReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getOperand().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getOperand());
    return success();
  }
};

} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<ReshapeOfReshape>(context);
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (isIdentityPermutation(getPerm()))
    return getOperand();
  if (auto inner = getOperand().getDefiningOp<TransposeOp>();
      inner && isIdentityPermutation(composePermutations(inner.getPerm(), getPerm())))
    return inner.getOperand();
  return splatOf(getType(), adaptor.getOperand());
}

namespace {

/// transpose(transpose(x)) -> one transpose with the composed permutation.
struct TransposeOfTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getOperand().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<TransposeOp>(op, op.getType(), inner.getOperand(),
                                             composePermutations(inner.getPerm(), op.getPerm()));
    return success();
  }
};

} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<TransposeOfTranspose>(context);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

// Reducing over no axes leaves the operand (its type, too: no axis dropped).
OpFoldResult ReduceSumOp::fold(FoldAdaptor) {
  return getAxes().empty() ? getOperand() : OpFoldResult();
}

OpFoldResult ReduceMeanOp::fold(FoldAdaptor) {
  return getAxes().empty() ? getOperand() : OpFoldResult();
}

OpFoldResult ReduceMaxOp::fold(FoldAdaptor) {
  return getAxes().empty() ? getOperand() : OpFoldResult();
}
