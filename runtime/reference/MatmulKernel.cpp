//===- MatmulKernel.cpp - Batched matrix product of the reference device --===//
//
// Transposed operands are first packed row-major, then the product runs in
// register blocks (see `multiply`); the remainders are plain dot products.
// Either way each result element sums its k products in order of p in
// Accumulator<T> (double for float32, where each product is exact) and is
// rounded to T once, so the blocking never changes a result.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>

namespace kiln::reference {
namespace {

/// Writes the [columns, rows] transpose of the row-major [rows, columns] `matrix`.
template <typename T> void transposeInto(const T *matrix, int64_t rows, int64_t columns, T *out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)
      out[c * rows + r] = matrix[r * columns + c];
}

/// result[i, j] = sum_p a[i, p] b[p, j] for the rows [rowBegin, rowEnd) and columns
/// [columnBegin, columnEnd) of the result, one dot product at a time.
template <typename T>
void multiplyEdge(const T *a, const T *b, T *result, int64_t n, int64_t k, int64_t rowBegin,
                  int64_t rowEnd, int64_t columnBegin, int64_t columnEnd) {
  for (int64_t i = rowBegin; i < rowEnd; ++i) {
    for (int64_t j = columnBegin; j < columnEnd; ++j) {
      Accumulator<T> sum = 0;
      for (int64_t p = 0; p < k; ++p)
        sum += static_cast<Accumulator<T>>(a[i * k + p]) * b[p * n + j];
      result[i * n + j] = static_cast<T>(sum);
    }
  }
}

/// result [m, n] = a [m, k] x b [k, n], all row-major. Blocks of kRows x kColumns results
/// are accumulated in registers over the whole of k, so each element of b is loaded once
/// per kRows rows and each result is stored once.
template <typename T>
void multiply(const T *a, const T *b, T *result, int64_t m, int64_t n, int64_t k) {
  constexpr int64_t kRows = 4;
  constexpr int64_t kColumns = 32 / sizeof(Accumulator<T>);
  int64_t fullRows = m - m % kRows, fullColumns = n - n % kColumns;
  for (int64_t i = 0; i < fullRows; i += kRows) {
    for (int64_t j = 0; j < fullColumns; j += kColumns) {
      Accumulator<T> sums[kRows][kColumns] = {};
      for (int64_t p = 0; p < k; ++p) {
        const T *row = b + p * n + j;
        for (int64_t r = 0; r < kRows; ++r) {
          Accumulator<T> scale = a[(i + r) * k + p];
          for (int64_t c = 0; c < kColumns; ++c)
            sums[r][c] += scale * row[c];
        }
      }
      for (int64_t r = 0; r < kRows; ++r)
        for (int64_t c = 0; c < kColumns; ++c)
          result[(i + r) * n + j + c] = static_cast<T>(sums[r][c]);
    }
  }
  multiplyEdge(a, b, result, n, k, 0, fullRows, fullColumns, n);
  multiplyEdge(a, b, result, n, k, fullRows, m, 0, n);
}

} // namespace

template <typename T>
void matmul(const T *lhs, const T *rhs, T *result, const MatmulLayout &layout, T *lhsScratch,
            T *rhsScratch) {
  int64_t m = layout.m, n = layout.n, k = layout.k;
  for (int64_t b = 0; b < layout.batch; ++b) {
    const T *a = lhs + b * m * k;
    const T *bMatrix = rhs + b * k * n;
    if (layout.transposeLhs) {
      transposeInto(a, k, m, lhsScratch);
      a = lhsScratch;
    }
    if (layout.transposeRhs) {
      transposeInto(bMatrix, n, k, rhsScratch);
      bMatrix = rhsScratch;
    }
    multiply(a, bMatrix, result + b * m * n, m, n, k);
  }
}

template void matmul<float>(const float *, const float *, float *, const MatmulLayout &, float *,
                            float *);
template void matmul<double>(const double *, const double *, double *, const MatmulLayout &,
                             double *, double *);

} // namespace kiln::reference
