//===- MnistTest.cpp - IDX reader: happy paths and every failure ----------===//

#include "DataTestFiles.h"

#include "kiln/runtime/data/Mnist.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::data {
namespace {

using ::kiln::data::testing::Bytes;
using ::kiln::data::testing::gzip;
using ::kiln::data::testing::idxImages;
using ::kiln::data::testing::idxLabels;
using ::kiln::data::testing::patternPixels;
using ::kiln::data::testing::withMagic;
using ::kiln::data::testing::writeFile;
using ::testing::AllOf;
using ::testing::HasSubstr;

class MnistTest : public testing::TempDirTest {
protected:
  /// Writes a 3-image 2x3 images file and its labels {4, 0, 9}, raw or gzipped.
  void writeSmallSplit(std::string_view prefix, bool compressed) {
    Bytes images = idxImages(3, 2, 3, patternPixels(3, 2, 3));
    Bytes labels = idxLabels({4, 0, 9});
    std::string suffix = compressed ? ".gz" : "";
    writeFile(dir() / (std::string(prefix) + "-images-idx3-ubyte" + suffix),
              compressed ? gzip(images) : images);
    writeFile(dir() / (std::string(prefix) + "-labels-idx1-ubyte" + suffix),
              compressed ? gzip(labels) : labels);
  }

  std::filesystem::path path(std::string_view name) const { return dir() / name; }

  /// loadMnist's error on `images` (and a valid 3-label file) or on `labels` (with a valid
  /// 3-image file).
  absl::Status imagesError(const Bytes &images) {
    writeFile(path("images"), images);
    writeFile(path("labels"), idxLabels({1, 2, 3}));
    return loadMnist(path("images"), path("labels")).status();
  }
  absl::Status labelsError(const Bytes &labels, int32_t numClasses = 10) {
    writeFile(path("images"), idxImages(3, 2, 3, patternPixels(3, 2, 3)));
    writeFile(path("labels"), labels);
    return loadMnist(path("images"), path("labels"), {.name = "", .numClasses = numClasses})
        .status();
  }
};

void expectSmallSplit(const Dataset &dataset) {
  EXPECT_EQ(dataset.size(), 3);
  EXPECT_EQ(dataset.exampleShape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(dataset.numFeatures(), 6);
  EXPECT_EQ(dataset.numClasses, 10);
  EXPECT_EQ(dataset.labels, (std::vector<int32_t>{4, 0, 9}));
  Bytes pixels = patternPixels(3, 2, 3);
  ASSERT_EQ(dataset.features.size(), pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i)
    EXPECT_EQ(dataset.features[i], pixels[i] / 255.0f) << "feature " << i;
  EXPECT_TRUE(validateDataset(dataset).ok());
}

TEST_F(MnistTest, ReadsRawFiles) {
  writeSmallSplit("train", /*compressed=*/false);
  absl::StatusOr<Dataset> dataset =
      loadMnist(path("train-images-idx3-ubyte"), path("train-labels-idx1-ubyte"));
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  expectSmallSplit(*dataset);
  EXPECT_EQ(dataset->name, "train-images-idx3-ubyte");
}

TEST_F(MnistTest, ReadsGzipFilesDetectedByContentNotName) {
  writeFile(path("images.bin"), gzip(idxImages(3, 2, 3, patternPixels(3, 2, 3))));
  writeFile(path("labels.gz"), idxLabels({4, 0, 9}));
  absl::StatusOr<Dataset> dataset =
      loadMnist(path("images.bin"), path("labels.gz"), {.name = "small", .numClasses = 10});
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  expectSmallSplit(*dataset);
  EXPECT_EQ(dataset->name, "small");
}

TEST_F(MnistTest, ReadsConcatenatedGzipMembers) {
  Bytes images = idxImages(3, 2, 3, patternPixels(3, 2, 3));
  Bytes head(images.begin(), images.begin() + 10);
  Bytes tail(images.begin() + 10, images.end());
  Bytes members = gzip(head);
  Bytes second = gzip(tail);
  members.insert(members.end(), second.begin(), second.end());
  writeFile(path("images"), members);
  writeFile(path("labels"), idxLabels({4, 0, 9}));
  absl::StatusOr<Dataset> dataset = loadMnist(path("images"), path("labels"));
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  expectSmallSplit(*dataset);
}

TEST_F(MnistTest, DirectoryLoaderFindsRawAndGzipFiles) {
  writeSmallSplit("train", /*compressed=*/true);
  writeSmallSplit("t10k", /*compressed=*/false);
  absl::StatusOr<DatasetSplits> splits = loadMnistDirectory(dir().string() + "/");
  ASSERT_TRUE(splits.ok()) << splits.status();
  expectSmallSplit(splits->train);
  expectSmallSplit(splits->test);
  std::string base = dir().filename().string();
  EXPECT_EQ(splits->train.name, base + "/train");
  EXPECT_EQ(splits->test.name, base + "/test");
}

TEST_F(MnistTest, DirectoryLoaderPrefersRawFiles) {
  writeSmallSplit("train", /*compressed=*/false);
  writeSmallSplit("t10k", /*compressed=*/false);
  writeFile(path("t10k-labels-idx1-ubyte.gz"), Bytes{0x1f, 0x8b, 0});
  absl::StatusOr<DatasetSplits> splits = loadMnistDirectory(dir(), {.name = "tiny"});
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->test.name, "tiny/test");
}

TEST_F(MnistTest, MissingFileSaysWhereKilnLookedAndHowToInstall) {
  writeSmallSplit("train", /*compressed=*/false);
  absl::Status status = loadMnistDirectory(dir()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("no t10k images file in '" + dir().string() + "'"),
                    HasSubstr("'" + path("t10k-images-idx3-ubyte").string() + "'"),
                    HasSubstr("'" + path("t10k-images-idx3-ubyte.gz").string() + "'"),
                    HasSubstr("dataset-fashion-mnist"),
                    HasSubstr("/usr/share/datasets/fashion-mnist/")));
}

