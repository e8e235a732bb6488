//===- OpHarness.cpp - Runs registry samples on a device under test ------===//
//
// Modules are generated as MLIR text and parsed, so a failing test prints the
// exact module it ran.
//
//===----------------------------------------------------------------------===//

#include "OpHarness.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <cmath>
#include <sstream>

namespace kiln::ops_test {

std::vector<size_t> sampleIndices(bool differentiableOnly) {
  std::vector<size_t> indices;
  for (size_t i = 0; i < opRegistry().size(); ++i)
    if (!differentiableOnly || opRegistry()[i].differentiable)
      indices.push_back(i);
  return indices;
}

std::string sampleName(const testing::TestParamInfo<size_t> &info) {
  return opRegistry()[info.param].testName();
}
namespace {

uint64_t fnv1a(const std::string &text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : text)
    hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return hash;
}

double drawValue(Random &random, const OperandSpec &spec) {
  switch (spec.draw) {
  case Draw::kUniform:
    return random.uniform(-2, 2);
  case Draw::kPositive:
    return random.uniform(0.1, 2);
  case Draw::kAwayFromZero:
    return (random.next() & 1 ? 1 : -1) * random.uniform(0.5, 2);
  case Draw::kFewValues: {
    static const double kValues[] = {-1, -0.5, 0, 0.5, 1};
    return kValues[random.integer(0, 5)];
  }
  case Draw::kLabels:
    return static_cast<double>(random.integer(0, spec.classes));
  case Draw::kAnyLabels:
    return static_cast<double>(random.integer(-2, spec.classes + 2));
  case Draw::kMask:
    return static_cast<double>(random.next() & 1);
  }
  return 0;
}

Tensor drawTensor(Random &random, const OperandSpec &spec) {
  Tensor tensor{spec.shape, {}};
  for (int64_t i = 0; i < numElements(spec.shape); ++i)
    tensor.values.push_back(static_cast<float>(drawValue(random, spec)));
  return tensor;
}

bool isTrainable(const OpSample &sample, size_t operand) {
  return sample.differentiable && elementTypeOf(sample.operands[operand].draw) == ElementType::kF32;
}

/// `tensor` as a host tensor of `type` (floats as f32, or f64 when `wide`).
HostTensor toHost(const Tensor &tensor, ElementType type, bool wide = false) {
  HostTensor host(type == ElementType::kI32  ? DType::kI32
                  : type == ElementType::kI1 ? DType::kI1
                  : wide                     ? DType::kF64
                                             : DType::kF32,
                  tensor.shape);
  for (size_t i = 0; i < tensor.values.size(); ++i) {
    double v = tensor.values[i];
    switch (host.dtype()) {
    case DType::kF32:
      host.f32()[i] = static_cast<float>(v);
      break;
    case DType::kF64:
      host.f64()[i] = v;
      break;
    case DType::kI32:
      host.i32()[i] = static_cast<int32_t>(v);
      break;
    case DType::kI1:
      host.bytes()[i] = v != 0;
      break;
    }
  }
  return host;
}

std::vector<double> toDoubles(const HostTensor &tensor) {
  std::vector<double> values;
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    values.push_back(tensor.at(i));
  return values;
}

/// Parses `text`; on failure the status holds MLIR's diagnostics and the text.
absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> parse(const std::string &text,
                                                        mlir::MLIRContext &context) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context, "sample.mlir");
  if (!module)
    return absl::InvalidArgumentError("cannot parse:\n" + diagnostics + text);
  return module;
}

absl::Status differentiate(mlir::ModuleOp module) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::PassManager passes(module.getContext());
  passes.addPass(kiln::createAutodiff());
  if (mlir::failed(passes.run(module)))
    return absl::InternalError("kiln-autodiff failed:\n" + diagnostics);
  return absl::OkStatus();
}

std::string statusText(const absl::Status &status) { return std::string(status.ToString()); }

/// A loss module prepared on a device with its operands and weights fed in.
struct LossRun {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<PreparedStep> step;
  std::vector<Tensor> operands;
  std::map<std::string, HostTensor, std::less<>> inputs;
};

