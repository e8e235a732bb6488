//===- CpuMatmulTest.cpp - Matmul kernel functions on the CPU -------------===//
//
// Matmul kernel functions in all four layouts (plain, lhs^T, rhs^T, both) with an epilogue
// (a bias added through a broadcast, then relu; both results returned) are emitted with
// kiln::kernels::emitCpuKernel into one module, linked into one x86-64-v3 image and run in
// process with the scratch they ask for. m = 13, n = 21, k = 7: the 6-row blocks and the
// 16-column panels both have remainders. Each result is within TESTING.md's float32
// tolerance of a double-precision reference, bitwise the host's fmaf loop over k in
// ascending order (the documented summation order) plus the bias, and identical for every
// split of its tiles. A batched matmul runs a panel of one batch element per tile.
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

constexpr int64_t kRows = 13, kColumns = 21, kDepth = 7;

constexpr const char *kMatmuls = R"mlir(
func.func private @plain(%a: tensor<13x7xf32>, %b: tensor<7x21xf32>, %c: tensor<21xf32>) -> (tensor<13x21xf32>, tensor<13x21xf32>)
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 3>} {
  %h = graph.matmul %a, %b : tensor<13x7xf32>, tensor<7x21xf32> -> tensor<13x21xf32>
  %cb = graph.broadcast %c [1] : tensor<21xf32> to tensor<13x21xf32>
  %s = graph.add %h, %cb : tensor<13x21xf32>
  %r = graph.relu %s : tensor<13x21xf32>
  return %s, %r : tensor<13x21xf32>, tensor<13x21xf32>
}
func.func private @lhs_transposed(%a: tensor<7x13xf32>, %b: tensor<7x21xf32>, %c: tensor<21xf32>) -> (tensor<13x21xf32>, tensor<13x21xf32>)
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 3>} {
  %h = graph.matmul %a, %b transpose_lhs : tensor<7x13xf32>, tensor<7x21xf32> -> tensor<13x21xf32>
  %cb = graph.broadcast %c [1] : tensor<21xf32> to tensor<13x21xf32>
  %s = graph.add %h, %cb : tensor<13x21xf32>
  %r = graph.relu %s : tensor<13x21xf32>
  return %s, %r : tensor<13x21xf32>, tensor<13x21xf32>
}
func.func private @rhs_transposed(%a: tensor<13x7xf32>, %b: tensor<21x7xf32>, %c: tensor<21xf32>) -> (tensor<13x21xf32>, tensor<13x21xf32>)
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 3>} {
  %h = graph.matmul %a, %b transpose_rhs : tensor<13x7xf32>, tensor<21x7xf32> -> tensor<13x21xf32>
  %cb = graph.broadcast %c [1] : tensor<21xf32> to tensor<13x21xf32>
  %s = graph.add %h, %cb : tensor<13x21xf32>
  %r = graph.relu %s : tensor<13x21xf32>
  return %s, %r : tensor<13x21xf32>, tensor<13x21xf32>
}
func.func private @both_transposed(%a: tensor<7x13xf32>, %b: tensor<21x7xf32>, %c: tensor<21xf32>) -> (tensor<13x21xf32>, tensor<13x21xf32>)
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["fc"], ops = 3>} {
  %h = graph.matmul %a, %b transpose_lhs transpose_rhs : tensor<7x13xf32>, tensor<21x7xf32> -> tensor<13x21xf32>
  %cb = graph.broadcast %c [1] : tensor<21xf32> to tensor<13x21xf32>
  %s = graph.add %h, %cb : tensor<13x21xf32>
  %r = graph.relu %s : tensor<13x21xf32>
  return %s, %r : tensor<13x21xf32>, tensor<13x21xf32>
}
)mlir";

constexpr const char *kBatched = R"mlir(
func.func private @batched(%a: tensor<3x13x7xf32>, %b: tensor<3x7x21xf32>) -> tensor<3x13x21xf32>
    attributes {graph.kernel = #graph.kernel<matmul, layers = ["attention"], ops = 1>} {
  %p = graph.matmul %a, %b : tensor<3x13x7xf32>, tensor<3x7x21xf32> -> tensor<3x13x21xf32>
  return %p : tensor<3x13x21xf32>
}
)mlir";

struct Layout {
  bool transposeLhs, transposeRhs;
};

float lhsAt(const float *a, Layout layout, int64_t i, int64_t k) {
  return layout.transposeLhs ? a[k * kRows + i] : a[i * kDepth + k];
}
float rhsAt(const float *b, Layout layout, int64_t k, int64_t j) {
  return layout.transposeRhs ? b[j * kDepth + k] : b[k * kColumns + j];
}