TEST_F(MnistTest, MissingDirectoryIsNotFound) {
  absl::Status status = loadMnistDirectory(path("nowhere")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("MNIST directory '" + path("nowhere").string() + "' does not exist"),
                    HasSubstr("dataset-fashion-mnist")));
}

TEST_F(MnistTest, MissingSingleFileIsNotFound) {
  writeFile(path("labels"), idxLabels({1}));
  absl::Status status = loadMnist(path("images"), path("labels")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("cannot open MNIST images file '" +
                                                path("images").string() + "': no such file"),
                                      HasSubstr("/usr/share/datasets/fashion-mnist/")));
}

TEST_F(MnistTest, DirectoryInsteadOfFile) {
  std::filesystem::create_directory(path("images"));
  writeFile(path("labels"), idxLabels({1}));
  EXPECT_THAT(loadMnist(path("images"), path("labels")).status().message(),
              HasSubstr("it is a directory, not a regular file"));
}

TEST_F(MnistTest, WrongImagesMagic) {
  absl::Status status = imagesError(withMagic(0x00000802, Bytes(12 + 18, 0)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("MNIST images file '" + path("images").string() + "'"),
                    HasSubstr("wrong magic number 0x00000802"),
                    HasSubstr("IDX images files start with 0x00000803"),
                    HasSubstr("not an MNIST-format IDX file")));
}

TEST_F(MnistTest, SwappedImagesAndLabels) {
  absl::Status status = imagesError(idxLabels({1, 2, 3}));
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("wrong magic number 0x00000801"), HasSubstr("paths look swapped")));
  status = labelsError(idxImages(3, 2, 3, patternPixels(3, 2, 3)));
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("MNIST labels file '" + path("labels").string() + "'"),
                    HasSubstr("wrong magic number 0x00000803"),
                    HasSubstr("IDX labels files start with 0x00000801")));
}

TEST_F(MnistTest, EmptyAndShortFiles) {
  EXPECT_THAT(imagesError({}).message(),
              HasSubstr("too short to be an IDX file: 0 bytes, but an IDX images header alone "
                        "is 16 bytes"));
  EXPECT_THAT(imagesError(withMagic(0x00000803, Bytes{0, 0, 0, 3, 0, 0})).message(),
              HasSubstr("is truncated: its IDX header needs 16 bytes, the file has 10"));
}

TEST_F(MnistTest, ZeroDimension) {
  EXPECT_THAT(imagesError(idxImages(3, 0, 3, {})).message(),
              HasSubstr("declares dimension 1 of size 0"));
}

TEST_F(MnistTest, TruncatedPixelData) {
  Bytes pixels = patternPixels(3, 2, 3);
  pixels.resize(pixels.size() - 5);
  absl::Status status = imagesError(idxImages(3, 2, 3, pixels));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("MNIST images file '" + path("images").string() + "' is truncated"),
                    HasSubstr("declares 3 images of 2x3"),
                    HasSubstr("expected 18 bytes of pixel data, got 13")));
}

