//===- TrainingOpsTest.cpp - Batch norm, dropout, train/eval and losses ---===//
//
// Models built with the frontend, compiled as kiln compile does
// (kiln-extract-eval, which resolves graph.train_or_eval, then autodiff),
// run on the reference device in float64 and compared with
// PyTorch 1.13. The expected numbers come from this script, run with
// /usr/bin/python3 (torch 1.13), whose inputs the tests rebuild from the
// same formulas:
//
//   import math, torch
//   import torch.nn.functional as F
//   torch.set_default_dtype(torch.float64)
//   x = torch.tensor([math.sin(0.7 * i + 0.3) * 1.5 + 0.2 * (i % 3) for i in range(48)]
//                    ).reshape(4, 3, 2, 2).requires_grad_()
//   w = torch.tensor([1.2, 0.8, -0.5], requires_grad=True)
//   b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
//   W = torch.tensor([math.cos(0.3 * i) for i in range(48)]).reshape(4, 3, 2, 2)
//   rm, rv = torch.zeros(3), torch.ones(3)
//   y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
//   (y * W).sum().backward()                     # y, x.grad, w.grad, b.grad, rm, rv
//   ye = F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5)   # ye
//   z = torch.tensor([[-3.0, 0.0, 0.5], [2.0, -0.25, 25.0]], requires_grad=True)
//   t = torch.tensor([[0.0, 1.0, 0.25], [1.0, 0.0, 0.75]])
//   l = F.binary_cross_entropy_with_logits(z, t); l.backward()      # bce, z.grad
//   p = torch.tensor([[0.0, 1.5, -2.0], [0.3, 4.0, -0.2]], requires_grad=True)
//   q = torch.tensor([[0.5, -1.0, -2.1], [0.3, 1.0, 1.5]])
//   l = torch.nn.HuberLoss(delta=1.3)(p, q); l.backward()           # huber, p.grad
//   g = torch.tensor([[1.0, -0.5, 2.0, 0.0], [0.3, 0.2, -1.0, 3.0],
//                     [-2.0, 1.0, 0.5, 0.5]], requires_grad=True)
//   l = F.cross_entropy(g, torch.tensor([2, 3, 0]), label_smoothing=0.2); l.backward()
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/runtime/Philox.h"
#include "kiln/runtime/ReferenceDevice.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln {
namespace {

using reference::Precision;
using reference::ReferenceDevice;
using Inputs = std::map<std::string, HostTensor, std::less<>>;

/// Runs `passes` on `module`; the diagnostics on failure.
std::string run(mlir::ModuleOp module, const std::function<void(mlir::PassManager &)> &passes) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::PassManager pm(module.getContext());
  passes(pm);
  if (mlir::failed(pm.run(module)))
    return diagnostics.empty() ? "failed" : diagnostics;
  return "";
}

/// kiln-extract-eval, then autodiff (no optimizer, so the gradients stay observable).
void differentiate(mlir::PassManager &pm) {
  pm.addPass(createExtractEval());
  pm.addPass(createAutodiff());
}

/// A copy of `module` whose @step is its @eval (which the reference device runs as a step).
mlir::OwningOpRef<mlir::ModuleOp> evalAsStep(mlir::ModuleOp module) {
  mlir::OwningOpRef<mlir::ModuleOp> copy = module.clone();
  copy->lookupSymbol<mlir::func::FuncOp>("step").erase();
  copy->lookupSymbol<mlir::func::FuncOp>("eval").setName("step");
  return copy;
}

template <typename OpTy> int count(mlir::Operation *root) {
  int n = 0;
  root->walk([&](OpTy) { ++n; });
  return n;
}

std::vector<double> values(const absl::StatusOr<HostTensor> &tensor) {
  EXPECT_TRUE(tensor.ok()) << tensor.status();
  std::vector<double> out;
  if (tensor.ok())
    for (int64_t i = 0; i < tensor->numElements(); ++i)
      out.push_back(tensor->at(i));
  return out;
}

/// Every element within `relative` of the largest expected magnitude.
void expectClose(const std::vector<double> &actual, const std::vector<double> &expected,
                 double relative, const std::string &what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double scale = 0;
  for (double e : expected)
    scale = std::max(scale, std::abs(e));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], relative * scale) << what << "[" << i << "]";
}

HostTensor f64(std::vector<int64_t> shape, const std::vector<double> &v) {
  return HostTensor::f64(std::move(shape), v);
}

