//===- PlanFile.h - Reading and writing .kplan files ------------*- C++ -*-===//
//
// A `.kplan` file is a fixed 56-byte header followed by a kiln.plan.Plan
// serialized deterministically (so equal plans give equal bytes):
//
//   offset  size  field
//        0     8  magic "KILNPLAN"
//        8     4  format version (u32, little-endian), kPlanFormatVersion
//       12     4  header size in bytes (u32), 56 for version 1
//       16     8  payload length in bytes (u64)
//       24    32  SHA-256 of the payload
//       56     -  payload: the serialized Plan
//
// Reading checks each of these in order, then parses and validates the plan
// (PlanValidation.h), so a runtime only ever sees a well-formed plan. Nothing
// here aborts on a bad file: every failure is a Status naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PLANFILE_H
#define KILN_RUNTIME_PLANFILE_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::plan {

/// The first eight bytes of every plan file.
inline constexpr std::string_view kPlanMagic = "KILNPLAN";
/// The only format version this build reads and the one it writes.
inline constexpr uint32_t kPlanFormatVersion = 1;
/// Size of the version-1 header.
inline constexpr uint32_t kPlanHeaderSize = 56;

/// `plan` serialized deterministically (the payload of a plan file).
std::string serializePlan(const Plan &plan);

/// The complete file contents (header + payload) for `plan`. Does not validate, so tests and
/// tools can build files holding invalid plans.
std::string encodePlanFile(const Plan &plan);

/// Validates `plan`, then writes it to `path`, replacing any existing file.
/// Fails with InvalidArgument if the plan is invalid and with Unavailable (naming the path
/// and the OS error) if the file cannot be written.
absl::Status writePlanFile(const Plan &plan, const std::string &path);

/// Decodes and validates the contents of a plan file. `origin` names the bytes in messages
/// (usually the path). Failures, each naming `origin`:
///   InvalidArgument     not a plan (empty or bad magic), or the plan fails validation;
///   FailedPrecondition  a format version this build does not read (both versions named);
///   DataLoss            truncated (expected and actual sizes named), trailing bytes, a bad
///                       header size, checksum mismatch, or a payload protobuf cannot parse.
absl::StatusOr<Plan> decodePlanFile(std::string_view bytes, std::string_view origin);

/// Reads `path` and decodes it as above; NotFound if the file cannot be opened.
absl::StatusOr<Plan> readPlanFile(const std::string &path);

} // namespace kiln::plan

#endif // KILN_RUNTIME_PLANFILE_H
