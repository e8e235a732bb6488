//===- VulkanOpsTest.cpp - Every graph op's Vulkan kernel vs the oracles --===//
//
// Each op registry sample (tests/unit/ops) is compiled to a plan and run on
// the Vulkan runtime with validation and synchronization validation on, then
// compared with the reference device (float32), |a-b| <= 1e-4 + 1e-4|b|. The
// registry's own reference and the random-direction VJP check run on every
// device in the conformance suite (tests/unit/conformance/OpConformanceTest).
// A second table uses shapes that exercise what the registry's small samples
// do not: grid-stride loops, ragged matmul tiles, rows wider than a
// workgroup, rank-6 strided copies. Any validation message fails the test.
//
//===----------------------------------------------------------------------===//

#include "VulkanOpsSupport.h"

#include "OpHarness.h"
#include "TestModules.h"

#include "kiln/runtime/ReferenceDevice.h"

#include "gtest/gtest.h"

#include <cmath>

namespace kiln::vulkan_ops_test {
namespace {

using ops_test::opRegistry;
using ops_test::OpSample;
using ops_test::Random;
using ops_test::sampleIndices;
using ops_test::sampleName;

using Inputs = std::map<std::string, HostTensor, std::less<>>;

/// Expects `actual` and `expected` to agree: floats within 1e-4 + 1e-4|b| (NaN matching
/// NaN), integers and masks exactly.
void expectClose(const HostTensor &actual, const HostTensor &expected, const std::string &name) {
  ASSERT_EQ(actual.dtype(), expected.dtype()) << name;
  ASSERT_EQ(actual.shape(), expected.shape()) << name;
  int reported = 0;
  for (int64_t i = 0; i < expected.numElements() && reported < 5; ++i) {
    double a = actual.at(i), b = expected.at(i);
    bool close = expected.dtype() == DType::kF32 ? (std::isnan(a) && std::isnan(b)) ||
                                                       std::abs(a - b) <= 1e-4 + 1e-4 * std::abs(b)
                                                 : a == b;
    if (!close) {
      ++reported;
      ADD_FAILURE() << name << "[" << i << "]: Vulkan " << a << ", reference device " << b;
    }
  }
}

/// Runs `module` once on the Vulkan runtime and on the reference device (float32) with
/// `inputs` and compares every output named in `outputs`.
void expectVulkanMatchesReferenceDevice(mlir::ModuleOp module, const Inputs &inputs,
                                        const std::vector<std::string> &outputs) {
  auto reference = reference::ReferenceDevice::create(module, reference::Precision::kFloat32);
  ASSERT_TRUE(reference.ok()) << reference.status();
  ASSERT_TRUE((*reference)->step(inputs).ok());
  auto session = createValidatedSession(module);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::Status stepped = (*session)->step(inputs);
  ASSERT_TRUE(stepped.ok()) << stepped;
  for (const std::string &name : outputs) {
    auto actual = (*session)->output(name);
    auto expected = (*reference)->output(name);
    ASSERT_TRUE(actual.ok()) << actual.status();
    ASSERT_TRUE(expected.ok()) << expected.status();
    expectClose(*actual, *expected, name);
  }
  ASSERT_TRUE((*session)->synchronize().ok());
  EXPECT_TRUE((*session)->device().validationEnabled());
  std::vector<std::string> messages = (*session)->validationMessages();
  EXPECT_TRUE(messages.empty()) << messages.size() << " validation messages, first: "
                                << (messages.empty() ? "" : messages.front());
}

/// The registry's operand values as host tensors named "arg0", "arg1", ...
Inputs registryInputs(const OpSample &sample) {
  std::vector<ops_test::Tensor> operands = ops_test::drawOperands(sample);
  Inputs inputs;
  for (size_t i = 0; i < operands.size(); ++i) {
    ops_test::ElementType type = ops_test::elementTypeOf(sample.operands[i].draw);
    HostTensor host(type == ops_test::ElementType::kI32  ? DType::kI32
                    : type == ops_test::ElementType::kI1 ? DType::kI1
                                                         : DType::kF32,
                    operands[i].shape);
    for (size_t j = 0; j < operands[i].values.size(); ++j) {
      double value = operands[i].values[j];
      if (host.dtype() == DType::kF32)
        host.f32()[j] = static_cast<float>(value);
      else if (host.dtype() == DType::kI32)
        host.i32()[j] = static_cast<int32_t>(value);
      else
        host.bytes()[j] = value != 0;
    }
    inputs["arg" + std::to_string(i)] = std::move(host);
  }
  return inputs;
}

class VulkanForward : public testing::TestWithParam<size_t> {
protected:
  void SetUp() override { KILN_REQUIRE_VULKAN(); }
  const OpSample &sample() const { return opRegistry()[GetParam()]; }
  std::unique_ptr<mlir::MLIRContext> context_ = ops_test::makeContext();
};

TEST_P(VulkanForward, MatchesReferenceDevice) {
  std::string text = ops_test::forwardModule(sample());
  SCOPED_TRACE(text);
  mlir::OwningOpRef<mlir::ModuleOp> module = codegen_test::parseModule(text, *context_);
  ASSERT_TRUE(module);
  expectVulkanMatchesReferenceDevice(*module, registryInputs(sample()), {"result"});
}

INSTANTIATE_TEST_SUITE_P(Vulkan, VulkanForward, testing::ValuesIn(sampleIndices(false)),
                         sampleName);

/// An input of a larger-shape case: f32 from U[-2, 2], or i32 labels in [0, classes).
struct CaseInput {
  std::string name;
  std::vector<int64_t> shape;
  int64_t classes = 0;
};

struct LargeCase {
  std::string name;
  std::vector<CaseInput> inputs;
  /// Ops defining %result from the inputs (named %<input name>).
  std::string body;
  std::string resultType;
};

std::string typeText(const std::vector<int64_t> &shape, const char *element) {
  std::string text = "tensor<";
  for (int64_t extent : shape)
    text += std::to_string(extent) + "x";
  return text + element + ">";
}

const std::vector<LargeCase> &largeCases() {
  static const std::vector<LargeCase> cases = {
      {"add_grid_stride",
       {{"a", {1100, 1000}}, {"b", {1100, 1000}}},
       "%result = graph.add %a, %b : tensor<1100x1000xf32>",
       "tensor<1100x1000xf32>"},
      {"tanh_saturates",
       {{"a", {64, 8}}},
       "%c = graph.constant dense<40.0> : tensor<64x8xf32>\n"
       "%s = graph.mul %a, %c : tensor<64x8xf32>\n"
       "%result = graph.tanh %s : tensor<64x8xf32>",
       "tensor<64x8xf32>"},
      {"matmul_ragged_transpose_rhs",
       {{"a", {37, 70}}, {"b", {45, 70}}},
       "%result = graph.matmul %a, %b transpose_rhs : tensor<37x70xf32>, tensor<45x70xf32> -> "
       "tensor<37x45xf32>",
       "tensor<37x45xf32>"},
      {"matmul_ragged_transpose_lhs",
       {{"a", {70, 37}}, {"b", {70, 45}}},
       "%result = graph.matmul %a, %b transpose_lhs : tensor<70x37xf32>, tensor<70x45xf32> -> "
       "tensor<37x45xf32>",
       "tensor<37x45xf32>"},
      {"matmul_batched_ragged",
       {{"a", {3, 33, 17}}, {"b", {3, 17, 20}}},
       "%result = graph.matmul %a, %b : tensor<3x33x17xf32>, tensor<3x17x20xf32> -> "
       "tensor<3x33x20xf32>",
       "tensor<3x33x20xf32>"},
      {"reduce_sum_to_scalar",
       {{"a", {300, 70}}},
       "%result = graph.reduce_sum %a [0, 1] : tensor<300x70xf32> -> tensor<f32>",
       "tensor<f32>"},
      {"reduce_mean_long_rows",
       {{"a", {5, 1000}}},
       "%result = graph.reduce_mean %a [1] : tensor<5x1000xf32> -> tensor<5xf32>",
       "tensor<5xf32>"},
      {"reduce_max_outer_axes",
       {{"a", {6, 5, 40}}},
       "%result = graph.reduce_max %a [0, 2] : tensor<6x5x40xf32> -> tensor<5xf32>",
       "tensor<5xf32>"},
      {"reduce_sum_many_results",
       {{"a", {9000, 3}}},
       "%result = graph.reduce_sum %a [1] : tensor<9000x3xf32> -> tensor<9000xf32>",
       "tensor<9000xf32>"},
      {"transpose_rank6",
       {{"a", {2, 3, 2, 3, 2, 4}}},
       "%result = graph.transpose %a [5, 3, 1, 0, 2, 4] : tensor<2x3x2x3x2x4xf32> -> "
       "tensor<4x3x3x2x2x2xf32>",
       "tensor<4x3x3x2x2x2xf32>"},
      {"broadcast_rank6",
       {{"a", {7, 1}}},
       "%result = graph.broadcast %a [1, 4] : tensor<7x1xf32> to tensor<3x7x2x2x5x2xf32>",
       "tensor<3x7x2x2x5x2xf32>"},
      {"softmax_wide_rows",
       {{"a", {3, 300}}},
       "%result = graph.softmax %a axis = 1 : tensor<3x300xf32>",
       "tensor<3x300xf32>"},
      {"log_softmax_middle_axis",
       {{"a", {4, 200, 3}}},
       "%result = graph.log_softmax %a axis = 1 : tensor<4x200x3xf32>",
       "tensor<4x200x3xf32>"},
      {"cross_entropy_many_classes",
       {{"a", {6, 300}}, {"labels", {6}, 300}},
       "%result = graph.softmax_cross_entropy %a, %labels : tensor<6x300xf32>, tensor<6xi32> -> "
       "tensor<6xf32>",
       "tensor<6xf32>"},
      {"one_hot_many_labels",
       {{"labels", {2000}, 10}},
       "%result = graph.one_hot %labels : tensor<2000xi32> to tensor<2000x10xf32>",
       "tensor<2000x10xf32>"},
      {"mse_many_elements",
       {{"a", {300, 17}}, {"b", {300, 17}}},
       "%result = graph.mse %a, %b : tensor<300x17xf32> -> tensor<f32>",
       "tensor<f32>"},
  };
  return cases;
}

class VulkanLargeShapes : public testing::TestWithParam<size_t> {
protected:
  void SetUp() override { KILN_REQUIRE_VULKAN(); }
  std::unique_ptr<mlir::MLIRContext> context_ = ops_test::makeContext();
};

TEST_P(VulkanLargeShapes, MatchReferenceDevice) {
  const LargeCase &testCase = largeCases()[GetParam()];
  std::string text = "module {\n  func.func @step() {\n";
  Random random(GetParam() + 1);
  Inputs inputs;
  for (const CaseInput &input : testCase.inputs) {
    bool labels = input.classes > 0;
    text += "    %" + input.name + " = graph.input \"" + input.name +
            "\" : " + typeText(input.shape, labels ? "i32" : "f32") + "\n";
    HostTensor host(labels ? DType::kI32 : DType::kF32, input.shape);
    for (int64_t i = 0; i < host.numElements(); ++i) {
      if (labels)
        host.i32()[i] = static_cast<int32_t>(random.next() % input.classes);
      else
        host.f32()[i] = static_cast<float>(random.uniform(-2, 2));
    }
    inputs[input.name] = std::move(host);
  }
  text += "    " + testCase.body +
          "\n    graph.output \"result\", %result : " + testCase.resultType +
          "\n    return\n  }\n}\n";
  SCOPED_TRACE(text);
  mlir::OwningOpRef<mlir::ModuleOp> module = codegen_test::parseModule(text, *context_);
  ASSERT_TRUE(module);
  expectVulkanMatchesReferenceDevice(*module, inputs, {"result"});
}

INSTANTIATE_TEST_SUITE_P(Vulkan, VulkanLargeShapes, testing::Range<size_t>(0, largeCases().size()),
                         [](const testing::TestParamInfo<size_t> &info) {
                           return largeCases()[info.param].name;
                         });

TEST(VulkanCrossEntropy, OutOfRangeLabelGivesNaNWithoutReadingOutOfBounds) {
  KILN_REQUIRE_VULKAN();
  std::unique_ptr<mlir::MLIRContext> context = ops_test::makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module = codegen_test::parseModule(
      "module {\n  func.func @step() {\n"
      "    %z = graph.input \"z\" : tensor<3x4xf32>\n"
      "    %y = graph.input \"y\" : tensor<3xi32>\n"
      "    %l = graph.softmax_cross_entropy %z, %y : tensor<3x4xf32>, tensor<3xi32> -> "
      "tensor<3xf32>\n"
      "    graph.output \"l\", %l : tensor<3xf32>\n"
      "    return\n  }\n}\n",
      *context);
  ASSERT_TRUE(module);
  auto session = createValidatedSession(*module);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<float> logits(12, 0.0f);
  std::vector<int32_t> labels = {1, 4, -7};
  ASSERT_TRUE(
      (*session)
          ->step({{"z", HostTensor::f32({3, 4}, logits)}, {"y", HostTensor::i32({3}, labels)}})
          .ok());
  auto loss = (*session)->output("l");
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NEAR(loss->f32()[0], std::log(4.0), 1e-6);
  EXPECT_TRUE(std::isnan(loss->f32()[1]));
  EXPECT_TRUE(std::isnan(loss->f32()[2]));
  EXPECT_TRUE((*session)->device().validationEnabled());
  EXPECT_TRUE((*session)->validationMessages().empty());
}

} // namespace
} // namespace kiln::vulkan_ops_test
