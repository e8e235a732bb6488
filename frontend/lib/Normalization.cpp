//===- Normalization.cpp - Batch norm and dropout ------------------------===//
//
// Composites of existing ops. Batch norm's training branch is two reductions
// (mean, then the mean of squared deviations, whose elementwise prologue fuses
// into the second) and one elementwise apply; its eval branch is one
// elementwise apply from the running statistics. Dropout is a select on
// graph.dropout_mask, a view every kernel that reads it recomputes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Normalization.h"

#include "OpSupport.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <cmath>

using namespace mlir;

namespace kiln {

Tensor trainOrEval(Tensor train, Tensor eval, SourceLocation loc) {
  Builder *b = builderFor("trainOrEval", {train, eval}, loc);
  if (!b)
    return poisoned({train, eval});
  if (train.type() != eval.type()) {
    b->reportError(absl::StrCat("trainOrEval: the training value is ", shapeText(train.shape()),
                                " but the eval value is ", shapeText(eval.shape()),
                                "; both must have one type"),
                   loc);
    return b->poison();
  }
  return b->create<graph::TrainOrEvalOp>(loc, train.type(), train.value(), eval.value());
}

Tensor batchNorm(Tensor x, Tensor weight, Tensor bias, BatchNormOptions options,
                 SourceLocation loc) {
  Builder *b = builderFor("batchNorm", {x, weight, bias}, loc);
  if (!b)
    return poisoned({x, weight, bias});
  if (x.rank() < 2 || x.dtype() != DType::kF32) {
    b->reportError(absl::StrCat("batchNorm: x must be f32 [N, C, ...] of rank 2 or more, got ",
                                shapeText(x.shape())),
                   loc);
    return b->poison();
  }
  int64_t channels = x.dim(1);
  for (const Tensor *affine : {&weight, &bias})
    if (affine->shape() != llvm::ArrayRef<int64_t>{channels}) {
      b->reportError(absl::StrCat("batchNorm: ", affine == &weight ? "weight" : "bias",
                                  " must be [C] = [", channels, "] for x ", shapeText(x.shape()),
                                  ", got ", shapeText(affine->shape())),
                     loc);
      return b->poison();
    }
  if (!(options.momentum >= 0.0 && options.momentum <= 1.0) || !(options.eps > 0.0)) {
    b->reportError(absl::StrCat("batchNorm: momentum must be in [0, 1] and eps > 0, got momentum ",
                                options.momentum, " and eps ", options.eps),
                   loc);
    return b->poison();
  }
  std::vector<int64_t> axes;
  int64_t count = 1;
  for (int64_t axis = 0; axis < x.rank(); ++axis)
    if (axis != 1) {
      axes.push_back(axis);
      count *= x.dim(axis);
    }
  if (count < 2) {
    // PyTorch refuses this too: the unbiased variance of one value is undefined.
    b->reportError(absl::StrCat("batchNorm: training needs more than one value per channel, but x ",
                                shapeText(x.shape()), " has ", count),
                   loc);
    return b->poison();
  }
  llvm::ArrayRef<int64_t> shape = x.shape();
  auto perChannel = [&](Tensor c) { return broadcastInDim(c, {1}, shape, loc); };

  Tensor runningMean = b->state("running_mean", {channels}, Init::zeros(), loc);
  Tensor runningVar = b->state("running_var", {channels}, Init::ones(), loc);
  auto eps = static_cast<float>(options.eps);

  // Training: batch statistics, biased variance.
  Tensor mean = reduceMean(x, axes, loc);
  Tensor centered = sub(x, perChannel(mean), loc);
  Tensor variance = reduceMean(square(centered, loc), axes, loc);
  Tensor scale = mul(rsqrt(add(variance, eps, loc), loc), weight, loc);
  Tensor train = add(mul(centered, perChannel(scale), loc), perChannel(bias), loc);

  // The running statistics for the next step; running_var takes the unbiased variance.
  auto momentum = static_cast<float>(options.momentum);
  auto unbiased = static_cast<float>(options.momentum * static_cast<double>(count) /
                                     static_cast<double>(count - 1));
  b->assign(runningMean, add(mul(runningMean, 1.0f - momentum, loc), mul(mean, momentum, loc), loc),
            loc);
  b->assign(runningVar,
            add(mul(runningVar, 1.0f - momentum, loc), mul(variance, unbiased, loc), loc), loc);

  // Eval: one affine map per channel from the running statistics.
  Tensor evalScale = mul(rsqrt(add(runningVar, eps, loc), loc), weight, loc);
  Tensor evalShift = sub(bias, mul(runningMean, evalScale, loc), loc);
  Tensor eval = add(mul(x, perChannel(evalScale), loc), perChannel(evalShift), loc);
  return trainOrEval(train, eval, loc);
}

Tensor dropout(Tensor x, double rate, SourceLocation loc) {
  Builder *b = builderFor("dropout", {x}, loc);
  if (!b)
    return poisoned({x});
  if (!(rate >= 0.0 && rate < 1.0)) {
    b->reportError(absl::StrCat("dropout: rate must be in [0, 1), got ", rate), loc);
    return b->poison();
  }
  if (x.dtype() != DType::kF32) {
    b->reportError("dropout: x must be an f32 tensor", loc);
    return b->poison();
  }
  if (rate == 0.0)
    return x; // nothing to drop: no mask, no step counter
  Tensor counter = b->stepCounter(loc);
  if (!counter.ok())
    return b->poison();
  MLIRContext &context = b->context();
  auto maskType = RankedTensorType::get(x.shape(), IntegerType::get(&context, 1));
  Builder::SourceLocation where = loc;
  Tensor keep = b->create<graph::DropoutMaskOp>(
      where, maskType, counter.value(), FloatAttr::get(Float64Type::get(&context), rate),
      IntegerAttr::get(IntegerType::get(&context, 64), static_cast<int64_t>(b->seed())),
      IntegerAttr::get(IntegerType::get(&context, 64), static_cast<int64_t>(b->nextStepStream())));
  Tensor scaled = mul(x, static_cast<float>(1.0 / (1.0 - rate)), loc);
  Tensor dropped = select(keep, scaled, b->constant(x.shape(), 0.0f, loc), loc);
  return trainOrEval(dropped, x, loc);
}

} // namespace kiln
