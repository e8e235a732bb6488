//===- AccumulateModel.h - The model the conformance suite runs -*- C++ -*-===//
//
// A small graph module compiled with KilnCodegen into a plan that carries
// SPIR-V, PTX and its graph module, so the same plan runs on every device:
//
//   step: sum = a + b (b defaults to 10); out = 0.5 (sum + acc); acc = out;
//         shifted = a + table (a constant that is not a splat)
//   eval: sum = a + acc; out = 0.5 sum            (reads acc, writes nothing)
//   probe: twice = 2 acc                           (no inputs)
//
// over f32[n], with variable acc ~ U[-1, 1) (seed 7, stream 3). HostModel is
// the same arithmetic on the host.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CONFORMANCE_ACCUMULATEMODEL_H
#define KILN_TESTS_UNIT_CONFORMANCE_ACCUMULATEMODEL_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::conformance {

/// The graph module's text for f32[n].
std::string accumulateModuleText(int64_t n);

/// The module compiled for Vulkan and CUDA (memory planned, fused); InvalidArgument with the
/// diagnostics if the compiler refuses it.
absl::StatusOr<plan::Plan> compileAccumulatePlan(int64_t n);

/// The constant `table` of the module.
std::vector<float> accumulateTable(int64_t n);

/// The host's model of the plan.
struct HostModel {
  explicit HostModel(int64_t n);
  void step(const std::vector<float> &a, const std::vector<float> &b);
  std::vector<float> evalSum(const std::vector<float> &a) const;
  std::vector<float> evalOut(const std::vector<float> &a) const;
  std::vector<float> twice() const;

  int64_t n;
  std::vector<float> acc;
  std::vector<float> sum, out, shifted;
};

/// Input a of step `step`: 0.25 i - 3 step.
std::vector<float> inputA(int64_t n, int step);
/// The default value of input b.
std::vector<float> defaultB(int64_t n);

} // namespace kiln::conformance

#endif // KILN_TESTS_UNIT_CONFORMANCE_ACCUMULATEMODEL_H
