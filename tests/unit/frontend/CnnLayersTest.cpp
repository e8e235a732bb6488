//===- CnnLayersTest.cpp - Convolutional layers of the builder ------------===//
//
// Conv2d, BatchNorm2d, MaxPool2d, AvgPool2d, GlobalAvgPool, Dropout and
// Flatten: their parameters' names, shapes and PyTorch initializers, the ops
// they emit and their output shapes, and the shape errors a model author can
// make, each reported at the author's line with the layer's name.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "absl/strings/str_cat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <source_location>
#include <string>

namespace kiln {
namespace {

using kiln::testing::opsOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char *const kThisFile = std::source_location::current().file_name();

/// The variable named `name` in `module`.
graph::VariableOp variable(mlir::ModuleOp module, llvm::StringRef name) {
  for (graph::VariableOp op : opsOf<graph::VariableOp>(module))
    if (op.getSymName() == name)
      return op;
  return {};
}

/// The shape of `op`'s variable.
llvm::SmallVector<int64_t> shapeOf(graph::VariableOp op) {
  auto type = llvm::cast<mlir::RankedTensorType>(op.getType());
  return llvm::SmallVector<int64_t>(type.getShape());
}

/// "file:line: in <scope>: " of an error reported at `line` of this file.
std::string at(int line, const char *scope) {
  return absl::StrCat(kThisFile, ":", line, ": in ", scope, ": ");
}

TEST(CnnLayersTest, Conv2dStoresItsWeightOIHWWithPyTorchsInit) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 8, 8});
  Conv2d conv(3, 8, 3, {.padding = {1, 1}});
  Tensor y = conv(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(conv.name(), "conv1");
  EXPECT_THAT(y.shape(), ElementsAre(2, 8, 8, 8));
  EXPECT_THAT(conv.weight().shape(), ElementsAre(8, 3, 3, 3));
  EXPECT_THAT(conv.bias().shape(), ElementsAre(8));

  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  // fan_in = C * KH * KW = 27, as torch.nn.Conv2d's reset_parameters.
  double bound = 1.0 / std::sqrt(27.0);
  for (llvm::StringRef name : {"conv1.weight", "conv1.bias"}) {
    graph::VariableOp op = variable(**module, name);
    ASSERT_TRUE(op) << name.str();
    EXPECT_TRUE(op.getTrainable());
    EXPECT_EQ(op.getInit().getDistribution(), graph::Distribution::uniform);
    EXPECT_DOUBLE_EQ(op.getInit().getFirst(), -bound);
    EXPECT_DOUBLE_EQ(op.getInit().getSecond(), bound);
  }
  EXPECT_THAT(shapeOf(variable(**module, "conv1.weight")), ElementsAre(8, 3, 3, 3));
}

TEST(CnnLayersTest, GroupedConv2dCountsTheChannelsOfOneGroupInItsFanIn) {
  Builder b;
  Tensor x = b.input("x", {1, 4, 9, 9});
  Conv2d conv(4, 6, {3, 1}, {.stride = {2, 1}, .groups = 2});
  Tensor y = conv(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(1, 6, 4, 9));
  EXPECT_THAT(conv.weight().shape(), ElementsAre(6, 2, 3, 1));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  // fan_in = C / groups * KH * KW = 2 * 3 * 1.
  EXPECT_DOUBLE_EQ(variable(**module, "conv1.weight").getInit().getSecond(), 1.0 / std::sqrt(6.0));
}

TEST(CnnLayersTest, Conv2dAddsItsBiasAlongTheChannelAxis) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 5, 5});
  Conv2d conv(3, 4, 3);
  Tensor y = conv(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(2, 4, 3, 3));
  auto add = y.value().getDefiningOp<graph::AddOp>();
  ASSERT_TRUE(add);
  auto conv2d = add.getLhs().getDefiningOp<graph::Conv2dOp>();
  ASSERT_TRUE(conv2d);
  EXPECT_EQ(conv2d->getOperand(0), x.value());
  EXPECT_EQ(conv2d->getOperand(1), conv.weight().value());
  auto bias = add.getRhs().getDefiningOp<graph::BroadcastOp>();
  ASSERT_TRUE(bias);
  EXPECT_EQ(bias.getOperand(), conv.bias().value());
  EXPECT_THAT(bias.getDims(), ElementsAre(1));
}

TEST(CnnLayersTest, Conv2dWithoutBiasIsOneConvolution) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 5, 5});
  Conv2d conv(3, 4, 3, {}, /*bias=*/false);
  Tensor y = conv(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_TRUE(y.value().getDefiningOp<graph::Conv2dOp>());
  EXPECT_FALSE(conv.bias().ok());
  EXPECT_THAT(b.parameterNames(), ElementsAre("conv1.weight"));
}

