//===- FileRead.cpp - Reading a whole file, after checking what it is -----===//

#include "kiln/runtime/FileRead.h"

#include "absl/strings/str_cat.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace kiln {
namespace {

absl::string_view kindOf(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISFIFO(mode))
    return "a pipe";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

using File = std::unique_ptr<std::FILE, int (*)(std::FILE *)>;

/// The error for a failed stat or open of `path` with `error` (an errno value).
absl::Status openError(const std::string &path, absl::string_view role, int error,
                       absl::string_view missingHint) {
  std::string what = absl::StrCat("cannot open ", role, " '", path, "': ");
  if (error == ENOENT)
    return absl::NotFoundError(
        absl::StrCat(what, "no such file", missingHint.empty() ? "" : ". ", missingHint));
  if (error == EACCES)
    return absl::PermissionDeniedError(
        absl::StrCat(what, std::strerror(error), ". Hint: check the file's permissions"));
  return absl::InvalidArgumentError(absl::StrCat(what, std::strerror(error)));
}

absl::StatusOr<File> openRegularFile(const std::string &path, absl::string_view role,
                                     uint64_t maxBytes, uint64_t &size,
                                     absl::string_view missingHint) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return openError(path, role, errno, missingHint);
  if (!S_ISREG(info.st_mode))
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", role, " '", path, "': it is ",
                                                   kindOf(info.st_mode), ", not a regular file"));
  size = static_cast<uint64_t>(info.st_size);
  if (size > maxBytes)
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", role, " '", path, "': it is ",
                                                   size, " bytes, more than the ", maxBytes,
                                                   "-byte limit for a ", role));
  File file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file)
    return openError(path, role, errno, missingHint);
  return file;
}

} // namespace

template <typename Bytes>
absl::StatusOr<Bytes> readRegularFile(const std::string &path, absl::string_view role,
                                      uint64_t maxBytes, absl::string_view missingHint) {
  uint64_t size = 0;
  auto file = openRegularFile(path, role, maxBytes, size, missingHint);
  if (!file.ok())
    return file.status();
  // Read what the size promised and no more: a file that grows while read (or lies about its
  // size) cannot push the read past the limit.
  Bytes bytes(size, 0);
  size_t got = size == 0 ? 0 : std::fread(bytes.data(), 1, size, file->get());
  if (std::ferror(file->get()))
    return absl::DataLossError(
        absl::StrCat("reading ", role, " '", path, "' failed: ", std::strerror(errno)));
  bytes.resize(got);
  return bytes;
}

template absl::StatusOr<std::string>
readRegularFile<std::string>(const std::string &, absl::string_view, uint64_t, absl::string_view);
template absl::StatusOr<std::vector<uint8_t>>
readRegularFile<std::vector<uint8_t>>(const std::string &, absl::string_view, uint64_t,
                                      absl::string_view);

} // namespace kiln
