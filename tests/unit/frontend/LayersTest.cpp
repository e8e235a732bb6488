//===- LayersTest.cpp - Layers, naming and initializers -------------------===//
//
// Linear's parameters (names, [out, in] layout, PyTorch's init bounds), the
// ops it emits, Sequential and functional styles, automatic and user names,
// weight sharing, and the fan-based initializers.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "mlir/IR/Verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace kiln {
namespace {

using kiln::testing::opsOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// The variable named `name` in `module`.
graph::VariableOp variable(mlir::ModuleOp module, llvm::StringRef name) {
  for (graph::VariableOp op : opsOf<graph::VariableOp>(module))
    if (op.getSymName() == name)
      return op;
  return {};
}

TEST(LayersTest, LinearStoresItsWeightOutByInWithPyTorchsInit) {
  Builder b;
  Tensor x = b.input("x", {16, 784});
  Linear fc(784, 128);
  Tensor y = fc(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(fc.name(), "fc1");
  EXPECT_THAT(y.shape(), ElementsAre(16, 128));
  EXPECT_THAT(fc.weight().shape(), ElementsAre(128, 784));
  EXPECT_THAT(fc.bias().shape(), ElementsAre(128));

  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  double bound = 1.0 / std::sqrt(784.0);
  for (llvm::StringRef name : {"fc1.weight", "fc1.bias"}) {
    graph::VariableOp op = variable(**module, name);
    ASSERT_TRUE(op) << name.str();
    EXPECT_TRUE(op.getTrainable());
    EXPECT_EQ(op.getInit().getDistribution(), graph::Distribution::uniform);
    EXPECT_DOUBLE_EQ(op.getInit().getFirst(), -bound);
    EXPECT_DOUBLE_EQ(op.getInit().getSecond(), bound);
  }
  EXPECT_EQ(variable(**module, "fc1.weight").getInit().getStream(), 0u);
  EXPECT_EQ(variable(**module, "fc1.bias").getInit().getStream(), 1u);
}

TEST(LayersTest, LinearIsATransposedMatmulPlusABroadcastBias) {
  Builder b;
  Tensor x = b.input("x", {16, 8});
  Linear fc(8, 4);
  Tensor y = fc(x);
  ASSERT_TRUE(y.ok()) << b.status();
  auto add = y.value().getDefiningOp<graph::AddOp>();
  ASSERT_TRUE(add);
  auto product = add.getLhs().getDefiningOp<graph::MatmulOp>();
  ASSERT_TRUE(product);
  EXPECT_TRUE(product.getTransposeRhs());
  EXPECT_EQ(product.getLhs(), x.value());
  EXPECT_EQ(product.getRhs(), fc.weight().value());
  auto bias = add.getRhs().getDefiningOp<graph::BroadcastOp>();
  ASSERT_TRUE(bias);
  EXPECT_EQ(bias.getOperand(), fc.bias().value());
  EXPECT_THAT(bias.getDims(), ElementsAre(1));
}

TEST(LayersTest, LinearWithoutBiasHasOnlyAWeight) {
  Builder b;
  Linear fc(8, 4, /*bias=*/false);
  Tensor y = fc(b.input("x", {2, 8}));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_TRUE(y.value().getDefiningOp<graph::MatmulOp>());
  EXPECT_FALSE(fc.bias().ok());
  EXPECT_THAT(b.parameterNames(), ElementsAre("fc1.weight"));
}

TEST(LayersTest, LinearFlattensLeadingDimensions) {
  Builder b;
  Linear fc(8, 4);
  Tensor y = fc(b.input("x", {2, 3, 8}));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(2, 3, 4));
  EXPECT_TRUE(y.value().getDefiningOp<graph::ReshapeOp>());
}

TEST(LayersTest, LinearCustomInitializers) {
  Builder b;
  Linear fc(30, 20);
  fc.setWeightInit(Init::xavierUniform()).setBiasInit(Init::zeros());
  fc(b.input("x", {2, 30}));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto weight = variable(**module, "fc1.weight").getInit();
  EXPECT_DOUBLE_EQ(weight.getSecond(), std::sqrt(6.0 / 50.0));
  auto bias = variable(**module, "fc1.bias").getInit();
  EXPECT_EQ(bias.getDistribution(), graph::Distribution::constant);
  EXPECT_EQ(bias.getFirst(), 0.0);
}

TEST(LayersTest, SequentialNamesItsLayersByKind) {
  Builder b;
  Sequential mlp{Linear(784, 512), Relu(), Linear(512, 512), Tanh(), Linear(512, 10)};
  Tensor logits = mlp(b.input("x", {4, 784}));
  ASSERT_TRUE(logits.ok()) << b.status();
  EXPECT_THAT(logits.shape(), ElementsAre(4, 10));
  EXPECT_THAT(b.parameterNames(), ElementsAre("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                                              "fc3.weight", "fc3.bias"));
  EXPECT_EQ(mlp.size(), 5u);
  EXPECT_EQ(mlp[1].name(), "relu1");
  EXPECT_EQ(mlp[3].name(), "tanh1");
  EXPECT_EQ(mlp[4].name(), "fc3");
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto variables = opsOf<graph::VariableOp>(**module);
  for (auto [stream, op] : llvm::enumerate(variables))
    EXPECT_EQ(op.getInit().getStream(), stream);
}

TEST(LayersTest, UserNamesAndNamedSequentialsPrefixParameters) {
  Builder b;
  Sequential encoder;
  encoder.add("hidden", Linear(6, 5)).add(Sigmoid()).add(Linear(5, 2));
  encoder.setName("encoder");
  Tensor y = encoder(b.input("x", {3, 6}));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(b.parameterNames(), ElementsAre("encoder.hidden.weight", "encoder.hidden.bias",
                                              "encoder.fc1.weight", "encoder.fc1.bias"));
}

TEST(LayersTest, SequentialsNestAndTakeCopiesOfLayers) {
  Builder b;
  Linear hidden(6, 6);
  Sequential block{hidden, Relu()};
  block.setName("block");
  Sequential model;
  model.add(std::move(block)).add(Linear(6, 2));
  Tensor y = model(b.input("x", {3, 6}));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(3, 2));
  EXPECT_THAT(b.parameterNames(),
              ElementsAre("block.fc1.weight", "block.fc1.bias", "fc1.weight", "fc1.bias"));
  // The copy inside the Sequential was applied, not the original.
  EXPECT_FALSE(hidden.weight().ok());
}

TEST(LayersTest, AutomaticNamesSkipNamesAlreadyUsed) {
  Builder b;
  Tensor x = b.input("x", {2, 4});
  Linear named(4, 4);
  named.setName("fc1");
  Linear automatic(4, 4);
  Tensor y = automatic(named(x));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(automatic.name(), "fc2");
}

TEST(LayersTest, FunctionalStyleBuildsAResidualBlock) {
  Builder b("residual");
  Tensor x = b.input("x", {8, 16});
  Linear expand(16, 32), project(32, 16);
  Tensor h = relu(expand(x));
  Tensor y = x + project(h);
  Tensor loss = mse(y, b.input("target", {8, 16}));
  auto module = b.build(TrainingSpec{.loss = loss});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_TRUE(mlir::succeeded(mlir::verify(**module)));

  // The skip connection: x feeds both the first matmul and the final add.
  auto add = y.value().getDefiningOp<graph::AddOp>();
  EXPECT_EQ(add.getLhs(), x.value());
  int matmulsOfX = 0;
  for (mlir::Operation *user : x.value().getUsers())
    matmulsOfX += llvm::isa<graph::MatmulOp>(user);
  EXPECT_EQ(matmulsOfX, 1);
  EXPECT_THAT(b.parameterNames(), ElementsAre("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"));
}

TEST(LayersTest, ApplyingALayerTwiceSharesItsParameters) {
  Builder b;
  Linear shared(4, 4);
  Tensor y = shared(shared(b.input("x", {2, 4})));
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(b.parameterNames(), ElementsAre("fc1.weight", "fc1.bias"));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_EQ(opsOf<graph::MatmulOp>(**module).size(), 2u);
  EXPECT_EQ(opsOf<graph::VariableOp>(**module).size(), 2u);
}

TEST(LayersTest, ALayerBelongsToOneBuilder) {
  Builder first, second;
  Linear fc(2, 2);
  EXPECT_TRUE(fc(first.input("x", {1, 2})).ok());
  EXPECT_FALSE(fc(second.input("x", {1, 2})).ok());
  EXPECT_THAT(second.status().message(), HasSubstr("first applied with another Builder"));
}

TEST(InitTest, FansFollowPyTorch) {
  EXPECT_FALSE(computeFans({10}).has_value());
  Fans linear = *computeFans({20, 30});
  EXPECT_EQ(linear.in, 30);
  EXPECT_EQ(linear.out, 20);
  Fans conv = *computeFans({8, 3, 5, 5});
  EXPECT_EQ(conv.in, 75);
  EXPECT_EQ(conv.out, 200);
}

TEST(InitTest, FanBasedInitializersResolveWithPyTorchsFormulas) {
  llvm::SmallVector<int64_t> shape = {20, 30};
  auto xavierUniform = *Init::xavierUniform(2.0).resolve(shape);
  EXPECT_EQ(xavierUniform.distribution, graph::Distribution::uniform);
  EXPECT_DOUBLE_EQ(xavierUniform.second, 2.0 * std::sqrt(6.0 / 50.0));
  EXPECT_DOUBLE_EQ(xavierUniform.first, -xavierUniform.second);

  auto xavierNormal = *Init::xavierNormal().resolve(shape);
  EXPECT_EQ(xavierNormal.distribution, graph::Distribution::normal);
  EXPECT_DOUBLE_EQ(xavierNormal.first, 0.0);
  EXPECT_DOUBLE_EQ(xavierNormal.second, std::sqrt(2.0 / 50.0));

  auto heUniform = *Init::heUniform().resolve(shape);
  EXPECT_DOUBLE_EQ(heUniform.second, std::sqrt(6.0 / 30.0));

  auto heNormal = *Init::heNormal().resolve(shape);
  EXPECT_DOUBLE_EQ(heNormal.second, std::sqrt(2.0) / std::sqrt(30.0));

  // PyTorch's nn.Linear default, kaiming_uniform_(a = sqrt(5)), is U(+-1/sqrt(in)).
  auto linearDefault = *Init::heUniform(std::sqrt(1.0 / 3.0)).resolve(shape);
  EXPECT_NEAR(linearDefault.second, 1.0 / std::sqrt(30.0), 1e-15);
}

TEST(InitTest, FanBasedInitializersNeedRankTwo) {
  absl::StatusOr<ResolvedInit> resolved = Init::heNormal().resolve({10});
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(resolved.status().message(), HasSubstr("needs a parameter of rank 2 or more"));

  Builder b;
  EXPECT_FALSE(b.parameter("bias", {10}, Init::xavierUniform()).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("parameter 'bias': xavierUniform(gain = 1)"));
}

TEST(InitTest, EmptyDistributionsAreRejected) {
  EXPECT_FALSE(Init::uniform(0.5, 0.5).resolve({2}).ok());
  EXPECT_FALSE(Init::normal(0.0, -1.0).resolve({2}).ok());
  EXPECT_FALSE(Init::heUniform(-1.0).resolve({2, 2}).ok());
  EXPECT_FALSE(Init::constant(std::nan("")).resolve({2}).ok());
  EXPECT_TRUE(Init::normal(0.0, 0.0).resolve({2}).ok());
}

} // namespace
} // namespace kiln
