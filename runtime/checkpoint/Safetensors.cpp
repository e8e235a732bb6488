//===- Safetensors.cpp - Crash-safe safetensors files ---------------------===//

#include "kiln/runtime/checkpoint/Safetensors.h"

#include "Json.h"

#include "kiln/runtime/FileRead.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>

namespace kiln::checkpoint {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this build assumes a little-endian host");

namespace {

/// Bytes written per write() call; the progress hook runs after each.
constexpr size_t kWriteChunk = size_t{1} << 20;

const char *safetensorsDType(DType dtype) {
  switch (dtype) {
  case DType::kF32:
    return "F32";
  case DType::kF64:
    return "F64";
  case DType::kI32:
    return "I32";
  case DType::kI1:
    return nullptr;
  }
  return nullptr;
}

bool parseDType(std::string_view name, DType &dtype) {
  if (name == "F32")
    dtype = DType::kF32;
  else if (name == "F64")
    dtype = DType::kF64;
  else if (name == "I32")
    dtype = DType::kI32;
  else
    return false;
  return true;
}

std::string osError() { return std::strerror(errno); }

/// The header JSON (unpadded) for `file`, tensors in name order with contiguous offsets.
absl::StatusOr<std::string> headerJson(const TensorFile &file) {
  std::string json = "{";
  bool first = true;
  if (!file.metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto &[key, value] : file.metadata) {
      if (!first)
        json += ",";
      first = false;
      absl::StrAppend(&json, json::quote(key), ":", json::quote(value));
    }
    json += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const auto &[name, tensor] : file.tensors) {
    if (name.empty())
      return absl::InvalidArgumentError("a tensor with an empty name cannot be saved");
    if (name == "__metadata__")
      return absl::InvalidArgumentError("a tensor may not be named __metadata__");
    const char *dtype = safetensorsDType(tensor.dtype());
    if (!dtype)
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' is ", tensor.describe(),
                                                     "; safetensors files hold f32, f64, i32"));
    if (!first)
      json += ",";
    first = false;
    absl::StrAppend(&json, json::quote(name), ":{\"dtype\":\"", dtype, "\",\"shape\":[");
    for (size_t i = 0; i < tensor.shape().size(); ++i)
      absl::StrAppend(&json, i ? "," : "", tensor.shape()[i]);
    uint64_t end = offset + tensor.sizeInBytes();
    absl::StrAppend(&json, "],\"data_offsets\":[", offset, ",", end, "]}");
    offset = end;
  }
  json += "}";
  return json;
}