//===----------------------------------------------------------------------===//
// Batch norm
//===----------------------------------------------------------------------===//

const std::vector<double> kBnY = {
    0.126642018593,   1.2719654922,     1.75001334449,   0.767254097215,  0.0263008159708,
    -0.563632973373,  -1.28086876558,   -1.02292839667,  0.579015572456,  0.280787813823,
    -0.197962213439,  -0.391857669617,  0.746188368592,  -0.105043890342, -0.975922741627,
    -2.02555835724,   -1.01385151419,   -0.275952557077, 0.199343802262,  0.953649223099,
    -0.390015762321,  0.0395382043412,  0.402033363343,  0.76719579848,   -2.03083370434,
    -1.60898439419,   -0.499454957702,  0.207227470656,  0.963270328219,  1.24637664119,
    0.550905147391,   -0.0309020788216, 0.776351359701,  1.20552724839,   1.01926146292,
    0.5453709339,     0.233772055072,   1.32998346859,   1.73163249992,   0.681119230113,
    -0.0499712227588, -0.622360336088,  -1.29443105595,  -0.984947057624, 0.534020268477,
    0.235807095074,   -0.221773212087,  -0.383300263442};
const std::vector<double> kBnDx = {
    0.924264354141,  0.726479120881,   0.518752602414,  0.416388825763,  0.216351797494,
    -0.12707314556,  -0.50179883733,   -0.658005071859, 0.268181612881,  0.397208622168,
    0.518091811847,  0.549335189435,   -1.28761799963,  -0.985915026552, -0.608791073766,
    -0.159407221018, -0.208198967548,  0.165190331844,  0.458336667666,  0.766741683192,
    -0.375695601865, -0.466398435058,  -0.503477646688, -0.500702291198, 0.762034460322,
    0.413495112632,  -0.0584605630432, -0.483924739532, -0.255112277846, -0.369562770294,
    -0.637326145638, -0.819864406325,  0.352582211419,  0.235445438432,  0.183552788996,
    0.149483258064,  -0.432025904128,  -0.237675884569, 0.0357061912168, 0.45669774487,
    0.564555049553,  0.536705949207,   0.42292428839,   0.446135855052,  -0.45702234656,
    -0.306971812733, -0.105029596394,  0.0614167972553};
const std::vector<double> kBnYEval = {
    0.576473894456,  1.78620364134,    2.29113410044,  1.25311023832,  0.0108138969692,
    -0.607345422741, -1.35889754162,   -1.08861595096, 0.400831230578, 0.0896031921865,
    -0.410016402406, -0.612364107247,  1.2308598967,   0.331759329156, -0.588092639834,
    -1.69675360493,  -1.07910478276,   -0.30590086465, 0.192136168415, 0.982531521623,
    -0.610441907928, -0.162162917936,  0.216134051399, 0.597214568192, -1.7023256066,
    -1.25675396596,  -0.0848311028738, 0.6615909996,   0.992612950935, 1.28926455658,
    0.560518054428,  -0.0491258846962, 0.606769236651, 1.05465366758,  0.860268224395,
    0.365719962237,  0.689628295723,   1.84748420836,  2.271719625,    1.16213165159,
    -0.069107396616, -0.668882610879,  -1.37310872319, -1.0488173852,  0.353874501069,
    0.0426616837037, -0.434865364942,  -0.603433668479};

/// The batch-norm model, built in `context` so the module outlives the builder.
mlir::OwningOpRef<mlir::ModuleOp> batchNormModel(mlir::MLIRContext &context) {
  Builder b(context, "bn");
  Tensor x = b.parameter("x", {4, 3, 2, 2}, Init::zeros());
  Builder::NameScope scope(b, "bn");
  Tensor weight = b.parameter("weight", {3}, Init::ones());
  Tensor bias = b.parameter("bias", {3}, Init::zeros());
  Tensor y = batchNorm(x, weight, bias);
  b.output("y", y);
  Tensor w = b.state("loss_weights", {4, 3, 2, 2}, Init::zeros());
  auto built = b.build(TrainingSpec{reduceSum(mul(y, w))});
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *std::move(built) : mlir::OwningOpRef<mlir::ModuleOp>();
}

