//===- PoolingTest.cpp - Pooling, pad, slice and concat in the builder ----===//
//
// Pooling builds a reduction over graph.window of graph.pad with PyTorch's
// output shape (max pooling with first-maximum gradients); pad, slice and
// concat build their views; shape mistakes become builder errors naming the
// function or op, the option or attribute and the offending dimension.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PoolingTest, MaxPoolIsAFirstMaxReductionOverWindowsOfMinusInfinityPadding) {
  Builder b;
  Tensor x = b.input("x", {2, 3, 7, 6});
  Tensor y = maxPool2d(x, {.kernel = {3, 3}, .stride = {{2, 2}}, .padding = {1, 1}});
  ASSERT_TRUE(y.ok()) << b.status();
  // OH = (7 + 2 - 3) / 2 + 1 = 4, OW = (6 + 2 - 3) / 2 + 1 = 3.
  EXPECT_THAT(y.shape(), ElementsAre(2, 3, 4, 3));
  auto max = y.value().getDefiningOp<graph::ReduceMaxOp>();
  ASSERT_TRUE(max);
  EXPECT_TRUE(max.getFirstMaxGradient());
  EXPECT_THAT(max.getAxes(), ElementsAre(4, 5));
  auto window = max.getOperand().getDefiningOp<graph::WindowOp>();
  ASSERT_TRUE(window);
  EXPECT_THAT(window.getType().getShape(), ElementsAre(2, 3, 4, 3, 3, 3));
  auto pad = window.getOperand().getDefiningOp<graph::PadOp>();
  ASSERT_TRUE(pad);
  EXPECT_THAT(pad.getLow(), ElementsAre(0, 0, 1, 1));
  EXPECT_TRUE(pad.getValue().isInfinity() && pad.getValue().isNegative());
}

TEST(PoolingTest, StrideDefaultsToTheKernel) {
  Builder b;
  Tensor y = maxPool2d(b.input("x", {1, 2, 5, 4}), {.kernel = {2, 2}});
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(1, 2, 2, 2));
}

TEST(PoolingTest, AvgPoolModes) {
  Builder b;
  Tensor x = b.input("x", {1, 1, 5, 5});
  Tensor include = avgPool2d(x, {.kernel = {3, 3}, .stride = {{2, 2}}, .padding = {1, 1}});
  ASSERT_TRUE(include.ok()) << b.status();
  EXPECT_THAT(include.shape(), ElementsAre(1, 1, 3, 3));
  EXPECT_TRUE(include.value().getDefiningOp<graph::ReduceMeanOp>());
  Tensor exclude = avgPool2d(
      x, {.kernel = {3, 3}, .stride = {{2, 2}}, .padding = {1, 1}, .countIncludePad = false});
  ASSERT_TRUE(exclude.ok()) << b.status();
  EXPECT_TRUE(exclude.value().getDefiningOp<graph::DivOp>());
  Tensor global = globalAvgPool2d(x);
  ASSERT_TRUE(global.ok()) << b.status();
  EXPECT_THAT(global.shape(), ElementsAre(1, 1));
}

TEST(PoolingTest, PoolingNeedsRank4) {
  Builder b;
  EXPECT_FALSE(maxPool2d(b.input("x", {3, 8, 8})).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("maxPool2d: x must have rank 4 [N, C, H, W]"));
}

TEST(PoolingTest, GlobalPoolingNeedsRank4) {
  Builder b;
  EXPECT_FALSE(globalAvgPool2d(b.input("x", {3, 8})).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("globalAvgPool2d: x must have rank 4"));
}

TEST(PoolingTest, PaddingOverHalfTheKernelNamesTheAxis) {
  Builder b;
  EXPECT_FALSE(avgPool2d(b.input("x", {1, 1, 8, 8}), {.kernel = {3, 2}, .padding = {1, 2}}).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("avgPool2d: padding width (padding[1]) = 2 is more than half"));
}

TEST(PoolingTest, KernelLargerThanTheInputNamesTheDimension) {
  Builder b;
  EXPECT_FALSE(maxPool2d(b.input("x", {1, 1, 2, 8}), {.kernel = {3, 3}}).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("operand dimension 2 (windowed dimension 0) has 2 elements, fewer than "
                        "the dilated window 3"));
}

TEST(PoolingTest, ZeroStrideNamesTheOption) {
  Builder b;
  EXPECT_FALSE(maxPool2d(b.input("x", {1, 1, 4, 4}), {.stride = {{1, 0}}}).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("stride width (stride[1]) must be >= 1, got 0"));
}

TEST(PoolingTest, PadShapeAndErrors) {
  Builder b;
  Tensor y = pad(b.input("x", {2, 3}), {1, 0}, {0, 2}, 0.5f);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(3, 5));
  EXPECT_FALSE(pad(y, {1}, {0, 0}).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.pad: low has 1 entries but there are 2 operand dimensions"));
}

TEST(PoolingTest, NegativePaddingNamesTheDimension) {
  Builder b;
  EXPECT_FALSE(pad(b.input("x", {2, 3}), {0, -1}, {0, 0}).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.pad: low[1] (operand dimension 1) is -1; it must be >= 0"));
}

TEST(PoolingTest, SliceShapeAndOutOfRange) {
  Builder b;
  Tensor x = b.input("x", {4, 9});
  Tensor y = slice(x, -1, 2, 3, 3);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(4, 3));
  auto op = y.value().getDefiningOp<graph::SliceOp>();
  ASSERT_TRUE(op);
  EXPECT_THAT(op.getStart(), ElementsAre(0, 2));
  EXPECT_THAT(op.getStride(), ElementsAre(1, 3));
  EXPECT_FALSE(slice(x, 1, 2, 3, 4).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.slice: dimension 1 takes 3 elements from start 2 with stride 4, "
                        "the last at 10, but the operand has 9 there"));
}

TEST(PoolingTest, SliceAxisOutOfRange) {
  Builder b;
  EXPECT_FALSE(slice(b.input("x", {4, 9}), 2, 0, 1).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("graph.slice: axis 2 is out of range"));
}

TEST(PoolingTest, ConcatShapeAndMismatch) {
  Builder b;
  Tensor a = b.input("a", {2, 3}), c = b.input("c", {2, 1}), d = b.input("d", {2, 4});
  Tensor y = concat({a, c, d}, -1);
  ASSERT_TRUE(y.ok()) << b.status();
  EXPECT_THAT(y.shape(), ElementsAre(2, 8));
  EXPECT_FALSE(concat({a, b.input("e", {3, 3})}, 1).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("graph.concat: operand 1 tensor<3x3xf32> has 3 in dimension 0 but "
                        "operand 0 tensor<2x3xf32> has 2; only the axis (1) may differ"));
}

} // namespace
} // namespace kiln