TEST(CnnLayersTest, Conv2dAppliedTwiceSharesItsWeights) {
  Builder b;
  Tensor x = b.input("x", {2, 4, 6, 6});
  Conv2d conv(4, 4, 3, {.padding = {1, 1}});
  Tensor y = conv(conv(x));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(b.parameterNames(), ElementsAre("conv1.weight", "conv1.bias"));
}

TEST(CnnLayersTest, Conv2dNamesTheChannelsItExpectsAtTheCallersLine) {
  Builder b;
  Tensor x = b.input("x", {8, 1, 28, 28});
  Conv2d conv(3, 16, 3);
  const int line = __LINE__ + 1;
  Tensor y = conv(x);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "conv1") + "Conv2d expects 3 input channels but the input has 1"));
}

TEST(CnnLayersTest, Conv2dRejectsAnInputThatIsNotNCHW) {
  Builder b;
  Tensor x = b.input("x", {8, 784});
  Conv2d conv(1, 16, 3);
  const int line = __LINE__ + 1;
  Tensor y = conv(x);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "conv1") +
                        "Conv2d expects inputs [N, C, H, W] but got tensor<8x784xf32>"));
}

TEST(CnnLayersTest, Conv2dRejectsAKernelLargerThanThePaddedInput) {
  Builder b;
  Tensor x = b.input("x", {1, 2, 4, 4});
  Conv2d conv(2, 2, 3, {.padding = {0, 0}, .dilation = {2, 2}});
  const int line = __LINE__ + 1;
  Tensor y = conv(x);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "conv1") + "Conv2d's 3x3 kernel (dilation 2x2) does not fit "
                                            "the input's 4x4 plane padded by 0x0"));
}

TEST(CnnLayersTest, Conv2dRejectsGroupsThatDoNotDivideTheChannels) {
  Builder b;
  Tensor x = b.input("x", {1, 4, 4, 4});
  Conv2d conv(4, 6, 3, {.groups = 4});
  const int line = __LINE__ + 1;
  Tensor y = conv(x);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "conv1") +
                        "Conv2d(4, 6, 3x3, groups 4): groups must divide both channel counts"));
}

TEST(CnnLayersTest, Conv2dRejectsAZeroStride) {
  Builder b;
  Tensor x = b.input("x", {1, 1, 4, 4});
  Conv2d conv(1, 1, 3, {.stride = {0, 1}});
  EXPECT_FALSE(conv(x).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("needs a positive stride and dilation"));
}

TEST(CnnLayersTest, BatchNorm2dHasPyTorchsParametersAndRunningStatistics) {
  Builder b;
  Tensor x = b.input("x", {4, 6, 5, 5});
  BatchNorm2d bn(6, {.momentum = 0.2, .eps = 1e-3});
  Tensor y = bn(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(bn.name(), "bn1");
  EXPECT_THAT(y.shape(), ElementsAre(4, 6, 5, 5));
  EXPECT_THAT(b.parameterNames(), ElementsAre("bn1.weight", "bn1.bias"));

  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  struct Expected {
    const char *name;
    bool trainable;
    double value;
  };
  for (const Expected &expected :
       {Expected{"bn1.weight", true, 1.0}, Expected{"bn1.bias", true, 0.0},
        Expected{"bn1.running_mean", false, 0.0}, Expected{"bn1.running_var", false, 1.0}}) {
    graph::VariableOp op = variable(**module, expected.name);
    ASSERT_TRUE(op) << expected.name;
    EXPECT_EQ(op.getTrainable(), expected.trainable) << expected.name;
    EXPECT_THAT(shapeOf(op), ElementsAre(6)) << expected.name;
    EXPECT_EQ(op.getInit().getDistribution(), graph::Distribution::constant) << expected.name;
    EXPECT_DOUBLE_EQ(op.getInit().getFirst(), expected.value) << expected.name;
  }
}

TEST(CnnLayersTest, BatchNorm2dNamesTheChannelsItExpects) {
  Builder b;
  Tensor x = b.input("x", {4, 32, 5, 5});
  BatchNorm2d bn(64);
  const int line = __LINE__ + 1;
  Tensor y = bn(x);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "bn1") + "BatchNorm2d expects 64 channels but the input has 32"));
}

TEST(CnnLayersTest, BatchNorm2dRejectsAnInputThatIsNotNCHW) {
  Builder b;
  Tensor x = b.input("x", {4, 32});
  BatchNorm2d bn(32);
  const int line = __LINE__ + 1;
  EXPECT_FALSE(bn(x).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "bn1") +
                        "BatchNorm2d expects inputs [N, C, H, W] but got tensor<4x32xf32>"));
}

