//===- HostTensorTest.cpp - The host tensor every device exchanges -------===//

#include "kiln/runtime/HostTensor.h"

#include "gtest/gtest.h"

#include <vector>

namespace kiln {
namespace {

TEST(HostTensor, ShapedConstructorZeroFills) {
  HostTensor tensor(DType::kF32, {2, 3});
  EXPECT_EQ(tensor.numElements(), 6);
  EXPECT_EQ(tensor.sizeInBytes(), 24u);
  for (float v : tensor.f32())
    EXPECT_EQ(v, 0.0f);
}

TEST(HostTensor, ScalarHasRankZeroAndOneElement) {
  HostTensor tensor = HostTensor::scalar(2.5f);
  EXPECT_TRUE(tensor.shape().empty());
  EXPECT_EQ(tensor.numElements(), 1);
  EXPECT_EQ(tensor.at(0), 2.5);
  EXPECT_EQ(tensor.describe(), "f32[]");
}

TEST(HostTensor, ElementSizesAndNames) {
  EXPECT_EQ(dtypeSize(DType::kF32), 4u);
  EXPECT_EQ(dtypeSize(DType::kF64), 8u);
  EXPECT_EQ(dtypeSize(DType::kI32), 4u);
  EXPECT_EQ(dtypeSize(DType::kI1), 1u);
  EXPECT_STREQ(dtypeName(DType::kI1), "i1");
  EXPECT_EQ(HostTensor(DType::kI1, {5}).sizeInBytes(), 5u);
}

TEST(HostTensor, FactoriesKeepValuesRowMajor) {
  std::vector<int32_t> labels = {3, -1, 7, 0};
  HostTensor tensor = HostTensor::i32({2, 2}, labels);
  EXPECT_EQ(tensor.describe(), "i32[2x2]");
  EXPECT_EQ(tensor.at(1), -1);
  EXPECT_EQ(tensor.at(2), 7);
  std::vector<double> values = {0.5, 1.5};
  EXPECT_EQ(HostTensor::f64({2}, values).f64()[1], 1.5);
}

TEST(HostTensor, ConvertsBetweenF32AndF64) {
  std::vector<float> values = {0.1f, -3.0f, 1e30f};
  HostTensor wide = HostTensor::f32({3}, values).convertTo(DType::kF64);
  EXPECT_EQ(wide.dtype(), DType::kF64);
  EXPECT_EQ(wide.f64()[0], static_cast<double>(0.1f));
  HostTensor narrow = wide.convertTo(DType::kF32);
  EXPECT_EQ(std::vector<float>(narrow.f32().begin(), narrow.f32().end()), values);
  std::vector<double> precise = {0.1};
  EXPECT_EQ(HostTensor::f64({1}, precise).convertTo(DType::kF32).f32()[0], 0.1f);
}

} // namespace
} // namespace kiln
