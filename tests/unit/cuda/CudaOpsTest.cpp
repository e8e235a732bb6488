//===- CudaOpsTest.cpp - Every graph op's CUDA kernel vs the oracles ------===//
//
// Each op registry sample (tests/unit/ops) is compiled to a plan and run on
// the CUDA runtime, then compared with the registry's own reference
// (forward, float32, |a-b| <= 1e-4 + 1e-4|b|) and, for differentiable
// samples, with the random-direction VJP check using gradients computed on
// CUDA. The same DeviceUnderTest plug-in as the Vulkan test, with a CUDA
// session. Skipped, with the reason, without a driver or device.
//
//===----------------------------------------------------------------------===//

#include "CudaPlanSupport.h"
#include "CudaTestSupport.h"

#include "OpHarness.h"

#include "gtest/gtest.h"

namespace kiln::cuda_test {
namespace {

using ops_test::opRegistry;
using ops_test::OpSample;
using ops_test::sampleIndices;
using ops_test::sampleName;

class CudaStep : public ops_test::PreparedStep {
public:
  explicit CudaStep(std::unique_ptr<cuda::Session> session) : session_(std::move(session)) {}
  absl::Status setVariable(std::string_view name, const HostTensor &value) override {
    return session_->setVariable(name, value);
  }
  absl::Status step(const std::map<std::string, HostTensor, std::less<>> &inputs) override {
    return session_->step(inputs);
  }
  absl::StatusOr<HostTensor> output(std::string_view name) override {
    return session_->output(name);
  }
  absl::StatusOr<HostTensor> gradient(std::string_view variable) override {
    return session_->output(codegen::gradientOutputName(variable));
  }

private:
  std::unique_ptr<cuda::Session> session_;
};

/// The CUDA runtime as the op registry's device under test (float32 only).
class CudaUnderTest : public ops_test::DeviceUnderTest {
public:
  absl::StatusOr<std::unique_ptr<ops_test::PreparedStep>> prepare(mlir::ModuleOp module,
                                                                  bool float64) override {
    if (float64)
      return absl::UnimplementedError("the CUDA kernels compute in float32 only");
    absl::StatusOr<std::unique_ptr<cuda::Session>> session = createCudaSession(module);
    if (!session.ok())
      return session.status();
    return std::make_unique<CudaStep>(*std::move(session));
  }
};

class CudaRegistryTest : public testing::TestWithParam<size_t> {
protected:
  void SetUp() override { KILN_REQUIRE_CUDA(); }
  const OpSample &sample() const { return opRegistry()[GetParam()]; }
  std::unique_ptr<mlir::MLIRContext> context_ = ops_test::makeContext();
  CudaUnderTest device_;
};

class CudaForward : public CudaRegistryTest {};
class CudaVjp : public CudaRegistryTest {};

TEST_P(CudaForward, MatchesRegistryReference) {
  ops_test::checkForward(sample(), device_, *context_);
}

TEST_P(CudaVjp, MatchesRandomDirectionDifferenceInFloat32) {
  ops_test::checkRandomDirectionVjp(sample(), device_, *context_);
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaForward, testing::ValuesIn(sampleIndices(false)), sampleName);
INSTANTIATE_TEST_SUITE_P(Cuda, CudaVjp, testing::ValuesIn(sampleIndices(true)), sampleName);

} // namespace
} // namespace kiln::cuda_test
