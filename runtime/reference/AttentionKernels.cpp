//===- AttentionKernels.cpp - The reference loops of causal attention -----===//
//
// The two-pass textbook form, not the kernels' online softmax, so the devices
// are checked against a different computation: per query row the scores
// scale * q[t]·k[u] for u <= t, their maximum, the sum of exponentials and
// lse = max + log(sum), then out[t] = sum_u exp(s - lse) v[u]. The backward
// recomputes P from lse. Every sum is in Accumulator<T> (double for float32),
// rounded to T once.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace kiln::reference {

template <typename T>
void attention(const T *q, const T *k, const T *v, T *out, T *lse, const AttentionLayout &layout) {
  using Wide = Accumulator<T>;
  int64_t t = layout.t, d = layout.d;
  std::vector<Wide> scores(t), row(d);
  for (int64_t h = 0; h < layout.heads; ++h) {
    const T *qh = q + h * t * d, *kh = k + h * t * d, *vh = v + h * t * d;
    for (int64_t i = 0; i < t; ++i) {
      Wide maximum = -std::numeric_limits<Wide>::infinity();
      for (int64_t j = 0; j <= i; ++j) {
        Wide dot = 0;
        for (int64_t c = 0; c < d; ++c)
          dot += static_cast<Wide>(qh[i * d + c]) * kh[j * d + c];
        scores[j] = static_cast<Wide>(layout.scale) * dot;
        maximum = std::max(maximum, scores[j]);
      }
      Wide sum = 0;
      for (int64_t j = 0; j <= i; ++j)
        sum += std::exp(scores[j] - maximum);
      Wide logSum = maximum + std::log(sum);
      std::fill(row.begin(), row.end(), Wide(0));
      for (int64_t j = 0; j <= i; ++j) {
        Wide p = std::exp(scores[j] - logSum);
        for (int64_t c = 0; c < d; ++c)
          row[c] += p * vh[j * d + c];
      }
      for (int64_t c = 0; c < d; ++c)
        out[(h * t + i) * d + c] = static_cast<T>(row[c]);
      lse[h * t + i] = static_cast<T>(logSum);
    }
  }
}

template <typename T>
void attentionGrad(const T *q, const T *k, const T *v, const T *out, const T *lse, const T *dout,
                   const T *dlse, T *dq, T *dk, T *dv, const AttentionLayout &layout) {
  using Wide = Accumulator<T>;
  int64_t t = layout.t, d = layout.d;
  auto scale = static_cast<Wide>(layout.scale);
  std::vector<Wide> dqw(t * d), dkw(t * d), dvw(t * d), dt(t);
  for (int64_t h = 0; h < layout.heads; ++h) {
    int64_t base = h * t * d;
    const T *qh = q + base, *kh = k + base, *vh = v + base, *oh = out + base, *gh = dout + base;
    std::fill(dqw.begin(), dqw.end(), Wide(0));
    std::fill(dkw.begin(), dkw.end(), Wide(0));
    std::fill(dvw.begin(), dvw.end(), Wide(0));
    for (int64_t i = 0; i < t; ++i) {
      Wide sum = 0;
      for (int64_t c = 0; c < d; ++c)
        sum += static_cast<Wide>(gh[i * d + c]) * oh[i * d + c];
      dt[i] = sum - static_cast<Wide>(dlse[h * t + i]);
    }
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t j = 0; j <= i; ++j) {
        Wide dot = 0, dp = 0;
        for (int64_t c = 0; c < d; ++c) {
          dot += static_cast<Wide>(qh[i * d + c]) * kh[j * d + c];
          dp += static_cast<Wide>(gh[i * d + c]) * vh[j * d + c];
        }
        Wide p = std::exp(scale * dot - static_cast<Wide>(lse[h * t + i]));
        Wide ds = p * (dp - dt[i]);
        for (int64_t c = 0; c < d; ++c) {
          dvw[j * d + c] += p * gh[i * d + c];
          dqw[i * d + c] += ds * kh[j * d + c];
          dkw[j * d + c] += ds * qh[i * d + c];
        }
      }
    }
    for (int64_t e = 0; e < t * d; ++e) {
      dq[base + e] = static_cast<T>(scale * dqw[e]);
      dk[base + e] = static_cast<T>(scale * dkw[e]);
      dv[base + e] = static_cast<T>(dvw[e]);
    }
  }
}

#define KILN_INSTANTIATE(T)                                                                        \
  template void attention<T>(const T *, const T *, const T *, T *, T *, const AttentionLayout &);  \
  template void attentionGrad<T>(const T *, const T *, const T *, const T *, const T *, const T *, \
                                 const T *, T *, T *, T *, const AttentionLayout &);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

} // namespace kiln::reference