/// The 8-byte length prefix followed by the header padded with spaces to a multiple of 8.
absl::StatusOr<std::string> encodeHeader(const TensorFile &file) {
  auto json = headerJson(file);
  if (!json.ok())
    return json.status();
  json->append((8 - json->size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t length = json->size();
  std::memcpy(out.data(), &length, 8);
  out += *json;
  return out;
}

/// Checked product of a shape's extents times the element size.
bool byteSize(const std::vector<int64_t> &shape, uint64_t elementSize, uint64_t &result) {
  result = elementSize;
  for (int64_t extent : shape) {
    uint64_t e = static_cast<uint64_t>(extent);
    if (e != 0 && result > UINT64_MAX / e)
      return false;
    result *= e;
  }
  return true;
}

const json::Value *member(const json::Value &object, std::string_view key) {
  for (size_t i = 0; i < object.keys.size(); ++i)
    if (object.keys[i] == key)
      return &object.members[i];
  return nullptr;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

} // namespace

absl::StatusOr<std::string> encodeSafetensors(const TensorFile &file) {
  auto out = encodeHeader(file);
  if (!out.ok())
    return out.status();
  for (const auto &[name, tensor] : file.tensors)
    out->append(reinterpret_cast<const char *>(tensor.bytes().data()), tensor.sizeInBytes());
  return out;
}

absl::StatusOr<TensorFile> decodeSafetensors(std::string_view bytes, std::string_view origin) {
  auto dataLoss = [&](const std::string &what) {
    return absl::DataLossError(absl::StrCat("checkpoint ", std::string(origin), ": ", what));
  };
  if (bytes.size() < 8)
    return dataLoss(absl::StrCat("truncated: ", bytes.size(),
                                 " bytes, too short for the 8-byte header length"));
  uint64_t headerLength;
  std::memcpy(&headerLength, bytes.data(), 8);
  if (headerLength > bytes.size() - 8)
    return dataLoss(absl::StrCat("truncated: the header length is ", headerLength,
                                 " bytes, beyond the end of the file (", bytes.size(),
                                 " bytes in all)"));
  if (headerLength > kMaxHeaderSize)
    return dataLoss(absl::StrCat("the header length ", headerLength, " exceeds the limit of ",
                                 kMaxHeaderSize, " bytes"));
  std::string_view header = bytes.substr(8, headerLength);
  std::string_view data = bytes.substr(8 + headerLength);
  auto root = json::parse(header);
  if (!root.ok())
    return dataLoss(absl::StrCat("the header is not valid JSON: ", root.status().message()));
  if (root->kind != json::Value::Kind::kObject)
    return dataLoss("the header is not a JSON object");

  TensorFile file;
  std::vector<Entry> entries;
  for (size_t index = 0; index < root->keys.size(); ++index) {
    const std::string &name = root->keys[index];
    const json::Value &value = root->members[index];
    if (name == "__metadata__") {
      if (value.kind != json::Value::Kind::kObject)
        return dataLoss("__metadata__ is not an object");
      for (size_t i = 0; i < value.keys.size(); ++i) {
        const std::string &key = value.keys[i];
        const json::Value &item = value.members[i];
        if (item.kind != json::Value::Kind::kString)
          return dataLoss(absl::StrCat("metadata '", key, "' is not a string"));
        file.metadata.emplace(key, item.string);
      }
      continue;
    }
    auto bad = [&](const std::string &what) {
      return dataLoss(absl::StrCat("tensor '", name, "': ", what));
    };
    if (value.kind != json::Value::Kind::kObject)
      return bad("its entry is not an object");
    for (const std::string &key : value.keys)
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        return bad(absl::StrCat("unknown field '", key, "'"));
    const json::Value *dtype = member(value, "dtype");
    const json::Value *shape = member(value, "shape");
    const json::Value *offsets = member(value, "data_offsets");
    if (!dtype || !shape || !offsets)
      return bad("needs dtype, shape and data_offsets");
    Entry entry;
    entry.name = name;
    if (dtype->kind != json::Value::Kind::kString || !parseDType(dtype->string, entry.dtype))
      return bad(absl::StrCat("unsupported dtype ",
                              dtype->kind == json::Value::Kind::kString
                                  ? json::quote(dtype->string)
                                  : std::string("(not a string)"),
                              "; expected F32, F64 or I32"));
    if (shape->kind != json::Value::Kind::kArray)
      return bad("shape is not an array");
    for (const json::Value &extent : shape->array) {
      if (!extent.isUnsigned || extent.unsignedValue > static_cast<uint64_t>(INT64_MAX))
        return bad("shape holds something other than a non-negative integer");
      entry.shape.push_back(static_cast<int64_t>(extent.unsignedValue));
    }
    if (offsets->kind != json::Value::Kind::kArray || offsets->array.size() != 2 ||
        !offsets->array[0].isUnsigned || !offsets->array[1].isUnsigned)
      return bad("data_offsets is not [begin, end] of non-negative integers");
    entry.begin = offsets->array[0].unsignedValue;
    entry.end = offsets->array[1].unsignedValue;
    if (entry.begin > entry.end)
      return bad(
          absl::StrCat("data_offsets [", entry.begin, ", ", entry.end, "] end before they begin"));
    if (entry.end > data.size())
      return bad(absl::StrCat("data_offsets [", entry.begin, ", ", entry.end,
                              "] are out of range: the data section has ", data.size(),
                              " bytes (the file may be truncated)"));
    uint64_t expected;
    if (!byteSize(entry.shape, dtypeSize(entry.dtype), expected) ||
        expected != entry.end - entry.begin)
      return bad(absl::StrCat("shape and dtype ", dtype->string, " need ", expected,
                              " bytes but data_offsets span ", entry.end - entry.begin));
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  uint64_t covered = 0;
  const Entry *previous = nullptr;
  for (const Entry &entry : entries) {
    if (entry.begin < covered)
      return dataLoss(absl::StrCat("tensors '", previous->name, "' and '", entry.name,
                                   "' overlap in the data section"));
    if (entry.begin > covered)
      return dataLoss(absl::StrCat("the data section has a gap of ", entry.begin - covered,
                                   " bytes before tensor '", entry.name, "'"));
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data.size())
    return dataLoss(absl::StrCat("the data section has ", data.size() - covered,
                                 " bytes after the last tensor"));
  for (const Entry &entry : entries) {
    HostTensor tensor(entry.dtype, entry.shape);
    if (tensor.sizeInBytes())
      std::memcpy(tensor.bytes().data(), data.data() + entry.begin, tensor.sizeInBytes());
    file.tensors.emplace(entry.name, std::move(tensor));
  }
  return file;
}

absl::Status writeFileAtomically(const std::string &path,
                                 const std::vector<std::span<const uint8_t>> &pieces,
                                 const WriteProgressHook &onProgress) {
  std::string tmpPath = absl::StrCat(path, ".tmp.", getpid());
  auto failure = [&](const std::string &what) {
    std::string message =
        absl::StrCat("cannot write checkpoint ", path, ": ", what, " ", tmpPath, ": ", osError());
    ::unlink(tmpPath.c_str());
    return absl::UnavailableError(message);
  };
  int fd = ::open(tmpPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("cannot write checkpoint ", path, ": cannot create ",
                                               tmpPath, ": ", osError(),
                                               "; check the directory exists and is writable"));
  uint64_t written = 0;
  for (std::span<const uint8_t> piece : pieces) {
    while (!piece.empty()) {
      size_t chunk = std::min(piece.size(), kWriteChunk);
      ssize_t result = ::write(fd, piece.data(), chunk);
      if (result < 0 && errno == EINTR)
        continue;
      if (result <= 0) {
        if (result == 0)
          errno = EIO;
        int saved = errno;
        ::close(fd);
        errno = saved;
        return failure("writing (is the disk full?)");
      }
      piece = piece.subspan(static_cast<size_t>(result));
      written += static_cast<uint64_t>(result);
      if (onProgress)
        onProgress(tmpPath, written);
    }
  }
  if (::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return failure("fsync of");
  }
  if (::close(fd) != 0)
    return failure("closing");
  if (::rename(tmpPath.c_str(), path.c_str()) != 0)
    return failure("renaming over it");
  size_t slash = path.rfind('/');
  std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  int dirFd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0 || ::fsync(dirFd) != 0) {
    std::string message = absl::StrCat(
        "checkpoint ", path, " was written but its directory could not be synced: ", osError());
    if (dirFd >= 0)
      ::close(dirFd);
    return absl::UnavailableError(message);
  }
  ::close(dirFd);
  return absl::OkStatus();
}

absl::Status writeSafetensors(const std::string &path, const TensorFile &file,
                              const WriteProgressHook &onProgress) {
  auto header = encodeHeader(file);
  if (!header.ok())
    return header.status();
  std::vector<std::span<const uint8_t>> pieces;
  pieces.emplace_back(reinterpret_cast<const uint8_t *>(header->data()), header->size());
  for (const auto &[name, tensor] : file.tensors)
    pieces.push_back(tensor.bytes());
  return writeFileAtomically(path, pieces, onProgress);
}

absl::StatusOr<TensorFile> readSafetensors(const std::string &path) {
  absl::StatusOr<std::string> bytes =
      readRegularFile<std::string>(path, "checkpoint", kMaxSafetensorsFileBytes);
  if (!bytes.ok())
    return bytes.status();
  return decodeSafetensors(*bytes, path);
}

} // namespace kiln::checkpoint