/// Parses, differentiates and prepares the loss module of `sample`; sets the variables and
/// the inputs. Returns nullopt after reporting a failure (or skipping).
std::optional<LossRun> prepareLoss(const OpSample &sample, DeviceUnderTest &device,
                                   mlir::MLIRContext &context, bool float64) {
  LossRun run;
  auto module = parse(lossModule(sample), context);
  if (!module.ok()) {
    ADD_FAILURE() << statusText(module.status());
    return std::nullopt;
  }
  run.module = *std::move(module);
  if (absl::Status status = differentiate(*run.module); !status.ok()) {
    ADD_FAILURE() << statusText(status);
    return std::nullopt;
  }
  auto step = device.prepare(*run.module, float64);
  if (!step.ok()) {
    if (absl::IsUnimplemented(step.status()))
      [&] { GTEST_SKIP() << statusText(step.status()); }();
    else
      ADD_FAILURE() << statusText(step.status());
    return std::nullopt;
  }
  run.step = *std::move(step);
  run.operands = drawOperands(sample);
  for (size_t i = 0; i < sample.operands.size(); ++i) {
    std::string name = "arg" + std::to_string(i);
    ElementType type = elementTypeOf(sample.operands[i].draw);
    if (!isTrainable(sample, i)) {
      run.inputs[name] = toHost(run.operands[i], type);
      continue;
    }
    if (absl::Status status = run.step->setVariable(name, toHost(run.operands[i], type, float64));
        !status.ok()) {
      ADD_FAILURE() << statusText(status);
      return std::nullopt;
    }
  }
  Random random(fnv1a(sample.testName()) ^ 0x5eed);
  run.inputs["weights"] =
      toHost(drawTensor(random, {sample.resultShape}), ElementType::kF32, float64);
  return run;
}

/// The float64 loss after setting every trainable operand i to `values[i]`.
absl::StatusOr<double> lossAt(const OpSample &sample, LossRun &run,
                              const std::vector<Tensor> &values) {
  for (size_t i = 0; i < sample.operands.size(); ++i)
    if (isTrainable(sample, i))
      if (absl::Status status = run.step->setVariable(
              "arg" + std::to_string(i), toHost(values[i], ElementType::kF32, /*wide=*/true));
          !status.ok())
        return status;
  if (absl::Status status = run.step->step(run.inputs); !status.ok())
    return status;
  absl::StatusOr<HostTensor> loss = run.step->output("loss");
  if (!loss.ok())
    return loss.status();
  return loss->at(0);
}

/// The forward module of a sample prepared on a device in float32.
struct ForwardRun {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<PreparedStep> step;
};

absl::StatusOr<ForwardRun> prepareForward(const OpSample &sample, DeviceUnderTest &device,
                                          mlir::MLIRContext &context) {
  ForwardRun run;
  auto module = parse(forwardModule(sample), context);
  if (!module.ok())
    return module.status();
  run.module = *std::move(module);
  auto step = device.prepare(*run.module, /*float64=*/false);
  if (!step.ok())
    return step.status();
  run.step = *std::move(step);
  return run;
}

/// The op's result on `operands`.
absl::StatusOr<HostTensor> resultAt(const OpSample &sample, ForwardRun &run,
                                    const std::vector<Tensor> &operands) {
  std::map<std::string, HostTensor, std::less<>> inputs;
  for (size_t i = 0; i < operands.size(); ++i)
    inputs["arg" + std::to_string(i)] = toHost(operands[i], elementTypeOf(sample.operands[i].draw));
  if (absl::Status status = run.step->step(inputs); !status.ok())
    return status;
  return run.step->output("result");
}

} // namespace

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<kiln::graph::GraphDialect, mlir::func::FuncDialect>();
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

std::string forwardModule(const OpSample &sample) {
  std::ostringstream out;
  out << "module {\n  func.func @step() {\n";
  for (size_t i = 0; i < sample.operands.size(); ++i)
    out << "    %arg" << i << " = graph.input \"arg" << i
        << "\" : " << tensorType(sample.operands[i].shape, elementTypeOf(sample.operands[i].draw))
        << "\n";
  out << "    " << sample.assembly << "\n";
  out << "    graph.output \"result\", %result : "
      << tensorType(sample.resultShape, sample.resultType) << "\n";
  out << "    return\n  }\n}\n";
  return out.str();
}

