//===- ProgramTest.cpp - Extra forward-only programs, built to run --------===//
//
// Builder::beginProgram / endProgram: a batch-1 program that reads the step's
// variables compiles (kiln-extract-eval or kiln-resolve-train-or-eval, the
// training-step pipeline, code generation) into a plan program that runs on
// the reference device and gives the step's forward values; and the builder's
// errors for what a program may not do.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"
#include "kiln/Frontend.h"
#include "kiln/runtime/reference/Device.h"
#include "kiln/runtime/session/Session.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int64_t kBatch = 4;

/// The step trains Linear(3, 5) - relu - Linear(5, 2) on x [4, 3] (output "y" [4, 2]);
/// program "predict" applies fresh layers, built in the same order (so with the same names),
/// to x [1, 3], with a dropout between them that the program, being forward-only, drops.
absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> buildModel(Builder &b) {
  Tensor x = b.input("x", {kBatch, 3});
  Sequential net{Linear(3, 5), Relu(), Linear(5, 2)};
  Tensor y = net(x);
  b.output("y", y);
  Tensor loss = reduceMean(square(y));

  b.beginProgram("predict");
  Tensor one = b.input("x", {1, 3});
  Sequential same{Linear(3, 5), Relu(), Dropout(0.5), Linear(5, 2)};
  b.output("y", same(one));
  b.endProgram();
  TrainingSpec spec;
  spec.loss = loss;
  spec.optimizer = Sgd{.learningRate = 0.1};
  return b.build(spec);
}

/// Runs the front half of kiln compile (with or without the eval program) and code generation.
absl::StatusOr<plan::Plan> compile(mlir::ModuleOp module, bool eval) {
  mlir::PassManager passes(module.getContext());
  if (eval)
    passes.addPass(createExtractEval());
  else
    passes.addPass(createResolveTrainOrEval());
  addTrainingStepPipeline(passes);
  if (mlir::failed(passes.run(module)))
    return absl::InternalError("the training-step pipeline failed");
  int left = 0;
  module.walk([&](graph::TrainOrEvalOp) { ++left; });
  if (left != 0)
    return absl::InternalError("graph.train_or_eval is left in the module");
  codegen::CodegenOptions options;
  options.targets = {plan::TARGET_VULKAN};
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(module, options);
  if (mlir::failed(plan))
    return absl::InternalError("code generation failed");
  return *plan;
}

HostTensor rowsOf(int64_t rows) {
  std::vector<float> values;
  for (int64_t i = 0; i < rows * 3; ++i)
    values.push_back(0.37f * static_cast<float>(i % 7) - 0.9f + 0.05f * static_cast<float>(i));
  return HostTensor::f32({rows, 3}, values);
}

