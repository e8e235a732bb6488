//===- CpuPlanValidationTest.cpp - The CPU code rules, broken one at a time ===//
//
// makeValidPlan targeting vulkan and cpu, with an x86-64-v3 and an aarch64
// image of stand-in bytes (the plan rules never look inside the code; the
// loader's tests in tests/unit/cpu do) and one entry per kernel and image.
//
//===----------------------------------------------------------------------===//

#include "TestPlans.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/Sha256.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <functional>
#include <string>

namespace kiln::plan {
namespace {

using ::testing::HasSubstr;

void addImage(Plan &plan, const std::string &isa, uint64_t bytes) {
  CpuImage *image = plan.add_cpu_images();
  image->set_isa(isa);
  image->set_code(std::string(bytes, '\xcc'));
  Sha256Digest digest = sha256(image->code());
  image->set_sha256(std::string(digest.begin(), digest.end()));
}

void addEntry(Kernel &kernel, const std::string &isa, uint64_t offset) {
  CpuEntry *entry = kernel.add_cpu_entries();
  entry->set_isa(isa);
  entry->set_offset(offset);
  entry->set_tile_count(4);
  entry->set_scratch_bytes(256);
}

Plan makeCpuPlan() {
  Plan plan = testing::makeValidPlan();
  plan.mutable_metadata()->add_targets(TARGET_CPU);
  addImage(plan, "x86-64-v3", 4096);
  addImage(plan, "aarch64", 2048);
  for (int index = 0; index < plan.kernels_size(); ++index) {
    addEntry(*plan.mutable_kernels(index), "x86-64-v3", 64 * index);
    addEntry(*plan.mutable_kernels(index), "aarch64", 128 * index);
  }
  return plan;
}

struct BrokenCpuRule {
  std::string name;
  std::function<void(Plan &)> breakIt;
  std::string expectedMessage;
};

TEST(CpuPlanValidityTest, CpuPlanIsValid) {
  absl::Status status = validatePlan(makeCpuPlan());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(CpuPlanValidityTest, CpuOnlyPlanNeedsNoSpirv) {
  Plan plan = makeCpuPlan();
  plan.mutable_metadata()->clear_targets();
  plan.mutable_metadata()->add_targets(TARGET_CPU);
  for (Kernel &kernel : *plan.mutable_kernels())
    kernel.clear_spirv();
  absl::Status status = validatePlan(plan);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(CpuPlanValidityTest, ImagesWithoutTheTargetAreStillChecked) {
  Plan plan = makeCpuPlan();
  plan.mutable_metadata()->mutable_targets()->RemoveLast();
  EXPECT_TRUE(validatePlan(plan).ok());
  plan.mutable_kernels(0)->mutable_cpu_entries(0)->set_offset(5000);
  EXPECT_THAT(validatePlan(plan).message(), HasSubstr("starts at offset 5000"));
}

class CpuPlanValidationTest : public ::testing::TestWithParam<BrokenCpuRule> {};

TEST_P(CpuPlanValidationTest, RejectsWithSpecificMessage) {
  Plan plan = makeCpuPlan();
  GetParam().breakIt(plan);
  absl::Status status = validatePlan(plan);
  ASSERT_FALSE(status.ok()) << GetParam().name << " was accepted";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(GetParam().expectedMessage));
}

const BrokenCpuRule kBrokenCpuRules[] = {
    {"NoImages",
     [](Plan &p) {
       p.clear_cpu_images();
       for (Kernel &kernel : *p.mutable_kernels())
         kernel.clear_cpu_entries();
     },
     "the plan targets cpu but carries no cpu image for x86-64-v3 (it has none)"},
    {"NoBaselineImage", [](Plan &p) { p.mutable_cpu_images()->DeleteSubrange(0, 1); },
     "no cpu image for x86-64-v3 (it has 1, for other ISAs)"},
    {"UnknownIsa", [](Plan &p) { p.mutable_cpu_images(1)->set_isa("riscv64"); },
     "cpu image 1 has ISA 'riscv64'; known ISAs are x86-64-v3, x86-64-v4, aarch64"},
    {"TwoImagesForOneIsa", [](Plan &p) { p.mutable_cpu_images(1)->set_isa("x86-64-v3"); },
     "cpu images 0 and 1 are both for ISA 'x86-64-v3'"},
    {"EmptyCode", [](Plan &p) { p.mutable_cpu_images(0)->clear_code(); },
     "cpu image 0 ('x86-64-v3') has no code"},
    {"ShortDigest", [](Plan &p) { p.mutable_cpu_images(0)->mutable_sha256()->resize(20); },
     "cpu image 0 ('x86-64-v3') has a 20-byte sha256"},
    {"KernelWithoutEntry", [](Plan &p) { p.mutable_kernels(1)->clear_cpu_entries(); },
     "kernel 1 ('scale') has no cpu entry for ISA 'x86-64-v3'"},
    {"KernelMissingOneIsa",
     [](Plan &p) { p.mutable_kernels(0)->mutable_cpu_entries()->DeleteSubrange(1, 1); },
     "kernel 0 ('add') has no cpu entry for ISA 'aarch64'; every kernel needs one entry in "
     "every cpu image"},
    {"EntryForMissingImage", [](Plan &p) { addEntry(*p.mutable_kernels(0), "x86-64-v4", 0); },
     "kernel 0 ('add') cpu entry 2 (x86-64-v4) names ISA 'x86-64-v4' but the plan carries no "
     "cpu image for it"},
    {"TwoEntriesForOneIsa", [](Plan &p) { addEntry(*p.mutable_kernels(0), "aarch64", 0); },
     "kernel 0 ('add') has two cpu entries for ISA 'aarch64'"},
    {"OffsetOutOfBounds",
     [](Plan &p) { p.mutable_kernels(1)->mutable_cpu_entries(1)->set_offset(2048); },
     "kernel 1 ('scale') cpu entry 1 (aarch64) starts at offset 2048 but the aarch64 image has "
     "2048 bytes of code"},
    {"ZeroTiles", [](Plan &p) { p.mutable_kernels(0)->mutable_cpu_entries(0)->set_tile_count(0); },
     "kernel 0 ('add') cpu entry 0 (x86-64-v3) has tile count 0"},
    {"HugeScratch",
     [](Plan &p) {
       p.mutable_kernels(0)->mutable_cpu_entries(0)->set_scratch_bytes(uint64_t{1} << 31);
     },
     "asks for 2147483648 bytes of scratch per thread; at most 1 GiB"},
};

INSTANTIATE_TEST_SUITE_P(BrokenCpuRules, CpuPlanValidationTest,
                         ::testing::ValuesIn(kBrokenCpuRules),
                         [](const ::testing::TestParamInfo<BrokenCpuRule> &info) {
                           return info.param.name;
                         });

} // namespace
} // namespace kiln::plan
