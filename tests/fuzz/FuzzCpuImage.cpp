//===- FuzzCpuImage.cpp - libFuzzer target: loading native CPU code -------===//
//
// Feeds arbitrary bytes to cpu::CodeImage::load as an x86-64-v3 image (with
// their correct sha256, so the ELF checks are what the fuzzer explores). Any
// result is fine; a crash, leak or UB report is a finding. An image that loads
// is asked for entries at a few offsets; nothing in it is ever called.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Sha256.h"
#include "kiln/runtime/cpu/CodeImage.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::plan::CpuImage image;
  image.set_isa("x86-64-v3");
  image.set_code(std::string(reinterpret_cast<const char *>(data), size));
  kiln::Sha256Digest digest = kiln::sha256(image.code());
  image.set_sha256(std::string(digest.begin(), digest.end()));
  absl::StatusOr<std::unique_ptr<kiln::cpu::CodeImage>> loaded = kiln::cpu::CodeImage::load(image);
  if (!loaded.ok())
    return 0;
  for (uint64_t offset : {uint64_t{0}, uint64_t{size / 2}, uint64_t{size}})
    (void)(*loaded)->entry(offset, "fuzz");
  return 0;
}
