//===- TransformerTest.cpp - layerNorm, causalAttention, sequence loss ----===//
//
// Builder checks (shape errors at the caller's line, the attention composite's
// dataflow, LayerNorm's parameters, matmul broadcasting) and numerical checks
// against PyTorch 1.13 (/usr/bin/python3): each composite is differentiated by
// kiln-autodiff and run on the reference device, and torch computes the same
// forward value and gradients from the same deterministic inputs.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <source_location>
#include <sstream>
#include <string>
#include <vector>

namespace kiln {
namespace {

using kiln::testing::opsOf;
using ::testing::HasSubstr;

const char *const kThisFile = std::source_location::current().file_name();

std::string at(int line) { return absl::StrCat(kThisFile, ":", line, ": "); }

//===----------------------------------------------------------------------===//
// Builder errors
//===----------------------------------------------------------------------===//

TEST(TransformerTest, LayerNormNamesAWeightOfTheWrongSize) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 8});
  Tensor w = b.constant({7}, 1.0f);
  Tensor bias = b.constant({8}, 0.0f);
  const int line = __LINE__ + 1;
  Tensor y = layerNorm(x, w, bias);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line) + "layerNorm: weight must be f32 [C] = [8] (the last dimension "
                                   "of x [2, 3, 8]), got f32 [7]"));
}

TEST(TransformerTest, LayerNormLayerNamesTheSizeItExpects) {
  Builder b;
  Tensor x = b.input("x", {2, 5});
  LayerNorm ln(4);
  const int line = __LINE__ + 1;
  Tensor y = ln(x);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(absl::StrCat(kThisFile, ":", line,
                                     ": in ln1: LayerNorm expects a last "
                                     "dimension of 4 but the input is [2, 5]")));
}

TEST(TransformerTest, LayerNormLayerHasPyTorchsParameters) {
  mlir::MLIRContext context;
  Builder b(context, "ln", 1);
  Tensor x = b.input("x", {2, 3, 4});
  LayerNorm ln(4);
  Tensor y = ln(x);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(y.shape(), llvm::ArrayRef<int64_t>({2, 3, 4}));
  EXPECT_THAT(b.parameterNames(), ::testing::ElementsAre("ln1.weight", "ln1.bias"));
}

TEST(TransformerTest, CausalAttentionRejectsKOfAnotherShape) {
  Builder b;
  Tensor q = b.input("q", {1, 2, 4, 3});
  Tensor k = b.input("k", {1, 2, 5, 3});
  Tensor v = b.input("v", {1, 2, 4, 3});
  const int line = __LINE__ + 1;
  Tensor o = causalAttention(q, k, v);
  EXPECT_FALSE(o.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line) + "causalAttention: k must have q's shape and type f32 [1, 2, 4, "
                                   "3], got f32 [1, 2, 5, 3]"));
}

TEST(TransformerTest, CausalAttentionRejectsQOfRank3) {
  Builder b;
  Tensor q = b.input("q", {2, 4, 3});
  const int line = __LINE__ + 1;
  Tensor o = causalAttention(q, q, q);
  EXPECT_FALSE(o.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line) + "causalAttention: q must be f32 [B, H, T, D], got f32 [2, 4, "
                                   "3]"));
}

TEST(TransformerTest, SequenceCrossEntropyRejectsFloatTargets) {
  Builder b;
  Tensor logits = b.input("logits", {2, 3, 5});
  Tensor targets = b.input("targets", {2, 3});
  const int line = __LINE__ + 1;
  Tensor loss = sequenceCrossEntropy(logits, targets);
  EXPECT_FALSE(loss.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line) + "sequenceCrossEntropy: targets must be i32 class indices, got "
                                   "f32 [2, 3]"));
}

TEST(TransformerTest, SequenceCrossEntropyRejectsTargetsOfAnotherShape) {
  Builder b;
  Tensor logits = b.input("logits", {2, 3, 5});
  Tensor targets = b.input("targets", {3, 2}, DType::kI32);
  const int line = __LINE__ + 1;
  Tensor loss = sequenceCrossEntropy(logits, targets);
  EXPECT_FALSE(loss.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line) + "sequenceCrossEntropy: targets must be [B, T] = [2, 3] for "
                                   "logits [2, 3, 5], got [3, 2]"));
}

//===----------------------------------------------------------------------===//
// The attention composite
//===----------------------------------------------------------------------===//

