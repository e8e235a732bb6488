//===- GptDifferentialTest.cpp - Kiln's GPT training vs PyTorch's ---------===//
//
// TESTING.md layer 3. A small nanoGPT GPT (samples/gpt's KilnGptModel: 2
// layers, 2 heads, width 32, context 16, byte vocabulary, tied head) is built
// with the builder, compiled with the training-step pipeline (fused attention,
// autodiff, AdamW with the GPT's decay marks and clipping by global norm) and
// trained on the reference device (float32) from Kiln's own Philox initial
// values on deterministic byte sequences. tests/pytorch/gpt_reference.py
// replays the training with the same model in torch (manual causal
// attention), torch.optim.AdamW in two parameter groups and
// torch.nn.utils.clip_grad_norm_, and compares:
//   - the loss of every step to 1e-5 relative and the gradient norm before
//     clipping to 1e-5 relative,
//   - every parameter after 10 steps to |a-b| <= 1e-4 + 1e-4|b|,
//   - every gradient of one step (autodiff only) to |a-b| <= 1e-6 + 1e-4|b|.
// The max norm is small enough that clipping scales every step's gradients
// (checked here), and the learning rate and weight decay are large enough
// that decaying a parameter the marks exclude (the embeddings, the layer
// norms) would move it by more than the tolerance.
// PyTorch is a declared test dependency: when /usr/bin/python3 cannot import
// it the test fails, it does not skip.
//
//===----------------------------------------------------------------------===//