/// Checks one m x n product of `a` and `b` (+ `bias` when given): bitwise the fmaf loop
/// (plus the bias in one rounding) and near the double product.
void checkProduct(const float *got, const float *a, const float *b, const float *bias,
                  Layout layout, const std::string &what) {
  int64_t mismatches = 0;
  std::vector<float> flat(kRows * kColumns);
  std::vector<double> exact(kRows * kColumns);
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t j = 0; j < kColumns; ++j) {
      float fused = 0.0f;
      double sum = 0.0;
      for (int64_t k = 0; k < kDepth; ++k) {
        float lhs = lhsAt(a, layout, i, k), rhs = rhsAt(b, layout, k, j);
        fused = std::fmaf(lhs, rhs, fused);
        sum += static_cast<double>(lhs) * rhs;
      }
      if (bias)
        fused += bias[j], sum += bias[j];
      float value = got[i * kColumns + j];
      flat[i * kColumns + j] = value;
      exact[i * kColumns + j] = sum;
      if (std::memcmp(&value, &fused, sizeof(float)) != 0 && mismatches++ < 5)
        ADD_FAILURE() << what << "[" << i << "][" << j << "] = " << value << ", fmaf loop " << fused
                      << ", exact " << sum;
    }
  EXPECT_EQ(mismatches, 0) << what;
  expectNear(flat, exact, what);
}

class CpuMatmulTest : public CpuKernelTest {};

TEST_F(CpuMatmulTest, FourLayoutsWithEpilogueRunOnX86_64V3) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kMatmuls);
  ASSERT_TRUE(succeeded(infos));
  ASSERT_EQ(infos->size(), 4u);
  for (const CpuKernelInfo &info : *infos) {
    EXPECT_EQ(info.tileCount, 2u); // 16-column panels: 16 + 5 columns
    EXPECT_GT(info.scratchBytes, 0u);
  }
  ASSERT_TRUE(link());
  ASSERT_EQ(image->entries.size(), 4u);
  std::optional<std::string> relocations = runLlvmTool("llvm-readelf", "-r", image->bytes);
  ASSERT_TRUE(relocations);
  EXPECT_NE(relocations->find("There are no relocations in this file."), std::string::npos);
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", image->bytes);
  ASSERT_TRUE(disassembly);
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(vfmadd\d+ps\s+.*%ymm)")));

  std::vector<float> a = randomFloats(kRows * kDepth, 7), b = randomFloats(kDepth * kColumns, 8),
                     bias = randomFloats(kColumns, 9);
  const Layout layouts[] = {{false, false}, {true, false}, {false, true}, {true, true}};
  for (size_t index = 0; index < 4; ++index) {
    SCOPED_TRACE(image->entries[index].kernel);
    ExecutableImage::Kernel kernel = entry(index);
    ASSERT_NE(kernel, nullptr);
    std::vector<std::vector<float>> results =
        runEverySplit(kernel, (*infos)[index], {kRows * kColumns, kRows * kColumns},
                      {a.data(), b.data(), bias.data()});
    checkProduct(results[0].data(), a.data(), b.data(), bias.data(), layouts[index], "sum");
    for (size_t e = 0; e < results[1].size(); ++e) {
      float relu = results[0][e] > 0.0f ? results[0][e] : 0.0f;
      if (std::memcmp(&results[1][e], &relu, sizeof(float)) != 0) {
        ADD_FAILURE() << "relu[" << e << "] = " << results[1][e] << " for sum " << results[0][e];
        break;
      }
    }
  }
}

TEST_F(CpuMatmulTest, BatchedMatmulRunsAPanelOfOneElementPerTile) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kBatched);
  ASSERT_TRUE(succeeded(infos));
  EXPECT_EQ(infos->front().tileCount, 6u); // 3 batch elements x 2 panels
  ASSERT_TRUE(link());
  std::vector<float> a = randomFloats(3 * kRows * kDepth, 17),
                     b = randomFloats(3 * kDepth * kColumns, 18);
  std::vector<float> p =
      runEverySplit(entry(0), infos->front(), {3 * kRows * kColumns}, {a.data(), b.data()}).front();
  for (int64_t batch = 0; batch < 3; ++batch)
    checkProduct(p.data() + batch * kRows * kColumns, a.data() + batch * kRows * kDepth,
                 b.data() + batch * kDepth * kColumns, nullptr, {false, false},
                 "batch " + std::to_string(batch));
}

TEST_F(CpuMatmulTest, PlainMatmulUsesNeonFma) {
  ASSERT_TRUE(succeeded(emit(kBatched)));
  FailureOr<CpuImage> compiled = compileCpuImage(*kernels, CpuIsa::AArch64);
  ASSERT_TRUE(succeeded(compiled));
  std::optional<std::string> disassembly = runLlvmTool("llvm-objdump", "-d", compiled->bytes);
  ASSERT_TRUE(disassembly);
  EXPECT_TRUE(std::regex_search(*disassembly, std::regex(R"(fmla\s+v\d+\.4s)")));
}

} // namespace
