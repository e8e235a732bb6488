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

} // namespace
} // namespace kiln::tool
