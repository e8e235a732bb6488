//===- ReferenceDeviceTest.cpp - The reference device's API contract -----===//
//
// Step semantics (variables persist, reads see the start of the step, assigns
// land at the end, defaults fill missing inputs), precision handling, and the
// message of every error a user can provoke. Op numerics are tested by the op
// registry (tests/unit/ops).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/ReferenceDevice.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/Initializer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cmath>

namespace kiln::reference {
namespace {

using testing::HasSubstr;
using Inputs = std::map<std::string, HostTensor, std::less<>>;

class ReferenceDeviceTest : public testing::Test {
protected:
  ReferenceDeviceTest() {
    mlir::DialectRegistry registry;
    registry.insert<graph::GraphDialect, mlir::func::FuncDialect>();
    context_.appendDialectRegistry(registry);
    context_.loadAllAvailableDialects();
  }

  /// Parses `text` as "test.mlir" (verifying it unless `verify` is false).
  mlir::ModuleOp parse(const std::string &text, bool verify = true) {
    mlir::ParserConfig config(&context_, verify);
    modules_.push_back(mlir::parseSourceString<mlir::ModuleOp>(text, config, "test.mlir"));
    EXPECT_TRUE(modules_.back()) << text;
    return *modules_.back();
  }

  std::unique_ptr<ReferenceDevice> create(const std::string &text,
                                          Precision precision = Precision::kFloat32) {
    auto device = ReferenceDevice::create(parse(text), precision);
    EXPECT_TRUE(device.ok()) << device.status();
    return device.ok() ? *std::move(device) : nullptr;
  }

  static std::vector<double> values(const absl::StatusOr<HostTensor> &tensor) {
    EXPECT_TRUE(tensor.ok()) << tensor.status();
    std::vector<double> out;
    if (tensor.ok())
      for (int64_t i = 0; i < tensor->numElements(); ++i)
        out.push_back(tensor->at(i));
    return out;
  }

  mlir::MLIRContext context_;
  std::vector<mlir::OwningOpRef<mlir::ModuleOp>> modules_;
};

// @counter doubles every step; "before" and "after_assign" both see the value from the
// start of the step, although one read comes after the assign in program order.
constexpr const char *kDoubling = R"mlir(
module {
  graph.variable @counter : tensor<2xf32> = #graph.init<constant(1.5), seed = 0, stream = 0>
  func.func @step() {
    %before = graph.read @counter : tensor<2xf32>
    %two = graph.constant dense<2.0> : tensor<2xf32>
    %doubled = graph.mul %before, %two : tensor<2xf32>
    graph.assign @counter, %doubled : tensor<2xf32>
    %after = graph.read @counter : tensor<2xf32>
    graph.output "before", %before : tensor<2xf32>
    graph.output "after_assign", %after : tensor<2xf32>
    return
  }
}
)mlir";

TEST_F(ReferenceDeviceTest, VariablesPersistAndAssignsLandAtTheEnd) {
  auto device = create(kDoubling);
  ASSERT_TRUE(device);
  EXPECT_EQ(values(device->variable("counter")), (std::vector<double>{1.5, 1.5}));
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(device->step({}).ok());
    double start = 1.5 * (1 << step);
    EXPECT_EQ(values(device->output("before")), (std::vector<double>{start, start}));
    EXPECT_EQ(values(device->output("after_assign")), (std::vector<double>{start, start}));
    EXPECT_EQ(values(device->variable("counter")), (std::vector<double>{2 * start, 2 * start}));
  }
  EXPECT_EQ(device->stepsRun(), 3);
}

TEST_F(ReferenceDeviceTest, AssignsSwapWithoutSeeingEachOther) {
  auto device = create(R"mlir(
module {
  graph.variable @a : tensor<f32> = #graph.init<constant(1.0), seed = 0, stream = 0>
  graph.variable @b : tensor<f32> = #graph.init<constant(2.0), seed = 0, stream = 0>
  func.func @step() {
    %a = graph.read @a : tensor<f32>
    %b = graph.read @b : tensor<f32>
    graph.assign @a, %b : tensor<f32>
    graph.assign @b, %a : tensor<f32>
    return
  }
}
)mlir");
  ASSERT_TRUE(device);
  ASSERT_TRUE(device->step({}).ok());
  EXPECT_EQ(values(device->variable("a")), (std::vector<double>{2}));
  EXPECT_EQ(values(device->variable("b")), (std::vector<double>{1}));
}