absl::Status setBatchNormInputs(ReferenceDevice &device) {
  std::vector<double> x, w;
  for (int i = 0; i < 48; ++i) {
    x.push_back(std::sin(0.7 * i + 0.3) * 1.5 + 0.2 * (i % 3));
    w.push_back(std::cos(0.3 * i));
  }
  for (auto [name, value] :
       std::vector<std::pair<std::string, HostTensor>>{{"x", f64({4, 3, 2, 2}, x)},
                                                       {"bn.loss_weights", f64({4, 3, 2, 2}, w)},
                                                       {"bn.weight", f64({3}, {1.2, 0.8, -0.5})},
                                                       {"bn.bias", f64({3}, {0.1, -0.2, 0.3})}})
    if (absl::Status status = device.setVariable(name, value); !status.ok())
      return status;
  return absl::OkStatus();
}

TEST(BatchNorm, TrainingStepMatchesPyTorchValuesGradientsAndRunningStatistics) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = batchNormModel(context);
  ASSERT_TRUE(module);
  ASSERT_EQ(run(*module, differentiate), "");
  EXPECT_EQ(count<graph::TrainOrEvalOp>(*module), 0);
  auto device = ReferenceDevice::create(*module, Precision::kFloat64);
  ASSERT_TRUE(device.ok()) << device.status();
  ASSERT_TRUE(setBatchNormInputs(**device).ok());
  ASSERT_TRUE((*device)->step({}).ok());
  expectClose(values((*device)->output("y")), kBnY, 1e-7, "y");
  expectClose(values((*device)->gradient("x")), kBnDx, 1e-6, "dx");
  expectClose(values((*device)->gradient("bn.weight")),
              {2.20099350715, -3.52672416569, 2.81873551413}, 1e-6, "dweight");
  expectClose(values((*device)->gradient("bn.bias")), {2.79492595561, 2.21751945701, -1.1878552137},
              1e-6, "dbias");
  expectClose(values((*device)->variable("bn.running_mean")),
              {0.0419578490796, -0.00369004783668, 0.0426847355668}, 1e-6, "running_mean");
  expectClose(values((*device)->variable("bn.running_var")),
              {1.02156722766, 1.01938869834, 1.01829425944}, 1e-6, "running_var");
  EXPECT_EQ(values((*device)->variable("bn.running_mean")).size(), 3u);

  // The eval program normalizes with the running statistics the step left.
  mlir::OwningOpRef<mlir::ModuleOp> eval = evalAsStep(*module);
  EXPECT_EQ(count<graph::AssignOp>(*eval), 0);
  EXPECT_EQ(count<graph::ReduceMeanOp>(*eval), 0) << "eval computes no batch statistics";
  auto evalDevice = ReferenceDevice::create(*eval, Precision::kFloat64);
  ASSERT_TRUE(evalDevice.ok()) << evalDevice.status();
  ASSERT_TRUE(setBatchNormInputs(**evalDevice).ok());
  for (const char *name : {"bn.running_mean", "bn.running_var"}) {
    absl::StatusOr<HostTensor> value = (*device)->variable(name);
    ASSERT_TRUE(value.ok());
    ASSERT_TRUE((*evalDevice)->setVariable(name, *value).ok());
  }
  ASSERT_TRUE((*evalDevice)->step({}).ok());
  expectClose(values((*evalDevice)->output("y")), kBnYEval, 1e-6, "eval y");
}

TEST(BatchNorm, Float32GradientMatchesPyTorchToAboutOneInTenThousand) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = batchNormModel(context);
  ASSERT_TRUE(module);
  ASSERT_EQ(run(*module, differentiate), "");
  auto device = ReferenceDevice::create(*module, Precision::kFloat32);
  ASSERT_TRUE(device.ok()) << device.status();
  std::vector<float> x, w;
  for (int i = 0; i < 48; ++i) {
    x.push_back(static_cast<float>(std::sin(0.7 * i + 0.3) * 1.5 + 0.2 * (i % 3)));
    w.push_back(static_cast<float>(std::cos(0.3 * i)));
  }
  ASSERT_TRUE((*device)->setVariable("x", HostTensor::f32({4, 3, 2, 2}, x)).ok());
  ASSERT_TRUE((*device)->setVariable("bn.loss_weights", HostTensor::f32({4, 3, 2, 2}, w)).ok());
  ASSERT_TRUE(
      (*device)
          ->setVariable("bn.weight", HostTensor::f32({3}, std::vector<float>{1.2f, 0.8f, -0.5f}))
          .ok());
  ASSERT_TRUE(
      (*device)
          ->setVariable("bn.bias", HostTensor::f32({3}, std::vector<float>{0.1f, -0.2f, 0.3f}))
          .ok());
  ASSERT_TRUE((*device)->step({}).ok());
  expectClose(values((*device)->gradient("x")), kBnDx, 1e-5, "dx (float32)");
}

