//===- ConvTest.cpp - conv2d in the builder -------------------------------===//
//
// conv2d creates graph.conv2d with PyTorch's output shape and attributes; shape
// mistakes become builder errors naming the offending dimension or attribute.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ConvTest, OutputShapeFollowsPyTorch) {
  Builder b;
  Tensor x = b.input("x", {2, 4, 7, 5});
  Tensor w = b.input("w", {6, 2, 3, 2});
  Tensor y = conv2d(x, w, {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2});
  ASSERT_TRUE(y.ok()) << b.status();
  // OH = (7 + 2 - 3) / 2 + 1 = 4, OW = (5 + 0 - 3) / 1 + 1 = 3.
  EXPECT_THAT(y.shape(), ElementsAre(2, 6, 4, 3));
  auto op = y.value().getDefiningOp<graph::Conv2dOp>();
  ASSERT_TRUE(op);
  EXPECT_THAT(op.getStride(), ElementsAre(2, 1));
  EXPECT_THAT(op.getPadding(), ElementsAre(1, 0));
  EXPECT_THAT(op.getDilation(), ElementsAre(1, 2));
  EXPECT_EQ(op.getGroups(), 2u);
}

TEST(ConvTest, WrongWeightChannelsNameTheDimension) {
  Builder b;
  Tensor x = b.input("x", {1, 4, 5, 5});
  Tensor w = b.input("w", {4, 3, 3, 3});
  Tensor y = conv2d(x, w, {.groups = 2});
  EXPECT_FALSE(y.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("weight input channels (dim 1) = 3"));
  EXPECT_THAT(b.status().message(), HasSubstr("groups 2 = 2"));
}

TEST(ConvTest, ChannelsNotDivisibleByGroupsNameTheDimension) {
  Builder b;
  Tensor x = b.input("x", {1, 3, 5, 5});
  Tensor w = b.input("w", {4, 1, 3, 3});
  EXPECT_FALSE(conv2d(x, w, {.groups = 2}).ok());
  EXPECT_THAT(b.status().message(),
              HasSubstr("input channels (dim 1) = 3 are not divisible by groups = 2"));
}

TEST(ConvTest, KernelLargerThanThePaddedInputNamesTheAxis) {
  Builder b;
  Tensor x = b.input("x", {1, 1, 4, 9});
  Tensor w = b.input("w", {1, 1, 3, 3});
  EXPECT_FALSE(conv2d(x, w, {.dilation = {2, 1}}).ok());
  EXPECT_THAT(b.status().message(), HasSubstr("input height (dim 2) = 4"));
  EXPECT_THAT(b.status().message(), HasSubstr("smaller than the dilated kernel height 5"));
}

TEST(ConvTest, RankAndAttributeErrors) {
  {
    Builder b;
    EXPECT_FALSE(conv2d(b.input("x", {1, 3, 5}), b.input("w", {1, 3, 3, 3})).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("input must have rank 4 (N, C, H, W)"));
  }
  {
    Builder b;
    EXPECT_FALSE(
        conv2d(b.input("x", {1, 3, 5, 5}), b.input("w", {1, 3, 3, 3}), {.stride = {1, 0}}).ok());
    EXPECT_THAT(b.status().message(), HasSubstr("stride width (stride[1]) must be >= 1, got 0"));
  }
}

} // namespace
} // namespace kiln
