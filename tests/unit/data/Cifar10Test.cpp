//===- Cifar10Test.cpp - CIFAR-10 binary reader on generated files --------===//

#include "DataTestFiles.h"

#include "kiln/runtime/data/Cifar10.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::data {
namespace {

using ::kiln::data::testing::Bytes;
using ::kiln::data::testing::cifarRecords;
using ::kiln::data::testing::gzip;
using ::kiln::data::testing::writeFile;
using ::testing::AllOf;
using ::testing::HasSubstr;

class Cifar10Test : public testing::TempDirTest {
protected:
  absl::Status errorOf(const Bytes &bytes) {
    writeFile(dir() / "batch.bin", bytes);
    std::vector<std::filesystem::path> paths = {dir() / "batch.bin"};
    return loadCifar10(paths, "bad").status();
  }
};

TEST_F(Cifar10Test, ReadsRecordsInChwOrder) {
  writeFile(dir() / "a.bin", cifarRecords({3, 7}));
  writeFile(dir() / "b.bin", gzip(cifarRecords({9})));
  std::vector<std::filesystem::path> paths = {dir() / "a.bin", dir() / "b.bin"};
  absl::StatusOr<Dataset> dataset = loadCifar10(paths, "tiny");
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->name, "tiny");
  EXPECT_EQ(dataset->exampleShape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(dataset->numClasses, 10);
  EXPECT_EQ(dataset->labels, (std::vector<int32_t>{3, 7, 9}));
  ASSERT_EQ(dataset->features.size(), 3u * 3072u);
  // Record 1 of a.bin, green channel (c = 1), row 2, column 5: pixel byte 1024 + 2*32 + 5.
  int p = 1024 + 2 * 32 + 5;
  EXPECT_EQ(dataset->example(1)[p], ((5 * 1 + p) % 256) / 255.0f);
  // Record 0 of b.bin is the dataset's third example.
  EXPECT_EQ(dataset->example(2)[3071], (3071 % 256) / 255.0f);
  EXPECT_TRUE(validateDataset(*dataset).ok());
}

TEST_F(Cifar10Test, DirectoryLoaderReadsFiveTrainBatchesAndTheTestBatch) {
  for (int batch = 1; batch <= 5; ++batch)
    writeFile(dir() / ("data_batch_" + std::to_string(batch) + ".bin"),
              cifarRecords({static_cast<uint8_t>(batch), 0}));
  writeFile(dir() / "test_batch.bin", cifarRecords({8}));
  absl::StatusOr<DatasetSplits> splits = loadCifar10Directory(dir());
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->train.labels, (std::vector<int32_t>{1, 0, 2, 0, 3, 0, 4, 0, 5, 0}));
  EXPECT_EQ(splits->test.labels, (std::vector<int32_t>{8}));
  EXPECT_EQ(splits->train.name, dir().filename().string() + "/train");
}

TEST_F(Cifar10Test, MissingBatchNamesTheFile) {
  for (int batch = 1; batch <= 4; ++batch)
    writeFile(dir() / ("data_batch_" + std::to_string(batch) + ".bin"), cifarRecords({1}));
  absl::Status status = loadCifar10Directory(dir()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("cannot open CIFAR-10 batch file '" +
                              (dir() / "data_batch_5.bin").string() + "': no such file"),
                    HasSubstr("cifar-10-batches-bin")));
  EXPECT_EQ(loadCifar10Directory(dir() / "absent").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(Cifar10Test, TruncatedRecord) {
  Bytes bytes = cifarRecords({1, 2});
  bytes.resize(bytes.size() - 100);
  EXPECT_THAT(errorOf(bytes).message(),
              AllOf(HasSubstr("'" + (dir() / "batch.bin").string() + "' is truncated"),
                    HasSubstr("6046 bytes is not a whole number of 3073-byte records"),
                    HasSubstr("after 1 whole records the last one has 2973 bytes")));
}

TEST_F(Cifar10Test, EmptyFile) {
  EXPECT_THAT(errorOf({}).message(), HasSubstr("is empty; it should hold records of 3073 bytes"));
}

TEST_F(Cifar10Test, LabelOutOfRange) {
  EXPECT_THAT(errorOf(cifarRecords({1, 2, 10})).message(),
              AllOf(HasSubstr("label 10 of record 2 (byte offset 6146) is outside 0..9"),
                    HasSubstr("CIFAR-100")));
}

TEST_F(Cifar10Test, CorruptGzip) {
  Bytes compressed = gzip(cifarRecords({1}));
  compressed[compressed.size() - 1] ^= 0x10; // The length field of the trailer.
  EXPECT_THAT(errorOf(compressed).message(),
              HasSubstr("is corrupt gzip data: incorrect length check"));
}

TEST_F(Cifar10Test, StandardizesEachChannelWithItsOwnMeanAndStd) {
  writeFile(dir() / "a.bin", cifarRecords({3, 7}));
  std::vector<std::filesystem::path> paths = {dir() / "a.bin"};
  absl::StatusOr<Dataset> dataset = loadCifar10(paths, "tiny");
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  ASSERT_TRUE(standardizeChannels(*dataset, kCifar10ChannelMean, kCifar10ChannelStd).ok());
  // Record r, pixel byte p holds (5 r + p) % 256; channel c covers bytes [1024 c, 1024 c + 1024).
  for (int record = 0; record < 2; ++record) {
    for (int p : {0, 1023, 1024 + 2 * 32 + 5, 2048, 3071}) {
      int c = p / 1024;
      float scaled = static_cast<float>((5 * record + p) % 256) / 255.0f;
      EXPECT_EQ(dataset->example(record)[p],
                (scaled - kCifar10ChannelMean[c]) / kCifar10ChannelStd[c])
          << "record " << record << ", pixel byte " << p;
    }
  }
  EXPECT_EQ(dataset->labels, (std::vector<int32_t>{3, 7}));
}

TEST_F(Cifar10Test, StandardizeRejectsAWrongChannelCountOrStd) {
  writeFile(dir() / "a.bin", cifarRecords({1}));
  std::vector<std::filesystem::path> paths = {dir() / "a.bin"};
  absl::StatusOr<Dataset> dataset = loadCifar10(paths, "tiny");
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  std::vector<float> before = dataset->features;
  std::vector<float> two = {0.5f, 0.5f};
  absl::Status status = standardizeChannels(*dataset, two, two);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("dataset 'tiny'"), HasSubstr("[3, 32, 32] have 3 channels"),
                    HasSubstr("2 means and 2 standard deviations")));
  std::vector<float> mean = {0.5f, 0.5f, 0.5f};
  std::vector<float> zeroStd = {0.2f, 0.0f, 0.2f};
  EXPECT_THAT(standardizeChannels(*dataset, mean, zeroStd).message(),
              HasSubstr("the standard deviation of channel 1 is 0; it must be positive"));
  EXPECT_EQ(dataset->features, before);
}

} // namespace
} // namespace kiln::data
