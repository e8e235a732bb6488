//===- CpuReductionTest.cpp - Reduction, row and mask kernels on the CPU ---===//
//
// Reduction kernels (a column sum over axis 0 of a 37 x 19 tensor, one output per tile, and
// a mean over all of it), row kernels (softmax and log_softmax over the last axis of 5 x 13,
// one row per tile) and the mask conversions (pack then unpack, a round trip) are emitted
// with kiln::kernels' CPU emitters and executed from their x86-64-v3 image in this process:
// against a double-precision reference within TESTING.md's float32 tolerance, and bitwise
// identical for every split of their tiles.
//
//===----------------------------------------------------------------------===//
#include "CpuTestSupport.h"

#include "mlir/IR/BuiltinOps.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;
using namespace kiln::targets;
using namespace kiln::targets::testing;
using kiln::kernels::CpuKernelInfo;

namespace {

constexpr const char *kReductions = R"mlir(
func.func private @column_sum(%x: tensor<37x19xf32>) -> tensor<19xf32>
    attributes {graph.kernel = #graph.kernel<reduction, layers = ["loss"], ops = 1>} {
  %s = graph.reduce_sum %x [0] : tensor<37x19xf32> -> tensor<19xf32>
  return %s : tensor<19xf32>
}
func.func private @mean_all(%x: tensor<37x19xf32>) -> tensor<f32>
    attributes {graph.kernel = #graph.kernel<reduction, layers = ["loss"], ops = 1>} {
  %m = graph.reduce_mean %x [0, 1] : tensor<37x19xf32> -> tensor<f32>
  return %m : tensor<f32>
}
)mlir";

constexpr const char *kRows = R"mlir(
func.func private @softmax(%x: tensor<5x13xf32>) -> tensor<5x13xf32>
    attributes {graph.kernel = #graph.kernel<row, layers = ["head"], ops = 1>} {
  %p = graph.softmax %x axis = 1 : tensor<5x13xf32>
  return %p : tensor<5x13xf32>
}
func.func private @log_softmax(%x: tensor<5x13xf32>) -> tensor<5x13xf32>
    attributes {graph.kernel = #graph.kernel<row, layers = ["head"], ops = 1>} {
  %l = graph.log_softmax %x axis = 1 : tensor<5x13xf32>
  return %l : tensor<5x13xf32>
}
)mlir";

class CpuReductionTest : public CpuKernelTest {};

TEST_F(CpuReductionTest, ColumnSumAndMeanRunOnX86_64V3) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kReductions);
  ASSERT_TRUE(succeeded(infos));
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_EQ((*infos)[0].tileCount, 19u); // one output per tile
  EXPECT_EQ((*infos)[1].tileCount, 1u);
  ASSERT_TRUE(link());
  constexpr int64_t rows = 37, columns = 19;
  std::vector<float> x = randomFloats(rows * columns, 41, 3.0f);

  std::vector<float> sums = runEverySplit(entry(0), (*infos)[0], {columns}, {x.data()}).front();
  std::vector<double> expected(columns, 0.0);
  double total = 0.0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < columns; ++j) {
      expected[j] += x[i * columns + j];
      total += x[i * columns + j];
    }
  expectNear(sums, expected, "column_sum");

  std::vector<float> mean = runEverySplit(entry(1), (*infos)[1], {1}, {x.data()}).front();
  expectNear(mean, {total / (rows * columns)}, "mean_all");
}

TEST_F(CpuReductionTest, SoftmaxAndLogSoftmaxRowsRunOnX86_64V3) {
  FailureOr<std::vector<CpuKernelInfo>> infos = emit(kRows);
  ASSERT_TRUE(succeeded(infos));
  ASSERT_EQ(infos->size(), 2u);
  constexpr int64_t rows = 5, columns = 13;
  for (const CpuKernelInfo &info : *infos)
    EXPECT_EQ(info.tileCount, static_cast<uint32_t>(rows)); // one row per tile
  ASSERT_TRUE(link());
  std::vector<float> x = randomFloats(rows * columns, 51, 4.0f);
  x[3] = 60.0f; // a large logit: the row maximum must be subtracted first

  std::vector<double> softmax(rows * columns), logSoftmax(rows * columns);
  for (int64_t i = 0; i < rows; ++i) {
    double maximum = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < columns; ++j)
      maximum = std::max(maximum, static_cast<double>(x[i * columns + j]));
    for (int64_t j = 0; j < columns; ++j)
      sum += std::exp(x[i * columns + j] - maximum);
    for (int64_t j = 0; j < columns; ++j) {
      double shifted = x[i * columns + j] - maximum;
      softmax[i * columns + j] = std::exp(shifted) / sum;
      logSoftmax[i * columns + j] = shifted - std::log(sum);
    }
  }
  expectNear(runEverySplit(entry(0), (*infos)[0], {rows * columns}, {x.data()}).front(), softmax,
             "softmax");
  expectNear(runEverySplit(entry(1), (*infos)[1], {rows * columns}, {x.data()}).front(), logSoftmax,
             "log_softmax");
}

TEST_F(CpuReductionTest, MaskPackAndUnpackRoundTrip) {
  // More elements than one tile holds, and not a multiple of 4.
  constexpr int64_t count = 70001, packedWords = (count + 3) / 4;
  auto config = kiln::kernels::TargetConfig::cpuTarget();
  FailureOr<CpuKernelInfo> pack = kiln::kernels::emitCpuMaskConversion(
      *kernels, UnknownLoc::get(&context), "mask_pack", count, /*pack=*/true, config);
  FailureOr<CpuKernelInfo> unpack = kiln::kernels::emitCpuMaskConversion(
      *kernels, UnknownLoc::get(&context), "mask_unpack", count, /*pack=*/false, config);
  ASSERT_TRUE(succeeded(pack));
  ASSERT_TRUE(succeeded(unpack));
  EXPECT_GT(pack->tileCount, 1u);
  EXPECT_GT(unpack->tileCount, 1u);
  ASSERT_TRUE(link());

  std::mt19937 random(61);
  std::vector<uint32_t> words(count);
  for (uint32_t &word : words)
    word = random() % 2;
  std::vector<float> packed =
      runEverySplit(entry(0), *pack, {static_cast<size_t>(packedWords)}, {words.data()}).front();
  std::vector<uint8_t> bytes(packedWords * 4);
  std::memcpy(bytes.data(), packed.data(), bytes.size());
  int64_t mismatches = 0;
  for (int64_t i = 0; i < count; ++i)
    if (bytes[i] != words[i] && mismatches++ < 5)
      ADD_FAILURE() << "byte " << i << " = " << int(bytes[i]) << ", word " << words[i];
  EXPECT_EQ(mismatches, 0);

  std::vector<float> unpacked =
      runEverySplit(entry(1), *unpack, {static_cast<size_t>(count)}, {packed.data()}).front();
  EXPECT_EQ(std::memcmp(unpacked.data(), words.data(), count * sizeof(uint32_t)), 0);
}

} // namespace