TEST(TransformerTest, CausalAttentionIsTheCompositeFormAttentionMatches) {
  mlir::MLIRContext context;
  Builder b(context, "attention", 1);
  Tensor q = b.input("q", {1, 2, 4, 3});
  Tensor k = b.input("k", {1, 2, 4, 3});
  Tensor v = b.input("v", {1, 2, 4, 3});
  Tensor o = causalAttention(q, k, v);
  ASSERT_TRUE(o.ok()) << b.status();
  b.output("o", o);
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto matmuls = opsOf<graph::MatmulOp>(**module);
  ASSERT_EQ(matmuls.size(), 2u);
  EXPECT_TRUE(matmuls[0].getTransposeRhs());
  auto softmax = matmuls[1].getLhs().getDefiningOp<graph::SoftmaxOp>();
  ASSERT_TRUE(softmax);
  EXPECT_EQ(softmax.getAxis(), 3);
  auto select = softmax.getOperand().getDefiningOp<graph::SelectOp>();
  ASSERT_TRUE(select);
  auto compare = select.getCondition().getDefiningOp<graph::CompareOp>();
  ASSERT_TRUE(compare);
  EXPECT_EQ(compare.getPredicate(), graph::ComparePredicate::ge);
  auto row = compare.getLhs().getDefiningOp<graph::IotaOp>();
  auto column = compare.getRhs().getDefiningOp<graph::IotaOp>();
  ASSERT_TRUE(row && column);
  EXPECT_EQ(row.getDims(), llvm::ArrayRef<int64_t>{2});
  EXPECT_EQ(column.getDims(), llvm::ArrayRef<int64_t>{3});
  auto scaled = select.getOnTrue().getDefiningOp<graph::MulOp>();
  ASSERT_TRUE(scaled);
  EXPECT_EQ(scaled.getLhs(), matmuls[0].getResult());
  if (const char *dump = std::getenv("KILN_DUMP_ATTENTION")) {
    std::FILE *file = std::fopen(dump, "w");
    ASSERT_TRUE(file);
    std::fputs(testing::print(**module).c_str(), file);
    std::fclose(file);
  }
}

//===----------------------------------------------------------------------===//
// Matmul broadcasting
//===----------------------------------------------------------------------===//

TEST(TransformerTest, MatmulWithA2DRhsReshapesAroundOneMatmul) {
  mlir::MLIRContext context;
  Builder b(context, "mm", 1);
  Tensor x = b.input("x", {2, 3, 4, 5});
  Tensor w = b.input("w", {5, 6});
  Tensor y = matmul(x, w);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(y.shape(), llvm::ArrayRef<int64_t>({2, 3, 4, 6}));
  b.output("y", y);
  auto module = b.build();
  ASSERT_TRUE(module.ok()) << module.status();
  auto matmuls = opsOf<graph::MatmulOp>(**module);
  ASSERT_EQ(matmuls.size(), 1u);
  EXPECT_EQ(matmuls[0].getType().getShape(), llvm::ArrayRef<int64_t>({24, 6}));
  EXPECT_TRUE(opsOf<graph::BroadcastOp>(**module).empty());
}

TEST(TransformerTest, MatmulBroadcastsLeadingAxesNumpyStyle) {
  Builder b;
  Tensor x = b.input("x", {2, 1, 4, 5});
  Tensor w = b.input("w", {3, 5, 6});
  Tensor y = matmul(x, w);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_EQ(y.shape(), llvm::ArrayRef<int64_t>({2, 3, 4, 6}));
}

TEST(TransformerTest, MatmulNamesIncompatibleBatchAxes) {
  Builder b;
  Tensor x = b.input("x", {2, 4, 5});
  Tensor w = b.input("w", {3, 5, 6});
  const int line = __LINE__ + 1;
  Tensor y = matmul(x, w);
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr(at(line) + "graph.matmul: the batch dimensions [2] of lhs and [3] of rhs "
                                   "do not broadcast"));
}

//===----------------------------------------------------------------------===//
// Numerics against PyTorch
//===----------------------------------------------------------------------===//

/// Deterministic test values, computed identically by the Python side.
std::vector<float> values(int64_t count, double seed) {
  std::vector<float> out(count);
  for (int64_t i = 0; i < count; ++i)
    out[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + seed) *
                                (1.0 + 0.5 * std::cos(0.11 * static_cast<double>(i))));
  return out;
}

