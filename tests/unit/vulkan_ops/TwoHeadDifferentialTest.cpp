//===- TwoHeadDifferentialTest.cpp - Two heads, two losses, Adam vs PyTorch ===//
//
// TESTING.md layers 3 and 5: a model the samples do not contain, trained with
// Adam at its default hyperparameters (lr 1e-3, betas 0.9 / 0.999, eps 1e-8),
// against PyTorch. A shared trunk (matmul + bias + relu) feeds a classifier
// head (matmul + bias, softmax cross entropy against "labels") and a
// regression head (matmul, mse against "targets"); the loss is
// ce + 0.5 * mse, so the trunk's gradient is the sum of two branches. Written
// as graph-dialect text, compiled with the training-step pipeline and trained
// for 30 steps on the reference device (float32) and on Vulkan (validation
// on; skipped without a device). tests/pytorch/two_heads_reference.py replays
// the training with torch.optim.Adam from the same initial values on the same
// batches and requires each device's loss within 1e-5 relative at every step
// and its parameters within 1e-4 after the last. PyTorch is a declared test
// dependency: without it the test fails, it does not skip.
//
//===----------------------------------------------------------------------===//

#include "PyTorchExchange.h"
#include "VulkanOpsSupport.h"

#include "TestModules.h"

#include "kiln/runtime/ReferenceDevice.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