#include "DifferentialSupport.h"
#include "GptModel.h"
#include "PyTorchExchange.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Frontend.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "absl/strings/str_cat.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace kiln {
namespace {

constexpr uint64_t kSeed = 2026;
constexpr double kClip = 0.25;
const gpt::GptConfig kConfig{
    .layers = 2, .heads = 2, .width = 32, .context = 16, .vocab = 256, .batch = 4};
const AdamW kAdamW{.learningRate = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .weightDecay = 0.5};

/// Byte sequences with structure to learn: a random walk over the 16 letters
/// 'a'..'p' that mostly steps to the next letter. tokens[s] is [batch,
/// context] and targets[s] the same windows shifted by one byte.
struct Batches {
  std::vector<int32_t> tokens;
  std::vector<int32_t> targets;
};

Batches makeBatches(int64_t steps) {
  pytorch_test::SplitMix64 random(11);
  Batches batches;
  for (int64_t row = 0; row < steps * kConfig.batch; ++row) {
    int32_t letter = static_cast<int32_t>(random.next() % 16);
    std::vector<int32_t> window;
    for (int64_t t = 0; t <= kConfig.context; ++t) {
      window.push_back('a' + letter);
      letter =
          random.uniform() < 0.75f ? (letter + 1) % 16 : static_cast<int32_t>(random.next() % 16);
    }
    batches.tokens.insert(batches.tokens.end(), window.begin(), window.end() - 1);
    batches.targets.insert(batches.targets.end(), window.begin() + 1, window.end());
  }
  return batches;
}

enum class Mode { kTrain, kGradients };

/// Trains (or, in kGradients mode, differentiates once) on Kiln, hands
/// everything to PyTorch and expects the script to find no mismatch.
void compareWithPyTorch(Mode mode, int64_t steps) {
  mlir::MLIRContext context;
  Builder builder(context, "gpt", kSeed);
  auto module = gpt::buildModule(builder, kConfig,
                                 {.optimizer = kAdamW, .clipGradNorm = kClip, .generate = false});
  ASSERT_TRUE(module.ok()) << module.status();
  absl::Status compiled = pytorch_test::runPasses(**module, [&](mlir::PassManager &pm) {
    if (mode == Mode::kTrain) {
      addTrainingStepPipeline(pm);
    } else {
      pm.addPass(createFormAttention());
      pm.addPass(createAutodiff());
    }
  });
  ASSERT_TRUE(compiled.ok()) << compiled;

  auto device = reference::ReferenceDevice::create(**module, reference::Precision::kFloat32);
  ASSERT_TRUE(device.ok()) << device.status();

  const std::vector<std::string> parameters = gpt::parameterNames(kConfig);
  pytorch_test::Exchange exchange("kiln-gpt-vs-pytorch");
  auto variable = [&](const std::string &name) { return (*device)->variable(name); };
  std::string initial = pytorch_test::writeAll(exchange, "init_", parameters, variable);

  Batches batches = makeBatches(steps);
  const int64_t window = kConfig.batch * kConfig.context;
  std::vector<float> losses, norms;
  for (int64_t step = 0; step < steps; ++step) {
    std::map<std::string, HostTensor, std::less<>> inputs;
    inputs["tokens"] = HostTensor::i32({kConfig.batch, kConfig.context},
                                       std::span(batches.tokens).subspan(step * window, window));
    inputs["targets"] = HostTensor::i32({kConfig.batch, kConfig.context},
                                        std::span(batches.targets).subspan(step * window, window));
    absl::Status ran = (*device)->step(inputs);
    ASSERT_TRUE(ran.ok()) << "step " << step << ": " << ran;
    auto loss = (*device)->output("loss");
    ASSERT_TRUE(loss.ok()) << loss.status();
    losses.push_back(loss->f32()[0]);
    if (mode == Mode::kTrain) {
      auto norm = (*device)->output("grad_norm");
      ASSERT_TRUE(norm.ok()) << norm.status();
      norms.push_back(norm->f32()[0]);
      // Clipping must scale this step's gradients for the test to check it.
      EXPECT_GT(norms.back(), kClip) << "step " << step;
    }
  }

  std::string final = "{}", gradients = "{}";
  if (mode == Mode::kTrain)
    final = pytorch_test::writeAll(exchange, "final_", parameters, variable);
  else
    gradients = pytorch_test::writeAll(exchange, "grad_", parameters, [&](const std::string &name) {
      return (*device)->gradient(name);
    });

  std::string manifest = absl::StrCat(
      "{\n", R"("mode": ")", mode == Mode::kTrain ? "train" : "gradients", "\",\n",
      R"("config": {"layers": )", kConfig.layers, R"(, "heads": )", kConfig.heads, R"(, "width": )",
      kConfig.width, R"(, "context": )", kConfig.context, R"(, "vocab": )", kConfig.vocab, "},\n",
      R"("steps": )", steps, ",\n", R"("optimizer": )",
      pytorch_test::optimizerJson(gpt::withDecayMarks(kAdamW)), ",\n", R"("clip_grad_norm": )",
      kClip, ",\n", R"("tolerances": {"loss_rtol": 1e-5, "norm_rtol": 1e-5, "atol": )",
      mode == Mode::kTrain ? "1e-4" : "1e-6", R"(, "rtol": 1e-4},)", "\n", R"("initial": )",
      initial, ",\n", R"("tokens": )",
      exchange.write("tokens", batches.tokens.data(), batches.tokens.size() * sizeof(int32_t),
                     "i32", {steps, kConfig.batch, kConfig.context}),
      ",\n", R"("targets": )",
      exchange.write("targets", batches.targets.data(), batches.targets.size() * sizeof(int32_t),
                     "i32", {steps, kConfig.batch, kConfig.context}),
      ",\n", R"("kiln_losses": )",
      exchange.write("kiln_losses", losses.data(), losses.size() * sizeof(float), "f32", {steps}),
      ",\n",
      mode == Mode::kTrain
          ? absl::StrCat(R"("kiln_grad_norms": )",
                         exchange.write("kiln_grad_norms", norms.data(),
                                        norms.size() * sizeof(float), "f32", {steps}),
                         ",\n")
          : std::string(),
      R"("kiln_final": )", final, ",\n", R"("kiln_gradients": )", gradients, "\n}\n");
  exchange.writeManifest(manifest);

  pytorch_test::expectReferenceAgrees(exchange, "gpt_reference.py");
}

TEST(GptDifferentialTest, GradientsOfOneStepMatchPyTorch) {
  compareWithPyTorch(Mode::kGradients, /*steps=*/1);
}

TEST(GptDifferentialTest, AdamWWithClippingAndDecayMarksMatchesPyTorchFor10Steps) {
  compareWithPyTorch(Mode::kTrain, /*steps=*/10);
}

} // namespace
} // namespace kiln
