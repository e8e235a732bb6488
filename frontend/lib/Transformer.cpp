//===- Transformer.cpp - Layer norm, causal attention, sequence loss -----===//
//
// Composites of existing ops, differentiated by autodiff with the ops' own
// rules. Layer norm is two row reductions (the mean, then the mean of the
// squared deviations) and one elementwise apply. Causal attention is built in
// exactly the dataflow kiln-form-attention matches (compiler/passes/
// FormAttention.cpp), so the compiler can replace it by graph.attention.
//
//===----------------------------------------------------------------------===//

#include "kiln/Transformer.h"

#include "OpSupport.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;

namespace kiln {

Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps, SourceLocation loc) {
  Builder *b = builderFor("layerNorm", {x, weight, bias}, loc);
  if (!b)
    return poisoned({x, weight, bias});
  if (x.rank() < 1 || x.dtype() != DType::kF32) {
    b->reportError(absl::StrCat("layerNorm: x must be an f32 tensor [..., C] of rank 1 or more, "
                                "got ",
                                dtypeName(x.dtype()), " ", shapeText(x.shape())),
                   loc);
    return b->poison();
  }
  int64_t rank = x.rank();
  int64_t size = x.dim(rank - 1);
  for (const Tensor *affine : {&weight, &bias})
    if (affine->dtype() != DType::kF32 || affine->shape() != llvm::ArrayRef<int64_t>{size}) {
      b->reportError(absl::StrCat("layerNorm: ", affine == &weight ? "weight" : "bias",
                                  " must be f32 [C] = [", size, "] (the last dimension of x ",
                                  shapeText(x.shape()), "), got ", dtypeName(affine->dtype()), " ",
                                  shapeText(affine->shape())),
                     loc);
      return b->poison();
    }
  if (!(eps > 0.0) || !std::isfinite(eps)) {
    b->reportError(absl::StrCat("layerNorm: eps must be finite and > 0, got ", eps), loc);
    return b->poison();
  }
  if (size == 0) {
    b->reportError(absl::StrCat("layerNorm: the normalized (last) dimension of x ",
                                shapeText(x.shape()), " is empty"),
                   loc);
    return b->poison();
  }
  llvm::ArrayRef<int64_t> shape = x.shape();
  std::vector<int64_t> rowDims(rank - 1);
  std::iota(rowDims.begin(), rowDims.end(), 0);
  auto perRow = [&](Tensor row) { return broadcastInDim(row, rowDims, shape, loc); };
  auto perColumn = [&](Tensor column) { return broadcastInDim(column, {rank - 1}, shape, loc); };

  Tensor mean = reduceMean(x, {rank - 1}, loc);
  Tensor centered = sub(x, perRow(mean), loc);
  Tensor variance = reduceMean(square(centered, loc), {rank - 1}, loc);
  Tensor inverse = rsqrt(add(variance, static_cast<float>(eps), loc), loc);
  Tensor normalized = mul(centered, perRow(inverse), loc);
  return add(mul(normalized, perColumn(weight), loc), perColumn(bias), loc);
}