TEST(Program, ABatchOneProgramReadsTheStepsVariables) {
  Builder b("program_test", /*seed=*/5);
  auto module = buildModel(b);
  ASSERT_TRUE(module.ok()) << module.status();
  auto predict = (*module)->lookupSymbol<mlir::func::FuncOp>("predict");
  ASSERT_TRUE(predict);
  int variables = 0;
  for (auto variable : (*module)->getOps<graph::VariableOp>()) {
    (void)variable;
    ++variables;
  }
  EXPECT_EQ(variables, 5) << "4 parameters, read by both functions, and the program's "
                             "dropout step counter";
  EXPECT_EQ(b.parameterNames(),
            (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  std::vector<std::string> inputs, reads;
  predict.walk([&](graph::InputOp op) { inputs.push_back(op.getName().str()); });
  predict.walk([&](graph::ReadOp op) { reads.push_back(op.getVariable().str()); });
  EXPECT_EQ(inputs, (std::vector<std::string>{"predict.x"}));
  EXPECT_THAT(reads, ::testing::IsSupersetOf({"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
}

class ProgramRuns : public ::testing::TestWithParam<bool> {};

TEST_P(ProgramRuns, OnTheReferenceDeviceWithTheStepsForwardValues) {
  Builder b("program_test", /*seed=*/5);
  auto module = buildModel(b);
  ASSERT_TRUE(module.ok()) << module.status();
  auto plan = compile(**module, /*eval=*/GetParam());
  ASSERT_TRUE(plan.ok()) << plan.status();
  bool found = false;
  for (const plan::Step &program : plan->programs())
    found |= program.name() == "predict";
  ASSERT_TRUE(found);
  auto session = reference::createSession(*plan);
  ASSERT_TRUE(session.ok()) << session.status();

  HostTensor x = rowsOf(kBatch);
  // The program first, with the initial parameters the step's forward pass also uses.
  std::vector<std::vector<float>> predicted;
  for (int64_t row = 0; row < kBatch; ++row) {
    HostTensor one = HostTensor::f32({1, 3}, x.f32().subspan(row * 3, 3));
    auto outputs = (*session)->run("predict", {{"predict.x", one}});
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    const HostTensor &y = outputs->at("y");
    ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 2}));
    predicted.emplace_back(y.f32().begin(), y.f32().end());
  }
  ASSERT_TRUE((*session)->step({{"x", x}}).ok());
  auto y = (*session)->output("y");
  ASSERT_TRUE(y.ok()) << y.status();
  for (int64_t row = 0; row < kBatch; ++row)
    for (int64_t j = 0; j < 2; ++j)
      EXPECT_NEAR(predicted[row][j], y->f32()[row * 2 + j], 1e-6)
          << "row " << row << ", output " << j;
  // After the step the program sees the trained parameters: its values change.
  HostTensor first = HostTensor::f32({1, 3}, x.f32().subspan(0, 3));
  auto after = (*session)->run("predict", {{"predict.x", first}});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->at("y").f32()[0], predicted[0][0]);
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutEval, ProgramRuns, ::testing::Bool());

/// The builder's error after `build`, which builds some of a model.
std::string errorOf(const std::function<void(Builder &)> &build) {
  Builder b("errors");
  build(b);
  Tensor x = b.input("loss_input", {2});
  TrainingSpec spec;
  spec.loss = reduceMean(square(x));
  auto module = b.build(spec);
  return module.ok() ? "" : std::string(module.status().message());
}

TEST(Program, WhatAProgramMayNotDoIsAClearError) {
  EXPECT_THAT(errorOf([](Builder &b) {
                b.state("seen", {}, Init::zeros());
                b.beginProgram("generate");
                Tensor again = b.state("seen", {}, Init::zeros());
                b.assign(again, add(again, 1.0f));
              }),
              AllOf(HasSubstr("ProgramTest.cpp"), HasSubstr("program @generate is forward-only"),
                    HasSubstr("cannot assign state")));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.beginProgram("a");
                b.beginProgram("b");
              }),
              HasSubstr("program @a is still open; call endProgram() first"));
  EXPECT_THAT(errorOf([](Builder &b) { b.beginProgram("eval"); }), HasSubstr("'eval' is reserved"));
  EXPECT_THAT(errorOf([](Builder &b) { b.beginProgram("two words"); }),
              HasSubstr("a program name is an identifier"));
  EXPECT_THAT(errorOf([](Builder &b) { b.endProgram(); }),
              HasSubstr("endProgram() without beginProgram()"));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.beginProgram("p");
                b.endProgram();
              }),
              HasSubstr("program @p has no output"));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.beginProgram("p");
                b.output("z", b.input("z", {1}));
                b.endProgram();
                b.beginProgram("p");
              }),
              HasSubstr("program @p already exists"));
  EXPECT_THAT(errorOf([](Builder &b) { b.beginProgram("p"); }),
              HasSubstr("program @p is still open; call endProgram() before build()"));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.parameter("w", {3, 2}, Init::zeros());
                b.beginProgram("p");
                b.output("w", b.parameter("w", {2, 3}, Init::zeros()));
                b.endProgram();
              }),
              AllOf(HasSubstr("parameter 'w' is declared as tensor<3x2xf32> elsewhere"),
                    HasSubstr("not with shape [2, 3]")));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.state("s", {2}, Init::zeros());
                b.beginProgram("p");
                b.output("s", b.parameter("s", {2}, Init::zeros()));
                b.endProgram();
              }),
              HasSubstr("'s' is declared as a state variable elsewhere; read it with state()"));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.beginProgram("p");
                b.parameter("w", {2}, Init::zeros());
                b.output("w", b.parameter("w", {2}, Init::zeros()));
                b.endProgram();
              }),
              HasSubstr("parameter 'w' already exists in this program"));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.beginProgram("p");
                b.input("t", {1});
                b.output("t", b.input("t", {1}));
                b.endProgram();
              }),
              HasSubstr("input 't' already exists in program @p"));
  // A value of the step used in a program, and one of a program used in the step.
  EXPECT_THAT(errorOf([](Builder &b) {
                Tensor w = b.parameter("w", {2}, Init::zeros());
                b.beginProgram("p");
                b.output("twice", mul(w, 2.0f));
                b.endProgram();
              }),
              AllOf(HasSubstr("ProgramTest.cpp"),
                    HasSubstr("graph.mul in @p uses a Tensor made in @step"),
                    HasSubstr("values do not cross programs")));
  EXPECT_THAT(errorOf([](Builder &b) {
                b.beginProgram("p");
                Tensor z = b.input("z", {2});
                b.output("z", z);
                b.endProgram();
                b.output("doubled", mul(z, 2.0f));
              }),
              HasSubstr("graph.mul in @step uses a Tensor made in @p"));
}

TEST(Program, TheStepAndAProgramMayShareNamesOfInputsAndOutputs) {
  EXPECT_EQ(errorOf([](Builder &b) {
              b.output("x", b.input("x", {2}));
              b.beginProgram("p");
              b.output("x", b.input("x", {1}));
              b.endProgram();
            }),
            "");
}

} // namespace
} // namespace kiln
