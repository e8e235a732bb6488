//===- BuilderTest.cpp - Inputs, parameters, outputs and errors -----------===//
//
// What the Builder itself writes: inputs of each dtype, trainable variables
// with resolved initializers and per-variable streams, constants, outputs,
// the step function, and sticky errors.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using kiln::testing::opsOf;
using kiln::testing::print;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BuilderTest, InputsHaveTheirNamesShapesAndTypes) {
  Builder b("model");
  Tensor images = b.input("images", {8, 784});
  Tensor labels = b.input("labels", {8}, DType::kI32);
  Tensor mask = b.input("mask", {8, 3}, DType::kI1);
  EXPECT_THAT(images.shape(), ElementsAre(8, 784));
  EXPECT_EQ(images.dtype(), DType::kF32);
  EXPECT_EQ(labels.dtype(), DType::kI32);
  EXPECT_EQ(mask.dtype(), DType::kI1);
  EXPECT_EQ(labels.rank(), 1);
  EXPECT_EQ(images.dim(-1), 784);

  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto inputs = opsOf<graph::InputOp>(**module);
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].getName(), "images");
  EXPECT_EQ(inputs[1].getName(), "labels");
  EXPECT_TRUE(inputs[1].getType().getElementType().isInteger(32));
  EXPECT_TRUE(inputs[2].getType().getElementType().isInteger(1));
  EXPECT_FALSE(inputs[0].getDefaultValue().has_value());
}

TEST(BuilderTest, TheModuleHasOneStepFunctionWithoutArguments) {
  Builder b("tiny");
  b.output("x", b.input("x", {2}));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_EQ((*module)->getSymName(), "tiny");
  auto functions = opsOf<mlir::func::FuncOp>(**module);
  ASSERT_EQ(functions.size(), 1u);
  EXPECT_EQ(functions[0].getSymName(), "step");
  EXPECT_EQ(functions[0].getNumArguments(), 0u);
  EXPECT_EQ(functions[0].getNumResults(), 0u);
  EXPECT_TRUE(llvm::isa<mlir::func::ReturnOp>(functions[0].getBody().front().back()));
}

TEST(BuilderTest, ParametersAreTrainableVariablesWithResolvedInitializers) {
  Builder b("model", /*seed=*/42);
  Tensor w = b.parameter("w", {3, 4}, Init::uniform(-0.5, 0.25));
  b.parameter("s", {4}, Init::constant(2.5));
  b.parameter("n", {2, 2}, Init::normal(1.0, 0.1));
  EXPECT_THAT(w.shape(), ElementsAre(3, 4));
  EXPECT_THAT(b.parameterNames(), ElementsAre("w", "s", "n"));

  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto variables = opsOf<graph::VariableOp>(**module);
  ASSERT_EQ(variables.size(), 3u);
  for (auto [stream, variable] : llvm::enumerate(variables)) {
    EXPECT_TRUE(variable.getTrainable());
    EXPECT_EQ(variable.getInit().getSeed(), 42u);
    EXPECT_EQ(variable.getInit().getStream(), stream);
  }
  EXPECT_EQ(variables[0].getSymName(), "w");
  EXPECT_EQ(variables[0].getInit().getDistribution(), graph::Distribution::uniform);
  EXPECT_DOUBLE_EQ(variables[0].getInit().getFirst(), -0.5);
  EXPECT_DOUBLE_EQ(variables[0].getInit().getSecond(), 0.25);
  EXPECT_EQ(variables[1].getInit().getDistribution(), graph::Distribution::constant);
  EXPECT_DOUBLE_EQ(variables[1].getInit().getFirst(), 2.5);
  EXPECT_EQ(variables[2].getInit().getDistribution(), graph::Distribution::normal);
  EXPECT_DOUBLE_EQ(variables[2].getInit().getSecond(), 0.1);

  auto reads = opsOf<graph::ReadOp>(**module);
  ASSERT_EQ(reads.size(), 3u);
  EXPECT_EQ(reads[0].getVariable(), "w");
  EXPECT_EQ(reads[0].getType(), variables[0].getType());
}

TEST(BuilderTest, VariablesComeBeforeTheStepFunction) {
  Builder b;
  Tensor x = b.input("x", {2, 3});
  b.output("y", matmul(x, b.parameter("w", {3, 3}, Init::zeros())));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  mlir::Block &body = (*module)->getBodyRegion().front();
  EXPECT_TRUE(llvm::isa<graph::VariableOp>(body.front()));
  EXPECT_TRUE(llvm::isa<mlir::func::FuncOp>(body.back()));
}

TEST(BuilderTest, ConstantsAreSplatsOrExplicitValues) {
  Builder b;
  Tensor splat = b.constant({2, 2}, 0.5f);
  Tensor values = b.constant({3}, {1.0f, 2.0f, 3.0f});
  b.output("sum", add(splat, splat));
  b.output("values", values);
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto constants = opsOf<graph::ConstantOp>(**module);
  ASSERT_EQ(constants.size(), 2u);
  auto splatValue = llvm::cast<mlir::DenseElementsAttr>(constants[0].getValue());
  EXPECT_TRUE(splatValue.isSplat());
  EXPECT_EQ(splatValue.getSplatValue<float>(), 0.5f);
  auto explicitValues = llvm::cast<mlir::DenseElementsAttr>(constants[1].getValue());
  EXPECT_THAT(llvm::to_vector(explicitValues.getValues<float>()), ElementsAre(1.0f, 2.0f, 3.0f));
}

