//===- Transformer.h - Layer norm, causal attention, GPT blocks -*- C++ -*-===//
//
// The pieces of a decoder-only transformer as composites of graph ops: layer norm over the last
// axis, the causal mask, multi-head causal self-attention (which kiln-form-attention turns into
// graph.attention, the fused kind), and cross entropy over [batch, time, vocab]. See
// docs/guide/transformers.md.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRANSFORMER_H
#define KILN_TRANSFORMER_H

#include "kiln/Layers.h"
#include "kiln/Ops.h"

namespace kiln {

/// As torch.nn.functional.layer_norm(x, [C], weight, bias, eps) over the last axis of x [..., C],
/// weight and bias [C]: biased variance, eps added to the variance inside the square root.
/// Built as reduce_mean, sub, square, reduce_mean, rsqrt, mul, add; eps > 0.
Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps = 1e-5,
                 SourceLocation loc = SourceLocation::current());

/// Causal multi-head self-attention of q, k, v [B, H, T, D] (f32, one shape):
/// softmax(q k^T * scale + causal mask) v with scale = 1/sqrt(D), as PyTorch's
/// scaled_dot_product_attention(q, k, v, is_causal=True). Built as the composite
/// kiln-form-attention recognizes (see docs/design/attention.md): matmul(q, k, transpose_rhs),
/// mul by the scale, select(iota(dim 2) >= iota(dim 3), scores, -inf), softmax over axis 3,
/// matmul with v.
Tensor causalAttention(Tensor q, Tensor k, Tensor v,
                       SourceLocation loc = SourceLocation::current());

/// Mean cross entropy of logits [B, T, V] (f32) against integer targets [B, T] (i32), over all
/// B*T positions: torch.nn.functional.cross_entropy(logits.view(-1, V), targets.view(-1)).
/// Built as -mean(sum(one_hot(targets) * log_softmax(logits, 2), 2)): a target outside [0, V)
/// contributes 0 (PyTorch raises an error); check targets on the host, or with
/// gatherOutOfRange(targets, V) as a step output.
Tensor sequenceCrossEntropy(Tensor logits, Tensor targets,
                            SourceLocation loc = SourceLocation::current());

/// torch.nn.LayerNorm(C) on x [..., C]: parameters "<name>.weight" (init 1) and "<name>.bias"
/// (init 0), both [C], as in PyTorch's state_dict. Unnamed ones are ln1, ln2, ...
class LayerNorm : public Layer {
public:
  explicit LayerNorm(int64_t normalizedSize, double eps = 1e-5)
      : Layer("ln"), size_(normalizedSize), eps_(eps) {}

  int64_t normalizedSize() const { return size_; }
  /// The scale [C]; empty before the first application.
  Tensor weight() const { return weight_; }
  /// The shift [C]; empty before the first application.
  Tensor bias() const { return bias_; }

protected:
  Tensor forward(Tensor input, SourceLocation loc) override;

private:
  int64_t size_;
  double eps_;
  Tensor weight_;
  Tensor bias_;
};

} // namespace kiln

#endif // KILN_TRANSFORMER_H
