//===- OpRegistryAttention.cpp - Samples of fused causal attention --------===//
//
// graph.attention's two results, `out` and `lse`, each as a sample's result
// (the other unused), at one position (T = 1: a row attends to itself only),
// five positions, an odd head size (D = 3) and several batch-heads (B * H =
// 6). The reference is the composite kiln::causalAttention builds, written
// out: the full [T, T] score matrix scale * q k^T, -inf above the diagonal,
// softmax along the last axis (its log-sum-exp for lse), times v. So every
// device's fused kernel is checked against the unfused computation.
//
// graph.attention_grad is attention's VJP, so the f64 finite-difference and
// random-direction VJP checks of these samples run it on every device, with a
// nonzero cotangent for out (the out samples) and for lse (the lse samples,
// which exercise dlse). Its own samples check each of dq, dk and dv, given
// random cotangents for both out and lse at once, against the composite's
// gradient worked out in float64 (its out and lse come from graph.attention
// on the same q, k, v, as they do in a training step).
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace kiln::ops_test {
namespace {

/// The composite's out (`lse` false) or lse of q, k, v [B, H, T, D].
std::vector<double> compositeAttention(const std::vector<Tensor> &operands, double scale,
                                       bool lse) {
  const Shape &shape = operands[0].shape;
  int64_t heads = shape[0] * shape[1], t = shape[2], d = shape[3];
  const std::vector<double> &q = operands[0].values, &k = operands[1].values,
                            &v = operands[2].values;
  std::vector<double> result;
  for (int64_t h = 0; h < heads; ++h) {
    // scores[i][j] = scale * q[i]·k[j], masked to -inf where j > i.
    std::vector<std::vector<double>> scores(t, std::vector<double>(t));
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < t; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c)
          dot += q[(h * t + i) * d + c] * k[(h * t + j) * d + c];
        scores[i][j] = j <= i ? scale * dot : -std::numeric_limits<double>::infinity();
      }
    for (int64_t i = 0; i < t; ++i) {
      double maximum = -std::numeric_limits<double>::infinity();
      for (double s : scores[i])
        maximum = std::max(maximum, s);
      double sum = 0;
      for (double s : scores[i])
        sum += std::exp(s - maximum);
      if (lse) {
        result.push_back(maximum + std::log(sum));
        continue;
      }
      for (int64_t c = 0; c < d; ++c) {
        double value = 0;
        for (int64_t j = 0; j < t; ++j)
          value += std::exp(scores[i][j] - maximum) / sum * v[(h * t + j) * d + c];
        result.push_back(value);
      }
    }
  }
  return result;
}

OpSample attentionSample(std::string name, Shape shape, bool lse) {
  double scale = 1.0 / std::sqrt(static_cast<double>(shape[3]));
  char scaleText[32];
  std::snprintf(scaleText, sizeof scaleText, "%.17e", scale);
  Shape rows(shape.begin(), shape.begin() + 3);
  std::string type = tensorType(shape);
  std::string results = lse ? "%out, %result" : "%result, %lse";
  return {"attention",
          name + (lse ? "_lse" : "_out"),
          {{shape}, {shape}, {shape}},
          lse ? rows : shape,
          ElementType::kF32,
          results + " = graph.attention %arg0, %arg1, %arg2 causal scale = " + scaleText + " : " +
              type + ", " + type + ", " + type + " -> " + type + ", " + tensorType(rows),
          [scale, lse](const std::vector<Tensor> &v) { return compositeAttention(v, scale, lse); },
          /*differentiable=*/true,
          /*gradientReference=*/nullptr,
          // Smooth, with float32 rounding in the online softmax's running sums (and the
          // exponentials of the CPU target): a wider step keeps that rounding, divided by
          // the step, below the check's tolerance; the truncation error stays O(step^2).
          /*vjpEpsilon=*/1e-3};
}

