//===- ElementwiseKernels.h - The reference device's elementwise table -*- C++ -*-===//
//
// Every elementwise graph op's float and double loop, looked up by op name in
// one table (ElementwiseKernels.cpp) and configured once from the op's
// attributes when the plan is built. An op the table lacks is an error, never
// a default: the oracle must not guess.
//
// Internal to runtime/reference.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_REFERENCE_ELEMENTWISEKERNELS_H
#define KILN_RUNTIME_REFERENCE_ELEMENTWISEKERNELS_H

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cstdint>
#include <functional>
#include <string_view>

namespace mlir {
class Operation;
} // namespace mlir

namespace kiln::reference {

/// One configured elementwise op: result[i] = f(operands[0][i], operands[1][i], ...)
/// for i < count, in float or in double.
struct ElementwiseLoop {
  std::function<void(const float *const *operands, float *result, int64_t count)> f32;
  std::function<void(const double *const *operands, double *result, int64_t count)> f64;

  void run(const float *const *operands, float *result, int64_t count) const {
    f32(operands, result, count);
  }
  void run(const double *const *operands, double *result, int64_t count) const {
    f64(operands, result, count);
  }
};

/// The loop of elementwise op `op`, configured from its attributes. Fails with
/// Unimplemented naming the op and ElementwiseKernels.cpp when the table has no
/// entry for it.
absl::StatusOr<ElementwiseLoop> elementwiseLoop(mlir::Operation *op);

/// OK when the table has an entry for `opName` ("graph.gelu"), else the error
/// elementwiseLoop gives for such an op.
absl::Status findElementwiseEntry(std::string_view opName);

} // namespace kiln::reference

#endif // KILN_RUNTIME_REFERENCE_ELEMENTWISEKERNELS_H
