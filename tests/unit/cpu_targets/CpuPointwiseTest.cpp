//===- CpuPointwiseTest.cpp - Pointwise kernel functions on the CPU -------===//
//
// y = tanh(x) * w + b, a pointwise kernel function as kiln-fuse forms it, is built with
// buildCpuPointwiseKernel, linked for every ISA and executed from its x86-64-v3 image in this
// process: against a double-precision reference, and bitwise identical for every split of its
// tiles and between the vector loop and the scalar tail. Kernels the CPU cannot compute yet
// (a broadcast view) are refused.
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

namespace {

/// 10005 elements: three tiles of 4096 (the last one partial) and a scalar tail of 5.
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

constexpr const char *kBroadcast = R"mlir(
func.func private @bias(%x: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["fc"], ops = 1>} {
  %bb = graph.broadcast %b [1] : tensor<3xf32> to tensor<4x3xf32>
  %s = graph.add %x, %bb : tensor<4x3xf32>
  return %s : tensor<4x3xf32>
}
)mlir";

constexpr const char *kTranspose = R"mlir(
func.func private @flip(%x: tensor<3x3xf32>) -> tensor<3x3xf32>
    attributes {graph.kernel = #graph.kernel<pointwise, layers = ["fc"], ops = 1>} {
  %t = graph.transpose %x [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
  %y = graph.neg %t : tensor<3x3xf32>
  return %y : tensor<3x3xf32>
}
)mlir";

class CpuPointwiseTest : public ::testing::Test {
protected:
  CpuPointwiseTest() : context(cpuTestRegistry()) {
    kernels = ModuleOp::create(UnknownLoc::get(&context));
  }

  /// Parses `source` and writes its kernel function's CPU form into `kernels`.
  FailureOr<CpuKernelTiling> build(const char *source) {
    graphModule = parseModule(context, source);
    if (!graphModule)
      return failure();
    auto functions = graphModule->getOps<func::FuncOp>();
    if (functions.empty())
      return failure();
    return buildCpuPointwiseKernel(*functions.begin(), *kernels);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> graphModule, kernels;
};

/// Runs the kernel over `splits` (consecutive tile ranges covering [0, tiles)) on fresh
/// copies of the inputs; returns y.
std::vector<float> run(ExecutableImage::Kernel kernel, const std::vector<float> &x,
                       const std::vector<float> &w, const std::vector<float> &b,
                       std::initializer_list<std::pair<uint32_t, uint32_t>> splits) {
  std::vector<float> y(x.size(), std::nanf(""));
  void *bindings[] = {y.data(), const_cast<float *>(x.data()), const_cast<float *>(w.data()),
                      const_cast<float *>(b.data())};
  for (auto [begin, end] : splits)
    kernel(bindings, begin, end, /*scratch=*/nullptr);
  return y;
}

TEST_F(CpuPointwiseTest, TanhAffineRunsOnX86_64V3) {
  FailureOr<CpuKernelTiling> tiling = build(kTanhAffine);
  ASSERT_TRUE(succeeded(tiling));
  EXPECT_EQ(tiling->name, "layer_tanh_mul_add");
  EXPECT_EQ(tiling->tileCount, 3u);
  EXPECT_EQ(tiling->elementsPerTile, kCpuPointwiseTileElements);
  FailureOr<CpuImage> image = compileCpuImage(*kernels, CpuIsa::X86_64_V3);
  ASSERT_TRUE(succeeded(image));

  std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", image->bytes);
  ASSERT_TRUE(relocations);
  EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos);
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
  ASSERT_TRUE(disassembly);
  // The tanh polynomial's fma on 8 lanes, and the scalar tail's.
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(vfmadd\d+ps\s+%ymm)")));
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(vfmadd\d+ss\s+%xmm)")));
  EXPECT_EQ(disassembly->find("call"), std::string::npos) << *disassembly;