TEST(BuilderTest, ConstantWithTheWrongNumberOfValuesIsAnError) {
  Builder b;
  Tensor c = b.constant({2, 2}, {1.0f, 2.0f, 3.0f});
  EXPECT_FALSE(c.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("has 4 elements but 3 values were given"));
}

TEST(BuilderTest, DuplicateNamesAreErrors) {
  {
    Builder b;
    b.parameter("w", {2}, Init::zeros());
    EXPECT_FALSE(b.parameter("w", {3}, Init::zeros()).ok());
    EXPECT_THAT(b.status().message(),
                HasSubstr("parameter 'w' already exists; parameter names must be unique"));
  }
  {
    Builder b;
    b.input("x", {2});
    EXPECT_FALSE(b.input("x", {2}).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("input 'x' already exists"));
  }
  {
    Builder b;
    Tensor x = b.input("x", {2});
    b.output("y", x);
    b.output("y", x);
    EXPECT_THAT(b.status().message(), HasSubstr("output 'y' already exists"));
  }
}

TEST(BuilderTest, BadInputsAreErrors) {
  {
    Builder b;
    EXPECT_FALSE(b.input("learning_rate", {}).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("reserved for the optimizer"));
  }
  {
    Builder b;
    EXPECT_FALSE(b.input("x", {2}, DType::kF64).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("f64 inputs are not supported"));
  }
  {
    Builder b;
    EXPECT_FALSE(b.input("x", {2, -3}).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("dimension 1 is -3; sizes must be >= 0"));
  }
  {
    Builder b;
    EXPECT_FALSE(b.parameter("w", {4}, Init::uniform(1.0, -1.0)).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("needs low < high"));
  }
}

TEST(BuilderTest, ErrorsAreStickyAndKeepTheFirstMessage) {
  Builder b;
  Tensor x = b.input("x", {4, 3});
  Tensor bad = matmul(x, x);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.builder(), &b);
  absl::Status first = b.status();
  EXPECT_EQ(first.code(), absl::StatusCode::kInvalidArgument);

  // Later calls, valid or not, emit nothing and keep the first error.
  Tensor later = relu(x);
  Tensor fromPoison = add(bad, bad);
  Tensor input = b.input("y", {2});
  b.output("z", x);
  EXPECT_FALSE(later.ok());
  EXPECT_FALSE(fromPoison.ok());
  EXPECT_FALSE(input.ok());
  EXPECT_EQ(b.status(), first);

  auto module = b.build();
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status(), first);
}

TEST(BuilderTest, EmptyTensorsAreReportedNotDereferenced) {
  Builder b;
  Tensor x = b.input("x", {2});
  EXPECT_FALSE(add(Tensor(), Tensor()).ok());
  EXPECT_TRUE(b.ok());
  EXPECT_FALSE(add(x, Tensor()).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("graph.add: operand 1 is an empty Tensor"));
}

TEST(BuilderTest, TensorsOfAnotherBuilderAreRejected) {
  Builder first, second;
  Tensor x = first.input("x", {2});
  Tensor y = second.input("y", {2});
  EXPECT_FALSE(add(x, y).ok());
  EXPECT_THAT(first.status().message(), HasSubstr("operand 1 comes from another Builder"));
  EXPECT_TRUE(second.ok());
}

TEST(BuilderTest, BuildingTwiceIsAnError) {
  Builder b;
  b.output("x", b.input("x", {2}));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto again = b.build();
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("already built its module"));
  EXPECT_FALSE(relu(b.constant({2}, 1.0f)).ok());
}

TEST(BuilderTest, ABorrowedContextHoldsTheModuleAfterTheBuilderIsGone) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  {
    Builder b(context, "borrowed");
    b.output("y", relu(b.input("x", {2, 2})));
    auto built = b.build();
    ASSERT_TRUE(built.ok()) << built.status();
    module = std::move(*built);
  }
  EXPECT_TRUE(mlir::succeeded(mlir::verify(*module)));
  EXPECT_EQ(opsOf<graph::ReluOp>(*module).size(), 1u);
}

TEST(BuilderTest, PrintedModulesParseBackIdentically) {
  mlir::MLIRContext context;
  Builder b(context, "roundtrip", /*seed=*/7);
  Tensor x = b.input("x", {4, 3});
  Tensor w = b.parameter("w", {5, 3}, Init::xavierUniform());
  b.output("y", matmul(x, w, {.transposeRhs = true}));
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  std::string text = print(**module);
  mlir::OwningOpRef<mlir::ModuleOp> parsed =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(print(*parsed), text);
}

} // namespace
} // namespace kiln
