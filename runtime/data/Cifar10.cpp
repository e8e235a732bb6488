//===- Cifar10.cpp - CIFAR-10 binary-version reader -----------------------===//

#include "kiln/runtime/data/Cifar10.h"

#include "DataFile.h"

#include "absl/strings/str_cat.h"

#include <vector>

namespace kiln::data {
namespace {

constexpr const char *kRole = "CIFAR-10 batch file";

constexpr const char *kMissingHint =
    "Hint: download the binary version (cifar-10-binary.tar.gz, from "
    "https://www.cs.toronto.edu/~kriz/cifar.html), extract it and pass its "
    "cifar-10-batches-bin directory";

/// Appends the records of one file to `dataset`.
absl::Status appendCifar10File(const std::filesystem::path &path, Dataset &dataset) {
  absl::StatusOr<std::vector<uint8_t>> bytes = readDataFile(path, kRole, kMissingHint);
  if (!bytes.ok())
    return bytes.status();
  if (bytes->empty())
    return absl::InvalidArgumentError(absl::StrCat(
        kRole, " '", path.string(), "' is empty; it should hold records of ", kCifar10RecordBytes,
        " bytes (1 label byte + ", kCifar10PixelBytes, " pixel bytes)"));
  size_t records = bytes->size() / kCifar10RecordBytes;
  size_t leftover = bytes->size() % kCifar10RecordBytes;
  if (leftover != 0)
    return absl::InvalidArgumentError(
        absl::StrCat(kRole, " '", path.string(), "' is truncated: ", bytes->size(),
                     " bytes is not a whole number of ", kCifar10RecordBytes,
                     "-byte records (1 label byte + ", kCifar10PixelBytes, " pixel bytes); after ",
                     records, " whole records the last one has ", leftover,
                     " bytes. Hint: the file was cut short, or it is not CIFAR-10's binary "
                     "version (CIFAR-100 records have 2 label bytes)"));

  dataset.labels.reserve(dataset.labels.size() + records);
  dataset.features.reserve(dataset.features.size() + records * kCifar10PixelBytes);
  for (size_t record = 0; record < records; ++record) {
    const uint8_t *start = bytes->data() + record * kCifar10RecordBytes;
    if (start[0] >= kCifar10Classes)
      return absl::InvalidArgumentError(absl::StrCat(
          kRole, " '", path.string(), "': label ", start[0], " of record ", record,
          " (byte offset ", record * kCifar10RecordBytes, ") is outside 0..", kCifar10Classes - 1,
          ". Hint: the file is not CIFAR-10's binary version (CIFAR-100 "
          "records have 2 label bytes)"));
    dataset.labels.push_back(start[0]);
    for (int64_t i = 1; i <= kCifar10PixelBytes; ++i)
      dataset.features.push_back(static_cast<float>(start[i]) / 255.0f);
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<Dataset> loadCifar10(std::span<const std::filesystem::path> paths,
                                    std::string name) {
  Dataset dataset;
  dataset.name = std::move(name);
  dataset.exampleShape = {3, 32, 32};
  dataset.numClasses = kCifar10Classes;
  if (paths.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("CIFAR-10 dataset '", dataset.name, "': no batch files given"));
  for (const std::filesystem::path &path : paths) {
    if (absl::Status status = appendCifar10File(path, dataset); !status.ok())
      return status;
  }
  return dataset;
}

absl::StatusOr<DatasetSplits> loadCifar10Directory(const std::filesystem::path &directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error))
    return absl::NotFoundError(absl::StrCat("CIFAR-10 directory '", directory.string(),
                                            "' does not exist or is not a directory. ",
                                            kMissingHint));
  std::string name = directoryName(directory);

  std::vector<std::filesystem::path> trainPaths;
  for (int batch = 1; batch <= 5; ++batch)
    trainPaths.push_back(directory / absl::StrCat("data_batch_", batch, ".bin"));
  std::vector<std::filesystem::path> testPaths = {directory / "test_batch.bin"};

  DatasetSplits splits;
  absl::StatusOr<Dataset> train = loadCifar10(trainPaths, name + "/train");
  if (!train.ok())
    return train.status();
  absl::StatusOr<Dataset> test = loadCifar10(testPaths, name + "/test");
  if (!test.ok())
    return test.status();
  splits.train = *std::move(train);
  splits.test = *std::move(test);
  return splits;
}

} // namespace kiln::data
