//===- DataFile.h - Whole-file reads with gzip auto-detection ---*- C++ -*-===//
//
// Private to runtime/data. Dataset files are small enough (tens of MB) to read
// whole; a file whose first two bytes are the gzip magic (1f 8b) is inflated,
// any other file is returned as stored.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_DATAFILE_H
#define KILN_RUNTIME_DATA_DATAFILE_H

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::data {

/// The contents of `path`, inflated when it is gzip-compressed (several concatenated gzip
/// members are read as one stream, like `gzip -d`). `role` names the file in messages ("MNIST
/// images file") and `missingHint` is appended when the file does not exist. Fails with NotFound
/// for a missing file, PermissionDenied / InvalidArgument when it cannot be read or is not a
/// regular file, and InvalidArgument for corrupt, truncated or oversized gzip data.
absl::StatusOr<std::vector<uint8_t>> readDataFile(const std::filesystem::path &path,
                                                  absl::string_view role,
                                                  absl::string_view missingHint);

/// The last component of `directory`, ignoring a trailing slash: "fashion-mnist" for
/// "/usr/share/datasets/fashion-mnist/". Used to name datasets.
std::string directoryName(const std::filesystem::path &directory);

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_DATAFILE_H