const char *const kPythonValues = R"(
import math, sys, torch
torch.set_default_dtype(torch.float64)
def values(shape, seed):
    n = 1
    for s in shape: n *= s
    v = [math.sin(0.37 * i + seed) * (1.0 + 0.5 * math.cos(0.11 * i)) for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).double().reshape(shape).requires_grad_(True)
def emit(name, t):
    print(name, ' '.join(repr(float(x)) for x in t.detach().reshape(-1).tolist()))
)";

/// Runs `script` (after kPythonValues) with /usr/bin/python3 and parses lines "name v0 v1 ...".
std::map<std::string, std::vector<double>> runPython(const std::string &script) {
  std::string path = ::testing::TempDir() + "kiln_transformer_test.py";
  std::FILE *file = std::fopen(path.c_str(), "w");
  EXPECT_TRUE(file) << path;
  if (!file)
    return {};
  std::fputs(kPythonValues, file);
  std::fputs(script.c_str(), file);
  std::fclose(file);
  std::string command = absl::StrCat("/usr/bin/python3 ", path, " 2>&1");
  std::FILE *pipe = ::popen(command.c_str(), "r");
  EXPECT_TRUE(pipe);
  if (!pipe)
    return {};
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
    output.append(buffer, n);
  int code = ::pclose(pipe);
  EXPECT_EQ(code, 0) << output;
  std::map<std::string, std::vector<double>> result;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    double value;
    while (fields >> value)
      result[name].push_back(value);
  }
  return result;
}

void expectNear(const HostTensor &actual, const std::vector<double> &expected, double tolerance,
                const std::string &what) {
  std::span<const float> got = actual.f32();
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], tolerance * (1.0 + std::abs(expected[i])))
        << what << "[" << i << "]";
}

struct Parameter {
  std::string name;
  std::vector<int64_t> shape;
  double seed;
};

/// Builds loss = sum(f(parameters) * weights) (weights deterministic), differentiates it with
/// kiln-autodiff, runs it once on the reference device and returns the device.
std::unique_ptr<reference::ReferenceDevice>
runOnReference(mlir::MLIRContext &context, mlir::OwningOpRef<mlir::ModuleOp> &module,
               const std::vector<Parameter> &parameters,
               const std::function<Tensor(Builder &, std::vector<Tensor> &)> &f,
               const std::map<std::string, HostTensor, std::less<>> &inputs = {}) {
  Builder b(context, "transformer", 7);
  std::vector<Tensor> tensors;
  for (const Parameter &p : parameters)
    tensors.push_back(b.parameter(p.name, p.shape, Init::zeros()));
  Tensor y = f(b, tensors);
  EXPECT_TRUE(y.ok()) << b.status();
  if (!y.ok())
    return nullptr;
  Tensor loss = y;
  if (y.rank() > 0) {
    int64_t count = 1;
    for (int64_t size : y.shape())
      count *= size;
    b.output("y", y);
    loss = reduceSum(mul(y, b.constant(y.shape(), values(count, 0.5))));
  }
  auto built = b.build(TrainingSpec{.loss = loss});
  EXPECT_TRUE(built.ok()) << built.status();
  if (!built.ok())
    return nullptr;
  module = std::move(*built);
  mlir::PassManager pm(&context);
  pm.addPass(createAutodiff());
  EXPECT_TRUE(mlir::succeeded(pm.run(*module)));
  auto device = reference::ReferenceDevice::create(*module, reference::Precision::kFloat32);
  EXPECT_TRUE(device.ok()) << device.status();
  if (!device.ok())
    return nullptr;
  for (const Parameter &p : parameters) {
    int64_t count = 1;
    for (int64_t size : p.shape)
      count *= size;
    absl::Status set =
        (*device)->setVariable(p.name, HostTensor::f32(p.shape, values(count, p.seed)));
    EXPECT_TRUE(set.ok()) << set;
  }
  absl::Status ran = (*device)->step(inputs);
  EXPECT_TRUE(ran.ok()) << ran;
  if (!ran.ok())
    return nullptr;
  return std::move(*device);
}

std::string pythonParameters(const std::vector<Parameter> &parameters) {
  std::string text;
  for (const Parameter &p : parameters)
    absl::StrAppend(&text, p.name, " = values([", absl::StrJoin(p.shape, ", "), "], ", p.seed,
                    ")\n");
  return text;
}

