//===- TrainingSpecTest.cpp - build(spec): optimizer, minimize, outputs ---===//
//
// The module a TrainingSpec produces: the exact `graph.optimizer`
// dictionary of each optimizer, graph.minimize on the loss, the automatic
// "loss" output, validation of losses and hyperparameters, and a whole MLP
// that verifies.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "mlir/IR/Verifier.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using kiln::testing::opsOf;
using kiln::testing::print;
using ::testing::HasSubstr;

/// A two-layer classifier's mean cross-entropy loss on `b`.
Tensor classifierLoss(Builder &b) {
  Tensor images = b.input("images", {32, 784});
  Tensor labels = b.input("labels", {32}, DType::kI32);
  Sequential mlp{Linear(784, 128), Relu(), Linear(128, 10)};
  return softmaxCrossEntropy(mlp(images), labels);
}

/// The printed `graph.optimizer` attribute of a module built with `optimizer`.
std::string optimizerText(const Optimizer &optimizer) {
  Builder b;
  Tensor loss = classifierLoss(b);
  auto module = b.build(TrainingSpec{.loss = loss, .optimizer = optimizer});
  EXPECT_TRUE(module.ok()) << module.status();
  if (!module.ok())
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  (**module)->getAttr("graph.optimizer").print(os);
  return text;
}

TEST(TrainingSpecTest, SgdWritesItsDictionary) {
  EXPECT_EQ(optimizerText(Sgd{.learningRate = 0.1, .momentum = 0.9}),
            "{kind = \"sgd\", learning_rate = 1.000000e-01 : f64, momentum = 9.000000e-01 : f64, "
            "nesterov = false, weight_decay = 0.000000e+00 : f64}");
}

TEST(TrainingSpecTest, AdamWritesItsDictionary) {
  EXPECT_EQ(optimizerText(Adam{}),
            "{beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, epsilon = "
            "1.000000e-08 : f64, kind = \"adam\", learning_rate = 1.000000e-03 : f64, "
            "weight_decay = 0.000000e+00 : f64}");
}

TEST(TrainingSpecTest, AdamWDefaultsToPyTorchsWeightDecay) {
  EXPECT_THAT(optimizerText(AdamW{}), HasSubstr("kind = \"adamw\""));
  EXPECT_THAT(optimizerText(AdamW{}), HasSubstr("weight_decay = 1.000000e-02 : f64"));
  EXPECT_EQ(optimizerKind(AdamW{}), "adamw");
}

TEST(TrainingSpecTest, TheLossIsMinimizedAndOutput) {
  Builder b("mlp");
  Tensor loss = classifierLoss(b);
  auto module = b.build(TrainingSpec{.loss = loss, .optimizer = Sgd{}});
  ASSERT_TRUE(module.ok()) << module.status();
  auto minimize = opsOf<graph::MinimizeOp>(**module);
  ASSERT_EQ(minimize.size(), 1u);
  EXPECT_EQ(minimize[0].getLoss(), loss.value());
  auto outputs = opsOf<graph::OutputOp>(**module);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].getName(), "loss");
  EXPECT_EQ(outputs[0].getValue(), loss.value());
}

TEST(TrainingSpecTest, ALossTheUserAlreadyOutputsIsNotOutputTwice) {
  Builder b;
  Tensor loss = classifierLoss(b);
  b.output("train_loss", loss);
  auto module = b.build(TrainingSpec{.loss = loss});
  ASSERT_TRUE(module.ok()) << module.status();
  auto outputs = opsOf<graph::OutputOp>(**module);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].getName(), "train_loss");
}

TEST(TrainingSpecTest, AnOutputCalledLossThatIsNotTheLossIsAnError) {
  Builder b;
  Tensor loss = classifierLoss(b);
  b.output("loss", b.constant({}, 1.0f));
  auto module = b.build(TrainingSpec{.loss = loss});
  ASSERT_FALSE(module.ok());
  EXPECT_THAT(module.status().message(), HasSubstr("an output named 'loss' holds another value"));
}

TEST(TrainingSpecTest, TheLossMustBeAScalar) {
  Builder b;
  Tensor perExample = b.input("x", {4});
  auto module = b.build(TrainingSpec{.loss = perExample});
  ASSERT_FALSE(module.ok());
  EXPECT_THAT(module.status().message(),
              HasSubstr("TrainingSpec.loss must be a scalar f32 tensor, got tensor<4xf32>"));
}

// The hint's suggestion works for a loss of any rank (reduceMean(loss, {0}) would leave a
// [4, 3] loss non-scalar again).
TEST(TrainingSpecTest, TheNonScalarLossHintBuilds) {
  Builder b;
  Tensor perElement = b.input("x", {4, 3});
  Builder other;
  auto rejected = other.build(TrainingSpec{.loss = other.input("y", {4, 3})});
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.status().message(), HasSubstr("reduceMean(loss)"));
  auto module = b.build(TrainingSpec{.loss = reduceMean(perElement)});
  EXPECT_TRUE(module.ok()) << module.status();
}

