//===- WindowKernels.cpp - Pad, slice, concat, window views and iota ------===//
//
// Every window view is a fill followed by strided copies (WindowLayout, built
// in WindowLayouts.cpp): pad scatters its operand into a filled result,
// slice and the window gather (a window's strides overlap: several result
// elements read one operand element), concat copies each part to its offset,
// unwindow scatters window elements back into a zero result (each lands on its
// own element). One odometer walks them all; iota writes the walked position.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>

namespace kiln::reference {
namespace {

/// Calls visit(offset, position offset) for every position p of `shape` in row-major order,
/// with offset = base + sum(p[d] * strides[d]) for both stride sets; a rank-0 shape visits
/// once, an empty one never.
template <typename Visit>
void walk(const std::vector<int64_t> &shape, const std::vector<int64_t> &stridesA, int64_t baseA,
          const std::vector<int64_t> &stridesB, int64_t baseB, Visit visit) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return;
  size_t rank = shape.size();
  std::vector<int64_t> position(rank, 0);
  int64_t a = baseA, b = baseB;
  while (true) {
    visit(a, b);
    size_t d = rank;
    while (d > 0) {
      --d;
      ++position[d];
      a += stridesA[d];
      b += stridesB[d];
      if (position[d] < shape[d])
        break;
      a -= position[d] * stridesA[d];
      b -= position[d] * stridesB[d];
      position[d] = 0;
      if (d == 0)
        return;
    }
    if (rank == 0)
      return;
  }
}

} // namespace

template <typename T>
void windowCopy(const std::vector<const T *> &operands, T *result, const WindowLayout &layout) {
  if (layout.filled)
    std::fill(result, result + layout.resultCount, static_cast<T>(layout.fill));
  for (const AffineCopy &copy : layout.copies) {
    const T *from = operands[copy.operand];
    walk(copy.shape, copy.fromStrides, copy.fromBase, copy.toStrides, copy.toBase,
         [&](int64_t source, int64_t target) { result[target] = from[source]; });
  }
}

template <typename T> void iota(T *result, const IotaLayout &layout) {
  std::vector<int64_t> contiguous(layout.shape.size(), 1);
  for (size_t d = layout.shape.size(); d > 1; --d)
    contiguous[d - 2] = contiguous[d - 1] * layout.shape[d - 1];
  walk(layout.shape, contiguous, 0, layout.positionStrides, 0,
       [&](int64_t target, int64_t position) { result[target] = static_cast<T>(position); });
}

#define KILN_INSTANTIATE(T)                                                                        \
  template void windowCopy<T>(const std::vector<const T *> &, T *, const WindowLayout &);          \
  template void iota<T>(T *, const IotaLayout &);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

} // namespace kiln::reference
