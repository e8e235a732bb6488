//===- Mnist.cpp - MNIST and Fashion-MNIST (IDX format) readers -----------===//
//
// IDX layout (big-endian): a 4-byte magic 0x0000TTDD (TT = 0x08 for unsigned
// bytes, DD = the number of dimensions), DD 4-byte dimension sizes, then the
// data. Kiln reads only the two unsigned-byte forms MNIST uses.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/data/Mnist.h"

#include "DataFile.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <array>

namespace kiln::data {
namespace {

constexpr const char *kImagesRole = "MNIST images file";
constexpr const char *kLabelsRole = "MNIST labels file";

constexpr const char *kMissingHint =
    "Hint: Fashion-MNIST comes with Debian's dataset-fashion-mnist package (`apt-get install "
    "dataset-fashion-mnist`), which installs it at /usr/share/datasets/fashion-mnist/; for "
    "MNIST, put train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
    "t10k-labels-idx1-ubyte (each optionally .gz) in one directory";

uint32_t readBigEndian32(const uint8_t *bytes) {
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 |
         uint32_t{bytes[3]};
}

std::string hex32(uint32_t value) { return absl::StrFormat("0x%08x", value); }

/// Checks the magic number and header of an IDX file with `numDimensions` dimensions and
/// returns the dimension sizes.
template <size_t numDimensions>
absl::StatusOr<std::array<int64_t, numDimensions>>
readIdxHeader(const std::vector<uint8_t> &bytes, const std::filesystem::path &path,
              absl::string_view role, uint32_t expectedMagic) {
  constexpr size_t headerBytes = 4 + 4 * numDimensions;
  const char *kind = expectedMagic == kIdxImagesMagic ? "images" : "labels";
  if (bytes.size() < 4)
    return absl::InvalidArgumentError(
        absl::StrCat(role, " '", path.string(), "' is too short to be an IDX file: ", bytes.size(),
                     " bytes, but an IDX ", kind, " header alone is ", headerBytes, " bytes"));
  uint32_t magic = readBigEndian32(bytes.data());
  if (magic != expectedMagic) {
    bool expectImages = expectedMagic == kIdxImagesMagic;
    std::string hint =
        magic == (expectImages ? kIdxLabelsMagic : kIdxImagesMagic)
            ? absl::StrCat("Hint: this is an IDX ", expectImages ? "labels" : "images",
                           " file; the images and labels paths look swapped")
            : "Hint: this is not an MNIST-format IDX file (raw or gzip-compressed)";
    return absl::InvalidArgumentError(
        absl::StrCat(role, " '", path.string(), "' has the wrong magic number ", hex32(magic),
                     "; IDX ", kind, " files start with ", hex32(expectedMagic), ". ", hint));
  }
  if (bytes.size() < headerBytes)
    return absl::InvalidArgumentError(
        absl::StrCat(role, " '", path.string(), "' is truncated: its IDX header needs ",
                     headerBytes, " bytes, the file has ", bytes.size()));
  std::array<int64_t, numDimensions> dimensions;
  for (size_t i = 0; i < numDimensions; ++i) {
    dimensions[i] = readBigEndian32(bytes.data() + 4 + 4 * i);
    if (dimensions[i] == 0)
      return absl::InvalidArgumentError(absl::StrCat(
          role, " '", path.string(), "' declares dimension ", i, " of size 0; a dataset needs ",
          "at least one example of at least one pixel"));
  }
  return dimensions;
}

/// Checks that exactly `expectedDataBytes` follow the header.
absl::Status checkDataSize(const std::vector<uint8_t> &bytes, size_t headerBytes,
                           uint64_t expectedDataBytes, const std::filesystem::path &path,
                           absl::string_view role, absl::string_view declared,
                           absl::string_view dataKind) {
  uint64_t dataBytes = bytes.size() - headerBytes;
  if (dataBytes < expectedDataBytes)
    return absl::InvalidArgumentError(
        absl::StrCat(role, " '", path.string(), "' is truncated: its header declares ", declared,
                     ", so expected ", expectedDataBytes, " bytes of ", dataKind, " data, got ",
                     dataBytes, ". Hint: the file was cut short; fetch it again"));
  if (dataBytes > expectedDataBytes)
    return absl::InvalidArgumentError(absl::StrCat(
        role, " '", path.string(), "' has ", dataBytes - expectedDataBytes, " bytes after the ",
        expectedDataBytes, " bytes of ", dataKind, " data its header declares (", declared,
        "). Hint: the file is not a single IDX tensor; fetch it again"));
  return absl::OkStatus();
}

absl::StatusOr<std::filesystem::path> findMnistFile(const std::filesystem::path &directory,
                                                    const std::string &stem,
                                                    absl::string_view role) {
  std::filesystem::path raw = directory / stem;
  std::filesystem::path gzipped = directory / absl::StrCat(stem, ".gz");
  std::error_code error;
  if (std::filesystem::exists(raw, error))
    return raw;
  if (std::filesystem::exists(gzipped, error))
    return gzipped;
  return absl::NotFoundError(absl::StrCat("no ", role, " in '", directory.string(),
                                          "': looked for '", raw.string(), "' and '",
                                          gzipped.string(), "'. ", kMissingHint));
}

} // namespace

absl::StatusOr<IdxImages> readIdxImages(const std::filesystem::path &path) {
  absl::StatusOr<std::vector<uint8_t>> bytes = readDataFile(path, kImagesRole, kMissingHint);
  if (!bytes.ok())
    return bytes.status();
  auto dimensions = readIdxHeader<3>(*bytes, path, kImagesRole, kIdxImagesMagic);
  if (!dimensions.ok())
    return dimensions.status();
  auto [count, rows, cols] = *dimensions;
  std::string declared = absl::StrCat(count, " images of ", rows, "x", cols);
  // Three 32-bit dimensions can overflow 64 bits.
  uint64_t pixelsPerImage = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols);
  uint64_t expectedBytes;
  if (__builtin_mul_overflow(pixelsPerImage, static_cast<uint64_t>(count), &expectedBytes))
    return absl::InvalidArgumentError(
        absl::StrCat(kImagesRole, " '", path.string(), "' declares ", declared,
                     ", more than 2^64 bytes of pixel data: its header is corrupt"));
  if (absl::Status status =
          checkDataSize(*bytes, 16, expectedBytes, path, kImagesRole, declared, "pixel");
      !status.ok())
    return status;
  IdxImages images;
  images.count = count;
  images.rows = rows;
  images.cols = cols;
  bytes->erase(bytes->begin(), bytes->begin() + 16);
  images.pixels = *std::move(bytes);
  return images;
}

