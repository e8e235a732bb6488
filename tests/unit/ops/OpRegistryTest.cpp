//===- OpRegistryTest.cpp - The op registry run on the reference device --===//
//
// One named test per registry sample and check: Forward/<op>_<sample>,
// Gradient/<op>_<sample> (float64 finite differences) and Vjp/<op>_<sample>
// (float32 random direction). A new device adds its own DeviceUnderTest and
// instantiates the same suites.
//
//===----------------------------------------------------------------------===//

#include "OpHarness.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "gtest/gtest.h"

#include <set>

namespace kiln::ops_test {
namespace {

using reference::Precision;
using reference::ReferenceDevice;

class ReferenceStep : public PreparedStep {
public:
  explicit ReferenceStep(std::unique_ptr<ReferenceDevice> device) : device_(std::move(device)) {}
  absl::Status setVariable(std::string_view name, const HostTensor &value) override {
    return device_->setVariable(name, value);
  }
  absl::Status step(const std::map<std::string, HostTensor, std::less<>> &inputs) override {
    return device_->step(inputs);
  }
  absl::StatusOr<HostTensor> output(std::string_view name) override {
    return device_->output(name);
  }
  absl::StatusOr<HostTensor> gradient(std::string_view variable) override {
    return device_->gradient(variable);
  }

private:
  std::unique_ptr<ReferenceDevice> device_;
};

class ReferenceUnderTest : public DeviceUnderTest {
public:
  absl::StatusOr<std::unique_ptr<PreparedStep>> prepare(mlir::ModuleOp module,
                                                        bool float64) override {
    auto device =
        ReferenceDevice::create(module, float64 ? Precision::kFloat64 : Precision::kFloat32);
    if (!device.ok())
      return device.status();
    return std::make_unique<ReferenceStep>(*std::move(device));
  }
};

class RegistryTest : public testing::TestWithParam<size_t> {
protected:
  const OpSample &sample() const { return opRegistry()[GetParam()]; }
  std::unique_ptr<mlir::MLIRContext> context_ = makeContext();
  ReferenceUnderTest device_;
};

class Forward : public RegistryTest {};
class Gradient : public RegistryTest {};
class Vjp : public RegistryTest {};

TEST_P(Forward, MatchesRegistryReference) { checkForward(sample(), device_, *context_); }
TEST_P(Gradient, MatchesFiniteDifferencesInFloat64) {
  checkGradientsByFiniteDifferences(sample(), device_, *context_);
}
TEST_P(Vjp, MatchesRandomDirectionDifferenceInFloat32) {
  checkRandomDirectionVjp(sample(), device_, *context_);
}

INSTANTIATE_TEST_SUITE_P(Reference, Forward, testing::ValuesIn(sampleIndices(false)), sampleName);
INSTANTIATE_TEST_SUITE_P(Reference, Gradient, testing::ValuesIn(sampleIndices(true)), sampleName);
INSTANTIATE_TEST_SUITE_P(Reference, Vjp, testing::ValuesIn(sampleIndices(true)), sampleName);

// Every op of the graph dialect that computes a value has registry samples; the ops
// that only move state in and out of the step are covered by the device tests, and
// graph.train_or_eval, which no device sees, by TrainingOpsTest.
TEST(OpRegistry, CoversEveryComputeOpOfTheGraphDialect) {
  std::unique_ptr<mlir::MLIRContext> context = makeContext();
  std::set<std::string> stateOps = {"graph.variable", "graph.read",         "graph.assign",
                                    "graph.input",    "graph.output",       "graph.minimize",
                                    "graph.gradient", "graph.train_or_eval"};
  std::set<std::string> sampled;
  for (const OpSample &sample : opRegistry())
    sampled.insert("graph." + sample.op);
  std::set<std::string> computeOps;
  for (mlir::RegisteredOperationName name : context->getRegisteredOperations()) {
    std::string op = name.getStringRef().str();
    if (name.getDialectNamespace() == "graph" && !stateOps.count(op))
      computeOps.insert(op);
  }
  EXPECT_EQ(sampled, computeOps);
}

TEST(OpRegistry, TestNamesAreUniqueAndValid) {
  std::set<std::string> names;
  for (const OpSample &sample : opRegistry()) {
    EXPECT_TRUE(names.insert(sample.testName()).second) << sample.testName();
    for (char c : sample.testName())
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_') << sample.testName();
  }
}

// The registry's own references must be right for the tests to mean anything: spot
// values worked out by hand.
TEST(ReferenceMath, MatchesHandComputedValues) {
  Tensor a{{2, 3}, {1, 2, 3, 4, 5, 6}};
  Tensor b{{3, 2}, {1, 0, 0, 1, 1, 1}};
  EXPECT_EQ(matmul(a, b, false, false), (std::vector<double>{4, 5, 10, 11}));
  EXPECT_EQ(matmul(a, a, false, true), (std::vector<double>{14, 32, 32, 77}));
  EXPECT_EQ(matmul(a, a, true, false), (std::vector<double>{17, 22, 27, 22, 29, 36, 27, 36, 45}));
  EXPECT_EQ(transpose(a, {1, 0}), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(reduce(a, {0}, Reduction::kSum), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(reduce(a, {1}, Reduction::kMax), (std::vector<double>{3, 6}));
  EXPECT_EQ(reduce(a, {0, 1}, Reduction::kMean), (std::vector<double>{3.5}));
  EXPECT_EQ(broadcast({{2}, {7, 8}}, {0}, {2, 2}), (std::vector<double>{7, 7, 8, 8}));
  EXPECT_EQ(broadcast({{1, 2}, {7, 8}}, {0, 1}, {2, 2}), (std::vector<double>{7, 8, 7, 8}));
  EXPECT_EQ(oneHot({{3}, {1, -1, 2}}, 2), (std::vector<double>{0, 1, 0, 0, 0, 0}));
  std::vector<double> p = softmax({{1, 2}, {0, std::log(3.0)}}, 1, false);
  EXPECT_NEAR(p[0], 0.25, 1e-15);
  EXPECT_NEAR(p[1], 0.75, 1e-15);
  EXPECT_NEAR(softmaxCrossEntropy({{1, 2}, {0, std::log(3.0)}}, {{1}, {0}})[0], std::log(4.0),
              1e-15);
  EXPECT_EQ(meanSquaredError({{2}, {1, 2}}, {{2}, {3, 2}}), (std::vector<double>{2}));
}

} // namespace
} // namespace kiln::ops_test
