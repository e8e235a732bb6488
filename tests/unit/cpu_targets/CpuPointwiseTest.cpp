//===- CpuPointwiseTest.cpp - Pointwise and multi-tensor kernels on the CPU -===//
//
// Kernel functions as kiln-fuse forms them are emitted with kiln::kernels::emitCpuKernel,
// linked and executed from their x86-64-v3 image in this process against a double-precision
// reference (TESTING.md's float32 tolerance), bitwise identical for every split of their
// tiles: y = tanh(x) * w + b (also compiled for x86-64-v4 and aarch64 and checked with
// llvm-objdump), a bias added through a broadcast view, a transpose view, and a multi-tensor
// kernel with two segments of different shapes.
//
//===----------------------------------------------------------------------===//
#include "CpuTestSupport.h"

#include "mlir/IR/BuiltinOps.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <regex>

using namespace mlir;
using namespace kiln::targets;
using namespace kiln::targets::testing;
using kiln::kernels::CpuKernelInfo;

namespace {

/// Not a multiple of the 8 lanes, so the scalar tail runs too.
constexpr int64_t kElements = 10005;

constexpr const char *kTanhAffine = R"mlir(
func.func private @layer_tanh_mul_add(%x: tensor<10005xf32>, %w: tensor<10005xf32>, %b: tensor<10005xf32>) -> tensor<10005xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["layer"], ops = 3>} {
  %t = graph.tanh %x : tensor<10005xf32>
  %m = graph.mul %t, %w : tensor<10005xf32>
  %y = graph.add %m, %b : tensor<10005xf32>
  return %y : tensor<10005xf32>
}
)mlir";

// 37 x 19 (neither a multiple of 8), a bias along the columns then relu; and the transpose of
// a 19 x 37 tensor, negated.
constexpr const char *kViews = R"mlir(
func.func private @bias_relu(%x: tensor<37x19xf32>, %b: tensor<19xf32>) -> tensor<37x19xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["fc"], ops = 2>} {
  %bb = graph.broadcast %b [1] : tensor<19xf32> to tensor<37x19xf32>
  %s = graph.add %x, %bb : tensor<37x19xf32>
  %r = graph.relu %s : tensor<37x19xf32>
  return %r : tensor<37x19xf32>
}
func.func private @flip(%x: tensor<19x37xf32>) -> tensor<37x19xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["fc"], ops = 2>} {
  %t = graph.transpose %x [1, 0] : tensor<19x37xf32> -> tensor<37x19xf32>
  %y = graph.neg %t : tensor<37x19xf32>
  return %y : tensor<37x19xf32>
}
)mlir";

constexpr const char *kMultiTensor = R"mlir(
func.func private @update(%w: tensor<1000xf32>, %g: tensor<1000xf32>, %v: tensor<7x3xf32>, %h: tensor<7x3xf32>) -> (tensor<1000xf32>, tensor<7x3xf32>)
    attributes {graph.kernel = #graph.kernel<multi_tensor, layers = ["optimizer"], ops = 4>} {
  %lr = graph.constant dense<0.5> : tensor<1000xf32>
  %step = graph.mul %g, %lr : tensor<1000xf32>
  %nw = graph.sub %w, %step : tensor<1000xf32>
  %lr2 = graph.constant dense<0.25> : tensor<7x3xf32>
  %step2 = graph.mul %h, %lr2 : tensor<7x3xf32>
  %nv = graph.sub %v, %step2 : tensor<7x3xf32>
  return %nw, %nv : tensor<1000xf32>, tensor<7x3xf32>
}
)mlir";

class CpuPointwiseTest : public CpuKernelTest {};