TEST(BatchNorm, CreatesScopedStateOnceAndRejectsBadShapes) {
  Builder b("bn");
  Tensor x = b.input("x", {8, 3});
  {
    Builder::NameScope scope(b, "norm1");
    Tensor y = batchNorm(x, b.parameter("weight", {3}, Init::ones()),
                         b.parameter("bias", {3}, Init::zeros()));
    EXPECT_TRUE(y.ok()) << b.status();
  }
  auto built = b.build();
  ASSERT_TRUE(built.ok()) << built.status();
  int states = 0;
  for (auto variable : (*built)->getOps<graph::VariableOp>())
    if (!variable.getTrainable()) {
      ++states;
      EXPECT_TRUE(variable.getSymName() == "norm1.running_mean" ||
                  variable.getSymName() == "norm1.running_var")
          << variable.getSymName().str();
    }
  EXPECT_EQ(states, 2);
  EXPECT_EQ(count<graph::AssignOp>(**built), 2);

  Builder bad("bad");
  Tensor y = batchNorm(bad.input("x", {8, 3}), bad.parameter("w", {4}, Init::ones()),
                       bad.parameter("b", {3}, Init::zeros()));
  EXPECT_FALSE(y.ok());
  EXPECT_NE(bad.status().message().find("weight must be [C] = [3]"), std::string::npos)
      << bad.status();
}

TEST(BuilderState, AssignOncePerStepAndOnlyToState) {
  Builder b("state");
  Tensor counter = b.state("counter", {}, Init::zeros());
  Tensor param = b.parameter("p", {}, Init::zeros());
  b.assign(counter, add(counter, 1.0f));
  EXPECT_TRUE(b.ok()) << b.status();
  b.assign(counter, add(counter, 2.0f));
  EXPECT_NE(b.status().message().find("already assigned in this step"), std::string::npos)
      << b.status();
  Builder c("state");
  c.assign(c.parameter("p", {}, Init::zeros()), c.constant({}, 1.0f));
  EXPECT_NE(c.status().message().find("must be a Tensor that Builder::state() returned"),
            std::string::npos)
      << c.status();
  (void)param;
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

TEST(Philox, KnownAnswersOfRandom123) {
  EXPECT_EQ(philox::philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (philox::Counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                                  {0xffffffff, 0xffffffff}),
            (philox::Counter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
}

constexpr int64_t kDropoutSize = 1 << 16;

/// p (ones) -> dropout(p, rate) as output "y"; loss mean(y), plain SGD.
mlir::OwningOpRef<mlir::ModuleOp> dropoutModel(mlir::MLIRContext &context, double rate) {
  Builder b(context, "dropout", /*seed=*/7);
  Tensor p = b.parameter("p", {kDropoutSize}, Init::ones());
  Tensor y = dropout(p, rate);
  b.output("y", y);
  auto built = b.build(TrainingSpec{reduceMean(y)});
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *std::move(built) : mlir::OwningOpRef<mlir::ModuleOp>();
}

TEST(Dropout, KeepsAboutOneMinusRateScalesByItsInverseAndChangesEveryStep) {
  mlir::MLIRContext context;
  constexpr double kRate = 0.25;
  mlir::OwningOpRef<mlir::ModuleOp> module = dropoutModel(context, kRate);
  ASSERT_TRUE(module);
  ASSERT_EQ(run(*module,
                [](mlir::PassManager &pm) {
                  pm.addPass(createExtractEval());
                  addTrainingStepPipeline(pm);
                }),
            "");
  auto device = ReferenceDevice::create(*module);
  ASSERT_TRUE(device.ok()) << device.status();
  Inputs frozen = {{"learning_rate", HostTensor::scalar(0.0f)}};
  std::vector<std::vector<double>> masks;
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE((*device)->step(frozen).ok());
    std::vector<double> y = values((*device)->output("y"));
    int64_t kept = 0;
    for (double v : y) {
      ASSERT_TRUE(v == 0.0 || v == static_cast<float>(1.0 / (1.0 - kRate))) << v;
      kept += v != 0.0;
    }
    // 65536 Bernoulli(0.75) draws: the fraction's standard deviation is 0.0017.
    EXPECT_NEAR(static_cast<double>(kept) / kDropoutSize, 1.0 - kRate, 0.01) << "step " << step;
    masks.push_back(y);
  }
  EXPECT_NE(masks[0], masks[1]);
  EXPECT_NE(masks[1], masks[2]);
  EXPECT_EQ(values((*device)->variable("step_counter")), std::vector<double>{3.0});

  // Element i of step s is Philox of (i, s): check a few against runtime/common's Philox.
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{12345}, kDropoutSize - 1}) {
    philox::Counter words = philox::philox4x32_10(
        {static_cast<uint32_t>(i), 2u, 0u, graph::DropoutMaskOp::kCounterTag}, philox::keyOf(7));
    EXPECT_EQ(masks[2][i] != 0.0, words[0] >= graph::DropoutMaskOp::keepThreshold(kRate))
        << "element " << i;
  }
}

