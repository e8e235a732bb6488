//===- LayoutKernels.cpp - Broadcast, transpose and reduction loops -------===//
//
// All three walk a row-major index space with two strided offsets, so one
// helper serves them; its innermost dimension is a plain loop.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::reference {
namespace {

/// Calls visit(offsetA, offsetB) for every position p of `shape` in row-major
/// order, with offsetX = sum(p[d] * stridesX[d]). A rank-0 shape visits once.
template <typename Visit>
void forEachPosition(const std::vector<int64_t> &shape, const std::vector<int64_t> &stridesA,
                     const std::vector<int64_t> &stridesB, Visit visit) {
  size_t rank = shape.size();
  if (rank == 0) {
    visit(int64_t{0}, int64_t{0});
    return;
  }
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return;
  std::vector<int64_t> position(rank, 0);
  int64_t baseA = 0, baseB = 0;
  int64_t innerSize = shape[rank - 1], innerA = stridesA[rank - 1], innerB = stridesB[rank - 1];
  while (true) {
    for (int64_t i = 0; i < innerSize; ++i)
      visit(baseA + i * innerA, baseB + i * innerB);
    // Advance the outer dimensions like an odometer.
    size_t d = rank - 1;
    while (d > 0) {
      --d;
      ++position[d];
      baseA += stridesA[d];
      baseB += stridesB[d];
      if (position[d] < shape[d])
        break;
      baseA -= position[d] * stridesA[d];
      baseB -= position[d] * stridesB[d];
      position[d] = 0;
      if (d == 0)
        return;
    }
    if (rank == 1)
      return;
  }
}

/// Row-major strides of `shape`.
std::vector<int64_t> contiguousStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d > 1; --d)
    strides[d - 2] = strides[d - 1] * shape[d - 1];
  return strides;
}

} // namespace

template <typename T> void stridedCopy(const T *operand, T *result, const StridedLayout &layout) {
  std::vector<int64_t> resultStrides = contiguousStrides(layout.shape);
  forEachPosition(layout.shape, resultStrides, layout.operandStrides,
                  [&](int64_t to, int64_t from) { result[to] = operand[from]; });
}

template <typename T>
void reduce(ReduceKind kind, const T *operand, T *result, const ReduceLayout &layout) {
  std::vector<int64_t> operandStrides = contiguousStrides(layout.shape);
  if (kind == ReduceKind::kMax) {
    std::fill(result, result + layout.resultCount, -std::numeric_limits<T>::infinity());
    forEachPosition(layout.shape, operandStrides, layout.resultStrides,
                    [&](int64_t from, int64_t to) {
                      T value = operand[from];
                      if (value > result[to] || std::isnan(value))
                        result[to] = value;
                    });
    return;
  }
  std::vector<Accumulator<T>> sums(layout.resultCount, 0);
  forEachPosition(layout.shape, operandStrides, layout.resultStrides,
                  [&](int64_t from, int64_t to) { sums[to] += operand[from]; });
  Accumulator<T> divisor =
      kind == ReduceKind::kMean ? static_cast<Accumulator<T>>(layout.reducedCount) : 1;
  for (int64_t i = 0; i < layout.resultCount; ++i)
    result[i] = static_cast<T>(sums[i] / divisor);
}

#define KILN_INSTANTIATE(T)                                                                        \
  template void stridedCopy<T>(const T *, T *, const StridedLayout &);                             \
  template void reduce<T>(ReduceKind, const T *, T *, const ReduceLayout &);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

} // namespace kiln::reference
