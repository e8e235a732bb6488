//===- FileRead.h - Reading a whole file, after checking what it is -*- C++ -*-===//
//
// Every runtime reader of a user-named file (plans, checkpoints, datasets)
// reads it through here: the path must name a regular file (not a directory,
// a device such as /dev/zero, or a pipe) no larger than the reader's limit,
// so a wrong path is a clear error instead of an exception, an endless read
// or an allocation failure.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_FILEREAD_H
#define KILN_RUNTIME_FILEREAD_H

#include "absl/status/statusor.h"

#include "absl/strings/string_view.h"
#include <cstdint>
#include <string>

namespace kiln {

/// The whole contents of `path`, as a std::string or a std::vector<uint8_t>. `path` must name
/// a regular file of at most `maxBytes` bytes; `role` names it in errors ("plan file",
/// "checkpoint") and `missingHint` is appended when it does not exist. Fails with NotFound
/// (no such file), InvalidArgument (a directory, a device, a pipe; too large),
/// PermissionDenied or DataLoss (a read error).
template <typename Bytes>
absl::StatusOr<Bytes> readRegularFile(const std::string &path, absl::string_view role,
                                      uint64_t maxBytes, absl::string_view missingHint = "");

} // namespace kiln

#endif // KILN_RUNTIME_FILEREAD_H