/// The Python tail: loss = sum(y * values) (or y itself when scalar), gradients, emit.
std::string pythonLoss(const std::vector<Parameter> &parameters) {
  std::string text =
      "loss = (y * values(list(y.shape), 0.5).detach()).sum() if y.dim() > 0 else y\n"
      "loss.backward()\n"
      "emit('y', y)\n";
  for (const Parameter &p : parameters)
    absl::StrAppend(&text, "emit('grad_", p.name, "', ", p.name, ".grad)\n");
  return text;
}

void compare(reference::ReferenceDevice &device, const std::vector<Parameter> &parameters,
             const std::string &torchExpression, bool scalar = false) {
  auto expected = runPython(pythonParameters(parameters) + "y = " + torchExpression + "\n" +
                            pythonLoss(parameters));
  auto y = device.output(scalar ? "loss" : "y");
  ASSERT_TRUE(y.ok()) << y.status();
  expectNear(*y, expected["y"], 1e-5, "forward");
  for (const Parameter &p : parameters) {
    auto gradient = device.gradient(p.name);
    ASSERT_TRUE(gradient.ok()) << gradient.status();
    expectNear(*gradient, expected["grad_" + p.name], 1e-5, "gradient of " + p.name);
  }
}

TEST(TransformerTest, LayerNormMatchesPyTorch) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<Parameter> parameters{{"x", {2, 3, 5}, 0.1}, {"w", {5}, 1.3}, {"b", {5}, 2.9}};
  auto device = runOnReference(context, module, parameters, [](Builder &, std::vector<Tensor> &p) {
    return layerNorm(p[0], p[1], p[2], 1e-5);
  });
  ASSERT_TRUE(device);
  compare(*device, parameters, "torch.nn.functional.layer_norm(x, [5], w, b, 1e-5)");
}

void compareAttention(int64_t time, int64_t depth) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<int64_t> shape{2, 2, time, depth};
  std::vector<Parameter> parameters{{"q", shape, 0.2}, {"k", shape, 1.7}, {"v", shape, 3.1}};
  auto device = runOnReference(context, module, parameters, [](Builder &, std::vector<Tensor> &p) {
    return causalAttention(p[0], p[1], p[2]);
  });
  ASSERT_TRUE(device);
  compare(*device, parameters,
          absl::StrCat("torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(", depth,
                       ")).masked_fill(torch.ones(", time, ", ", time,
                       ", dtype=torch.bool).tril().logical_not(), float('-inf')), dim=-1) @ v"));
}

TEST(TransformerTest, CausalAttentionOfOnePositionMatchesPyTorch) { compareAttention(1, 3); }
TEST(TransformerTest, CausalAttentionOfFivePositionsMatchesPyTorch) { compareAttention(5, 3); }
TEST(TransformerTest, CausalAttentionOfEvenDepthMatchesPyTorch) { compareAttention(4, 8); }

TEST(TransformerTest, SequenceCrossEntropyMatchesPyTorch) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<Parameter> parameters{{"logits", {2, 3, 7}, 0.4}};
  std::vector<int32_t> targets{0, 6, 3, 2, 5, 1};
  std::map<std::string, HostTensor, std::less<>> inputs;
  inputs["targets"] = HostTensor::i32({2, 3}, targets);
  auto device = runOnReference(
      context, module, parameters,
      [](Builder &b, std::vector<Tensor> &p) {
        return sequenceCrossEntropy(p[0], b.input("targets", {2, 3}, DType::kI32));
      },
      inputs);
  ASSERT_TRUE(device);
  compare(*device, parameters,
          "torch.nn.functional.cross_entropy(logits.reshape(6, 7), "
          "torch.tensor([0, 6, 3, 2, 5, 1]))",
          /*scalar=*/true);
}

TEST(TransformerTest, BroadcastMatmulMatchesPyTorch) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<Parameter> parameters{
      {"a", {2, 3, 4}, 0.3}, {"w", {4, 5}, 2.2}, {"c", {2, 1, 3, 4}, 1.1}, {"d", {3, 4, 2}, 0.8}};
  auto device = runOnReference(context, module, parameters, [](Builder &, std::vector<Tensor> &p) {
    Tensor aw = matmul(p[0], p[1]); // [2, 3, 5]
    Tensor cd = matmul(p[2], p[3]); // [2, 3, 3, 2]
    return add(reduceSum(aw, {2}), reduceSum(cd, {2, 3}));
  });
  ASSERT_TRUE(device);
  compare(*device, parameters, "(a @ w).sum(2) + (c @ d).sum((2, 3))");
}

} // namespace
} // namespace kiln
