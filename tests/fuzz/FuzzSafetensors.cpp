//===- FuzzSafetensors.cpp - libFuzzer target: safetensors checkpoints ----===//
//
// Feeds arbitrary bytes to checkpoint::decodeSafetensors (8-byte header length,
// JSON header, data section) and every file that decodes to
// checkpoint::validateCheckpoint against the checkpoint tests' sample plan
// (tests/unit/checkpoint/CheckpointSamples.h). A decoded file is re-encoded and
// decoded again, which must succeed.
//
//===----------------------------------------------------------------------===//

#include "../unit/checkpoint/CheckpointSamples.h"

#include "kiln/runtime/checkpoint/Checkpoint.h"
#include "kiln/runtime/checkpoint/Safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const kiln::plan::Plan plan = kiln::checkpoint_test::samplePlan();
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  absl::StatusOr<kiln::checkpoint::TensorFile> file =
      kiln::checkpoint::decodeSafetensors(bytes, "fuzz.safetensors");
  if (!file.ok())
    return 0;
  (void)kiln::checkpoint::validateCheckpoint(*file, plan, "fuzz.safetensors");
  absl::StatusOr<std::string> again = kiln::checkpoint::encodeSafetensors(*file);
  if (again.ok() && !kiln::checkpoint::decodeSafetensors(*again, "fuzz-again.safetensors").ok())
    std::abort(); // What decodes must survive its own encoding.
  return 0;
}
