//===- GraphAttentionOps.td - Kiln graph dialect, attention ops -*- tablegen -*-===//
//
// Fused causal scaled-dot-product attention and its backward op.
// `kiln-form-attention` forms `graph.attention` from the composite
// (matmul, scale, causal mask, softmax, matmul) that kiln::causalAttention
// builds; the op never stores the T x T scores: its kernel runs an online
// softmax per query row and keeps the row's log-sum-exp for the backward op,
// which recomputes the probabilities from it. Shape rules, verifiers and the
// VJP live in lib/GraphAttention.cpp; docs/design/attention.md explains the
// kernels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_ATTENTION_OPS
#define KILN_GRAPH_ATTENTION_OPS

def Graph_AttentionOp : Graph_DiffOp<"attention"> {
  let summary = "Causal scaled-dot-product attention with its row log-sum-exp";
  let description = [{
    For q, k, v of [B, H, T, D] (batch, heads, positions, head size) and each
    (b, h): `s[t, u] = scale * sum_d q[t, d] * k[u, d]` for `u <= t` (the
    causal mask: later positions are not attended to), `lse[t] =
    log(sum_{u <= t} exp(s[t, u]))`, `out[t, :] = sum_{u <= t} exp(s[t, u] -
    lse[t]) * v[u, :]`. That is `softmax(mask(scale * q k^T)) v`, computed by
    one online softmax per query row: the scores are never stored. `lse`
    ([B, H, T]) is what the backward op needs to recompute the probabilities.
    Only causal attention exists (the `causal` keyword says so).

    ```mlir
    %out, %lse = graph.attention %q, %k, %v causal scale = 0.5
        : tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>
        -> tensor<2x4x16x4xf32>, tensor<2x4x16xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$query, Graph_FloatTensor:$key,
                       Graph_FloatTensor:$value, F64Attr:$scale);
  let results = (outs Graph_FloatTensor:$out, Graph_FloatTensor:$lse);
  let extraClassDeclaration = [{
    /// The largest head size (D) the attention kernels hold in registers.
    static constexpr int64_t kMaxHeadSize = 128;
  }];
  let assemblyFormat = [{
    $query `,` $key `,` $value `causal` `scale` `=` $scale attr-dict `:` type($query) `,`
    type($key) `,` type($value) `->` type($out) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def Graph_AttentionGradOp : Graph_Op<"attention_grad", [Pure]> {
  let summary = "The gradient of graph.attention with respect to q, k and v";
  let description = [{
    With `P[t, u] = exp(scale * q[t]·k[u] - lse[t])` for `u <= t` (0 above the
    diagonal) recomputed from the forward's `lse`, `Dt = sum_d dout[t, d] *
    out[t, d] - dlse[t]`, `dP[t, u] = dout[t]·v[u]` and `dS = P (dP - Dt)`:
    `dv[u] = sum_{t >= u} P[t, u] dout[t]`, `dq[t] = scale * sum_{u <= t}
    dS[t, u] k[u]`, `dk[u] = scale * sum_{t >= u} dS[t, u] q[t]`. `dlse` is
    the cotangent of the forward's `lse` result (zeros in a training step,
    where only this op reads lse). Every sum runs in a fixed order: no atomics.

    ```mlir
    %dq, %dk, %dv = graph.attention_grad %q, %k, %v, %out, %lse, %dout, %dlse causal scale = 0.5
        : tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>,
          tensor<2x4x16x4xf32>, tensor<2x4x16xf32>, tensor<2x4x16x4xf32>, tensor<2x4x16xf32>
        -> tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$query, Graph_FloatTensor:$key,
                       Graph_FloatTensor:$value, Graph_FloatTensor:$out,
                       Graph_FloatTensor:$lse, Graph_FloatTensor:$dout,
                       Graph_FloatTensor:$dlse, F64Attr:$scale);
  let results = (outs Graph_FloatTensor:$dquery, Graph_FloatTensor:$dkey,
                      Graph_FloatTensor:$dvalue);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $out `,` $lse `,` $dout `,` $dlse `causal` `scale` `=` $scale
    attr-dict `:` type($query) `,` type($key) `,` type($value) `,` type($out) `,` type($lse) `,`
    type($dout) `,` type($dlse) `->` type($dquery) `,` type($dkey) `,` type($dvalue)
  }];
  let hasVerifier = 1;
}

#endif // KILN_GRAPH_ATTENTION_OPS
