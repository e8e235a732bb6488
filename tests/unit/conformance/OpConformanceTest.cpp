//===- OpConformanceTest.cpp - Every graph op on every device -------------===//
//
// Each op registry sample (tests/unit/ops) is compiled to a plan and run on
// each device through the session core, then compared with the registry's own
// reference (forward, float32, |a-b| <= 1e-4 + 1e-4|b|) and, for
// differentiable samples, with the random-direction VJP check using the
// gradients the device computed. The float64 finite-difference check needs
// float64 kernels, which no plan device has; it runs on the reference
// interpreter in OpRegistryTest. Vulkan runs with validation and
// synchronization validation on; any message fails the test.
//
//===----------------------------------------------------------------------===//

#include "DeviceCases.h"

#include "OpHarness.h"

#include "kiln/Codegen/Codegen.h"

#include "mlir/IR/Diagnostics.h"
#include "gtest/gtest.h"

#include <tuple>

namespace kiln::conformance {
namespace {

using ops_test::opRegistry;
using ops_test::OpSample;

/// A prepared module on a device: its session, whose validation messages are collected when
/// it is destroyed.
class SessionStep : public ops_test::PreparedStep {
public:
  SessionStep(std::unique_ptr<session::Session> session, const DeviceCase &device,
              std::vector<std::string> &messages)
      : session_(std::move(session)), device_(device), messages_(messages) {}
  ~SessionStep() override {
    if (absl::Status synchronized = session_->synchronize(); !synchronized.ok())
      messages_.push_back("synchronize failed: " + synchronized.ToString());
    for (std::string &message : device_.validationMessages(*session_))
      messages_.push_back(std::move(message));
  }
  absl::Status setVariable(std::string_view name, const HostTensor &value) override {
    return session_->setVariable(name, value);
  }
  absl::Status step(const session::TensorMap &inputs) override { return session_->step(inputs); }
  absl::StatusOr<HostTensor> output(std::string_view name) override {
    return session_->output(name);
  }
  absl::StatusOr<HostTensor> gradient(std::string_view variable) override {
    return session_->output(codegen::gradientOutputName(variable));
  }

private:
  std::unique_ptr<session::Session> session_;
  const DeviceCase &device_;
  std::vector<std::string> &messages_;
};

/// A device as the op registry's device under test (float32 only).
class SessionUnderTest : public ops_test::DeviceUnderTest {
public:
  explicit SessionUnderTest(const DeviceCase &device) : device_(device) {}
  absl::StatusOr<std::unique_ptr<ops_test::PreparedStep>> prepare(mlir::ModuleOp module,
                                                                  bool float64) override {
    if (float64)
      return absl::UnimplementedError("plans compute in float32 only");
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    codegen::CodegenOptions options;
    options.targets = device_.targets;
    mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(module, options);
    if (mlir::failed(plan))
      return absl::InvalidArgumentError("codegen failed:\n" + diagnostics);
    absl::StatusOr<std::unique_ptr<session::Session>> session = device_.create(*std::move(plan));
    if (!session.ok())
      return session.status();
    return std::make_unique<SessionStep>(*std::move(session), device_, messages_);
  }
  const std::vector<std::string> &validationMessages() const { return messages_; }

private:
  const DeviceCase &device_;
  std::vector<std::string> messages_;
};

using OpCase = std::tuple<DeviceCase, size_t>;

class OpConformanceTest : public ::testing::TestWithParam<OpCase> {
protected:
  void SetUp() override { KILN_REQUIRE_DEVICE(std::get<0>(GetParam())); }
  void TearDown() override {
    const std::vector<std::string> &messages = device_.validationMessages();
    EXPECT_TRUE(messages.empty()) << messages.size() << " validation messages, first: "
                                  << (messages.empty() ? "" : messages.front());
  }
  const OpSample &sample() const { return opRegistry()[std::get<1>(GetParam())]; }
  std::unique_ptr<mlir::MLIRContext> context_ = ops_test::makeContext();
  SessionUnderTest device_{std::get<0>(GetParam())};
};

class OpForwardConformance : public OpConformanceTest {};
class OpVjpConformance : public OpConformanceTest {};

TEST_P(OpForwardConformance, MatchesRegistryReference) {
  ops_test::checkForward(sample(), device_, *context_);
}

TEST_P(OpVjpConformance, MatchesRandomDirectionDifferenceInFloat32) {
  ops_test::checkRandomDirectionVjp(sample(), device_, *context_);
}

/// "<device>_<sample>", so ctest's per-device entries select them with "*/<device>_*".
std::string opCaseName(const ::testing::TestParamInfo<OpCase> &info) {
  return std::get<0>(info.param).name + "_" +
         ops_test::sampleName(::testing::TestParamInfo<size_t>(std::get<1>(info.param), 0));
}

INSTANTIATE_TEST_SUITE_P(Devices, OpForwardConformance,
                         ::testing::Combine(::testing::ValuesIn(allDevices()),
                                            ::testing::ValuesIn(ops_test::sampleIndices(false))),
                         opCaseName);
INSTANTIATE_TEST_SUITE_P(Devices, OpVjpConformance,
                         ::testing::Combine(::testing::ValuesIn(allDevices()),
                                            ::testing::ValuesIn(ops_test::sampleIndices(true))),
                         opCaseName);

} // namespace
} // namespace kiln::conformance
