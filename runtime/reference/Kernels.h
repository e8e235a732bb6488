//===- Kernels.h - The reference device's loops -----------------*- C++ -*-===//
//
// Plain loops over raw pointers, one function per op family, instantiated for
// float and double (elementwise ops: ElementwiseKernels.h). They know nothing of MLIR: the plan
// hands them pointers and precomputed layouts.
//
// This device is the oracle the others are checked against, so it is the most accurate one:
// every sum (reduce_sum, reduce_mean, the softmax family's sums of exponentials, mse and the
// matmul's dot products) accumulates in `Accumulator<T>`, double for float32 tensors, in
// row-major order of the operand, and the result is rounded to T once. A float32 sum of n
// terms is then correctly rounded (barring a near tie) while n times its condition number
// sum|x| / |sum x| stays well below 2^29; a float32 loop is off by up to n * 2^-24 relative.
// float64 runs stay float64.
//
// Internal to runtime/reference.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_REFERENCE_KERNELS_H
#define KILN_RUNTIME_REFERENCE_KERNELS_H

#include "absl/status/status.h"

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kiln::reference {

/// The type sums of T run in: double for float, T otherwise.
template <typename T> using Accumulator = std::conditional_t<std::is_same_v<T, float>, double, T>;

enum class CompareKind { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ReduceKind { kSum, kMean, kMax };

/// Copies a strided view: result element at row-major index `shape` position p
/// comes from the operand at offset sum(p[d] * operandStrides[d]). A stride of
/// 0 repeats (broadcast); permuted strides transpose.
struct StridedLayout {
  std::vector<int64_t> shape;
  std::vector<int64_t> operandStrides;
};

/// Reduces an operand of `shape` into a result whose offset for operand
/// position p is sum(p[d] * resultStrides[d]); reduced dimensions have stride
/// 0. `resultCount` elements; `reducedCount` operand elements per result.
struct ReduceLayout {
  std::vector<int64_t> shape;
  std::vector<int64_t> resultStrides;
  int64_t resultCount = 0;
  int64_t reducedCount = 0;
};

/// op(lhs) [batch, m, k] x op(rhs) [batch, k, n] -> [batch, m, n], where op
/// transposes the stored matrix when its flag is set.
struct MatmulLayout {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool transposeLhs = false, transposeRhs = false;
};

/// A 2-D convolution: x [n, c, h, w], w [o, c / groups, kh, kw], y [n, o, oh, ow], as
/// torch.nn.functional.conv2d (symmetric padding per spatial dimension).
struct ConvLayout {
  int64_t n = 0, c = 0, h = 0, w = 0, o = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  int64_t strideH = 1, strideW = 1, padH = 0, padW = 0, dilationH = 1, dilationW = 1;
  int64_t groups = 1;
};

/// One strided copy of a window view (WindowKernels.cpp): for every position p of `shape`
/// (row-major), to[toBase + sum(p[d] * toStrides[d])] = operand[fromBase + sum(p[d] *
/// fromStrides[d])].
struct AffineCopy {
  int operand = 0;
  std::vector<int64_t> shape, fromStrides, toStrides;
  int64_t fromBase = 0, toBase = 0;
};

/// graph.pad, slice, concat, window and unwindow: the result (`resultCount` elements)
/// filled with `fill` when `filled`, then every copy in order.
struct WindowLayout {
  int64_t resultCount = 0;
  bool filled = false;
  double fill = 0;
  std::vector<AffineCopy> copies;
};

/// graph.iota: the element at position p of `shape` is sum(p[d] * positionStrides[d]).
struct IotaLayout {
  std::vector<int64_t> shape, positionStrides;
};

/// A tensor seen as [outer, axis, inner] around one axis.
struct AxisLayout {
  int64_t outer = 1, size = 0, inner = 1;
};

template <typename T>
void compare(CompareKind kind, const T *lhs, const T *rhs, uint8_t *result, int64_t count);
template <typename T>
void select(const uint8_t *condition, const T *onTrue, const T *onFalse, T *result, int64_t count);

/// Broadcast and transpose: fills `result` row-major from the strided view of `operand`.
template <typename T> void stridedCopy(const T *operand, T *result, const StridedLayout &layout);
template <typename T>
void reduce(ReduceKind kind, const T *operand, T *result, const ReduceLayout &layout);

/// `lhsScratch` / `rhsScratch` hold m*k / k*n elements per batch; they are
/// used (and may be null otherwise) when the matching operand is transposed.
template <typename T>
void matmul(const T *lhs, const T *rhs, T *result, const MatmulLayout &layout, T *lhsScratch,
            T *rhsScratch);

/// softmax (or log_softmax when `logarithm`) along the layout's axis, with the
/// maximum subtracted first.
template <typename T>
void softmax(bool logarithm, const T *operand, T *result, const AxisLayout &layout);

/// result[r] = logsumexp(logits[r, :]) - logits[r, labels[r]] over [rows, classes]
/// (layout.outer rows, layout.size classes). Fails with InvalidArgument naming `where`,
/// the example and the label when a label is outside [0, classes).
template <typename T>
absl::Status softmaxCrossEntropy(const T *logits, const int32_t *labels, T *result,
                                 const AxisLayout &layout, std::string_view where);

/// One row of `classes` per label; labels outside [0, classes) give zeros.
template <typename T> void oneHot(const int32_t *labels, T *result, int64_t count, int64_t classes);

/// y = conv2d(x, w); dx = its adjoint in x applied to g; dw = its adjoint in w applied to g
/// (ConvKernels.cpp).
template <typename T> void conv2d(const T *x, const T *w, T *y, const ConvLayout &layout);
template <typename T> void conv2dInputGrad(const T *g, const T *w, T *dx, const ConvLayout &layout);
template <typename T>
void conv2dWeightGrad(const T *g, const T *x, T *dw, const ConvLayout &layout);

/// graph.dropout_mask's key and keep threshold (GraphTrainingOps.td).
struct DropoutLayout {
  uint64_t seed = 0;
  uint32_t stream = 0;
  uint32_t threshold = 0;
  uint32_t tag = 0; ///< the counter's last word, graph::DropoutMaskOp::kCounterTag
};

/// result[i] = 1 when Philox-4x32-10 word 0 of counter {i, step, stream, tag} and key
/// seed is >= threshold, step = *counter as an unsigned integer (TrainingKernels.cpp).
template <typename T>
void dropoutMask(const T *counter, uint8_t *result, int64_t count, const DropoutLayout &layout);

/// The window views and iota (WindowKernels.cpp).
template <typename T>
void windowCopy(const std::vector<const T *> &operands, T *result, const WindowLayout &layout);
template <typename T> void iota(T *result, const IotaLayout &layout);

/// result[0] = mean((prediction - target)^2) over `count` elements.
template <typename T>
void meanSquaredError(const T *prediction, const T *target, T *result, int64_t count);

/// graph.attention and graph.attention_grad over `heads` = B * H independent [t, d] blocks
/// (AttentionKernels.cpp).
struct AttentionLayout {
  int64_t heads = 1, t = 0, d = 0;
  double scale = 1;
};

/// out = softmax(causal(scale * q k^T)) v and lse, its rows' log-sum-exp.
template <typename T>
void attention(const T *q, const T *k, const T *v, T *out, T *lse, const AttentionLayout &layout);
/// dq, dk, dv of attention from q, k, v, out, lse and the cotangents dout and dlse.
template <typename T>
void attentionGrad(const T *q, const T *k, const T *v, const T *out, const T *lse, const T *dout,
                   const T *dlse, T *dq, T *dk, T *dv, const AttentionLayout &layout);

/// graph.gather and graph.scatter_add (IndexKernels.cpp): the table (gather's operand,
/// scatter_add's result) seen as [outer, rows, inner] around the indexed axis, and `count`
/// indices; the other side is [outer, count, inner].
struct IndexLayout {
  int64_t outer = 1, rows = 0, count = 0, inner = 1;
};

/// result[o, n, i] = table[o, indices[n], i], or 0 where indices[n] is outside [0, rows).
template <typename T>
void gather(const T *table, const int32_t *indices, T *result, const IndexLayout &layout);
/// result[o, v, i] = the sum of updates[o, n, i] over the n with indices[n] == v, added one at
/// a time in ascending n from +0 in T (not in Accumulator<T>: this is the order and precision
/// every device's kernel uses, so all of them give these exact bits). Out-of-range indices
/// add nothing.
template <typename T>
void scatterAdd(const T *updates, const int32_t *indices, T *result, const IndexLayout &layout);

} // namespace kiln::reference

#endif // KILN_RUNTIME_REFERENCE_KERNELS_H