  std::mt19937 random(12);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> x(kElements), w(kElements), b(kElements);
  for (int64_t i = 0; i < kElements; ++i) {
    x[i] = uniform(random) * (i % 7 == 0 ? 6.0f : 1.0f); // some inputs where tanh saturates
    w[i] = uniform(random);
    b[i] = uniform(random);
  }
  // The last element (in the scalar tail) repeats the first (in the vector loop).
  x.back() = x[0], w.back() = w[0], b.back() = b[0];

  ExecutableImage executable(image->bytes);
  ASSERT_TRUE(executable.valid());
  ExecutableImage::Kernel kernel = executable.entry(image->entries[0].offset);
  ASSERT_NE(kernel, nullptr);
  std::vector<float> y = run(kernel, x, w, b, {{0, 3}});

  // MLIR's tanh approximation is within a few ulp of tanh; 2e-6 absolute plus 1e-5
  // relative (against |tanh(x) * w| + |b|) leaves room for it and two roundings.
  int64_t mismatches = 0;
  for (int64_t i = 0; i < kElements; ++i) {
    double product = std::tanh(static_cast<double>(x[i])) * w[i];
    double expected = product + b[i];
    double tolerance = 2e-6 + 1e-5 * (std::abs(product) + std::abs(b[i]));
    if (!(std::abs(y[i] - expected) <= tolerance) && mismatches++ < 5)
      ADD_FAILURE() << "y[" << i << "] = " << y[i] << ", expected " << expected << " (x = " << x[i]
                    << ")";
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(std::memcmp(&y.back(), &y[0], sizeof(float)), 0)
      << "scalar tail " << y.back() << " vs vector lane " << y[0];

  for (auto splits : {std::initializer_list<std::pair<uint32_t, uint32_t>>{{0, 1}, {1, 3}},
                      {{0, 2}, {2, 3}},
                      {{2, 3}, {0, 1}, {1, 2}},
                      {{0, 1}, {1, 1}, {1, 2}, {2, 3}, {3, 3}}}) {
    std::vector<float> split = run(kernel, x, w, b, splits);
    EXPECT_EQ(std::memcmp(split.data(), y.data(), y.size() * sizeof(float)), 0);
  }
  // An empty range and a range beyond the last tile store nothing.
  std::vector<float> untouched = run(kernel, x, w, b, {{1, 1}, {3, 7}});
  EXPECT_TRUE(
      std::all_of(untouched.begin(), untouched.end(), [](float v) { return std::isnan(v); }));
}

TEST_F(CpuPointwiseTest, TanhAffineCompilesForAvx512AndNeon) {
  ASSERT_TRUE(succeeded(build(kTanhAffine)));
  for (auto [isa, fma] : {std::pair{CpuIsa::X86_64_V4, R"(vfmadd\d+ps\s+%ymm)"},
                          std::pair{CpuIsa::AArch64, R"(fmla\s+v\d+\.4s)"}}) {
    SCOPED_TRACE(cpuIsaName(isa).str());
    FailureOr<CpuImage> image = compileCpuImage(*kernels, isa);
    ASSERT_TRUE(succeeded(image));
    std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", image->bytes);
    ASSERT_TRUE(relocations);
    EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos);
    std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
    ASSERT_TRUE(disassembly);
    EXPECT_TRUE(std::regex_search(*disassembly, std::regex(fma))) << *disassembly;
  }
}

TEST_F(CpuPointwiseTest, ViewsAreRefused) {
  DiagnosticLog log(context);
  EXPECT_TRUE(failed(build(kBroadcast)));
  EXPECT_NE(log.text().find("argument 1 has type 'tensor<3xf32>'; the CPU pointwise kernel "
                            "@bias needs f32 tensors of one static shape"),
            std::string::npos)
      << log.text();
  // Same shapes, but a transpose reads another element than its own.
  EXPECT_TRUE(failed(build(kTranspose)));
  EXPECT_NE(log.text().find("cannot be compiled for the CPU yet: pointwise CPU kernels support "
                            "elementwise ops only"),
            std::string::npos)
      << log.text();
  EXPECT_TRUE(kernels->getBody()->empty());
}

} // namespace
