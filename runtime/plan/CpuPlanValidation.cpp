//===- CpuPlanValidation.cpp - The rules of a plan's native CPU code ------===//
//
// validateCpuCode, called last by validatePlan: the CpuImage list (known,
// unique ISAs, code and a digest of the right length) and every kernel's
// CpuEntry list (one per image, offsets inside the image, tile counts and
// scratch in range). What needs the code itself (the hash, the ELF, entries in
// executable segments) is the loader's (runtime/cpu CodeImage.h).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/PlanValidation.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <array>
#include <string>

namespace kiln::plan {

namespace {

constexpr std::array<const char *, 3> kKnownIsas = {"x86-64-v3", "x86-64-v4", "aarch64"};
constexpr uint64_t kMaxScratchBytes = uint64_t{1} << 30;
constexpr size_t kSha256Bytes = 32;

absl::Status invalid(auto &&...pieces) {
  return absl::InvalidArgumentError(absl::StrCat(pieces...));
}

bool isKnownIsa(const std::string &isa) {
  for (const char *known : kKnownIsas)
    if (isa == known)
      return true;
  return false;
}

/// Checks Plan.cpu_images; fills `imageOfIsa` with each image's index.
absl::Status validateImages(const Plan &plan, absl::flat_hash_map<std::string, int> &imageOfIsa) {
  for (int index = 0; index < plan.cpu_images_size(); ++index) {
    const CpuImage &image = plan.cpu_images(index);
    std::string where = absl::StrCat("cpu image ", index, " ('", image.isa(), "')");
    if (!isKnownIsa(image.isa()))
      return invalid("cpu image ", index, " has ISA '", image.isa(), "'; known ISAs are ",
                     absl::StrJoin(kKnownIsas, ", "));
    if (!imageOfIsa.emplace(image.isa(), index).second)
      return invalid("cpu images ", imageOfIsa[image.isa()], " and ", index, " are both for ISA '",
                     image.isa(), "'; a plan carries one image per ISA");
    if (image.code().empty())
      return invalid(where, " has no code");
    if (image.sha256().size() != kSha256Bytes)
      return invalid(where, " has a ", image.sha256().size(),
                     "-byte sha256; it must be the 32-byte SHA-256 digest of its code");
  }
  // A plan without kernels (outputs that are inputs or constants) runs no code.
  if (hasTarget(plan, TARGET_CPU) && plan.kernels_size() > 0 &&
      !imageOfIsa.contains(kBaselineCpuIsa))
    return invalid("the plan targets cpu but carries no cpu image for ", kBaselineCpuIsa,
                   plan.cpu_images().empty()
                       ? std::string(" (it has none)")
                       : absl::StrCat(" (it has ", plan.cpu_images_size(), ", for other ISAs)"),
                   "; every cpu plan with kernels needs the x86-64-v3 baseline");
  return absl::OkStatus();
}

absl::Status validateEntries(const Plan &plan, int kernelIndex,
                             const absl::flat_hash_map<std::string, int> &imageOfIsa) {
  const Kernel &kernel = plan.kernels(kernelIndex);
  std::string where = absl::StrCat("kernel ", kernelIndex, " ('", kernel.name(), "')");
  absl::flat_hash_map<std::string, int> entryOfIsa;
  for (int index = 0; index < kernel.cpu_entries_size(); ++index) {
    const CpuEntry &entry = kernel.cpu_entries(index);
    std::string at = absl::StrCat(where, " cpu entry ", index, " (", entry.isa(), ")");
    auto image = imageOfIsa.find(entry.isa());
    if (image == imageOfIsa.end())
      return invalid(at, " names ISA '", entry.isa(), "' but the plan carries no cpu image for it");
    if (!entryOfIsa.emplace(entry.isa(), index).second)
      return invalid(where, " has two cpu entries for ISA '", entry.isa(), "'");
    uint64_t codeBytes = plan.cpu_images(image->second).code().size();
    if (entry.offset() >= codeBytes)
      return invalid(at, " starts at offset ", entry.offset(), " but the ", entry.isa(),
                     " image has ", codeBytes, " bytes of code");
    if (entry.tile_count() == 0)
      return invalid(at, " has tile count 0; a dispatch runs at least one tile");
    if (entry.scratch_bytes() > kMaxScratchBytes)
      return invalid(at, " asks for ", entry.scratch_bytes(),
                     " bytes of scratch per thread; at most 1 GiB (", kMaxScratchBytes,
                     ") is allowed");
  }
  if (!kernel.cpu_entries().empty() || hasTarget(plan, TARGET_CPU))
    for (const CpuImage &image : plan.cpu_images())
      if (!entryOfIsa.contains(image.isa()))
        return invalid(where, " has no cpu entry for ISA '", image.isa(),
                       "'; every kernel needs one entry in every cpu image");
  return absl::OkStatus();
}

} // namespace

absl::Status validateCpuCode(const Plan &plan) {
  absl::flat_hash_map<std::string, int> imageOfIsa;
  if (absl::Status status = validateImages(plan, imageOfIsa); !status.ok())
    return status;
  for (int index = 0; index < plan.kernels_size(); ++index)
    if (absl::Status status = validateEntries(plan, index, imageOfIsa); !status.ok())
      return status;
  return absl::OkStatus();
}

} // namespace kiln::plan