TEST_F(ReferenceDeviceTest, SetVariableReplacesTheValueAndChecksTheShape) {
  auto device = create(kDoubling);
  ASSERT_TRUE(device);
  std::vector<double> wide = {0.1, -4.0};
  ASSERT_TRUE(device->setVariable("counter", HostTensor::f64({2}, wide)).ok());
  absl::StatusOr<HostTensor> value = device->variable("counter");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->dtype(), DType::kF32);
  EXPECT_EQ(value->f32()[0], 0.1f);
  ASSERT_TRUE(device->step({}).ok());
  EXPECT_EQ(values(device->output("before"))[1], -4.0);

  absl::Status wrong = device->setVariable("counter", HostTensor(DType::kF32, {3}));
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.message(), HasSubstr("@counter is f32[3]"));
  EXPECT_THAT(wrong.message(), HasSubstr("tensor<2xf32>"));
  absl::Status unknown = device->setVariable("countr", HostTensor(DType::kF32, {2}));
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(),
              HasSubstr("no variable named @countr; the variables are: counter"));
}

constexpr const char *kScaled = R"mlir(
module {
  func.func @step() {
    %x = graph.input "x" : tensor<2x3xf32>
    %rate = graph.input "rate" {default_value = dense<0.5> : tensor<f32>} : tensor<f32>
    %wide = graph.broadcast %rate [] : tensor<f32> to tensor<2x3xf32>
    %y = graph.mul %x, %wide : tensor<2x3xf32>
    graph.output "y", %y : tensor<2x3xf32>
    return
  }
}
)mlir";

HostTensor iota(std::vector<int64_t> shape) {
  HostTensor tensor(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    tensor.f32()[i] = static_cast<float>(i);
  return tensor;
}

TEST_F(ReferenceDeviceTest, InputsNotGivenUseTheirDefault) {
  auto device = create(kScaled);
  ASSERT_TRUE(device);
  ASSERT_TRUE(device->step({{"x", iota({2, 3})}}).ok());
  EXPECT_EQ(values(device->output("y")), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5}));
  ASSERT_TRUE(device->step({{"x", iota({2, 3})}, {"rate", HostTensor::scalar(2)}}).ok());
  EXPECT_EQ(values(device->output("y")), (std::vector<double>{0, 2, 4, 6, 8, 10}));
}

TEST_F(ReferenceDeviceTest, InputErrorsNameTheInput) {
  auto device = create(kScaled);
  ASSERT_TRUE(device);
  absl::Status missing = device->step({});
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("no value for input x;"));

  absl::Status shape = device->step({{"x", iota({3, 2})}});
  EXPECT_THAT(shape.message(),
              HasSubstr("input \"x\" is f32[3x2] but the step needs tensor<2x3xf32>"));

  std::vector<int32_t> labels(6, 1);
  absl::Status dtype = device->step({{"x", HostTensor::i32({2, 3}, labels)}});
  EXPECT_THAT(dtype.message(), HasSubstr("input \"x\" is i32[2x3]"));
  EXPECT_THAT(dtype.message(), HasSubstr("f32 or f64 elements"));

  absl::Status unknown = device->step({{"x", iota({2, 3})}, {"rte", HostTensor::scalar(1)}});
  EXPECT_THAT(unknown.message(), HasSubstr("no input named \"rte\"; its inputs are: x, rate"));
  EXPECT_EQ(device->stepsRun(), 0);
}