/// The composite's gradient with respect to q (`which` 0), k (1) or v (2), given the
/// cotangents dout [B, H, T, D] and dlse [B, H, T]: with P the masked softmax of the scores
/// S = scale q k^T, dv = P^T dout, dS = P * (dout v^T - rowsum(P * dout v^T) + dlse),
/// dq = scale dS k and dk = scale dS^T q.
std::vector<double> compositeAttentionGrad(const std::vector<Tensor> &operands, double scale,
                                           int which) {
  const Shape &shape = operands[0].shape;
  int64_t heads = shape[0] * shape[1], t = shape[2], d = shape[3];
  const std::vector<double> &q = operands[0].values, &k = operands[1].values,
                            &v = operands[2].values, &dout = operands[3].values,
                            &dlse = operands[4].values;
  std::vector<double> result(q.size(), 0.0);
  for (int64_t h = 0; h < heads; ++h) {
    auto at = [&](const std::vector<double> &x, int64_t row, int64_t c) {
      return x[(h * t + row) * d + c];
    };
    std::vector<std::vector<double>> p(t, std::vector<double>(t, 0.0));
    for (int64_t i = 0; i < t; ++i) {
      double maximum = -std::numeric_limits<double>::infinity();
      std::vector<double> scores(i + 1);
      for (int64_t j = 0; j <= i; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c)
          dot += at(q, i, c) * at(k, j, c);
        scores[j] = scale * dot;
        maximum = std::max(maximum, scores[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j <= i; ++j)
        sum += std::exp(scores[j] - maximum);
      for (int64_t j = 0; j <= i; ++j)
        p[i][j] = std::exp(scores[j] - maximum) / sum;
    }
    for (int64_t i = 0; i < t; ++i) {
      std::vector<double> dp(t, 0.0);
      double rowSum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        for (int64_t c = 0; c < d; ++c)
          dp[j] += at(dout, i, c) * at(v, j, c);
        rowSum += p[i][j] * dp[j];
      }
      for (int64_t j = 0; j <= i; ++j) {
        double ds = p[i][j] * (dp[j] - rowSum + dlse[h * t + i]);
        for (int64_t c = 0; c < d; ++c) {
          if (which == 0)
            result[(h * t + i) * d + c] += scale * ds * at(k, j, c);
          else if (which == 1)
            result[(h * t + j) * d + c] += scale * ds * at(q, i, c);
          else
            result[(h * t + j) * d + c] += p[i][j] * at(dout, i, c);
        }
      }
    }
  }
  return result;
}

OpSample attentionGradSample(std::string name, Shape shape, int which) {
  double scale = 1.0 / std::sqrt(static_cast<double>(shape[3]));
  char scaleText[32];
  std::snprintf(scaleText, sizeof scaleText, "%.17e", scale);
  Shape rows(shape.begin(), shape.begin() + 3);
  std::string type = tensorType(shape), rowType = tensorType(rows);
  static const char *const kNames[] = {"dq", "dk", "dv"};
  std::string results;
  for (int i = 0; i < 3; ++i)
    results += std::string(i ? ", " : "") + (i == which ? "%result" : std::string("%") + kNames[i]);
  return {"attention_grad",
          name + "_" + kNames[which],
          {{shape}, {shape}, {shape}, {shape}, {rows}},
          shape,
          ElementType::kF32,
          std::string("%out, %lse = graph.attention %arg0, %arg1, %arg2 causal scale = ") +
              scaleText + " : " + type + ", " + type + ", " + type + " -> " + type + ", " +
              rowType + "\n" + results +
              " = graph.attention_grad %arg0, %arg1, %arg2, %out, %lse, %arg3, %arg4 causal "
              "scale = " +
              scaleText + " : " + type + ", " + type + ", " + type + ", " + type + ", " + rowType +
              ", " + type + ", " + rowType + " -> " + type + ", " + type + ", " + type,
          [scale, which](const std::vector<Tensor> &v) {
            return compositeAttentionGrad(v, scale, which);
          },
          /*differentiable=*/false,
          /*gradientReference=*/nullptr};
}

} // namespace

void appendAttentionSamples(std::vector<OpSample> &r) {
  for (bool lse : {false, true}) {
    r.push_back(attentionSample("one_position", {1, 1, 1, 4}, lse));
    r.push_back(attentionSample("five_positions", {1, 1, 5, 4}, lse));
    r.push_back(attentionSample("odd_head_size", {1, 2, 4, 3}, lse));
    r.push_back(attentionSample("batch_heads", {2, 3, 5, 2}, lse));
  }
  for (int which = 0; which < 3; ++which) {
    r.push_back(attentionGradSample("one_position", {1, 1, 1, 4}, which));
    r.push_back(attentionGradSample("odd_head_size", {1, 2, 5, 3}, which));
  }
}

} // namespace kiln::ops_test