TEST_F(CpuPointwiseTest, TanhAffineRunsOnX86_64V3) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kTanhAffine);
  ASSERT_TRUE(succeeded(infos));
  ASSERT_EQ(infos->size(), 1u);
  CpuKernelInfo info = infos->front();
  EXPECT_GT(info.tileCount, 1u);
  EXPECT_EQ(info.scratchBytes, 0u);
  ASSERT_TRUE(link());

  std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", image->bytes);
  ASSERT_TRUE(relocations);
  EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos);
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
  ASSERT_TRUE(disassembly);
  // The tanh polynomial's fma on 8 lanes.
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(vfmadd\d+ps\s+%ymm)")));
  EXPECT_EQ(disassembly->find("call"), std::string::npos) << *disassembly;

  std::vector<float> x = randomFloats(kElements, 12), w = randomFloats(kElements, 13),
                     b = randomFloats(kElements, 14);
  for (int64_t i = 0; i < kElements; i += 7)
    x[i] *= 6.0f; // some inputs where tanh saturates
  // The last element (in the scalar tail) repeats the first (in the vector loop).
  x.back() = x[0], w.back() = w[0], b.back() = b[0];

  std::vector<float> y =
      runEverySplit(entry(0), info, {kElements}, {x.data(), w.data(), b.data()}).front();
  std::vector<double> expected(kElements);
  for (int64_t i = 0; i < kElements; ++i)
    expected[i] = std::tanh(static_cast<double>(x[i])) * w[i] + b[i];
  expectNear(y, expected, "y");
  EXPECT_EQ(std::memcmp(&y.back(), &y[0], sizeof(float)), 0)
      << "scalar tail " << y.back() << " vs vector lane " << y[0];
  // An empty range and a range beyond the last tile store nothing.
  std::vector<float> untouched = run(entry(0), info, {kElements}, {x.data(), w.data(), b.data()},
                                     {{1, 1}, {info.tileCount, info.tileCount + 4}})
                                     .front();
  EXPECT_TRUE(
      std::all_of(untouched.begin(), untouched.end(), [](float v) { return std::isnan(v); }));
}

TEST_F(CpuPointwiseTest, TanhAffineCompilesForAvx512AndNeon) {
  ASSERT_TRUE(succeeded(emit(kTanhAffine)));
  for (auto [isa, fma] : {std::pair{CpuIsa::X86_64_V4, R"(vfmadd\d+ps\s+%ymm)"},
                          std::pair{CpuIsa::AArch64, R"(fmla\s+v\d+\.4s)"}}) {
    SCOPED_TRACE(cpuIsaName(isa).str());
    FailureOr<CpuImage> compiled = compileCpuImage(*kernels, isa);
    ASSERT_TRUE(succeeded(compiled));
    std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", compiled->bytes);
    ASSERT_TRUE(relocations);
    EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos);
    std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", compiled->bytes);
    ASSERT_TRUE(disassembly);
    EXPECT_TRUE(std::regex_search(*disassembly, std::regex(fma))) << *disassembly;
  }
}

TEST_F(CpuPointwiseTest, BroadcastAndTransposeViewsCompute) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kViews);
  ASSERT_TRUE(succeeded(infos));
  ASSERT_EQ(infos->size(), 2u);
  ASSERT_TRUE(link());
  constexpr int64_t rows = 37, columns = 19;
  std::vector<float> x = randomFloats(rows * columns, 21), bias = randomFloats(columns, 22);

  std::vector<float> relu =
      runEverySplit(entry(0), (*infos)[0], {rows * columns}, {x.data(), bias.data()}).front();
  std::vector<double> expected(rows * columns);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j)
      expected[i * columns + j] = std::max(0.0, static_cast<double>(x[i * columns + j]) + bias[j]);
  expectNear(relu, expected, "bias_relu");

  // x read as 19 x 37: y[i][j] = -x[j][i].
  std::vector<float> flipped =
      runEverySplit(entry(1), (*infos)[1], {rows * columns}, {x.data()}).front();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j)
      expected[i * columns + j] = -static_cast<double>(x[j * rows + i]);
  expectNear(flipped, expected, "flip");
}

TEST_F(CpuPointwiseTest, MultiTensorSegmentsOfDifferentShapes) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kMultiTensor);
  ASSERT_TRUE(succeeded(infos));
  ASSERT_TRUE(link());
  std::vector<float> w = randomFloats(1000, 31), g = randomFloats(1000, 32),
                     v = randomFloats(21, 33), h = randomFloats(21, 34);
  std::vector<std::vector<float>> results =
      runEverySplit(entry(0), infos->front(), {1000, 21}, {w.data(), g.data(), v.data(), h.data()});
  std::vector<double> nw(1000), nv(21);
  for (int64_t i = 0; i < 1000; ++i)
    nw[i] = static_cast<double>(w[i]) - 0.5 * g[i];
  for (int64_t i = 0; i < 21; ++i)
    nv[i] = static_cast<double>(v[i]) - 0.25 * h[i];
  expectNear(results[0], nw, "new w");
  expectNear(results[1], nv, "new v");
}

} // namespace
