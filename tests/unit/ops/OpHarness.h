//===- OpHarness.h - Runs registry samples on a device under test -*- C++ -*-===//
//
// Turns an OpSample into graph-dialect modules and checks a device against
// the sample's reference and against finite differences:
//   forward:   f32 device result vs the registry reference, |a-b| <= 1e-4 + 1e-4|b|
//   gradients: loss = reduce_sum(op(x) * W), differentiated by kiln-autodiff and
//              run in float64, vs central differences (eps 1e-6):
//              |a-b| <= 1e-5 + 1e-3|b| per element (PyTorch gradcheck)
//   VJP:       in float32, as JAX's check_vjp: <grad of <op(x), W>, v> vs
//              <(op(x + eps v) - op(x - eps v)) / 2 eps, W>, eps 1e-4, v ~ U[-1, 1]:
//              |a-b| <= 2e-3 + 2e-3|b| (check_grads' float32 tol, used as atol and rtol)
// A device plugs in by implementing DeviceUnderTest; the entries stay as they are.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_OPS_OPHARNESS_H
#define KILN_TESTS_UNIT_OPS_OPHARNESS_H

#include "OpRegistry.h"

#include "kiln/runtime/HostTensor.h"

#include "absl/status/statusor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::ops_test {

/// SplitMix64: a tiny generator whose output is the same on every platform.
class Random {
public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [low, high).
  double uniform(double low, double high) {
    return low + (high - low) * static_cast<double>(next() >> 11) * 0x1p-53;
  }
  int64_t integer(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(next() % static_cast<uint64_t>(high - low));
  }

private:
  uint64_t state_;
};

/// Indices of the registry samples (only differentiable ones when asked), and their test
/// names: the parameters of every value-parameterized test driven by the registry.
std::vector<size_t> sampleIndices(bool differentiableOnly);
std::string sampleName(const testing::TestParamInfo<size_t> &info);

/// One module prepared on a device: the calls of a training step.
class PreparedStep {
public:
  virtual ~PreparedStep() = default;
  virtual absl::Status setVariable(std::string_view name, const HostTensor &value) = 0;
  virtual absl::Status step(const std::map<std::string, HostTensor, std::less<>> &inputs) = 0;
  virtual absl::StatusOr<HostTensor> output(std::string_view name) = 0;
  virtual absl::StatusOr<HostTensor> gradient(std::string_view variable) = 0;
};

/// A device the registry's checks run on.
class DeviceUnderTest {
public:
  virtual ~DeviceUnderTest() = default;
  /// Prepares `module` (owned by the caller, alive while the result is) in float32, or in
  /// float64 when `float64` is set. A device without float64 returns Unimplemented and the
  /// float64 checks skip themselves.
  virtual absl::StatusOr<std::unique_ptr<PreparedStep>> prepare(mlir::ModuleOp module,
                                                                bool float64) = 0;
};

/// An MLIR context with the dialects the registry's modules use.
std::unique_ptr<mlir::MLIRContext> makeContext();

/// The sample as a step: operands are graph.inputs "arg0", "arg1", ...; the result is
/// graph.output "result".
std::string forwardModule(const OpSample &sample);

/// The sample under the loss reduce_sum(op(x) * W): f32 operands are trainable variables
/// @arg<i> (read in the step), others inputs "arg<i>"; W is input "weights"; the loss is
/// output "loss" and graph.minimize'd.
std::string lossModule(const OpSample &sample);

/// Fixed pseudo-random operand values of `sample` (f32-representable), from a seed derived
/// from the test name and `salt`.
std::vector<Tensor> drawOperands(const OpSample &sample, uint64_t salt = 0);

/// Runs the three checks with gtest assertions. `context` must outlive the call.
void checkForward(const OpSample &sample, DeviceUnderTest &device, mlir::MLIRContext &context);
void checkGradientsByFiniteDifferences(const OpSample &sample, DeviceUnderTest &device,
                                       mlir::MLIRContext &context);
void checkRandomDirectionVjp(const OpSample &sample, DeviceUnderTest &device,
                             mlir::MLIRContext &context);

} // namespace kiln::ops_test

#endif // KILN_TESTS_UNIT_OPS_OPHARNESS_H