TEST(Dropout, EvalIsTheIdentityAndDrawsNothing) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = dropoutModel(context, 0.5);
  ASSERT_TRUE(module);
  ASSERT_EQ(run(*module, [](mlir::PassManager &pm) { pm.addPass(createExtractEval()); }), "");
  auto eval = module->lookupSymbol<mlir::func::FuncOp>("eval");
  ASSERT_TRUE(eval);
  EXPECT_EQ(count<graph::DropoutMaskOp>(eval), 0);
  EXPECT_EQ(count<graph::ReadOp>(eval), 1) << "only p: the step counter is not read";
  EXPECT_EQ(count<graph::TrainOrEvalOp>(*module), 0);
  EXPECT_EQ(count<graph::DropoutMaskOp>(module->lookupSymbol<mlir::func::FuncOp>("step")), 1);
  mlir::OwningOpRef<mlir::ModuleOp> asStep = evalAsStep(*module);
  auto device = ReferenceDevice::create(*asStep);
  ASSERT_TRUE(device.ok()) << device.status();
  ASSERT_TRUE((*device)->step({}).ok());
  EXPECT_EQ(values((*device)->output("y")), std::vector<double>(kDropoutSize, 1.0));
}

TEST(Dropout, RejectsRatesOutsideZeroToOne) {
  for (double rate : {-0.1, 1.0, std::nan("")}) {
    Builder b("bad");
    EXPECT_FALSE(dropout(b.input("x", {4}), rate).ok());
    EXPECT_NE(b.status().message().find("rate must be in [0, 1)"), std::string::npos) << b.status();
  }
}