#include <array>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace kiln::vulkan_ops_test {
namespace {

constexpr int64_t kBatch = 16, kFeatures = 20, kClasses = 5, kOutputs = 4;
constexpr int64_t kSteps = 30;
const std::vector<std::string> kParameters = {"trunk.weight", "trunk.bias", "classifier.weight",
                                              "classifier.bias", "regressor.weight"};

constexpr const char *kModule = R"mlir(
module @two_heads attributes {graph.optimizer = {kind = "adam"}} {
  graph.variable @trunk.weight trainable : tensor<24x20xf32> = #graph.init<uniform(-0.2236, 0.2236), seed = 0, stream = 0>
  graph.variable @trunk.bias trainable : tensor<24xf32> = #graph.init<uniform(-0.1, 0.1), seed = 0, stream = 1>
  graph.variable @classifier.weight trainable : tensor<5x24xf32> = #graph.init<uniform(-0.2041, 0.2041), seed = 0, stream = 2>
  graph.variable @classifier.bias trainable : tensor<5xf32> = #graph.init<uniform(-0.1, 0.1), seed = 0, stream = 3>
  graph.variable @regressor.weight trainable : tensor<4x24xf32> = #graph.init<uniform(-0.2041, 0.2041), seed = 0, stream = 4>
  func.func @step() {
    %x = graph.input "features" : tensor<16x20xf32>
    %labels = graph.input "labels" : tensor<16xi32>
    %targets = graph.input "targets" : tensor<16x4xf32>
    %w0 = graph.read @trunk.weight : tensor<24x20xf32>
    %b0 = graph.read @trunk.bias : tensor<24xf32>
    %h0 = graph.matmul %x, %w0 transpose_rhs : tensor<16x20xf32>, tensor<24x20xf32> -> tensor<16x24xf32>
    %b0b = graph.broadcast %b0 [1] : tensor<24xf32> to tensor<16x24xf32>
    %h1 = graph.add %h0, %b0b : tensor<16x24xf32>
    %h = graph.relu %h1 : tensor<16x24xf32>
    %wa = graph.read @classifier.weight : tensor<5x24xf32>
    %ba = graph.read @classifier.bias : tensor<5xf32>
    %la = graph.matmul %h, %wa transpose_rhs : tensor<16x24xf32>, tensor<5x24xf32> -> tensor<16x5xf32>
    %bab = graph.broadcast %ba [1] : tensor<5xf32> to tensor<16x5xf32>
    %logits = graph.add %la, %bab : tensor<16x5xf32>
    %ce = graph.softmax_cross_entropy %logits, %labels : tensor<16x5xf32>, tensor<16xi32> -> tensor<16xf32>
    %ceMean = graph.reduce_mean %ce [0] : tensor<16xf32> -> tensor<f32>
    %wb = graph.read @regressor.weight : tensor<4x24xf32>
    %prediction = graph.matmul %h, %wb transpose_rhs : tensor<16x24xf32>, tensor<4x24xf32> -> tensor<16x4xf32>
    %mse = graph.mse %prediction, %targets : tensor<16x4xf32> -> tensor<f32>
    %half = graph.constant dense<5.000000e-01> : tensor<f32>
    %weighted = graph.mul %mse, %half : tensor<f32>
    %loss = graph.add %ceMean, %weighted : tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
)mlir";

/// Features in [-1, 1); the label is the largest of the first kClasses features and the
/// targets a fixed linear mix of features, so both heads have something to learn.
struct Batches {
  std::vector<float> features; // [steps, batch, features]
  std::vector<int32_t> labels; // [steps, batch]
  std::vector<float> targets;  // [steps, batch, outputs]
};

Batches makeBatches() {
  pytorch_test::SplitMix64 random(11);
  Batches batches;
  for (int64_t example = 0; example < kSteps * kBatch; ++example) {
    std::array<float, kFeatures> x;
    for (float &value : x)
      value = random.symmetric();
    batches.features.insert(batches.features.end(), x.begin(), x.end());
    batches.labels.push_back(
        static_cast<int32_t>(std::max_element(x.begin(), x.begin() + kClasses) - x.begin()));
    for (int64_t output = 0; output < kOutputs; ++output)
      batches.targets.push_back(0.5f * x[output] - 0.25f * x[output + kOutputs] + 0.1f);
  }
  return batches;
}

std::map<std::string, HostTensor, std::less<>> batchInputs(const Batches &batches, int64_t step) {
  std::map<std::string, HostTensor, std::less<>> inputs;
  inputs["features"] = HostTensor::f32(
      {kBatch, kFeatures},
      std::span(batches.features).subspan(step * kBatch * kFeatures, kBatch * kFeatures));
  inputs["labels"] =
      HostTensor::i32({kBatch}, std::span(batches.labels).subspan(step * kBatch, kBatch));
  inputs["targets"] = HostTensor::f32(
      {kBatch, kOutputs},
      std::span(batches.targets).subspan(step * kBatch * kOutputs, kBatch * kOutputs));
  return inputs;
}

/// What one device did: its initial parameters, the loss of every step and its
/// parameters after the last step.
struct Training {
  std::map<std::string, HostTensor> initial, final;
  std::vector<float> losses;
};

/// Hands `training` (done on `device`) to two_heads_reference.py and expects no mismatch.
void expectPyTorchAgrees(const std::string &device, const Batches &batches,
                         const Training &training) {
  pytorch_test::Exchange exchange("kiln-two-heads-vs-pytorch");
  exchange.writeManifest(absl::StrCat(
      "{\n", R"("device": ")", device, "\",\n", R"("steps": )", kSteps, ",\n",
      R"("tolerances": {"loss_rtol": 1e-5, "atol": 1e-4},)", "\n", R"("initial": )",
      exchange.write("init_", training.initial), ",\n", R"("features": )",
      exchange.write("features", batches.features.data(), batches.features.size() * sizeof(float),
                     "f32", {kSteps, kBatch, kFeatures}),
      ",\n", R"("labels": )",
      exchange.write("labels", batches.labels.data(), batches.labels.size() * sizeof(int32_t),
                     "i32", {kSteps, kBatch}),
      ",\n", R"("targets": )",
      exchange.write("targets", batches.targets.data(), batches.targets.size() * sizeof(float),
                     "f32", {kSteps, kBatch, kOutputs}),
      ",\n", R"("kiln_losses": )",
      exchange.write("kiln_losses", training.losses.data(), training.losses.size() * sizeof(float),
                     "f32", {kSteps}),
      ",\n", R"("kiln_final": )", exchange.write("final_", training.final), "\n}\n"));
  auto [code, output] = exchange.run("two_heads_reference.py");
  EXPECT_EQ(code, 0) << "PyTorch disagrees with Kiln on " << device << " (files kept in "
                     << exchange.directory() << "):\n"
                     << output;
  std::printf("%s", output.c_str());
  if (code == 0)
    exchange.remove();
}

/// The two-head module after the training-step pipeline; null after a failed expectation.
mlir::OwningOpRef<mlir::ModuleOp> compileTwoHeads(mlir::MLIRContext &context) {
  codegen_test::DiagnosticCollector diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> module = codegen_test::parseModule(kModule, context);
  EXPECT_TRUE(module) << diagnostics.text();
  if (module && mlir::failed(codegen_test::runTrainingStepPipeline(*module, false))) {
    ADD_FAILURE() << diagnostics.text();
    return nullptr;
  }
  return module;
}

/// Trains for kSteps through `step`, `loss` and `variable`, the device's own calls.
template <typename Device> Training train(Device &device, const Batches &batches) {
  Training training;
  for (const std::string &name : kParameters) {
    auto value = device.variable(name);
    EXPECT_TRUE(value.ok()) << value.status();
    if (value.ok())
      training.initial[name] = *value;
  }
  for (int64_t step = 0; step < kSteps; ++step) {
    absl::Status ran = device.step(batchInputs(batches, step));
    EXPECT_TRUE(ran.ok()) << "step " << step << ": " << ran;
    auto loss = device.output("loss");
    EXPECT_TRUE(loss.ok()) << loss.status();
    if (!ran.ok() || !loss.ok())
      return training;
    training.losses.push_back(static_cast<float>(loss->at(0)));
  }
  for (const std::string &name : kParameters) {
    auto value = device.variable(name);
    EXPECT_TRUE(value.ok()) << value.status();
    if (value.ok())
      training.final[name] = *value;
  }
  return training;
}

TEST(TwoHeadAdam, ReferenceDeviceMatchesPyTorchWithDefaultHyperparameters) {
  std::unique_ptr<mlir::MLIRContext> context = codegen_test::makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module = compileTwoHeads(*context);
  ASSERT_TRUE(module);
  auto device = reference::ReferenceDevice::create(*module, reference::Precision::kFloat32);
  ASSERT_TRUE(device.ok()) << device.status();
  Batches batches = makeBatches();
  Training training = train(**device, batches);
  ASSERT_EQ(training.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_LT(training.losses.back(), training.losses.front()) << "the model did not learn";
  expectPyTorchAgrees("reference device", batches, training);
}

TEST(TwoHeadAdam, VulkanMatchesPyTorchWithDefaultHyperparameters) {
  KILN_REQUIRE_VULKAN();
  std::unique_ptr<mlir::MLIRContext> context = codegen_test::makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module = compileTwoHeads(*context);
  ASSERT_TRUE(module);
  auto session = createValidatedSession(*module);
  ASSERT_TRUE(session.ok()) << session.status();
  Batches batches = makeBatches();
  Training training = train(**session, batches);
  ASSERT_EQ(training.losses.size(), static_cast<size_t>(kSteps));
  expectPyTorchAgrees("Vulkan", batches, training);

  ASSERT_TRUE((*session)->synchronize().ok());
  std::vector<std::string> messages = (*session)->validationMessages();
  EXPECT_TRUE(messages.empty()) << messages.size() << " validation messages, first: "
                                << (messages.empty() ? "" : messages.front());
}

} // namespace
} // namespace kiln::vulkan_ops_test
