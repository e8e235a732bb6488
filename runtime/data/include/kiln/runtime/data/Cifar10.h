//===- Cifar10.h - CIFAR-10 binary-version reader ---------------*- C++ -*-===//
//
// Reads the "binary version" of CIFAR-10 (cifar-10-batches-bin/): files of
// 3073-byte records, one label byte (0..9) then 3072 pixel bytes, the 1024
// red values, then green, then blue, each 32x32 row-major (CHW). A file may
// also be gzip-compressed; compression is detected from its first bytes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_CIFAR10_H
#define KILN_RUNTIME_DATA_CIFAR10_H

#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace kiln::data {

inline constexpr int64_t kCifar10PixelBytes = 3 * 32 * 32;
inline constexpr int64_t kCifar10RecordBytes = 1 + kCifar10PixelBytes;
inline constexpr int32_t kCifar10Classes = 10;

/// The per-channel (R, G, B) mean and standard deviation of the 50000 CIFAR-10 training images
/// scaled to [0, 1]: the values the usual recipes (torchvision examples, airbench) normalize
/// with, for standardizeChannels. kiln train --data cifar10:DIR applies them to both splits.
inline constexpr std::array<float, 3> kCifar10ChannelMean = {0.4914f, 0.4822f, 0.4465f};
inline constexpr std::array<float, 3> kCifar10ChannelStd = {0.2470f, 0.2435f, 0.2616f};

/// Loads the records of one or more CIFAR-10 binary files, in order, as one dataset named
/// `name`: exampleShape {3, 32, 32}, pixels scaled to [0, 1] (value / 255), CHW. Fails with
/// NotFound for a missing file, and InvalidArgument for an empty file, a size that is not a
/// whole number of 3073-byte records (truncated), a label byte above 9, or corrupt gzip data;
/// every message names the file.
absl::StatusOr<Dataset> loadCifar10(std::span<const std::filesystem::path> paths, std::string name);

/// Loads `data_batch_1.bin` .. `data_batch_5.bin` (train, 50000 images) and `test_batch.bin`
/// (test, 10000 images) from `directory`. Split names are "<directory name>/train" and
/// "<directory name>/test". Fails like loadCifar10, and with NotFound naming the directory when
/// it does not exist.
absl::StatusOr<DatasetSplits> loadCifar10Directory(const std::filesystem::path &directory);

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_CIFAR10_H
