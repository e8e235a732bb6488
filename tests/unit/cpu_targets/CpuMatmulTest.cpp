//===- CpuMatmulTest.cpp - Matmul kernel functions on the CPU -------------===//
//
// Three matmul kernel functions (plain, transposed rhs, transposed lhs) are built with
// buildCpuMatmulKernel into one module, linked into one x86-64-v3 image with three entries
// and run in process: each result is bitwise the host's fmaf loop over k in ascending order
// (the documented summation order), within float rounding of a double-precision product, and
// identical for every split of its row tiles. A matmul with an epilogue is refused.
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

// M = 37 rows, K = 29, N = 21 columns: two 8-column vectors and a scalar tail of 5.
constexpr int64_t kRows = 37, kDepth = 29, kColumns = 21;

constexpr const char *kMatmuls = R"mlir(
func.func private @plain(%a: tensor<37x29xf32>, %b: tensor<29x21xf32>) -> tensor<37x21xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 1>} {
  %y = graph.matmul %a, %b : tensor<37x29xf32>, tensor<29x21xf32> -> tensor<37x21xf32>
  return %y : tensor<37x21xf32>
}
func.func private @rhs_transposed(%a: tensor<37x29xf32>, %b: tensor<21x29xf32>) -> tensor<37x21xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 1>} {
  %y = graph.matmul %a, %b transpose_rhs : tensor<37x29xf32>, tensor<21x29xf32> -> tensor<37x21xf32>
  return %y : tensor<37x21xf32>
}
func.func private @lhs_transposed(%a: tensor<29x37xf32>, %b: tensor<29x21xf32>) -> tensor<37x21xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 1>} {
  %y = graph.matmul %a, %b transpose_lhs : tensor<29x37xf32>, tensor<29x21xf32> -> tensor<37x21xf32>
  return %y : tensor<37x21xf32>
}
)mlir";

constexpr const char *kWithEpilogue = R"mlir(
func.func private @fc_relu(%a: tensor<4x3xf32>, %b: tensor<3x2xf32>) -> tensor<4x2xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 2>} {
  %y = graph.matmul %a, %b : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  %r = graph.relu %y : tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}
)mlir";

struct Layout {
  bool transposeLhs, transposeRhs;
};

float lhsAt(const std::vector<float> &a, Layout layout, int64_t i, int64_t k) {
  return layout.transposeLhs ? a[k * kRows + i] : a[i * kDepth + k];
}
float rhsAt(const std::vector<float> &b, Layout layout, int64_t k, int64_t j) {
  return layout.transposeRhs ? b[j * kDepth + k] : b[k * kColumns + j];
}

class CpuMatmulTest : public ::testing::Test {
protected:
  CpuMatmulTest() : context(cpuTestRegistry()) {
    kernels = ModuleOp::create(UnknownLoc::get(&context));
  }
  MLIRContext context;
  OwningOpRef<ModuleOp> graphModule, kernels;
};