TEST(CnnLayersTest, PoolingLayersGiveTorchsShapes) {
  Builder b;
  Tensor x = b.input("x", {2, 4, 7, 8});
  MaxPool2d pool(2);
  AvgPool2d same({.kernel = {3, 3}, .stride = std::array<int64_t, 2>{1, 1}, .padding = {1, 1}});
  GlobalAvgPool global;
  Tensor halved = pool(x);
  Tensor kept = same(x);
  Tensor pooled = global(x);
  ASSERT_TRUE(b.ok()) << b.status();
  // floor((7 - 2) / 2) + 1 = 3, floor((8 - 2) / 2) + 1 = 4.
  EXPECT_THAT(halved.shape(), ElementsAre(2, 4, 3, 4));
  EXPECT_THAT(kept.shape(), ElementsAre(2, 4, 7, 8));
  EXPECT_THAT(pooled.shape(), ElementsAre(2, 4));
  EXPECT_EQ(pool.name(), "maxpool1");
  EXPECT_EQ(same.name(), "avgpool1");
  EXPECT_EQ(global.name(), "globalavgpool1");
  EXPECT_TRUE(b.parameterNames().empty());
}

TEST(CnnLayersTest, MaxPool2dRejectsAnInputThatIsNotNCHW) {
  Builder b;
  Tensor x = b.input("x", {2, 16, 16});
  MaxPool2d pool(2);
  const int line = __LINE__ + 1;
  EXPECT_FALSE(pool(x).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "maxpool1") +
                        "MaxPool2d expects inputs [N, C, H, W] but got tensor<2x16x16xf32>"));
}

TEST(CnnLayersTest, AvgPool2dRejectsAWindowLargerThanThePaddedInput) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 2, 2});
  AvgPool2d pool(3);
  const int line = __LINE__ + 1;
  EXPECT_FALSE(pool(x).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "avgpool1") +
                        "AvgPool2d's 3x3 window does not fit the input's 2x2 plane padded by 0x0"));
}

TEST(CnnLayersTest, GlobalAvgPoolRejectsAnInputThatIsNotNCHW) {
  Builder b;
  Tensor x = b.input("x", {2, 3});
  GlobalAvgPool pool;
  const int line = __LINE__ + 1;
  EXPECT_FALSE(pool(x).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "globalavgpool1") + "GlobalAvgPool expects inputs [N, C, H, W]"));
}

TEST(CnnLayersTest, DropoutKeepsTheShapeAndChecksItsRate) {
  Builder b;
  Tensor x = b.input("x", {4, 10});
  Dropout dropout(0.25);
  Tensor y = dropout(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(dropout.name(), "dropout1");
  EXPECT_THAT(y.shape(), ElementsAre(4, 10));

  Builder bad;
  Tensor z = bad.input("x", {4, 10});
  Dropout certain(1.0);
  const int line = __LINE__ + 1;
  EXPECT_FALSE(certain(z).ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr(at(line, "dropout1") + "Dropout's rate must lie in [0, 1), got 1"));
}

TEST(CnnLayersTest, FlattenKeepsTheBatchAxis) {
  Builder b;
  Tensor x = b.input("x", {2, 4, 3, 3});
  Flatten flatten;
  Tensor y = flatten(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(2, 36));
  Tensor rows = b.input("rows", {2, 5});
  EXPECT_EQ(Flatten()(rows).value(), rows.value());

  Tensor vector = b.input("v", {5});
  const int line = __LINE__ + 1;
  EXPECT_FALSE(flatten(vector).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line, "flatten1") +
                        "Flatten expects inputs [N, ...] of rank 2 or more but got tensor<5xf32>"));
}

// The Fashion-MNIST network of samples/cnn as a Sequential: PyTorch's state_dict names, and a
// module that trains (the step verifies with its optimizer).
TEST(CnnLayersTest, ASequentialCnnHasPyTorchsStateDictNames) {
  Builder b;
  Tensor images = b.input("images", {8, 1, 28, 28});
  Tensor labels = b.input("labels", {8}, DType::kI32);
  Sequential cnn{Conv2d(1, 8, 3, {.padding = {1, 1}}),
                 BatchNorm2d(8),
                 Relu(),
                 MaxPool2d(2),
                 Conv2d(8, 16, 3, {.padding = {1, 1}}),
                 BatchNorm2d(16),
                 Relu(),
                 MaxPool2d(2),
                 Dropout(0.25),
                 Flatten(),
                 Linear(16 * 7 * 7, 10)};
  Tensor logits = cnn(images);
  ASSERT_TRUE(logits.ok()) << b.status();
  EXPECT_THAT(logits.shape(), ElementsAre(8, 10));
  EXPECT_THAT(b.parameterNames(),
              ElementsAre("conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight",
                          "conv2.bias", "bn2.weight", "bn2.bias", "fc1.weight", "fc1.bias"));
  auto module = b.build(TrainingSpec{.loss = softmaxCrossEntropy(logits, labels),
                                     .optimizer = Sgd{.learningRate = 0.1, .momentum = 0.9}});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_TRUE(variable(**module, "bn2.running_var"));
}

} // namespace
} // namespace kiln