std::string lossModule(const OpSample &sample) {
  std::ostringstream out;
  out << "module {\n";
  for (size_t i = 0; i < sample.operands.size(); ++i)
    if (isTrainable(sample, i))
      out << "  graph.variable @arg" << i << " trainable : " << tensorType(sample.operands[i].shape)
          << " = #graph.init<constant(0.0), seed = 0, stream = " << i << ">\n";
  out << "  func.func @step() {\n";
  for (size_t i = 0; i < sample.operands.size(); ++i) {
    std::string type = tensorType(sample.operands[i].shape, elementTypeOf(sample.operands[i].draw));
    if (isTrainable(sample, i))
      out << "    %arg" << i << " = graph.read @arg" << i << " : " << type << "\n";
    else
      out << "    %arg" << i << " = graph.input \"arg" << i << "\" : " << type << "\n";
  }
  std::string resultType = tensorType(sample.resultShape);
  std::vector<int64_t> axes;
  for (size_t d = 0; d < sample.resultShape.size(); ++d)
    axes.push_back(static_cast<int64_t>(d));
  std::ostringstream axesText;
  for (size_t d = 0; d < axes.size(); ++d)
    axesText << (d ? ", " : "") << axes[d];
  out << "    " << sample.assembly << "\n"
      << "    %weights = graph.input \"weights\" : " << resultType << "\n"
      << "    %weighted = graph.mul %result, %weights : " << resultType << "\n"
      << "    %loss = graph.reduce_sum %weighted [" << axesText.str() << "] : " << resultType
      << " -> tensor<f32>\n"
      << "    graph.output \"loss\", %loss : tensor<f32>\n"
      << "    graph.minimize %loss : tensor<f32>\n"
      << "    return\n  }\n}\n";
  return out.str();
}

std::vector<Tensor> drawOperands(const OpSample &sample, uint64_t salt) {
  Random random(fnv1a(sample.testName()) ^ salt);
  std::vector<Tensor> operands;
  for (const OperandSpec &spec : sample.operands)
    operands.push_back(drawTensor(random, spec));
  return operands;
}

void checkForward(const OpSample &sample, DeviceUnderTest &device, mlir::MLIRContext &context) {
  SCOPED_TRACE(forwardModule(sample));
  absl::StatusOr<ForwardRun> run = prepareForward(sample, device, context);
  ASSERT_TRUE(run.ok()) << statusText(run.status());
  std::vector<Tensor> operands = drawOperands(sample);
  absl::StatusOr<HostTensor> result = resultAt(sample, *run, operands);
  ASSERT_TRUE(result.ok()) << statusText(result.status());
  ASSERT_EQ(result->shape(), sample.resultShape);

  std::vector<double> expected = sample.reference(operands);
  std::vector<double> actual = toDoubles(*result);
  ASSERT_EQ(actual.size(), expected.size());
  int reported = 0;
  for (size_t i = 0; i < expected.size() && reported < 5; ++i) {
    bool close = sample.resultType == ElementType::kF32
                     ? std::abs(actual[i] - expected[i]) <= 1e-4 + 1e-4 * std::abs(expected[i])
                     : actual[i] == expected[i];
    if (!close) {
      ++reported;
      ADD_FAILURE() << "element " << i << ": device " << actual[i] << ", reference " << expected[i];
    }
  }
}

void checkGradientsByFiniteDifferences(const OpSample &sample, DeviceUnderTest &device,
                                       mlir::MLIRContext &context) {
  std::optional<LossRun> run = prepareLoss(sample, device, context, /*float64=*/true);
  if (!run)
    return;
  SCOPED_TRACE(lossModule(sample));
  absl::Status status = run->step->step(run->inputs);
  ASSERT_TRUE(status.ok()) << statusText(status);

  constexpr double kEpsilon = 1e-6;
  for (size_t i = 0; i < sample.operands.size(); ++i) {
    if (!isTrainable(sample, i))
      continue;
    std::string name = "arg" + std::to_string(i);
    absl::StatusOr<HostTensor> gradient = run->step->gradient(name);
    ASSERT_TRUE(gradient.ok()) << statusText(gradient.status());
    ASSERT_EQ(gradient->shape(), sample.operands[i].shape);
    std::vector<double> analytic = toDoubles(*gradient);
    int reported = 0;
    if (sample.gradientReference) {
      std::vector<double> expected =
          sample.gradientReference(run->operands, toDoubles(run->inputs.at("weights")), i);
      ASSERT_EQ(expected.size(), analytic.size());
      for (size_t j = 0; j < analytic.size(); ++j)
        if (std::abs(analytic[j] - expected[j]) > 1e-5 + 1e-3 * std::abs(expected[j]) &&
            reported++ < 5)
          ADD_FAILURE() << "d loss / d " << name << "[" << j << "]: autodiff " << analytic[j]
                        << ", the sample's gradient reference " << expected[j];
      continue;
    }
    for (size_t j = 0; j < analytic.size(); ++j) {
      std::vector<Tensor> plus = run->operands, minus = run->operands;
      plus[i].values[j] += kEpsilon;
      minus[i].values[j] -= kEpsilon;
      absl::StatusOr<double> lossPlus = lossAt(sample, *run, plus);
      absl::StatusOr<double> lossMinus = lossAt(sample, *run, minus);
      ASSERT_TRUE(lossPlus.ok() && lossMinus.ok())
          << statusText(lossPlus.status()) << statusText(lossMinus.status());
      double numeric = (*lossPlus - *lossMinus) / (2 * kEpsilon);
      if (std::abs(analytic[j] - numeric) > 1e-5 + 1e-3 * std::abs(numeric) && reported++ < 5)
        ADD_FAILURE() << "d loss / d " << name << "[" << j << "]: autodiff " << analytic[j]
                      << ", finite difference " << numeric;
    }
  }
}