TEST(TrainOrEval, UnresolvedOneReachingAutodiffIsAClearError) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module = dropoutModel(context, 0.5);
  ASSERT_TRUE(module);
  std::string error = run(*module, [](mlir::PassManager &pm) { pm.addPass(createAutodiff()); });
  EXPECT_NE(error.find("reached kiln-autodiff unresolved"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// The loss of `make(p, constant)` and its gradient in p, on the reference device in float64.
struct LossResult {
  std::vector<double> loss, gradient;
};
LossResult lossAndGradient(std::vector<int64_t> shape, std::vector<double> p,
                           const std::function<Tensor(Builder &, Tensor)> &make,
                           const Inputs &inputs = {}) {
  mlir::MLIRContext context;
  Builder b(context, "loss");
  Tensor param = b.parameter("p", shape, Init::zeros());
  auto built = b.build(TrainingSpec{make(b, param)});
  EXPECT_TRUE(built.ok()) << built.status();
  if (!built.ok())
    return {};
  mlir::OwningOpRef<mlir::ModuleOp> module = *std::move(built);
  EXPECT_EQ(run(*module, differentiate), "");
  auto device = ReferenceDevice::create(*module, Precision::kFloat64);
  EXPECT_TRUE(device.ok()) << device.status();
  if (!device.ok())
    return {};
  EXPECT_TRUE((*device)->setVariable("p", f64(shape, p)).ok());
  EXPECT_TRUE((*device)->step(inputs).ok());
  return {values((*device)->output("loss")), values((*device)->gradient("p"))};
}

TEST(Losses, BinaryCrossEntropyWithLogitsMatchesPyTorch) {
  LossResult r =
      lossAndGradient({2, 3}, {-3.0, 0.0, 0.5, 2.0, -0.25, 25.0}, [](Builder &b, Tensor z) {
        return binaryCrossEntropyWithLogits(
            z, b.constant({2, 3}, {0.0f, 1.0f, 0.25f, 1.0f, 0.0f, 0.75f}));
      });
  expectClose(r.loss, {1.42394649121}, 1e-9, "bce");
  expectClose(r.gradient,
              {0.00790431219626, -0.0833333333333, 0.0620765552003, -0.0198671536704,
               0.0729705831857, 0.0416666666644},
              1e-6, "dbce");
}

TEST(Losses, HuberMatchesPyTorch) {
  LossResult r =
      lossAndGradient({2, 3}, {0.0, 1.5, -2.0, 0.3, 4.0, -0.2}, [](Builder &b, Tensor p) {
        return huber(p, b.constant({2, 3}, {0.5f, -1.0f, -2.1f, 0.3f, 1.0f, 1.5f}), 1.3);
      });
  expectClose(r.loss, {1.15916666667}, 1e-6, "huber");
  expectClose(
      r.gradient,
      {-0.0833333333333, 0.216666666667, 0.0166666666667, 0, 0.216666666667, -0.216666666667}, 1e-6,
      "dhuber");
}

TEST(Losses, LabelSmoothingMatchesPyTorch) {
  LossResult r = lossAndGradient(
      {3, 4}, {1.0, -0.5, 2.0, 0.0, 0.3, 0.2, -1.0, 3.0, -2.0, 1.0, 0.5, 0.5},
      [](Builder &b, Tensor logits) {
        Tensor labels = b.input("labels", {3}, DType::kI32);
        return softmaxCrossEntropy(logits, labels, CrossEntropyOptions{.labelSmoothing = 0.2});
      },
      {{"labels", HostTensor::i32({3}, std::vector<int32_t>{2, 3, 0})}});
  expectClose(r.loss, {1.58798815055}, 1e-7, "smoothed cross entropy");
  expectClose(r.gradient,
              {0.0606855706478, 0.000592950433143, -0.0730681522508, 0.0117896311699,
               0.00287553658259, 0.00101585006413, -0.0113407949753, 0.00744940832859,
               -0.275999351284, 0.130640300575, 0.0726795253546, 0.0726795253546},
              1e-6, "dsmoothed");
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

/// The kernel functions kiln-fuse made, with their kinds.
std::vector<std::pair<mlir::func::FuncOp, std::string>> kernelsOf(mlir::ModuleOp module) {
  std::vector<std::pair<mlir::func::FuncOp, std::string>> kernels;
  for (auto function : module.getOps<mlir::func::FuncOp>())
    if (auto kernel = function->getAttrOfType<graph::KernelAttr>("graph.kernel"))
      kernels.emplace_back(function, kernel.getKindName());
  return kernels;
}

TEST(BatchNorm, FusesIntoTwoReductionsAndOneApplyForward) {
  mlir::MLIRContext context;
  Builder b(context, "bn");
  Tensor x = b.input("x", {8, 4, 3, 3});
  Builder::NameScope scope(b, "bn");
  Tensor y = batchNorm(x, b.parameter("weight", {4}, Init::ones()),
                       b.parameter("bias", {4}, Init::zeros()));
  auto built = b.build(TrainingSpec{reduceMean(relu(y))});
  ASSERT_TRUE(built.ok()) << built.status();
  mlir::OwningOpRef<mlir::ModuleOp> module = *std::move(built);
  ASSERT_EQ(run(*module,
                [](mlir::PassManager &pm) {
                  pm.addPass(createExtractEval());
                  addTrainingStepPipeline(pm);
                  pm.addPass(createFuse());
                }),
            "");
  // The variance's prologue (x - mean, squared) is inside its reduction, and the apply
  // (x - mean) * scale + bias is inside the kernel of its consumer (relu, the loss's mean):
  // batch norm adds no kernel that stores a normalized copy of x.
  auto kernels = kernelsOf(*module);
  bool varianceFused = false, applyFused = false;
  for (auto &[function, kind] : kernels) {
    if (kind == "reduction" && count<graph::SquareOp>(function) == 1 &&
        count<graph::ReduceMeanOp>(function) == 1)
      varianceFused = true;
    if (count<graph::ReluOp>(function) == 1 && count<graph::MulOp>(function) >= 1 &&
        count<graph::AddOp>(function) >= 1)
      applyFused = true;
  }
  EXPECT_TRUE(varianceFused);
  EXPECT_TRUE(applyFused);
  // @step: mean, variance, apply + loss, the weight and bias gradients, the running
  // statistics; @eval: the per-channel scale and shift, apply + loss.
  EXPECT_LE(kernels.size(), 8u);
}

} // namespace
} // namespace kiln
