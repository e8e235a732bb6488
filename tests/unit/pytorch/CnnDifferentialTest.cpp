//===- CnnDifferentialTest.cpp - Kiln's CNN training vs PyTorch's ---------===//
//
// TESTING.md layer 3 for convolutional networks. A narrow version of the
// Fashion-MNIST CNN of samples/cnn (conv 3x3 1->4, batch norm, ReLU, max
// pool 2, conv 3x3 4->8, batch norm, ReLU, max pool 2, flatten, linear
// 392->10) is built with the builder's layers, compiled with the
// training-step pipeline and trained on the reference device (float32) from
// Kiln's own Philox initial values on deterministic synthetic 28x28 batches.
// tests/pytorch/cnn_reference.py replays the training with torch.nn
// (nn.Conv2d, nn.BatchNorm2d in training mode, nn.MaxPool2d, nn.Linear) and
// torch.optim, and compares:
//   - losses at every step to 1e-5 relative,
//   - parameters and batch norm's running statistics after 20 steps to
//     |a-b| <= 1e-4 + 1e-4|b|,
//   - gradients of one step (autodiff only) to |a-b| <= 1e-6 + 1e-4|b|.
// Dropout is left out: its masks come from Kiln's Philox streams, which torch
// cannot draw; the training helper's tests check the masks on their own.
// The convolutions have no bias, as in the sample: before a batch norm its
// gradient is 0 up to rounding, which Adam would amplify to full-size steps in
// random directions on both sides.
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
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace kiln {
namespace {

constexpr int64_t kBatch = 16;
constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;
constexpr int64_t kWidth = 4;
constexpr int64_t kClasses = 10;
constexpr uint64_t kSeed = 2025;
const std::vector<std::string> kParameters = {"conv1.weight", "bn1.weight", "bn1.bias",
                                              "conv2.weight", "bn2.weight", "bn2.bias",
                                              "fc1.weight",   "fc1.bias"};
const std::vector<std::string> kStatistics = {"bn1.running_mean", "bn1.running_var",
                                              "bn2.running_mean", "bn2.running_var"};

/// Fashion-MNIST-like batches: pixels in [0, 1], each class a noisy version of its own random
/// prototype, so the loss falls as the model learns.
struct Batches {
  std::vector<float> images;   // [steps, batch, 1, 28, 28]
  std::vector<int32_t> labels; // [steps, batch]
};

Batches makeBatches(int64_t steps) {
  pytorch_test::SplitMix64 random(11);
  std::vector<std::vector<float>> prototypes(kClasses, std::vector<float>(kPixels));
  for (std::vector<float> &prototype : prototypes)
    for (float &pixel : prototype)
      pixel = random.uniform() < 0.3f ? random.uniform() : 0.0f;
  Batches batches;
  for (int64_t example = 0; example < steps * kBatch; ++example) {
    int32_t label = static_cast<int32_t>(random.next() % kClasses);
    batches.labels.push_back(label);
    for (float pixel : prototypes[label])
      batches.images.push_back(std::min(1.0f, 0.5f * pixel + 0.5f * random.uniform()));
  }
  return batches;
}

/// The CNN's training module, written with the builder's layers.
absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> buildCnn(mlir::MLIRContext &context,
                                                           const Optimizer &optimizer) {
  Builder b(context, "cnn", kSeed);
  Tensor images = b.input("images", {kBatch, 1, kSide, kSide});
  Tensor labels = b.input("labels", {kBatch}, DType::kI32);
  const Conv2dOptions same{.padding = {1, 1}};
  Sequential cnn{Conv2d(1, kWidth, 3, same, /*bias=*/false),
                 BatchNorm2d(kWidth),
                 Relu(),
                 MaxPool2d(2),
                 Conv2d(kWidth, 2 * kWidth, 3, same, /*bias=*/false),
                 BatchNorm2d(2 * kWidth),
                 Relu(),
                 MaxPool2d(2),
                 Flatten(),
                 Linear(2 * kWidth * (kSide / 4) * (kSide / 4), kClasses)};
  Tensor loss = softmaxCrossEntropy(cnn(images), labels);
  return b.build(TrainingSpec{.loss = loss, .optimizer = optimizer});
}

enum class Mode { kTrain, kGradients };

/// Trains (or, in kGradients mode, differentiates once) on Kiln, hands everything to PyTorch
/// and expects the script to find no mismatch.
void compareWithPyTorch(const Optimizer &optimizer, Mode mode, int64_t steps) {
  mlir::MLIRContext context;
  auto module = buildCnn(context, optimizer);
  ASSERT_TRUE(module.ok()) << module.status();
  absl::Status compiled = pytorch_test::runPasses(**module, [&](mlir::PassManager &pm) {
    // The batch norms' graph.train_or_eval become their training operands (no eval program).
    pm.addPass(createResolveTrainOrEval());
    if (mode == Mode::kTrain)
      addTrainingStepPipeline(pm);
    else
      pm.addPass(createAutodiff());
  });
  ASSERT_TRUE(compiled.ok()) << compiled;

  auto device = reference::ReferenceDevice::create(**module, reference::Precision::kFloat32);
  ASSERT_TRUE(device.ok()) << device.status();

  pytorch_test::Exchange exchange("kiln-cnn-vs-pytorch");
  auto variable = [&](const std::string &name) { return (*device)->variable(name); };
  std::string initial = pytorch_test::writeAll(exchange, "init_", kParameters, variable);

  Batches batches = makeBatches(steps);
  std::vector<float> losses;
  for (int64_t step = 0; step < steps; ++step) {
    std::map<std::string, HostTensor, std::less<>> inputs;
    inputs["images"] = HostTensor::f32(
        {kBatch, 1, kSide, kSide},
        std::span(batches.images).subspan(step * kBatch * kPixels, kBatch * kPixels));
    inputs["labels"] =
        HostTensor::i32({kBatch}, std::span(batches.labels).subspan(step * kBatch, kBatch));
    absl::Status ran = (*device)->step(inputs);
    ASSERT_TRUE(ran.ok()) << "step " << step << ": " << ran;
    auto loss = (*device)->output("loss");
    ASSERT_TRUE(loss.ok()) << loss.status();
    losses.push_back(loss->f32()[0]);
  }

  std::string final = "{}", statistics = "{}", gradients = "{}";
  if (mode == Mode::kTrain) {
    final = pytorch_test::writeAll(exchange, "final_", kParameters, variable);
    statistics = pytorch_test::writeAll(exchange, "final_", kStatistics, variable);
  } else {
    gradients =
        pytorch_test::writeAll(exchange, "grad_", kParameters,
                               [&](const std::string &name) { return (*device)->gradient(name); });
  }

  std::string manifest = absl::StrCat(
      "{\n", R"("mode": ")", mode == Mode::kTrain ? "train" : "gradients", "\",\n", R"("width": )",
      kWidth, ",\n", R"("classes": )", kClasses, ",\n", R"("side": )", kSide, ",\n", R"("steps": )",
      steps, ",\n", R"("optimizer": )", pytorch_test::optimizerJson(optimizer), ",\n",
      R"("tolerances": {"loss_rtol": 1e-5, "atol": )", mode == Mode::kTrain ? "1e-4" : "1e-6",
      R"(, "rtol": 1e-4},)", "\n", R"("initial": )", initial, ",\n", R"("images": )",
      exchange.write("images", batches.images.data(), batches.images.size() * sizeof(float), "f32",
                     {steps, kBatch, 1, kSide, kSide}),
      ",\n", R"("labels": )",
      exchange.write("labels", batches.labels.data(), batches.labels.size() * sizeof(int32_t),
                     "i32", {steps, kBatch}),
      ",\n", R"("kiln_losses": )",
      exchange.write("kiln_losses", losses.data(), losses.size() * sizeof(float), "f32", {steps}),
      ",\n", R"("kiln_final": )", final, ",\n", R"("kiln_statistics": )", statistics, ",\n",
      R"("kiln_gradients": )", gradients, "\n}\n");
  exchange.writeManifest(manifest);

  pytorch_test::expectReferenceAgrees(exchange, "cnn_reference.py");
}

TEST(CnnDifferentialTest, GradientsOfOneStepMatchPyTorch) {
  compareWithPyTorch(Sgd{.learningRate = 0.1}, Mode::kGradients, /*steps=*/1);
}

TEST(CnnDifferentialTest, SgdWithMomentumMatchesPyTorchFor20Steps) {
  compareWithPyTorch(Sgd{.learningRate = 0.05, .momentum = 0.9}, Mode::kTrain, /*steps=*/20);
}

TEST(CnnDifferentialTest, AdamMatchesPyTorchFor20Steps) {
  compareWithPyTorch(Adam{.learningRate = 1e-3}, Mode::kTrain, /*steps=*/20);
}

} // namespace
} // namespace kiln
