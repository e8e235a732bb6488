//===- Losses.cpp - Scalar training losses --------------------------------===//
//
// Losses as graph ops, shape-checked with the dialect's shared rules before
// they are created.
//
//===----------------------------------------------------------------------===//

#include "kiln/Losses.h"

#include "kiln/Dialect/Graph/GraphShapes.h"

#include "absl/strings/str_cat.h"

#include <cmath>

using namespace mlir;

namespace kiln {
namespace {

/// The builder of a two-operand loss when it may be emitted, else null
/// (recording why when it can).
Builder *builderFor(const char *opName, Tensor first, Tensor second, SourceLocation loc) {
  Builder *b = first.builder() ? first.builder() : second.builder();
  if (!b || !b->ready(loc))
    return nullptr;
  if (!first.ok() || !second.ok() || first.builder() != second.builder()) {
    b->reportError(absl::StrCat(opName, ": both operands must be Tensors of one Builder"), loc);
    return nullptr;
  }
  return b;
}

Tensor poisoned(Tensor first, Tensor second) {
  Builder *b = first.builder() ? first.builder() : second.builder();
  return b ? b->poison() : Tensor();
}

} // namespace

Tensor softmaxCrossEntropy(Tensor logits, Tensor labels, SourceLocation loc) {
  Builder *b = builderFor("graph.softmax_cross_entropy", logits, labels, loc);
  if (!b)
    return poisoned(logits, labels);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferSoftmaxCrossEntropyType(l, logits.type(), labels.type());
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  Tensor perExample =
      b->create<graph::SoftmaxCrossEntropyOp>(loc, *type, logits.value(), labels.value());
  return reduceMean(perExample, {0}, loc);
}

Tensor softmaxCrossEntropy(Tensor logits, Tensor labels, CrossEntropyOptions options,
                           SourceLocation loc) {
  Builder *b = builderFor("softmaxCrossEntropy", logits, labels, loc);
  if (!b)
    return poisoned(logits, labels);
  double smoothing = options.labelSmoothing;
  if (!(smoothing >= 0.0 && smoothing <= 1.0)) {
    b->reportError(
        absl::StrCat("softmaxCrossEntropy: labelSmoothing must be in [0, 1], got ", smoothing),
        loc);
    return b->poison();
  }
  if (smoothing == 0.0)
    return softmaxCrossEntropy(logits, labels, loc);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferSoftmaxCrossEntropyType(l, logits.type(), labels.type());
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  Tensor perExample =
      b->create<graph::SoftmaxCrossEntropyOp>(loc, *type, logits.value(), labels.value());
  // The uniform part of the target: the mean over classes of -log_softmax.
  Tensor uniform = neg(reduceMean(logSoftmax(logits, 1, loc), {1}, loc), loc);
  Tensor mixed = add(mul(perExample, static_cast<float>(1.0 - smoothing), loc),
                     mul(uniform, static_cast<float>(smoothing), loc), loc);
  return reduceMean(mixed, {0}, loc);
}

/// The builder of two same-typed f32 operands, else null (recording why).
static Builder *sameShapedFloats(const char *what, Tensor first, Tensor second,
                                 SourceLocation loc) {
  Builder *b = builderFor(what, first, second, loc);
  if (!b)
    return nullptr;
  if (first.type() != second.type() || first.dtype() != DType::kF32) {
    std::string a, c;
    llvm::raw_string_ostream as(a), cs(c);
    first.type().print(as);
    second.type().print(cs);
    b->reportError(
        absl::StrCat(what, ": operands must be f32 tensors of one shape, got ", a, " and ", c),
        loc);
    return nullptr;
  }
  return b;
}

Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets, SourceLocation loc) {
  Builder *b = sameShapedFloats("binaryCrossEntropyWithLogits", logits, targets, loc);
  if (!b)
    return poisoned(logits, targets);
  // -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) = softplus(x) - t x; softplus is linear
  // above 20 and log1p(exp(x)) below, so neither side overflows.
  return reduceMean(sub(softplus(logits, 1.0, 20.0, loc), mul(logits, targets, loc), loc), loc);
}

Tensor huber(Tensor prediction, Tensor target, double delta, SourceLocation loc) {
  Builder *b = sameShapedFloats("huber", prediction, target, loc);
  if (!b)
    return poisoned(prediction, target);
  if (!(delta > 0.0) || !std::isfinite(delta)) {
    b->reportError(absl::StrCat("huber: delta must be finite and > 0, got ", delta), loc);
    return b->poison();
  }
  auto d = static_cast<float>(delta);
  Tensor distance = abs(sub(prediction, target, loc), loc);
  // q = min(|e|, delta): 0.5 q^2 + delta (|e| - q) is both branches of the Huber loss.
  Tensor inner = minimum(distance, d, loc);
  Tensor loss =
      add(mul(square(inner, loc), 0.5f, loc), mul(sub(distance, inner, loc), d, loc), loc);
  return reduceMean(loss, loc);
}

Tensor mse(Tensor prediction, Tensor target, SourceLocation loc) {
  Builder *b = builderFor("graph.mse", prediction, target, loc);
  if (!b)
    return poisoned(prediction, target);
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferMseType(l, prediction.type(), target.type());
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::MseOp>(loc, *type, prediction.value(), target.value());
}

} // namespace kiln