TEST_F(MnistTest, DeclaredSizeBeyond64Bits) {
  EXPECT_THAT(imagesError(idxImages(0xffffffff, 0xffffffff, 0xffffffff, Bytes(8, 1))).message(),
              HasSubstr("declares 4294967295 images of 4294967295x4294967295, more than 2^64 "
                        "bytes of pixel data: its header is corrupt"));
  EXPECT_THAT(imagesError(idxImages(0xffffffff, 0xffff, 0xffff, Bytes(8, 1))).message(),
              HasSubstr("expected 18446181123756261375 bytes of pixel data, got 8"));
}

TEST_F(MnistTest, BytesAfterDeclaredData) {
  Bytes pixels = patternPixels(3, 2, 3);
  pixels.push_back(0);
  EXPECT_THAT(imagesError(idxImages(3, 2, 3, pixels)).message(),
              HasSubstr("has 1 bytes after the 18 bytes of pixel data its header declares"));
}

TEST_F(MnistTest, TruncatedLabels) {
  Bytes labels = idxLabels({1, 2, 3});
  labels.pop_back();
  EXPECT_THAT(labelsError(labels).message(),
              AllOf(HasSubstr("MNIST labels file '" + path("labels").string() + "' is truncated"),
                    HasSubstr("expected 3 bytes of label data, got 2")));
}

TEST_F(MnistTest, CountMismatch) {
  absl::Status status = labelsError(idxLabels({1, 2}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("'" + path("images").string() + "' holds 3 images"),
                                      HasSubstr("'" + path("labels").string() + "' holds 2 labels"),
                                      HasSubstr("different splits")));
}

TEST_F(MnistTest, LabelOutsideTenClasses) {
  EXPECT_THAT(labelsError(idxLabels({1, 10, 3})).message(),
              AllOf(HasSubstr("label 10 of example 1 is outside 0..9"),
                    HasSubstr("the dataset has 10 classes")));
}

TEST_F(MnistTest, LabelOutsideDeclaredClassCount) {
  EXPECT_THAT(labelsError(idxLabels({1, 2, 3}), /*numClasses=*/3).message(),
              HasSubstr("label 3 of example 2 is outside 0..2 (the dataset has 3 classes)"));
  EXPECT_TRUE(labelsError(idxLabels({1, 2, 3}), /*numClasses=*/4).ok());
  EXPECT_THAT(labelsError(idxLabels({1, 2, 3}), /*numClasses=*/0).message(),
              HasSubstr("numClasses must be in [1, 256]"));
}

TEST_F(MnistTest, CorruptGzip) {
  Bytes compressed = gzip(idxImages(3, 2, 3, patternPixels(3, 2, 3)));
  // Flip every bit of the deflate data after the 10-byte gzip header.
  for (size_t i = 10; i + 8 < compressed.size(); ++i)
    compressed[i] ^= 0xff;
  absl::Status status = imagesError(compressed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("MNIST images file '" + path("images").string() +
                                                "' is corrupt gzip data: "),
                                      HasSubstr("gzip -t")));
}

TEST_F(MnistTest, GzipChecksumMismatch) {
  Bytes compressed = gzip(idxImages(3, 2, 3, patternPixels(3, 2, 3)));
  compressed[compressed.size() - 8] ^= 0x01; // The CRC-32 of the trailer.
  EXPECT_THAT(imagesError(compressed).message(),
              HasSubstr("is corrupt gzip data: incorrect data check"));
}

TEST_F(MnistTest, TruncatedGzip) {
  Bytes compressed = gzip(idxImages(3, 2, 3, patternPixels(3, 2, 3)));
  compressed.resize(compressed.size() - 6);
  absl::Status status = imagesError(compressed);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("is truncated gzip data: the compressed stream ends after " +
                              std::to_string(compressed.size()) + " bytes"),
                    HasSubstr("without its end marker")));
}

TEST_F(MnistTest, TrailingGarbageAfterGzip) {
  Bytes compressed = gzip(idxImages(3, 2, 3, patternPixels(3, 2, 3)));
  compressed.insert(compressed.end(), {'j', 'u', 'n', 'k'});
  EXPECT_THAT(imagesError(compressed).message(),
              HasSubstr("corrupt gzip data: 4 bytes of trailing data follow the gzip stream"));
}

} // namespace
} // namespace kiln::data
