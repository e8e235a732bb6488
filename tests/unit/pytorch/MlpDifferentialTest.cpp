//===- MlpDifferentialTest.cpp - Kiln's MLP training vs PyTorch's ---------===//
//
// TESTING.md layer 3. The 784-128-10 MNIST MLP is built with the builder,
// compiled with the training-step pipeline and trained on the reference
// device (float32) from Kiln's own Philox initial values on deterministic
// synthetic MNIST-like batches. Everything PyTorch needs (initial
// parameters, batches, Kiln's losses, gradients and final parameters) is
// written to a temporary folder as raw little-endian arrays with a JSON
// manifest, and tests/pytorch/mlp_reference.py replays the same training
// with torch.nn and torch.optim and compares:
//   - losses at every step to 1e-5 relative,
//   - parameters after 20 steps to |a-b| <= 1e-4 + 1e-4|b|,
//   - gradients of one step (autodiff only) to |a-b| <= 1e-6 + 1e-4|b|.
// PyTorch is a declared test dependency: when /usr/bin/python3 cannot import
// it the test fails, it does not skip.
//
//===----------------------------------------------------------------------===//

#include "DifferentialSupport.h"
#include "PyTorchExchange.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Frontend.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace kiln {
namespace {

constexpr std::array<int64_t, 3> kWidths = {784, 128, 10};
constexpr int64_t kBatch = 32;
constexpr int64_t kClasses = 10;
constexpr uint64_t kSeed = 2024;
const std::vector<std::string> kParameters = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};

/// MNIST-like batches: pixels in [0, 1], each class a noisy version of its
/// own random prototype, so the loss falls as the model learns.
struct Batches {
  std::vector<float> images;   // [steps, batch, 784]
  std::vector<int32_t> labels; // [steps, batch]
};

Batches makeBatches(int64_t steps) {
  pytorch_test::SplitMix64 random(7);
  std::vector<std::vector<float>> prototypes(kClasses, std::vector<float>(kWidths[0]));
  for (std::vector<float> &prototype : prototypes)
    for (float &pixel : prototype)
      pixel = random.uniform() < 0.25f ? random.uniform() : 0.0f;
  Batches batches;
  for (int64_t example = 0; example < steps * kBatch; ++example) {
    int32_t label = static_cast<int32_t>(random.next() % kClasses);
    batches.labels.push_back(label);
    for (float pixel : prototypes[label])
      batches.images.push_back(std::min(1.0f, 0.4f * pixel + 0.6f * random.uniform()));
  }
  return batches;
}

/// The MLP's training module, written with the builder.
absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> buildMlp(mlir::MLIRContext &context,
                                                           const Optimizer &optimizer) {
  Builder b(context, "mlp", kSeed);
  Tensor images = b.input("images", {kBatch, kWidths[0]});
  Tensor labels = b.input("labels", {kBatch}, DType::kI32);
  Sequential mlp{Linear(kWidths[0], kWidths[1]), Relu(), Linear(kWidths[1], kWidths[2])};
  Tensor loss = softmaxCrossEntropy(mlp(images), labels);
  return b.build(TrainingSpec{.loss = loss, .optimizer = optimizer});
}

enum class Mode { kTrain, kGradients };

/// Trains (or, in kGradients mode, differentiates once) on Kiln, hands
/// everything to PyTorch and expects the script to find no mismatch.
void compareWithPyTorch(const Optimizer &optimizer, Mode mode, int64_t steps) {
  mlir::MLIRContext context;
  auto module = buildMlp(context, optimizer);
  ASSERT_TRUE(module.ok()) << module.status();
  absl::Status compiled = pytorch_test::runPasses(**module, [&](mlir::PassManager &pm) {
    if (mode == Mode::kTrain)
      addTrainingStepPipeline(pm);
    else
      pm.addPass(createAutodiff());
  });
  ASSERT_TRUE(compiled.ok()) << compiled;

  auto device = reference::ReferenceDevice::create(**module, reference::Precision::kFloat32);
  ASSERT_TRUE(device.ok()) << device.status();

  pytorch_test::Exchange exchange("kiln-mlp-vs-pytorch");
  auto variable = [&](const std::string &name) { return (*device)->variable(name); };
  std::string initial = pytorch_test::writeAll(exchange, "init_", kParameters, variable);

  Batches batches = makeBatches(steps);
  std::vector<float> losses;
  for (int64_t step = 0; step < steps; ++step) {
    std::map<std::string, HostTensor, std::less<>> inputs;
    inputs["images"] = HostTensor::f32(
        {kBatch, kWidths[0]},
        std::span(batches.images).subspan(step * kBatch * kWidths[0], kBatch * kWidths[0]));
    inputs["labels"] =
        HostTensor::i32({kBatch}, std::span(batches.labels).subspan(step * kBatch, kBatch));
    absl::Status ran = (*device)->step(inputs);
    ASSERT_TRUE(ran.ok()) << "step " << step << ": " << ran;
    auto loss = (*device)->output("loss");
    ASSERT_TRUE(loss.ok()) << loss.status();
    losses.push_back(loss->f32()[0]);
  }

  std::string final = "{}", gradients = "{}";
  if (mode == Mode::kTrain)
    final = pytorch_test::writeAll(exchange, "final_", kParameters, variable);
  else
    gradients =
        pytorch_test::writeAll(exchange, "grad_", kParameters,
                               [&](const std::string &name) { return (*device)->gradient(name); });

  std::string manifest = absl::StrCat(
      "{\n", R"("mode": ")", mode == Mode::kTrain ? "train" : "gradients", "\",\n",
      R"("widths": [)", absl::StrJoin(kWidths, ", "), "],\n", R"("steps": )", steps, ",\n",
      R"("optimizer": )", pytorch_test::optimizerJson(optimizer), ",\n",
      R"("tolerances": {"loss_rtol": 1e-5, "atol": )", mode == Mode::kTrain ? "1e-4" : "1e-6",
      R"(, "rtol": 1e-4},)", "\n", R"("initial": )", initial, ",\n", R"("images": )",
      exchange.write("images", batches.images.data(), batches.images.size() * sizeof(float), "f32",
                     {steps, kBatch, kWidths[0]}),
      ",\n", R"("labels": )",
      exchange.write("labels", batches.labels.data(), batches.labels.size() * sizeof(int32_t),
                     "i32", {steps, kBatch}),
      ",\n", R"("kiln_losses": )",
      exchange.write("kiln_losses", losses.data(), losses.size() * sizeof(float), "f32", {steps}),
      ",\n", R"("kiln_final": )", final, ",\n", R"("kiln_gradients": )", gradients, "\n}\n");
  exchange.writeManifest(manifest);

  pytorch_test::expectReferenceAgrees(exchange, "mlp_reference.py");
}

TEST(MlpDifferentialTest, GradientsOfOneStepMatchPyTorch) {
  compareWithPyTorch(Sgd{.learningRate = 0.1}, Mode::kGradients, /*steps=*/1);
}

TEST(MlpDifferentialTest, SgdWithMomentumMatchesPyTorchFor20Steps) {
  compareWithPyTorch(Sgd{.learningRate = 0.1, .momentum = 0.9}, Mode::kTrain, /*steps=*/20);
}

TEST(MlpDifferentialTest, AdamMatchesPyTorchFor20Steps) {
  compareWithPyTorch(Adam{.learningRate = 1e-3}, Mode::kTrain, /*steps=*/20);
}

} // namespace
} // namespace kiln