absl::StatusOr<std::vector<uint8_t>> readIdxLabels(const std::filesystem::path &path) {
  absl::StatusOr<std::vector<uint8_t>> bytes = readDataFile(path, kLabelsRole, kMissingHint);
  if (!bytes.ok())
    return bytes.status();
  auto dimensions = readIdxHeader<1>(*bytes, path, kLabelsRole, kIdxLabelsMagic);
  if (!dimensions.ok())
    return dimensions.status();
  int64_t count = (*dimensions)[0];
  if (absl::Status status = checkDataSize(*bytes, 8, count, path, kLabelsRole,
                                          absl::StrCat(count, " labels"), "label");
      !status.ok())
    return status;
  bytes->erase(bytes->begin(), bytes->begin() + 8);
  return bytes;
}

absl::StatusOr<Dataset> loadMnist(const std::filesystem::path &imagesPath,
                                  const std::filesystem::path &labelsPath,
                                  const MnistOptions &options) {
  if (options.numClasses < 1 || options.numClasses > 256)
    return absl::InvalidArgumentError(
        absl::StrCat("MNIST options: numClasses must be in [1, 256] (labels are bytes), got ",
                     options.numClasses));
  absl::StatusOr<IdxImages> images = readIdxImages(imagesPath);
  if (!images.ok())
    return images.status();
  absl::StatusOr<std::vector<uint8_t>> labels = readIdxLabels(labelsPath);
  if (!labels.ok())
    return labels.status();
  if (static_cast<int64_t>(labels->size()) != images->count)
    return absl::InvalidArgumentError(absl::StrCat(
        kImagesRole, " '", imagesPath.string(), "' holds ", images->count, " images but ",
        kLabelsRole, " '", labelsPath.string(), "' holds ", labels->size(),
        " labels. Hint: the two files come from different splits (train-* vs t10k-*) or "
        "different datasets"));
  for (size_t i = 0; i < labels->size(); ++i) {
    if ((*labels)[i] >= options.numClasses)
      return absl::InvalidArgumentError(absl::StrCat(
          kLabelsRole, " '", labelsPath.string(), "': label ", (*labels)[i], " of example ", i,
          " is outside 0..", options.numClasses - 1, " (the dataset has ", options.numClasses,
          " classes). Hint: pass the right numClasses, or the file is not a labels file of "
          "this dataset"));
  }

  Dataset dataset;
  dataset.name = options.name.empty() ? imagesPath.filename().string() : options.name;
  dataset.exampleShape = {images->rows, images->cols};
  dataset.numClasses = options.numClasses;
  dataset.features.resize(images->pixels.size());
  for (size_t i = 0; i < images->pixels.size(); ++i)
    dataset.features[i] = static_cast<float>(images->pixels[i]) / 255.0f;
  dataset.labels.assign(labels->begin(), labels->end());
  return dataset;
}

absl::StatusOr<DatasetSplits> loadMnistDirectory(const std::filesystem::path &directory,
                                                 const MnistOptions &options) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error))
    return absl::NotFoundError(absl::StrCat("MNIST directory '", directory.string(),
                                            "' does not exist or is not a directory. ",
                                            kMissingHint));
  std::string name = options.name.empty() ? directoryName(directory) : options.name;

  DatasetSplits splits;
  for (auto [prefix, split] :
       {std::pair{"train", &splits.train}, std::pair{"t10k", &splits.test}}) {
    auto imagesPath = findMnistFile(directory, absl::StrCat(prefix, "-images-idx3-ubyte"),
                                    absl::StrCat(prefix, " images file"));
    if (!imagesPath.ok())
      return imagesPath.status();
    auto labelsPath = findMnistFile(directory, absl::StrCat(prefix, "-labels-idx1-ubyte"),
                                    absl::StrCat(prefix, " labels file"));
    if (!labelsPath.ok())
      return labelsPath.status();
    MnistOptions splitOptions = options;
    splitOptions.name = absl::StrCat(name, split == &splits.train ? "/train" : "/test");
    absl::StatusOr<Dataset> dataset = loadMnist(*imagesPath, *labelsPath, splitOptions);
    if (!dataset.ok())
      return dataset.status();
    *split = *std::move(dataset);
  }
  return splits;
}

} // namespace kiln::data
