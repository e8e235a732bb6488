//===- TrainingKernels.cpp - The reference loops of training-only ops ----===//
//
// graph.dropout_mask with the Philox-4x32-10 of runtime/common (checked
// against Random123's known answers in tests/unit/runtime/PhiloxTest.cpp), one
// block per element, as every kernel computes it.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kiln/runtime/Philox.h"

namespace kiln::reference {

template <typename T>
void dropoutMask(const T *counter, uint8_t *result, int64_t count, const DropoutLayout &layout) {
  auto step = static_cast<uint32_t>(counter[0]);
  philox::Key key = philox::keyOf(layout.seed);
  for (int64_t i = 0; i < count; ++i) {
    philox::Counter words =
        philox::philox4x32_10({static_cast<uint32_t>(i), step, layout.stream, layout.tag}, key);
    result[i] = words[0] >= layout.threshold;
  }
}

template void dropoutMask<float>(const float *, uint8_t *, int64_t, const DropoutLayout &);
template void dropoutMask<double>(const double *, uint8_t *, int64_t, const DropoutLayout &);

} // namespace kiln::reference
