//===- GraphAttention.cpp - graph.attention and graph.attention_grad -----===//
//
// Verifiers (messages name the operand and the dimension) and the VJP of the
// fused causal attention. q, k, v, out and dout are [B, H, T, D]; lse and its
// cotangent dlse are [B, H, T]; D is at most AttentionOp::kMaxHeadSize, the
// head size the kernels hold in registers (kernels/lib/AttentionKernel.cpp).
//
// The VJP of attention is attention_grad applied to both cotangents: out's and
// lse's. Inside a training step only attention_grad reads lse, so autodiff
// hands it zeros for lse; a caller that differentiates lse itself (the op
// registry's VJP checks do) gets the exact gradient, since
// d lse[t] / d s[t, u] = P[t, u] adds P * dlse to dS, folded into Dt.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "TypeText.h"

#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;

namespace kiln::graph {
namespace {

/// Checks q, k, v (and more [B, H, T, D] tensors named in `same`) and the lse-shaped
/// `rows` against each other and the head-size limit.
LogicalResult verifyAttentionTypes(Operation *op, RankedTensorType query,
                                   llvm::ArrayRef<std::pair<llvm::StringRef, Type>> same,
                                   llvm::ArrayRef<std::pair<llvm::StringRef, Type>> rows,
                                   double scale) {
  if (query.getRank() != 4)
    return op->emitOpError("query must have rank 4 ([batch, heads, positions, head size]), got ")
           << str(query);
  const char *dims[4] = {"batch", "heads", "positions", "head size"};
  for (auto [name, type] : same) {
    auto tensor = llvm::cast<RankedTensorType>(type);
    if (tensor.getRank() != 4)
      return op->emitOpError() << name << " must have rank 4 like the query, got " << str(type);
    for (int d = 0; d < 4; ++d)
      if (tensor.getDimSize(d) != query.getDimSize(d))
        return op->emitOpError() << name << " dimension " << d << " (" << dims[d] << ") is "
                                 << tensor.getDimSize(d) << " but the query's is "
                                 << query.getDimSize(d) << " (" << str(type) << " vs " << str(query)
                                 << ")";
  }
  auto rowShape = query.getShape().take_front(3);
  for (auto [name, type] : rows) {
    auto tensor = llvm::cast<RankedTensorType>(type);
    if (tensor.getShape() != rowShape)
      return op->emitOpError() << name << " must be [batch, heads, positions] = [" << rowShape[0]
                               << ", " << rowShape[1] << ", " << rowShape[2]
                               << "] (the query without its head size), got " << str(type);
  }
  if (query.getDimSize(2) < 1 || query.getDimSize(3) < 1)
    return op->emitOpError("needs at least one position and a head size of at least 1, got ")
           << str(query);
  if (query.getDimSize(3) > AttentionOp::kMaxHeadSize)
    return op->emitOpError("head size (query dimension 3) is ")
           << query.getDimSize(3) << ", above the limit of " << AttentionOp::kMaxHeadSize
           << " the attention kernels hold in registers; split heads further or leave the "
              "composite unfused (kiln-form-attention only fuses head sizes within the limit)";
  if (!std::isfinite(scale))
    return op->emitOpError("scale must be finite, got ") << scale;
  return success();
}

} // namespace

LogicalResult AttentionOp::verify() {
  return verifyAttentionTypes(
      *this, getQuery().getType(),
      {{"key", getKey().getType()}, {"value", getValue().getType()}, {"out", getOut().getType()}},
      {{"lse", getLse().getType()}}, getScale().convertToDouble());
}

LogicalResult AttentionGradOp::verify() {
  return verifyAttentionTypes(*this, getQuery().getType(),
                              {{"key", getKey().getType()},
                               {"value", getValue().getType()},
                               {"out", getOut().getType()},
                               {"dout", getDout().getType()},
                               {"dquery", getDquery().getType()},
                               {"dkey", getDkey().getType()},
                               {"dvalue", getDvalue().getType()}},
                              {{"lse", getLse().getType()}, {"dlse", getDlse().getType()}},
                              getScale().convertToDouble());
}

LogicalResult AttentionOp::buildVJP(OpBuilder &b, ValueRange gs, SmallVectorImpl<Value> &out) {
  auto grad = b.create<AttentionGradOp>(
      getLoc(), TypeRange{getQuery().getType(), getKey().getType(), getValue().getType()},
      getQuery(), getKey(), getValue(), getOut(), getLse(), gs[0], gs[1], getScaleAttr());
  out.append({grad.getDquery(), grad.getDkey(), grad.getDvalue()});
  return success();
}

} // namespace kiln::graph