Tensor causalAttention(Tensor q, Tensor k, Tensor v, SourceLocation loc) {
  Builder *b = builderFor("causalAttention", {q, k, v}, loc);
  if (!b)
    return poisoned({q, k, v});
  if (q.rank() != 4 || q.dtype() != DType::kF32) {
    b->reportError(absl::StrCat("causalAttention: q must be f32 [B, H, T, D], got ",
                                dtypeName(q.dtype()), " ", shapeText(q.shape())),
                   loc);
    return b->poison();
  }
  for (const Tensor *other : {&k, &v})
    if (other->type() != q.type()) {
      b->reportError(absl::StrCat("causalAttention: ", other == &k ? "k" : "v",
                                  " must have q's shape and type f32 ", shapeText(q.shape()),
                                  ", got ", dtypeName(other->dtype()), " ",
                                  shapeText(other->shape())),
                     loc);
      return b->poison();
    }
  int64_t batch = q.dim(0), heads = q.dim(1), time = q.dim(2), depth = q.dim(3);
  if (time == 0 || depth == 0) {
    b->reportError(
        absl::StrCat("causalAttention: T and D of q ", shapeText(q.shape()), " must be nonzero"),
        loc);
    return b->poison();
  }
  llvm::SmallVector<int64_t> scoreShape{batch, heads, time, time};
  Tensor scores = matmul(q, k, {.transposeRhs = true}, loc);
  Tensor scaled = mul(scores, static_cast<float>(1.0 / std::sqrt(static_cast<double>(depth))), loc);
  if (!b->ready(loc))
    return b->poison();
  auto positions = RankedTensorType::get(scoreShape, Float32Type::get(&b->context()));
  Tensor row = b->create<graph::IotaOp>(loc, positions, llvm::ArrayRef<int64_t>{2});
  Tensor column = b->create<graph::IotaOp>(loc, positions, llvm::ArrayRef<int64_t>{3});
  Tensor mask = compare(row, graph::ComparePredicate::ge, column, loc);
  Tensor masked = select(
      mask, scaled, b->constant(scoreShape, -std::numeric_limits<float>::infinity(), loc), loc);
  return matmul(softmax(masked, 3, loc), v, {}, loc);
}

Tensor sequenceCrossEntropy(Tensor logits, Tensor targets, SourceLocation loc) {
  Builder *b = builderFor("sequenceCrossEntropy", {logits, targets}, loc);
  if (!b)
    return poisoned({logits, targets});
  if (logits.rank() != 3 || logits.dtype() != DType::kF32) {
    b->reportError(absl::StrCat("sequenceCrossEntropy: logits must be f32 [B, T, V], got ",
                                dtypeName(logits.dtype()), " ", shapeText(logits.shape())),
                   loc);
    return b->poison();
  }
  if (targets.dtype() != DType::kI32) {
    b->reportError(absl::StrCat("sequenceCrossEntropy: targets must be i32 class indices, got ",
                                dtypeName(targets.dtype()), " ", shapeText(targets.shape())),
                   loc);
    return b->poison();
  }
  if (targets.shape() != logits.shape().drop_back()) {
    b->reportError(absl::StrCat("sequenceCrossEntropy: targets must be [B, T] = ",
                                shapeText(logits.shape().drop_back()), " for logits ",
                                shapeText(logits.shape()), ", got ", shapeText(targets.shape())),
                   loc);
    return b->poison();
  }
  int64_t rows = logits.dim(0) * logits.dim(1);
  if (rows == 0) {
    b->reportError(absl::StrCat("sequenceCrossEntropy: logits ", shapeText(logits.shape()),
                                " has no positions to average over"),
                   loc);
    return b->poison();
  }
  // graph.softmax_cross_entropy takes [N] labels and graph.reshape only floats, so the targets
  // stay [B, T]: the loss is -log_softmax(logits) picked by one_hot(targets) (a view that every
  // kernel reading it recomputes), summed over V and averaged over B and T.
  Tensor picked = mul(oneHot(targets, logits.dim(2), loc), logSoftmax(logits, 2, loc), loc);
  return neg(reduceMean(reduceSum(picked, {2}, loc), {0, 1}, loc), loc);
}

Tensor LayerNorm::forward(Tensor input, SourceLocation loc) {
  Builder &b = *input.builder();
  if (size_ <= 0) {
    b.reportError(absl::StrCat("LayerNorm(", size_, ") needs a positive normalized size"), loc);
    return b.poison();
  }
  if (input.rank() < 1 || input.dim(input.rank() - 1) != size_) {
    b.reportError(absl::StrCat("LayerNorm expects a last dimension of ", size_,
                               " but the input is ", shapeText(input.shape())),
                  loc);
    return b.poison();
  }
  if (!weight_.ok()) {
    weight_ = b.parameter("weight", {size_}, Init::ones(), loc);
    bias_ = b.parameter("bias", {size_}, Init::zeros(), loc);
  }
  return layerNorm(input, weight_, bias_, eps_, loc);
}

} // namespace kiln