TEST_F(CpuMatmulTest, ThreeLayoutsRunOnX86_64V3) {
  graphModule = parseModule(context, kMatmuls);
  ASSERT_TRUE(graphModule);
  for (func::FuncOp function : graphModule->getOps<func::FuncOp>()) {
    FailureOr<CpuKernelTiling> tiling = buildCpuMatmulKernel(function, *kernels);
    ASSERT_TRUE(succeeded(tiling));
    EXPECT_EQ(tiling->tileCount, static_cast<uint32_t>(kRows));
    EXPECT_EQ(tiling->elementsPerTile, kColumns);
  }
  FailureOr<CpuImage> image = compileCpuImage(*kernels, CpuIsa::X86_64_V3);
  ASSERT_TRUE(succeeded(image));
  ASSERT_EQ(image->entries.size(), 3u);
  std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", image->bytes);
  ASSERT_TRUE(relocations);
  EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos);
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
  ASSERT_TRUE(disassembly);
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(vfmadd\d+ps\s+.*%ymm)")));

  ExecutableImage executable(image->bytes);
  ASSERT_TRUE(executable.valid());
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> a(kRows * kDepth), b(kDepth * kColumns);
  for (float &value : a)
    value = uniform(random);
  for (float &value : b)
    value = uniform(random);

  const Layout layouts[] = {{false, false}, {false, true}, {true, false}};
  for (auto [entry, layout] : llvm::zip(image->entries, layouts)) {
    SCOPED_TRACE(entry.kernel);
    ExecutableImage::Kernel kernel = executable.entry(entry.offset);
    ASSERT_NE(kernel, nullptr);
    auto run = [&](std::initializer_list<std::pair<uint32_t, uint32_t>> splits) {
      std::vector<float> y(kRows * kColumns, std::nanf(""));
      void *bindings[] = {y.data(), a.data(), b.data()};
      for (auto [begin, end] : splits)
        kernel(bindings, begin, end, /*scratch=*/nullptr);
      return y;
    };
    std::vector<float> y = run({{0, kRows}});
    int64_t mismatches = 0;
    for (int64_t i = 0; i < kRows; ++i)
      for (int64_t j = 0; j < kColumns; ++j) {
        float fused = 0.0f;
        double exact = 0.0, magnitude = 0.0;
        for (int64_t k = 0; k < kDepth; ++k) {
          float lhs = lhsAt(a, layout, i, k), rhs = rhsAt(b, layout, k, j);
          fused = std::fmaf(lhs, rhs, fused);
          exact += static_cast<double>(lhs) * rhs;
          magnitude += std::abs(static_cast<double>(lhs) * rhs);
        }
        float got = y[i * kColumns + j];
        // K roundings of at most 2^-24 of the running magnitude each.
        bool close = std::abs(got - exact) <= 1e-6 + kDepth * 0x1p-24 * magnitude;
        if ((std::memcmp(&got, &fused, sizeof(float)) != 0 || !close) && mismatches++ < 5)
          ADD_FAILURE() << "y[" << i << "][" << j << "] = " << got << ", fmaf loop " << fused
                        << ", exact " << exact;
      }
    EXPECT_EQ(mismatches, 0);
    for (auto splits : {std::initializer_list<std::pair<uint32_t, uint32_t>>{{0, 10}, {10, 37}},
                        {{36, 37}, {0, 36}},
                        {{0, 1}, {1, 1}, {1, 20}, {20, 40}}}) {
      std::vector<float> split = run(splits);
      EXPECT_EQ(std::memcmp(split.data(), y.data(), y.size() * sizeof(float)), 0);
    }
  }
}

TEST_F(CpuMatmulTest, PlainMatmulUsesNeonFma) {
  graphModule = parseModule(context, kMatmuls);
  ASSERT_TRUE(graphModule);
  ASSERT_TRUE(
      succeeded(buildCpuMatmulKernel(*graphModule->getOps<func::FuncOp>().begin(), *kernels)));
  FailureOr<CpuImage> image = compileCpuImage(*kernels, CpuIsa::AArch64);
  ASSERT_TRUE(succeeded(image));
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
  ASSERT_TRUE(disassembly);
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(fmla\s+v\d+\.4s)")));
}

TEST_F(CpuMatmulTest, EpilogueIsRefused) {
  DiagnosticLog log(context);
  graphModule = parseModule(context, kWithEpilogue);
  ASSERT_TRUE(graphModule);
  EXPECT_TRUE(failed(buildCpuMatmulKernel(*graphModule->getOps<func::FuncOp>().begin(), *kernels)));
  EXPECT_NE(log.text().find("CPU matmul kernels hold one graph.matmul whose result they return "
                            "(no epilogue)"),
            std::string::npos)
      << log.text();
  EXPECT_TRUE(kernels->getBody()->empty());
}

} // namespace
