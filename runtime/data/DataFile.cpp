//===- DataFile.cpp - Whole-file reads with gzip auto-detection -----------===//
//
// Reads a dataset file into memory and inflates it with zlib when it starts
// with the gzip magic. zlib's messages ("invalid block type", "incorrect data
// check") are passed through so a damaged download can be told apart from a
// truncated one.
//
//===----------------------------------------------------------------------===//

#include "DataFile.h"

#include "kiln/runtime/FileRead.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include <zlib.h>

namespace kiln::data {
namespace {

/// No dataset Kiln reads comes close; a larger output means a corrupt or hostile file.
constexpr uint64_t kMaxInflatedBytes = uint64_t{4} << 30;

bool isGzip(const std::vector<uint8_t> &bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

absl::StatusOr<std::vector<uint8_t>> readWholeFile(const std::filesystem::path &path,
                                                   absl::string_view role,
                                                   absl::string_view missingHint) {
  // A compressed file is at most the largest inflated size; anything bigger is not a dataset.
  return readRegularFile<std::vector<uint8_t>>(path.string(), role, kMaxInflatedBytes, missingHint);
}

/// The initial output buffer size: the little-endian ISIZE field of the last gzip member (the
/// uncompressed size modulo 2^32), capped by deflate's maximum ratio (1032:1) so a corrupt
/// field cannot make Kiln allocate gigabytes up front.
size_t inflatedSizeHint(const std::vector<uint8_t> &compressed) {
  constexpr size_t kMinimum = 1024;
  if (compressed.size() < 18)
    return kMinimum;
  const uint8_t *tail = compressed.data() + compressed.size() - 4;
  uint32_t size = uint32_t{tail[0]} | uint32_t{tail[1]} << 8 | uint32_t{tail[2]} << 16 |
                  uint32_t{tail[3]} << 24;
  return std::clamp<size_t>(size, kMinimum, compressed.size() * 1032);
}

absl::StatusOr<std::vector<uint8_t>> inflateGzip(const std::vector<uint8_t> &compressed,
                                                 const std::filesystem::path &path,
                                                 absl::string_view role) {
  auto corrupt = [&](absl::string_view detail) {
    return absl::InvalidArgumentError(
        absl::StrCat(role, " '", path.string(), "' is corrupt gzip data: ", detail,
                     ". Hint: the file is damaged; fetch it again (`gzip -t` checks a .gz file)"));
  };

  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (CRC-32 and length are checked).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
    return absl::ResourceExhaustedError(
        absl::StrCat("zlib could not initialise inflate for ", role, " '", path.string(), "'"));
  std::unique_ptr<z_stream, int (*)(z_stream *)> streamGuard(&stream, inflateEnd);

  std::vector<uint8_t> out(inflatedSizeHint(compressed));
  size_t consumed = 0;
  size_t produced = 0;
  while (true) {
    if (stream.avail_in == 0 && consumed < compressed.size()) {
      size_t feed = std::min<size_t>(compressed.size() - consumed, UINT_MAX);
      stream.next_in = const_cast<Bytef *>(compressed.data() + consumed);
      stream.avail_in = static_cast<uInt>(feed);
      consumed += feed;
    }
    if (produced == out.size()) {
      if (out.size() >= kMaxInflatedBytes)
        return absl::InvalidArgumentError(
            absl::StrCat(role, " '", path.string(), "' inflates to more than ",
                         kMaxInflatedBytes >> 30, " GiB; it is not a dataset file Kiln reads"));
      out.resize(std::min<uint64_t>(out.size() * 2, kMaxInflatedBytes));
    }
    size_t room = std::min<size_t>(out.size() - produced, UINT_MAX);
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(room);
    int result = inflate(&stream, Z_NO_FLUSH);
    produced += room - stream.avail_out;

    if (result == Z_STREAM_END) {
      size_t remaining = stream.avail_in + (compressed.size() - consumed);
      if (remaining == 0)
        break;
      const uint8_t *next = stream.next_in;
      if (stream.avail_in < 2 || next[0] != 0x1f || next[1] != 0x8b)
        return corrupt(absl::StrCat(remaining, " bytes of trailing data follow the gzip stream"));
      inflateReset(&stream);
      continue;
    }
    if (result == Z_OK)
      continue;
    if (result == Z_BUF_ERROR && stream.avail_in == 0 && consumed == compressed.size())
      return absl::InvalidArgumentError(absl::StrCat(
          role, " '", path.string(), "' is truncated gzip data: the compressed stream ends after ",
          compressed.size(), " bytes (", produced,
          " bytes inflated) without its end marker. Hint: the download was cut short; fetch it "
          "again"));
    if (result == Z_BUF_ERROR)
      continue;
    if (result == Z_MEM_ERROR)
      return absl::ResourceExhaustedError(
          absl::StrCat("out of memory while inflating ", role, " '", path.string(), "'"));
    return corrupt(stream.msg ? stream.msg : "zlib error " + std::to_string(result));
  }
  out.resize(produced);
  return out;
}

} // namespace

absl::StatusOr<std::vector<uint8_t>> readDataFile(const std::filesystem::path &path,
                                                  absl::string_view role,
                                                  absl::string_view missingHint) {
  absl::StatusOr<std::vector<uint8_t>> bytes = readWholeFile(path, role, missingHint);
  if (!bytes.ok() || !isGzip(*bytes))
    return bytes;
  return inflateGzip(*bytes, path, role);
}

std::string directoryName(const std::filesystem::path &directory) {
  std::filesystem::path normalized = directory.lexically_normal();
  return (normalized.has_filename() ? normalized : normalized.parent_path()).filename().string();
}

} // namespace kiln::data