TEST_F(ReferenceDeviceTest, ResultsNeedASuccessfulStepAndKnownNames) {
  auto device = create(kScaled);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->output("y").status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(device->step({{"x", iota({2, 3})}}).ok());
  absl::Status output = device->output("z").status();
  EXPECT_EQ(output.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(output.message(), HasSubstr("no output named \"z\"; its outputs are: y"));
  absl::Status gradient = device->gradient("w").status();
  EXPECT_EQ(gradient.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(gradient.message(), HasSubstr("no graph.gradient for @w"));
  EXPECT_THAT(device->variable("w").status().message(), HasSubstr("the variables are: none"));
}

constexpr const char *kCrossEntropy = R"mlir(
module {
  graph.variable @steps : tensor<f32> = #graph.init<constant(0.0), seed = 0, stream = 0>
  func.func @step() {
    %logits = graph.input "logits" : tensor<2x3xf32>
    %labels = graph.input "labels" : tensor<2xi32>
    %loss = graph.softmax_cross_entropy %logits, %labels : tensor<2x3xf32>, tensor<2xi32> -> tensor<2xf32>
    graph.output "loss", %loss : tensor<2xf32>
    %steps = graph.read @steps : tensor<f32>
    %one = graph.constant dense<1.0> : tensor<f32>
    %next = graph.add %steps, %one : tensor<f32>
    graph.assign @steps, %next : tensor<f32>
    return
  }
}
)mlir";

TEST_F(ReferenceDeviceTest, LabelOutOfRangeFailsTheStepWithoutSideEffects) {
  auto device = create(kCrossEntropy);
  ASSERT_TRUE(device);
  std::vector<int32_t> good = {0, 2}, bad = {1, 3};
  ASSERT_TRUE(
      device->step({{"logits", iota({2, 3})}, {"labels", HostTensor::i32({2}, good)}}).ok());
  absl::Status status =
      device->step({{"logits", iota({2, 3})}, {"labels", HostTensor::i32({2}, bad)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'graph.softmax_cross_entropy' at test.mlir:7:13: "
                                          "label 3 of example 1 is outside [0, 3)"));
  EXPECT_EQ(values(device->variable("steps")), (std::vector<double>{1}));
  EXPECT_EQ(device->stepsRun(), 1);
  EXPECT_EQ(device->output("loss").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReferenceDeviceTest, Float64ModeWidensInitialValuesAndReturnsF64) {
  const char *text = R"mlir(
module {
  graph.variable @w trainable : tensor<3x5xf32> = #graph.init<uniform(-0.5, 0.5), seed = 7, stream = 2>
  graph.variable @b : tensor<5xf32> = #graph.init<normal(1.0, 0.1), seed = 7, stream = 3>
  func.func @step() {
    %w = graph.read @w : tensor<3x5xf32>
    graph.output "w", %w : tensor<3x5xf32>
    return
  }
}
)mlir";
  auto narrow = create(text, Precision::kFloat32);
  auto wide = create(text, Precision::kFloat64);
  ASSERT_TRUE(narrow && wide);
  EXPECT_EQ(narrow->variableNames(), (std::vector<std::string>{"w", "b"}));
  EXPECT_EQ(wide->precision(), Precision::kFloat64);

  std::vector<float> expected(15);
  fillInitializer(InitKind::kUniform, -0.5, 0.5, 7, 2, expected);
  absl::StatusOr<HostTensor> w32 = narrow->variable("w"), w64 = wide->variable("w");
  ASSERT_TRUE(w32.ok() && w64.ok());
  EXPECT_EQ(w32->dtype(), DType::kF32);
  EXPECT_EQ(w64->dtype(), DType::kF64);
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(w32->f32()[i], expected[i]);
    EXPECT_EQ(w64->f64()[i], static_cast<double>(expected[i]));
  }
  std::vector<float> normal(5);
  fillInitializer(InitKind::kNormal, 1.0, 0.1, 7, 3, normal);
  EXPECT_EQ(values(narrow->variable("b")), std::vector<double>(normal.begin(), normal.end()));
  ASSERT_TRUE(wide->step({}).ok());
  EXPECT_EQ(wide->output("w")->dtype(), DType::kF64);
}

TEST_F(ReferenceDeviceTest, Float64ModeComputesInDouble) {
  auto narrow = create(kScaled, Precision::kFloat32);
  auto wide = create(kScaled, Precision::kFloat64);
  ASSERT_TRUE(narrow && wide);
  std::vector<double> x = {0.1, 0.2, 0.3, 1e-9, 1, 3};
  Inputs inputs = {{"x", HostTensor::f64({2, 3}, x)}, {"rate", HostTensor::scalar(3)}};
  ASSERT_TRUE(narrow->step(inputs).ok());
  ASSERT_TRUE(wide->step(inputs).ok());
  EXPECT_EQ(values(wide->output("y"))[0], 0.1 * 3);
  EXPECT_EQ(values(narrow->output("y"))[0], static_cast<double>(0.1f * 3.0f));
}

// The oracle must be the most accurate device: float32 sums accumulate in double and are
// rounded once. A million values near 1.1 summed left to right in float32 drift by 0.9%
// (each addition to a sum near 1e6 rounds to a multiple of 0.0625 or 0.125); the
// device's mean is the double mean rounded to float32, exactly.
TEST_F(ReferenceDeviceTest, Float32ReductionsAccumulateInDouble) {
  constexpr int64_t kCount = 1 << 20;
  auto device = create(R"mlir(
module {
  func.func @step() {
    %x = graph.input "x" : tensor<1024x1024xf32>
    %mean = graph.reduce_mean %x [0, 1] : tensor<1024x1024xf32> -> tensor<f32>
    %zeros = graph.constant dense<0.0> : tensor<1024x1024xf32>
    %mse = graph.mse %x, %zeros : tensor<1024x1024xf32> -> tensor<f32>
    graph.output "mean", %mean : tensor<f32>
    graph.output "mse", %mse : tensor<f32>
    return
  }
}
)mlir");
  ASSERT_TRUE(device);
  std::vector<float> x(kCount);
  float naiveSum = 0;
  double sum = 0, sumOfSquares = 0;
  for (int64_t i = 0; i < kCount; ++i) {
    x[i] = 1.1f + 1e-3f * static_cast<float>(i % 7);
    naiveSum += x[i];
    sum += x[i];
    sumOfSquares += static_cast<double>(x[i]) * x[i];
  }
  double mean = sum / kCount;
  float naiveMean = naiveSum / static_cast<float>(kCount);
  EXPECT_GT(std::abs(naiveMean - mean), 1e-4 * mean) << "the example no longer shows the drift";

  ASSERT_TRUE(device->step({{"x", HostTensor::f32({1024, 1024}, x)}}).ok());
  EXPECT_EQ(values(device->output("mean"))[0], static_cast<double>(static_cast<float>(mean)));
  EXPECT_EQ(values(device->output("mse"))[0],
            static_cast<double>(static_cast<float>(sumOfSquares / kCount)));
}

TEST_F(ReferenceDeviceTest, IntegerAndMaskValuesPassThrough) {
  auto device = create(R"mlir(
module {
  graph.variable @labels : tensor<3xi32> = #graph.init<constant(2.0), seed = 0, stream = 0>
  func.func @step() {
    %labels = graph.read @labels : tensor<3xi32>
    %mask = graph.input "mask" : tensor<3xi1>
    %rows = graph.one_hot %labels : tensor<3xi32> to tensor<3x4xf32>
    %a = graph.constant dense<1.0> : tensor<3xf32>
    %b = graph.constant dense<-1.0> : tensor<3xf32>
    %chosen = graph.select %mask, %a, %b : tensor<3xi1>, tensor<3xf32>
    graph.output "rows", %rows : tensor<3x4xf32>
    graph.output "chosen", %chosen : tensor<3xf32>
    graph.output "mask", %mask : tensor<3xi1>
    return
  }
}
)mlir");
  ASSERT_TRUE(device);
  HostTensor mask(DType::kI1, {3});
  mask.bytes()[1] = 1;
  ASSERT_TRUE(device->step({{"mask", mask}}).ok());
  EXPECT_EQ(values(device->output("rows")),
            (std::vector<double>{0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(values(device->output("chosen")), (std::vector<double>{-1, 1, -1}));
  EXPECT_EQ(device->output("mask")->dtype(), DType::kI1);
  EXPECT_EQ(device->variable("labels")->dtype(), DType::kI32);
}

TEST_F(ReferenceDeviceTest, UnusedCrossEntropyStillChecksItsLabels) {
  auto device = create(R"mlir(
module {
  func.func @step() {
    %logits = graph.input "logits" : tensor<2x3xf32>
    %labels = graph.input "labels" : tensor<2xi32>
    %unused = graph.softmax_cross_entropy %logits, %labels : tensor<2x3xf32>, tensor<2xi32> -> tensor<2xf32>
    return
  }
}
)mlir");
  ASSERT_TRUE(device);
  std::vector<int32_t> bad = {-1, 0};
  absl::Status status =
      device->step({{"logits", iota({2, 3})}, {"labels", HostTensor::i32({2}, bad)}});
  EXPECT_THAT(status.message(), HasSubstr("label -1 of example 0 is outside [0, 3)"));
}

TEST_F(ReferenceDeviceTest, GradientsAreReportedByVariableName) {
  auto device = create(R"mlir(
module {
  graph.variable @w trainable : tensor<2xf32> = #graph.init<constant(3.0), seed = 0, stream = 0>
  func.func @step() {
    %w = graph.read @w : tensor<2xf32>
    %g = graph.add %w, %w : tensor<2xf32>
    graph.gradient @w, %g : tensor<2xf32>
    return
  }
}
)mlir");
  ASSERT_TRUE(device);
  ASSERT_TRUE(device->step({}).ok());
  EXPECT_EQ(values(device->gradient("w")), (std::vector<double>{6, 6}));
}

TEST_F(ReferenceDeviceTest, CreateRejectsModulesItCannotRun) {
  auto noStep = ReferenceDevice::create(parse("module {}"));
  EXPECT_EQ(noStep.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(noStep.status().message(), HasSubstr("no func.func @step"));

  auto arguments = ReferenceDevice::create(parse(R"mlir(
module {
  func.func @step(%x: tensor<f32>) {
    return
  }
}
)mlir"));
  EXPECT_THAT(arguments.status().message(),
              HasSubstr("'func.func' at test.mlir:3:3: @step must take no arguments"));

  context_.allowUnregisteredDialects();
  auto foreign = ReferenceDevice::create(parse(R"mlir(
module {
  func.func @step() {
    %x = "test.mystery"() : () -> tensor<f32>
    return
  }
}
)mlir"));
  EXPECT_THAT(foreign.status().message(),
              HasSubstr("'test.mystery' at test.mlir:4:10: is not an op the reference device "
                        "executes"));

  auto duplicate = ReferenceDevice::create(parse(R"mlir(
module {
  func.func @step() {
    %x = graph.constant dense<1.0> : tensor<f32>
    graph.output "x", %x : tensor<f32>
    graph.output "x", %x : tensor<f32>
    return
  }
}
)mlir"));
  EXPECT_THAT(duplicate.status().message(),
              HasSubstr("'graph.output' at test.mlir:6:5: output \"x\" is already named by "
                        "'graph.output' at test.mlir:5:5"));
}

TEST_F(ReferenceDeviceTest, CreateReportsVerifierDiagnostics) {
  // A read of a variable that does not exist parses but does not verify.
  auto device = ReferenceDevice::create(parse(R"mlir(
module {
  func.func @step() {
    %w = graph.read @missing : tensor<f32>
    return
  }
}
)mlir",
                                              /*verify=*/false));
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(), HasSubstr("the module does not verify"));
  EXPECT_THAT(device.status().message(), HasSubstr("test.mlir:4:10"));
  EXPECT_THAT(device.status().message(), HasSubstr("@missing"));
}

} // namespace
} // namespace kiln::reference
