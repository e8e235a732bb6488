//===- PlanFile.cpp - Reading and writing .kplan files --------------------===//

#include "kiln/runtime/PlanFile.h"

#include "kiln/runtime/FileRead.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/Sha256.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

namespace kiln::plan {

namespace {

void appendLittleEndian(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t loadLittleEndian(std::string_view bytes, size_t offset, int size) {
  uint64_t value = 0;
  for (int i = 0; i < size; ++i)
    value |= uint64_t{static_cast<uint8_t>(bytes[offset + i])} << (8 * i);
  return value;
}

constexpr size_t kVersionOffset = 8;
constexpr size_t kHeaderSizeOffset = 12;
constexpr size_t kPayloadLengthOffset = 16;
constexpr size_t kChecksumOffset = 24;

} // namespace

std::string serializePlan(const Plan &plan) {
  std::string payload;
  {
    google::protobuf::io::StringOutputStream stream(&payload);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    plan.SerializeToCodedStream(&coded);
  }
  return payload;
}

std::string encodePlanFile(const Plan &plan) {
  std::string payload = serializePlan(plan);
  Sha256Digest checksum = sha256(payload);
  std::string file;
  file.reserve(kPlanHeaderSize + payload.size());
  file += kPlanMagic;
  appendLittleEndian(file, kPlanFormatVersion, 4);
  appendLittleEndian(file, kPlanHeaderSize, 4);
  appendLittleEndian(file, payload.size(), 8);
  file.append(reinterpret_cast<const char *>(checksum.data()), checksum.size());
  file += payload;
  return file;
}

absl::Status writePlanFile(const Plan &plan, const std::string &path) {
  if (absl::Status status = validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to write invalid plan to '", path, "': ", status.message()));
  std::string bytes = encodePlanFile(plan);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return absl::UnavailableError(
        absl::StrCat("cannot open '", path, "' for writing: ", std::strerror(errno)));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    return absl::UnavailableError(
        absl::StrCat("writing plan file '", path, "' failed: ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::StatusOr<Plan> decodePlanFile(std::string_view bytes, std::string_view originName) {
  // Debian's abseil has its own string_view type, which StrCat takes.
  absl::string_view origin(originName.data(), originName.size());
  if (bytes.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("'", origin, "' is not a Kiln plan: the file is empty"));
  if (bytes.size() < kPlanMagic.size() || bytes.substr(0, kPlanMagic.size()) != kPlanMagic)
    return absl::InvalidArgumentError(absl::StrCat(
        "'", origin, "' is not a Kiln plan: it does not start with the magic \"KILNPLAN\""));
  if (bytes.size() < kPayloadLengthOffset)
    return absl::DataLossError(absl::StrCat("plan file '", origin,
                                            "' is truncated: expected at least ", kPlanHeaderSize,
                                            " header bytes, got ", bytes.size()));
  uint64_t version = loadLittleEndian(bytes, kVersionOffset, 4);
  if (version != kPlanFormatVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        "plan file '", origin, "' has format version ", version, " but this build reads version ",
        kPlanFormatVersion, "; recompile the model with this version of kiln"));
  uint64_t headerSize = loadLittleEndian(bytes, kHeaderSizeOffset, 4);
  if (headerSize != kPlanHeaderSize)
    return absl::DataLossError(absl::StrCat(
        "plan file '", origin, "' declares a ", headerSize, "-byte header but version ",
        kPlanFormatVersion, " headers are ", kPlanHeaderSize, " bytes; the file is corrupted"));
  if (bytes.size() < kPlanHeaderSize)
    return absl::DataLossError(absl::StrCat("plan file '", origin,
                                            "' is truncated: expected at least ", kPlanHeaderSize,
                                            " header bytes, got ", bytes.size()));
  uint64_t payloadLength = loadLittleEndian(bytes, kPayloadLengthOffset, 8);
  uint64_t payloadPresent = bytes.size() - kPlanHeaderSize;
  if (payloadPresent < payloadLength)
    return absl::DataLossError(absl::StrCat("plan file '", origin, "' is truncated: expected ",
                                            kPlanHeaderSize + payloadLength, " bytes (",
                                            kPlanHeaderSize, "-byte header + ", payloadLength,
                                            "-byte payload), got ", bytes.size()));
  if (payloadPresent > payloadLength)
    return absl::DataLossError(absl::StrCat(
        "plan file '", origin, "' has ", payloadPresent - payloadLength,
        " unexpected bytes after its ", payloadLength, "-byte payload; the file is corrupted"));
  std::string_view payload = bytes.substr(kPlanHeaderSize);
  Sha256Digest actual = sha256(payload);
  if (std::memcmp(actual.data(), bytes.data() + kChecksumOffset, actual.size()) != 0) {
    Sha256Digest expected;
    std::memcpy(expected.data(), bytes.data() + kChecksumOffset, expected.size());
    return absl::DataLossError(absl::StrCat("plan file '", origin,
                                            "' failed its checksum (the file is corrupted): "
                                            "header says SHA-256 ",
                                            toHex(expected), ", payload has ", toHex(actual)));
  }
  if (payload.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return absl::DataLossError(
        absl::StrCat("plan file '", origin, "' has a ", payload.size(),
                     "-byte payload; protobuf messages are limited to 2 GiB"));
  Plan plan;
  if (!plan.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return absl::DataLossError(
        absl::StrCat("plan file '", origin,
                     "' has a valid checksum but its payload does not parse as a kiln.plan.Plan; "
                     "it was written by an incompatible tool"));
  if (absl::Status status = validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("plan file '", origin, "' is invalid: ", status.message()));
  return plan;
}

absl::StatusOr<Plan> readPlanFile(const std::string &path) {
  // Protobuf messages are limited to 2 GiB; a plan file is one message and a header.
  constexpr uint64_t kMaxPlanFileBytes = uint64_t{2} << 30;
  absl::StatusOr<std::string> bytes =
      readRegularFile<std::string>(path, "plan file", kMaxPlanFileBytes);
  if (!bytes.ok())
    return bytes.status();
  return decodePlanFile(*bytes, path);
}

} // namespace kiln::plan
