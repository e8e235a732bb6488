//===- LayerNormTrainingTest.cpp - A layer norm trained through row kernels -===//
//
// A classifier with a layer norm written with existing graph ops (mean,
// subtract, square, mean, add eps, rsqrt, scale, shift) trains for 20 steps
// on Vulkan with fusion, on Vulkan with one kernel per op, and on the
// reference device (float32), in lockstep. With fusion the forward layer norm
// is ONE row kernel holding both row statistics (kiln-fuse's general row
// kernel), and the backward pass forms row kernels too; fusion changes which
// kernel computes a value, not the arithmetic, so the three agree pairwise to
// 1e-5 relative at every step (Lockstep.h). The loss must fall and validation (with
// synchronization validation) must report nothing.
//
//===----------------------------------------------------------------------===//

#include "Lockstep.h"
#include "VulkanOpsSupport.h"

#include "TestModules.h"

#include "kiln/runtime/ReferenceDevice.h"

#include "gtest/gtest.h"

namespace kiln::vulkan_ops_test {
namespace {

constexpr int kBatch = 16, kFeatures = 64, kHidden = 48, kClasses = 10;
constexpr int kSteps = 20;

std::string layerNormModuleText() {
  std::string text = R"(
module @layer_norm_classifier attributes {graph.optimizer = {kind = "sgd", learning_rate = 5.0e-02 : f64, momentum = 9.0e-01 : f64}} {
  graph.variable @fc1.weight trainable : tensor<HxFxf32> = #graph.init<uniform(-0.125, 0.125), seed = 0, stream = 0>
  graph.variable @ln.gamma trainable : tensor<Hxf32> = #graph.init<uniform(0.5, 1.5), seed = 0, stream = 1>
  graph.variable @ln.beta trainable : tensor<Hxf32> = #graph.init<uniform(-0.1, 0.1), seed = 0, stream = 2>
  graph.variable @fc2.weight trainable : tensor<CxHxf32> = #graph.init<uniform(-0.14, 0.14), seed = 0, stream = 3>
  func.func @step() {
    %x = graph.input "images" : tensor<BxFxf32>
    %y = graph.input "labels" : tensor<Bxi32>
    %w1 = graph.read @fc1.weight : tensor<HxFxf32>
    %h = graph.matmul %x, %w1 transpose_rhs : tensor<BxFxf32>, tensor<HxFxf32> -> tensor<BxHxf32>
    %gamma = graph.read @ln.gamma : tensor<Hxf32>
    %beta = graph.read @ln.beta : tensor<Hxf32>
    %mean = graph.reduce_mean %h [1] : tensor<BxHxf32> -> tensor<Bxf32>
    %mb = graph.broadcast %mean [0] : tensor<Bxf32> to tensor<BxHxf32>
    %xc = graph.sub %h, %mb : tensor<BxHxf32>
    %sq = graph.mul %xc, %xc : tensor<BxHxf32>
    %var = graph.reduce_mean %sq [1] : tensor<BxHxf32> -> tensor<Bxf32>
    %eps = graph.constant dense<1.000000e-05> : tensor<Bxf32>
    %ve = graph.add %var, %eps : tensor<Bxf32>
    %sd = graph.sqrt %ve : tensor<Bxf32>
    %sb = graph.broadcast %sd [0] : tensor<Bxf32> to tensor<BxHxf32>
    %n = graph.div %xc, %sb : tensor<BxHxf32>
    %gb = graph.broadcast %gamma [1] : tensor<Hxf32> to tensor<BxHxf32>
    %s = graph.mul %n, %gb : tensor<BxHxf32>
    %bb = graph.broadcast %beta [1] : tensor<Hxf32> to tensor<BxHxf32>
    %ln = graph.add %s, %bb : tensor<BxHxf32>
    %a = graph.relu %ln : tensor<BxHxf32>
    %w2 = graph.read @fc2.weight : tensor<CxHxf32>
    %logits = graph.matmul %a, %w2 transpose_rhs : tensor<BxHxf32>, tensor<CxHxf32> -> tensor<BxCxf32>
    %l = graph.softmax_cross_entropy %logits, %y : tensor<BxCxf32>, tensor<Bxi32> -> tensor<Bxf32>
    %loss = graph.reduce_mean %l [0] : tensor<Bxf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
)";
  auto replace = [&](const std::string &from, const std::string &to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replace("BxFx", std::to_string(kBatch) + "x" + std::to_string(kFeatures) + "x");
  replace("HxFx", std::to_string(kHidden) + "x" + std::to_string(kFeatures) + "x");
  replace("BxHx", std::to_string(kBatch) + "x" + std::to_string(kHidden) + "x");
  replace("CxHx", std::to_string(kClasses) + "x" + std::to_string(kHidden) + "x");
  replace("BxCx", std::to_string(kBatch) + "x" + std::to_string(kClasses) + "x");
  replace("tensor<Hx", "tensor<" + std::to_string(kHidden) + "x");
  replace("tensor<Bx", "tensor<" + std::to_string(kBatch) + "x");
  return text;
}

/// Noise in U[0, 1) where label c brightens feature band c.
std::map<std::string, HostTensor, std::less<>> batch(int step) {
  uint64_t state = 0x6c6e6f726dull + static_cast<uint64_t>(step);
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(state >> 40) * 0x1p-24f;
  };
  std::vector<float> images(kBatch * kFeatures);
  std::vector<int32_t> labels(kBatch);
  for (int example = 0; example < kBatch; ++example) {
    labels[example] = static_cast<int32_t>(next() * kClasses) % kClasses;
    for (int feature = 0; feature < kFeatures; ++feature)
      images[example * kFeatures + feature] =
          next() + (feature * kClasses / kFeatures == labels[example] ? 1.0f : 0.0f);
  }
  return {{"images", HostTensor::f32({kBatch, kFeatures}, images)},
          {"labels", HostTensor::i32({kBatch}, labels)}};
}

TEST(VulkanLayerNorm, OneForwardRowKernelAndFusedUnfusedAndReferenceAgree) {
  KILN_REQUIRE_VULKAN();
  std::unique_ptr<mlir::MLIRContext> context = codegen_test::makeContext();
  codegen_test::DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      codegen_test::parseModule(layerNormModuleText(), *context);
  ASSERT_TRUE(module) << diagnostics.text();
  ASSERT_TRUE(mlir::succeeded(codegen_test::runTrainingStepPipeline(*module, false)))
      << diagnostics.text();
  auto reference = reference::ReferenceDevice::create(*module, reference::Precision::kFloat32);
  ASSERT_TRUE(reference.ok()) << reference.status();
  auto fused = createValidatedSession(*module, /*fusion=*/true);
  auto unfused = createValidatedSession(*module, /*fusion=*/false);
  ASSERT_TRUE(fused.ok()) << fused.status();
  ASSERT_TRUE(unfused.ok()) << unfused.status();

  // The forward layer norm: one row kernel computing both means, the normalization, the
  // affine transform and the ReLU.
  int forwardRowKernels = 0;
  for (const plan::Kernel &kernel : (*fused)->plan().kernels()) {
    int means = 0, sqrts = 0, relus = 0;
    for (const plan::SourceOp &op : kernel.source_ops()) {
      means += op.op_name() == "graph.reduce_mean";
      sqrts += op.op_name() == "graph.sqrt";
      relus += op.op_name() == "graph.relu";
    }
    if (kernel.kind() == "row" && means == 2 && sqrts == 1 && relus == 1)
      ++forwardRowKernels;
  }
  EXPECT_EQ(forwardRowKernels, 1);

  std::vector<double> losses =
      expectLossesInLockstep(**reference, **fused, **unfused, kSteps, batch, 1e-5);
  ASSERT_EQ(losses.size(), static_cast<size_t>(kSteps));
  EXPECT_LT(losses.back(), 0.7 * losses.front()) << "the layer-norm classifier did not learn";
  expectNoValidationMessages(**fused);
  expectNoValidationMessages(**unfused);
}

} // namespace
} // namespace kiln::vulkan_ops_test