TEST(TrainingSpecTest, AdamWWritesItsDecayMarks) {
  std::string text =
      optimizerText(AdamW{.decayMatricesOnly = true, .noDecay = {"fc1.weight", "fc2.weight"}});
  EXPECT_THAT(text, HasSubstr("decay_min_rank = 2 : i64"));
  EXPECT_THAT(text, HasSubstr("no_decay = [\"fc1.weight\", \"fc2.weight\"]"));
  // Without marks the dictionary is as before: every parameter decays.
  std::string plain = optimizerText(AdamW{});
  EXPECT_THAT(plain, ::testing::Not(HasSubstr("decay_min_rank")));
  EXPECT_THAT(plain, ::testing::Not(HasSubstr("no_decay")));
}

TEST(TrainingSpecTest, ClippingIsWrittenAndValidated) {
  Builder b;
  Tensor loss = classifierLoss(b);
  auto module = b.build(TrainingSpec{.loss = loss, .optimizer = AdamW{}, .clipGradNorm = 1.0});
  ASSERT_TRUE(module.ok()) << module.status();
  std::string text;
  llvm::raw_string_ostream os(text);
  (**module)->getAttr("graph.optimizer").print(os);
  EXPECT_THAT(text, HasSubstr("clip_grad_norm = 1.000000e+00 : f64"));
  EXPECT_THAT(optimizerText(AdamW{}), ::testing::Not(HasSubstr("clip_grad_norm")));

  EXPECT_THAT(validateTrainingSpec(TrainingSpec{.clipGradNorm = 0.0}).message(),
              HasSubstr("clipGradNorm must be a finite number > 0"));
  EXPECT_THAT(validateTrainingSpec(TrainingSpec{.clipGradNorm = -1.0}).message(),
              HasSubstr("got -1"));
  EXPECT_TRUE(validateTrainingSpec(TrainingSpec{.clipGradNorm = 0.5}).ok());

  Builder other;
  auto rejected = other.build(TrainingSpec{
      .loss = classifierLoss(other), .optimizer = AdamW{}, .clipGradNorm = std::nan("")});
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.status().message(), HasSubstr("TrainingSpec.clipGradNorm must be"));
}

TEST(TrainingSpecTest, DecayMarksAreValidated) {
  EXPECT_THAT(validateOptimizer(AdamW{.noDecay = {""}}).message(),
              HasSubstr("AdamW: noDecay holds an empty parameter name"));
  EXPECT_THAT(validateOptimizer(AdamW{.noDecay = {"fc1.bias", "fc1.bias"}}).message(),
              HasSubstr("AdamW: noDecay names 'fc1.bias' twice"));
  EXPECT_TRUE(validateOptimizer(AdamW{.decayMatricesOnly = true, .noDecay = {"fc1.bias"}}).ok());
}

TEST(TrainingSpecTest, AnEmptyLossIsAnError) {
  Builder b;
  b.input("x", {4});
  auto module = b.build(TrainingSpec{});
  ASSERT_FALSE(module.ok());
  EXPECT_THAT(module.status().message(), HasSubstr("TrainingSpec.loss is an empty Tensor"));
}

TEST(TrainingSpecTest, HyperparametersOutOfRangeAreErrors) {
  EXPECT_THAT(validateOptimizer(Sgd{.learningRate = -1}).message(),
              HasSubstr("Sgd: learningRate must be a finite number >= 0, got -1"));
  EXPECT_THAT(validateOptimizer(Sgd{.nesterov = true}).message(),
              HasSubstr("nesterov needs momentum > 0"));
  EXPECT_THAT(validateOptimizer(Adam{.beta1 = 1.0}).message(),
              HasSubstr("Adam: beta1 must be in [0, 1), got 1"));
  EXPECT_THAT(validateOptimizer(AdamW{.epsilon = -1e-8}).message(), HasSubstr("AdamW: epsilon"));
  EXPECT_TRUE(validateOptimizer(Sgd{.momentum = 0.9, .nesterov = true}).ok());

  Builder b;
  auto module = b.build(TrainingSpec{.loss = classifierLoss(b), .optimizer = Adam{.beta2 = 2}});
  ASSERT_FALSE(module.ok());
  EXPECT_THAT(module.status().message(), HasSubstr("TrainingSpec.optimizer: Adam: beta2"));
}

TEST(TrainingSpecTest, TheMlpModuleVerifiesAndFollowsTheConventions) {
  Builder b("mlp", /*seed=*/3);
  Tensor loss = classifierLoss(b);
  auto module = b.build(TrainingSpec{.loss = loss, .optimizer = Adam{}});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_TRUE(mlir::succeeded(mlir::verify(**module)));
  std::string text = print(**module);
  EXPECT_THAT(text, HasSubstr("module @mlp attributes {graph.optimizer = {"));
  EXPECT_THAT(text, HasSubstr("graph.variable @fc1.weight trainable : tensor<128x784xf32> = "
                              "#graph.init<uniform("));
  EXPECT_THAT(text, HasSubstr("seed = 3, stream = 0>"));
  EXPECT_THAT(text, HasSubstr("graph.input \"images\" : tensor<32x784xf32>"));
  EXPECT_THAT(text, HasSubstr("graph.input \"labels\" : tensor<32xi32>"));
  EXPECT_THAT(text, HasSubstr("transpose_rhs : tensor<32x784xf32>, tensor<128x784xf32> -> "
                              "tensor<32x128xf32>"));
  EXPECT_THAT(text, HasSubstr("graph.softmax_cross_entropy"));
  EXPECT_THAT(text, HasSubstr("graph.minimize"));
  EXPECT_EQ(opsOf<graph::VariableOp>(**module).size(), 4u);
}

} // namespace
} // namespace kiln
