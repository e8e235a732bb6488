//===- FormAttention.cpp - kiln-form-attention: fused causal attention ----===//
//
// Recognizes the causal attention composite by its dataflow, from the last
// matmul back:
//
//   o  = matmul(p, v)                          p: [B, H, T, T], v: [B, H, T, D]
//   p  = softmax(s3, axis = 3)
//   s3 = select(mask, s2, -inf)                mask[b, h, t, u] = t >= u
//   s2 = mul(s, c) | mul(c, s) | div(s, c) | s  c a splat constant (scale)
//   s  = matmul(q, k, transpose_rhs)           q, k: [B, H, T, D]
//
// The mask is graph.compare ge(row, col) or le(col, row) of two graph.iota
// positions (one dimension each), possibly computed on [T, T] and broadcast,
// the fill and the scale splat constants, possibly broadcast. `o` is replaced
// by graph.attention's `out`; the composite's other ops stay for whatever
// else reads them (canonicalization drops them when nothing does). Every
// non-match is left alone: fusing is an optimization, never a requirement.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>
#include <optional>

namespace kiln {
#define GEN_PASS_DEF_FORMATTENTION
#include "kiln/Compiler/Passes.h.inc"

using namespace mlir;
using namespace kiln::graph;

namespace {

/// The value of a splat constant `value` (through broadcasts), if it is one.
std::optional<double> splatValue(Value value) {
  while (auto broadcast = value.getDefiningOp<BroadcastOp>())
    value = broadcast.getOperand();
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = llvm::dyn_cast<DenseFPElementsAttr>(constant.getValue());
  if (!dense || !dense.isSplat())
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

/// The dimension of `value`'s shape whose position `value` is at every element (an iota
/// over one dimension, through broadcasts that keep that dimension's extent), if it is one.
std::optional<int64_t> positionDim(Value value) {
  if (auto iota = value.getDefiningOp<IotaOp>()) {
    if (iota.getDims().size() != 1)
      return std::nullopt;
    return iota.getDims()[0];
  }
  auto broadcast = value.getDefiningOp<BroadcastOp>();
  if (!broadcast)
    return std::nullopt;
  std::optional<int64_t> inner = positionDim(broadcast.getOperand());
  if (!inner)
    return std::nullopt;
  int64_t to = broadcast.getDims()[*inner];
  if (broadcast.getOperand().getType().getDimSize(*inner) != broadcast.getType().getDimSize(to))
    return std::nullopt;
  return to;
}

/// Whether `mask` (i1 [B, H, T, T]) is true exactly where dim 2 >= dim 3 (u <= t).
bool isCausalMask(Value mask) {
  auto compare = mask.getDefiningOp<CompareOp>();
  if (!compare)
    return false;
  std::optional<int64_t> lhs = positionDim(compare.getLhs());
  std::optional<int64_t> rhs = positionDim(compare.getRhs());
  if (!lhs || !rhs)
    return false;
  switch (compare.getPredicate()) {
  case ComparePredicate::ge:
    return *lhs == 2 && *rhs == 3;
  case ComparePredicate::le:
    return *lhs == 3 && *rhs == 2;
  default:
    return false;
  }
}

/// The graph.attention `output` computes, built before it, or null when it is not the
/// composite.
Value formAttention(MatmulOp output) {
  if (output.getTransposeLhs() || output.getTransposeRhs())
    return {};
  auto softmax = output.getLhs().getDefiningOp<SoftmaxOp>();
  if (!softmax || softmax.getAxis() != 3)
    return {};
  auto select = softmax.getOperand().getDefiningOp<SelectOp>();
  if (!select || !isCausalMask(select.getCondition()))
    return {};
  std::optional<double> fill = splatValue(select.getOnFalse());
  if (!fill || !std::isinf(*fill) || *fill > 0)
    return {};
  Value scaled = select.getOnTrue();
  double scale = 1.0;
  Value scores = scaled;
  if (auto mul = scaled.getDefiningOp<MulOp>()) {
    if (std::optional<double> c = splatValue(mul.getRhs()))
      scale = *c, scores = mul.getLhs();
    else if (std::optional<double> c = splatValue(mul.getLhs()))
      scale = *c, scores = mul.getRhs();
    else
      return {};
  } else if (auto div = scaled.getDefiningOp<DivOp>()) {
    std::optional<double> c = splatValue(div.getRhs());
    if (!c || *c == 0)
      return {};
    scale = 1.0 / *c, scores = div.getLhs();
  }
  auto product = scores.getDefiningOp<MatmulOp>();
  if (!product || product.getTransposeLhs() || !product.getTransposeRhs())
    return {};
  Value q = product.getLhs(), k = product.getRhs(), v = output.getRhs();
  auto type = llvm::cast<RankedTensorType>(q.getType());
  if (type.getRank() != 4 || k.getType() != type || v.getType() != type ||
      output.getType() != type || type.getDimSize(3) > AttentionOp::kMaxHeadSize ||
      !std::isfinite(scale))
    return {};
  OpBuilder b(output);
  auto lseType = RankedTensorType::get(type.getShape().take_front(3), type.getElementType());
  auto attention = b.create<AttentionOp>(output.getLoc(), TypeRange{type, lseType}, q, k, v,
                                         b.getF64FloatAttr(scale));
  return attention.getOut();
}

struct FormAttentionPass : impl::FormAttentionBase<FormAttentionPass> {
  void runOnOperation() override {
    llvm::SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp matmul) { matmuls.push_back(matmul); });
    for (MatmulOp matmul : matmuls) {
      Value out = formAttention(matmul);
      if (!out)
        continue;
      matmul.getResult().replaceAllUsesWith(out);
      matmul.erase();
      ++numFormed;
    }
  }
};

} // namespace
} // namespace kiln
