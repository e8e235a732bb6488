//===- TrainDataTest.cpp - The datasets kiln train reads ------------------===//
//
// --data cifar10:DIR on generated CIFAR-10 batch files: both splits come out
// as [3, 32, 32] images standardized per channel with the CIFAR-10 training
// statistics, and a bad directory is reported with the file it concerns.
//
//===----------------------------------------------------------------------===//

#include "TrainData.h"

#include "DataTestFiles.h"

#include "kiln/runtime/data/Cifar10.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <string>
#include <tuple>
#include <vector>

namespace kiln::tool {
namespace {

using ::kiln::data::testing::cifarRecords;
using ::kiln::data::testing::writeFile;
using ::testing::HasSubstr;

class TrainDataTest : public data::testing::TempDirTest {};

/// What kiln train feeds for pixel byte p of record r of a generated file, (5 r + p) % 256.
float standardized(int record, int p) {
  int c = p / 1024;
  float scaled = static_cast<float>((5 * record + p) % 256) / 255.0f;
  return (scaled - data::kCifar10ChannelMean[c]) / data::kCifar10ChannelStd[c];
}

TEST_F(TrainDataTest, Cifar10SplitsAreStandardizedPerChannel) {
  for (int batch = 1; batch <= 5; ++batch)
    writeFile(dir() / ("data_batch_" + std::to_string(batch) + ".bin"),
              cifarRecords({static_cast<uint8_t>(batch), 9}));
  writeFile(dir() / "test_batch.bin", cifarRecords({4}));
  absl::StatusOr<data::DatasetSplits> splits =
      loadData("cifar10:" + dir().string(), plan::Plan(), /*seed=*/0);
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->train.size(), 10);
  EXPECT_EQ(splits->train.exampleShape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(splits->test.labels, (std::vector<int32_t>{4}));
  // Example 3 of the train split is record 1 of data_batch_2.bin.
  for (int p : {0, 1100, 2047, 2048, 3071}) {
    EXPECT_EQ(splits->train.example(3)[p], standardized(1, p)) << "pixel byte " << p;
    EXPECT_EQ(splits->test.example(0)[p], standardized(0, p)) << "pixel byte " << p;
  }
}

TEST_F(TrainDataTest, Cifar10LabelOutOfRangeNamesTheFile) {
  for (int batch = 1; batch <= 5; ++batch)
    writeFile(dir() / ("data_batch_" + std::to_string(batch) + ".bin"), cifarRecords({1}));
  writeFile(dir() / "test_batch.bin", cifarRecords({2, 11}));
  absl::Status status = loadData("cifar10:" + dir().string(), plan::Plan(), 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("'" + (dir() / "test_batch.bin").string() + "': label 11 of record 1"));
}

/// A plan with inputs of these names, dtypes and shapes (no programs, no buffers: loadTextData
/// reads the inputs only).
plan::Plan
planWithInputs(std::vector<std::tuple<std::string, plan::DType, std::vector<int64_t>>> inputs) {
  plan::Plan plan;
  for (const auto &[name, dtype, shape] : inputs) {
    plan::TensorSpec &tensor = *plan.add_inputs()->mutable_tensor();
    tensor.set_name(name);
    tensor.set_dtype(dtype);
    for (int64_t extent : shape)
      tensor.add_shape(extent);
  }
  return plan;
}

TEST_F(TrainDataTest, TextIsShapedByThePlansTokensInput) {
  std::string text;
  for (int i = 0; i < 400; ++i)
    text += static_cast<char>('a' + i % 26);
  writeFile(dir() / "t.txt", data::testing::Bytes(text.begin(), text.end()));
  plan::Plan plan =
      planWithInputs({{"tokens", plan::DTYPE_I32, {2, 8}}, {"targets", plan::DTYPE_I32, {2, 8}}});
  ASSERT_TRUE(isTextData("text:" + (dir() / "t.txt").string()));
  auto loaded =
      loadTextData("text:" + (dir() / "t.txt").string(), plan, /*maxValidationBatches=*/2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->batchSize, 2);
  EXPECT_EQ(loaded->contextLength, 8);
  EXPECT_EQ(loaded->train->bytes.size(), 360u);
  // (40 - 1) / (2 * 8) = 2 batches of validation windows fit; 2 are allowed.
  EXPECT_EQ(loaded->validation->size(), 4);
  const HostTensor &tokens = loaded->validation->extraFields.at("tokens");
  EXPECT_EQ(tokens.i32()[0], text[360]);
  std::vector<data::FieldSpec> fields = loaded->fields();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1].describe(), "i32 [8]");
  // Example data is not text: loadData refuses it.
  EXPECT_FALSE(loadData("text:" + (dir() / "t.txt").string(), plan, 0).ok());

  auto errorOf = [&](const plan::Plan &other) {
    return std::string(
        loadTextData("text:" + (dir() / "t.txt").string(), other, 2).status().message());
  };
  EXPECT_THAT(errorOf(planWithInputs({{"tokens", plan::DTYPE_I32, {2, 8}}})),
              HasSubstr("the plan has no input \"targets\"; its inputs are \"tokens\" i32 [2, 8]"));
  EXPECT_THAT(errorOf(planWithInputs(
                  {{"tokens", plan::DTYPE_F32, {2, 8}}, {"targets", plan::DTYPE_I32, {2, 8}}})),
              HasSubstr("the plan's input \"tokens\" is f32 [2, 8]"));
  EXPECT_THAT(errorOf(planWithInputs(
                  {{"tokens", plan::DTYPE_I32, {2, 8}}, {"targets", plan::DTYPE_I32, {2, 4}}})),
              HasSubstr("the plan's \"tokens\" is i32 [2, 8] and its \"targets\" i32 [2, 4]"));
  // A context longer than the validation split (40 bytes) allows.
  EXPECT_THAT(errorOf(planWithInputs(
                  {{"tokens", plan::DTYPE_I32, {1, 40}}, {"targets", plan::DTYPE_I32, {1, 40}}})),
              HasSubstr("text 't.txt/validation' has 40 bytes, but one window of 40 tokens"));
  auto missing = loadTextData("text:" + (dir() / "none.txt").string(), plan, 2);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

} // namespace
} // namespace kiln::tool
