//===- Mnist.h - MNIST and Fashion-MNIST (IDX format) readers ---*- C++ -*-===//
//
// Reads the IDX files of MNIST and Fashion-MNIST: `*-images-idx3-ubyte`
// (magic 0x00000803: N x rows x cols unsigned bytes) and
// `*-labels-idx1-ubyte` (magic 0x00000801: N unsigned bytes), each either raw
// or gzip-compressed. Compression is detected from the file's first bytes, not
// its name. Every malformed input (missing file, wrong magic, truncated or
// oversized data, corrupt gzip, image/label count mismatch, label out of
// range) is an absl::Status naming the file, the problem and a fix.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_MNIST_H
#define KILN_RUNTIME_DATA_MNIST_H

#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::data {

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
inline constexpr const char *kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

/// The IDX magic numbers: unsigned bytes, 3 dimensions (images) or 1 (labels).
inline constexpr uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;

/// The decoded contents of an IDX images file.
struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  /// count x rows x cols bytes, row-major, as stored.
  std::vector<uint8_t> pixels;
};

/// Reads an IDX images file (raw or gzip). Fails with NotFound if the file does not exist,
/// InvalidArgument for a wrong magic number, a zero dimension, a truncated header or pixel
/// block, bytes after the declared data, or corrupt gzip data.
absl::StatusOr<IdxImages> readIdxImages(const std::filesystem::path &path);

/// Reads an IDX labels file (raw or gzip): one byte per example, not range-checked here.
/// Fails like readIdxImages.
absl::StatusOr<std::vector<uint8_t>> readIdxLabels(const std::filesystem::path &path);

struct MnistOptions {
  /// The dataset's name; empty means the images file's name. loadMnistDirectory appends
  /// "/train" and "/test" (and uses the directory's name when empty).
  std::string name;
  /// Labels must lie in [0, numClasses); 10 for MNIST and Fashion-MNIST.
  int32_t numClasses = 10;
};

/// Loads one split from an images file and a labels file: features are the pixels scaled to
/// [0, 1] (value / 255), exampleShape is {rows, cols}. Besides readIdxImages' failures, fails
/// with InvalidArgument when the image and label counts differ, when a label is outside
/// [0, numClasses), or when numClasses is not in [1, 256].
absl::StatusOr<Dataset> loadMnist(const std::filesystem::path &imagesPath,
                                  const std::filesystem::path &labelsPath,
                                  const MnistOptions &options = {});

/// Loads the train split (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`) and the test
/// split (`t10k-...`) from `directory`, each file raw or with a `.gz` suffix (raw preferred when
/// both exist). Fails with NotFound naming the directory and the names tried when a file is
/// missing, otherwise like loadMnist.
absl::StatusOr<DatasetSplits> loadMnistDirectory(const std::filesystem::path &directory,
                                                 const MnistOptions &options = {});

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_MNIST_H
