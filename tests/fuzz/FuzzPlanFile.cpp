//===- FuzzPlanFile.cpp - libFuzzer target: .kplan decoding and validation ===//
//
// Feeds arbitrary bytes to plan::decodePlanFile, which checks the header,
// parses the protobuf payload and validates the plan (PlanValidation.h). Any
// result is fine; a crash, leak or UB report is a finding. A plan that decodes
// is re-encoded and decoded again, which must succeed.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/PlanFile.h"

#include "google/protobuf/stubs/logging.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

// protobuf logs every invalid UTF-8 string it parses; the flood would slow the fuzzer.
extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  absl::StatusOr<kiln::plan::Plan> plan = kiln::plan::decodePlanFile(bytes, "fuzz.kplan");
  if (!plan.ok())
    return 0;
  std::string again = kiln::plan::encodePlanFile(*plan);
  if (!kiln::plan::decodePlanFile(again, "fuzz-again.kplan").ok())
    std::abort(); // A valid plan must survive its own encoding.
  return 0;
}