void checkRandomDirectionVjp(const OpSample &sample, DeviceUnderTest &device,
                             mlir::MLIRContext &context) {
  std::optional<LossRun> run = prepareLoss(sample, device, context, /*float64=*/false);
  if (!run)
    return;
  SCOPED_TRACE(lossModule(sample));
  absl::Status status = run->step->step(run->inputs);
  ASSERT_TRUE(status.ok()) << statusText(status);
  absl::StatusOr<ForwardRun> forward = prepareForward(sample, device, context);
  ASSERT_TRUE(forward.ok()) << statusText(forward.status());

  // As JAX's check_vjp: the gradient of <op(x), W> projected on a random direction v,
  // against <(op(x + eps v) - op(x - eps v)) / 2 eps, W> from the forward op. x+ and x-
  // are the float32 points actually evaluated and the projection uses their difference, so
  // rounding x +- eps v to float32 does not count as gradient error.
  if (sample.gradientReference) {
    // Not differentiable at these operands: the device's float32 gradient against the rule.
    for (size_t i = 0; i < sample.operands.size(); ++i) {
      if (!isTrainable(sample, i))
        continue;
      absl::StatusOr<HostTensor> gradient = run->step->gradient("arg" + std::to_string(i));
      ASSERT_TRUE(gradient.ok()) << statusText(gradient.status());
      std::vector<double> expected =
          sample.gradientReference(run->operands, toDoubles(run->inputs.at("weights")), i);
      std::vector<double> actual = toDoubles(*gradient);
      ASSERT_EQ(expected.size(), actual.size());
      int reported = 0;
      for (size_t j = 0; j < actual.size(); ++j)
        if (std::abs(actual[j] - expected[j]) > 2e-3 + 2e-3 * std::abs(expected[j]) &&
            reported++ < 5)
          ADD_FAILURE() << "d loss / d arg" << i << "[" << j << "]: device " << actual[j]
                        << ", the sample's gradient reference " << expected[j];
    }
    return;
  }
  const double kEpsilon = sample.vjpEpsilon;
  Random random(fnv1a(sample.testName()) ^ 0xd1ec);
  std::vector<Tensor> plus = run->operands, minus = run->operands;
  double projected = 0;
  for (size_t i = 0; i < sample.operands.size(); ++i) {
    if (!isTrainable(sample, i))
      continue;
    absl::StatusOr<HostTensor> gradient = run->step->gradient("arg" + std::to_string(i));
    ASSERT_TRUE(gradient.ok()) << statusText(gradient.status());
    for (size_t j = 0; j < plus[i].values.size(); ++j) {
      double direction = random.uniform(-1, 1);
      plus[i].values[j] = static_cast<float>(run->operands[i].values[j] + kEpsilon * direction);
      minus[i].values[j] = static_cast<float>(run->operands[i].values[j] - kEpsilon * direction);
      projected += gradient->at(j) * (plus[i].values[j] - minus[i].values[j]) / (2 * kEpsilon);
    }
  }
  absl::StatusOr<HostTensor> resultPlus = resultAt(sample, *forward, plus);
  ASSERT_TRUE(resultPlus.ok()) << statusText(resultPlus.status());
  absl::StatusOr<HostTensor> resultMinus = resultAt(sample, *forward, minus);
  ASSERT_TRUE(resultMinus.ok()) << statusText(resultMinus.status());
  const HostTensor &weights = run->inputs.find("weights")->second;
  double numeric = 0;
  for (int64_t k = 0; k < weights.numElements(); ++k)
    numeric += weights.at(k) * (resultPlus->at(k) - resultMinus->at(k)) / (2 * kEpsilon);
  EXPECT_LE(std::abs(projected - numeric), 2e-3 + 2e-3 * std::abs(numeric))
      << "<gradient, v> = " << projected << " but the central difference along v is " << numeric;
}

} // namespace kiln::ops_test
