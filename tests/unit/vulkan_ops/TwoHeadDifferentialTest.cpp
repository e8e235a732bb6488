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

#include "VulkanOpsSupport.h"

#include "TestModules.h"

#include "kiln/runtime/ReferenceDevice.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace kiln::vulkan_ops_test {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the files for PyTorch are written as little-endian arrays");

constexpr int64_t kBatch = 16, kFeatures = 20, kClasses = 5, kOutputs = 4;
constexpr int64_t kSteps = 30;
constexpr const char *kPython = "/usr/bin/python3";
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

/// SplitMix64: a fully specified generator, so the data are the same on every platform.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1) with 24 random bits.
  float symmetric() { return static_cast<float>(next() >> 40) * 0x1.0p-23f - 1.0f; }

private:
  uint64_t state_;
};

/// Features in [-1, 1); the label is the largest of the first kClasses features and the
/// targets a fixed linear mix of features, so both heads have something to learn.
struct Batches {
  std::vector<float> features; // [steps, batch, features]
  std::vector<int32_t> labels; // [steps, batch]
  std::vector<float> targets;  // [steps, batch, outputs]
};

Batches makeBatches() {
  SplitMix64 random(11);
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

/// The raw little-endian array `file` in `directory`; returns its manifest entry.
std::string writeArray(const std::string &directory, const std::string &file, const void *bytes,
                       size_t size, const std::string &dtype, const std::vector<int64_t> &shape) {
  std::string path = directory + "/" + file;
  FILE *out = std::fopen(path.c_str(), "wb");
  if (!out || std::fwrite(bytes, 1, size, out) != size)
    ADD_FAILURE() << "cannot write " << path;
  if (out)
    std::fclose(out);
  return absl::StrCat(R"({"file": ")", file, R"(", "dtype": ")", dtype, R"(", "shape": [)",
                      absl::StrJoin(shape, ", "), "]}");
}

std::string writeTensors(const std::string &directory, const std::string &prefix,
                         const std::map<std::string, HostTensor> &tensors) {
  std::vector<std::string> entries;
  for (const auto &[name, tensor] : tensors)
    entries.push_back(
        absl::StrCat("\"", name, "\": ",
                     writeArray(directory, prefix + name, tensor.bytes().data(),
                                tensor.sizeInBytes(), dtypeName(tensor.dtype()), tensor.shape())));
  return absl::StrCat("{", absl::StrJoin(entries, ", "), "}");
}

/// Hands `training` (done on `device`) to two_heads_reference.py and expects no mismatch.
void expectPyTorchAgrees(const std::string &device, const Batches &batches,
                         const Training &training) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("kiln-two-heads-vs-pytorch", path));
  std::string directory(path);
  std::string manifest = absl::StrCat(
      "{\n", R"("device": ")", device, "\",\n", R"("steps": )", kSteps, ",\n",
      R"("tolerances": {"loss_rtol": 1e-5, "atol": 1e-4},)", "\n", R"("initial": )",
      writeTensors(directory, "init_", training.initial), ",\n", R"("features": )",
      writeArray(directory, "features", batches.features.data(),
                 batches.features.size() * sizeof(float), "f32", {kSteps, kBatch, kFeatures}),
      ",\n", R"("labels": )",
      writeArray(directory, "labels", batches.labels.data(),
                 batches.labels.size() * sizeof(int32_t), "i32", {kSteps, kBatch}),
      ",\n", R"("targets": )",
      writeArray(directory, "targets", batches.targets.data(),
                 batches.targets.size() * sizeof(float), "f32", {kSteps, kBatch, kOutputs}),
      ",\n", R"("kiln_losses": )",
      writeArray(directory, "kiln_losses", training.losses.data(),
                 training.losses.size() * sizeof(float), "f32", {kSteps}),
      ",\n", R"("kiln_final": )", writeTensors(directory, "final_", training.final), "\n}\n");
  {
    std::error_code error;
    llvm::raw_fd_ostream out(directory + "/manifest.json", error);
    ASSERT_FALSE(error) << error.message();
    out << manifest;
  }

  const char *sourceDir = std::getenv("KILN_SOURCE_DIR");
  std::string script = absl::StrCat(sourceDir ? sourceDir : KILN_SOURCE_DIR_AT_BUILD,
                                    "/tests/pytorch/two_heads_reference.py");
  std::string command = absl::StrCat(kPython, " '", script, "' '", directory, "' 2>&1");
  FILE *pipe = popen(command.c_str(), "r");
  ASSERT_TRUE(pipe) << "cannot start " << command;
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t read = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), read);
  int status = pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  EXPECT_EQ(code, 0) << "PyTorch disagrees with Kiln on " << device << " (files kept in "
                     << directory << "):\n"
                     << output;
  std::printf("%s", output.c_str());
  if (code == 0)
    llvm::sys::fs::remove_directories(directory);
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
