//===- IndexKernels.cpp - gather and scatter_add -------------------------===//
//
// Plain loops over [outer, rows, inner] tables and `count` indices. An index
// outside [0, rows) reads zeros (gather) or adds nothing (scatter_add); the
// table is never addressed with it. scatter_add adds in ascending index
// position, in T, starting from +0: the order and precision of every
// device's kernel (docs/design/gather.md), so it is bit-identical to them.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>

namespace kiln::reference {

template <typename T>
void gather(const T *table, const int32_t *indices, T *result, const IndexLayout &layout) {
  for (int64_t o = 0; o < layout.outer; ++o)
    for (int64_t n = 0; n < layout.count; ++n) {
      int64_t row = indices[n];
      T *to = result + (o * layout.count + n) * layout.inner;
      if (row < 0 || row >= layout.rows) {
        std::fill(to, to + layout.inner, T(0));
        continue;
      }
      const T *from = table + (o * layout.rows + row) * layout.inner;
      std::copy(from, from + layout.inner, to);
    }
}

template <typename T>
void scatterAdd(const T *updates, const int32_t *indices, T *result, const IndexLayout &layout) {
  std::fill(result, result + layout.outer * layout.rows * layout.inner, T(0));
  for (int64_t o = 0; o < layout.outer; ++o)
    for (int64_t n = 0; n < layout.count; ++n) {
      int64_t row = indices[n];
      if (row < 0 || row >= layout.rows)
        continue;
      const T *from = updates + (o * layout.count + n) * layout.inner;
      T *to = result + (o * layout.rows + row) * layout.inner;
      for (int64_t i = 0; i < layout.inner; ++i)
        to[i] += from[i];
    }
}

template void gather<float>(const float *, const int32_t *, float *, const IndexLayout &);
template void gather<double>(const double *, const int32_t *, double *, const IndexLayout &);
template void scatterAdd<float>(const float *, const int32_t *, float *, const IndexLayout &);
template void scatterAdd<double>(const double *, const int32_t *, double *, const IndexLayout &);

} // namespace kiln::reference
