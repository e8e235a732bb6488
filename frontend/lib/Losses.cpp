//===- Losses.cpp - Scalar training losses --------------------------------===//
//
// Losses as graph ops, shape-checked with the dialect's shared rules before
// they are created.
//
//===----------------------------------------------------------------------===//

#include "kiln/Losses.h"

#include "kiln/Dialect/Graph/GraphShapes.h"

#include "absl/strings/str_cat.h"

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
