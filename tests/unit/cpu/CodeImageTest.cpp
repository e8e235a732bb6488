//===- CodeImageTest.cpp - Loading native code, and refusing damaged code -===//

#include "CpuTestSupport.h"

#include "kiln/runtime/cpu/CodeImage.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>
#include <elf.h>
#include <fstream>
#include <random>
#include <sstream>

namespace kiln::cpu {
namespace {

using ::testing::HasSubstr;
using testing::imageSymbols;
using testing::makeImage;
using testing::readImage;

struct MappedRange {
  uintptr_t begin = 0, end = 0;
  std::string permissions;
};

/// The lines of /proc/self/maps that overlap [begin, end).
std::vector<MappedRange> mappingsOverlapping(const void *data, size_t bytes) {
  uintptr_t begin = reinterpret_cast<uintptr_t>(data), end = begin + bytes;
  std::ifstream maps("/proc/self/maps");
  std::vector<MappedRange> found;
  std::string line;
  while (std::getline(maps, line)) {
    MappedRange range;
    char dash;
    std::istringstream fields(line);
    fields >> std::hex >> range.begin >> dash >> range.end >> range.permissions;
    if (range.begin < end && range.end > begin)
      found.push_back(range);
  }
  return found;
}

TEST(CodeImageTest, MapsReadExecuteNeverWritable) {
  absl::StatusOr<std::unique_ptr<CodeImage>> image =
      CodeImage::load(makeImage(readImage("kernels")));
  ASSERT_TRUE(image.ok()) << image.status();
  std::span<const std::byte> mapping = (*image)->mapping();
  std::vector<MappedRange> ranges = mappingsOverlapping(mapping.data(), mapping.size());
  ASSERT_FALSE(ranges.empty());
  bool executable = false;
  for (const MappedRange &range : ranges) {
    EXPECT_EQ(range.permissions.find('w'), std::string::npos)
        << "the image is mapped " << range.permissions;
    executable |= range.permissions.find('x') != std::string::npos;
  }
  EXPECT_TRUE(executable);
  EXPECT_EQ((*image)->isa(), "x86-64-v3");
}

TEST(CodeImageTest, RunsAnEntry) {
  absl::StatusOr<std::unique_ptr<CodeImage>> image =
      CodeImage::load(makeImage(readImage("kernels")));
  ASSERT_TRUE(image.ok()) << image.status();
  absl::StatusOr<KernelFunction> add = (*image)->entry(imageSymbols("kernels").at("add"), "add");
  ASSERT_TRUE(add.ok()) << add.status();
  std::vector<float> out(testing::kElements, -7.0f), x(testing::kElements), y(testing::kElements);
  for (int64_t i = 0; i < testing::kElements; ++i)
    x[i] = 0.25f * i, y[i] = 3.0f - i;
  void *bindings[] = {out.data(), x.data(), y.data()};
  (*add)(bindings, 2, 5, nullptr); // tiles 2..4: elements 128..319
  for (int64_t i = 0; i < testing::kElements; ++i)
    EXPECT_EQ(out[i], i >= 128 && i < 320 ? x[i] + y[i] : -7.0f) << "element " << i;
}

TEST(CodeImageTest, RefusesEntriesOutsideExecutableCode) {
  absl::StatusOr<std::unique_ptr<CodeImage>> image =
      CodeImage::load(makeImage(readImage("kernels")));
  ASSERT_TRUE(image.ok()) << image.status();
  uint64_t writableData = (*image)->executableRanges().back().second + 4096;
  for (uint64_t offset : {writableData, uint64_t{1} << 40}) {
    absl::StatusOr<KernelFunction> entry = (*image)->entry(offset, "k");
    ASSERT_FALSE(entry.ok());
    EXPECT_THAT(entry.status().message(),
                HasSubstr(absl::StrCat("kernel 'k': its x86-64-v3 entry at offset ", offset,
                                       " is not inside an executable segment")));
  }
}

TEST(CodeImageTest, RefusesCodeThatDoesNotMatchItsHash) {
  plan::CpuImage image = makeImage(readImage("kernels"));
  (*image.mutable_code())[100] ^= 1;
  absl::StatusOr<std::unique_ptr<CodeImage>> loaded = CodeImage::load(image);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("cpu image 'x86-64-v3': its code does not match its sha256"));
}

TEST(CodeImageTest, RefusesImagesNeedingRelocations) {
  for (const char *name : {"relocated", "calling"}) {
    absl::StatusOr<std::unique_ptr<CodeImage>> loaded = CodeImage::load(makeImage(readImage(name)));
    ASSERT_FALSE(loaded.ok()) << name;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(loaded.status().message(), HasSubstr("bytes of dynamic relocations")) << name;
  }
}

TEST(CodeImageTest, RefusesWhatIsNotItsElf) {
  std::string code = readImage("kernels");
  auto refuse = [](std::string bytes, const std::string &message) {
    absl::StatusOr<std::unique_ptr<CodeImage>> loaded = CodeImage::load(makeImage(bytes));
    ASSERT_FALSE(loaded.ok()) << message;
    EXPECT_THAT(loaded.status().message(), HasSubstr(message));
  };
  refuse(code.substr(0, 40), "is 40 bytes, shorter than an ELF64 header");
  refuse("#!/bin/sh\n" + code, "does not start with the ELF magic");
  std::string machine = code;
  uint16_t aarch64 = EM_AARCH64;
  std::memcpy(machine.data() + offsetof(Elf64_Ehdr, e_machine), &aarch64, 2);
  refuse(machine, "is for ELF machine 183, not 62 as ISA 'x86-64-v3' needs");
  std::string executable = code;
  uint16_t type = ET_EXEC;
  std::memcpy(executable.data() + offsetof(Elf64_Ehdr, e_type), &type, 2);
  refuse(executable, "has ELF type 2; it must be a shared object");
  std::string dataOnly = code; // every segment without PF_X
  Elf64_Ehdr header;
  std::memcpy(&header, code.data(), sizeof(header));
  for (int index = 0; index < header.e_phnum; ++index) {
    Elf64_Phdr segment;
    char *at = dataOnly.data() + header.e_phoff + index * sizeof(Elf64_Phdr);
    std::memcpy(&segment, at, sizeof(segment));
    segment.p_flags &= ~PF_X;
    std::memcpy(at, &segment, sizeof(segment));
  }
  refuse(dataOnly, "has no executable PT_LOAD segment with code");
  std::string interpreter = code;
  Elf64_Phdr first;
  std::memcpy(&first, code.data() + header.e_phoff, sizeof(first));
  first.p_type = PT_INTERP;
  std::memcpy(interpreter.data() + header.e_phoff, &first, sizeof(first));
  refuse(interpreter, "has an interpreter (segment 0, PT_INTERP)");
  refuse(code.substr(0, 200), "has program headers at file bytes [64, +");
  refuse(code.substr(0, 1000), "occupies file bytes [0, +");
}

/// Damaged bytes, re-hashed so the ELF checks see them: never a crash, only OK or a refusal.
TEST(CodeImageTest, DamagedImagesNeverCrash) {
  std::string code = readImage("kernels");
  std::mt19937 random(12);
  int refused = 0, loaded = 0;
  auto check = [&](const std::string &bytes) {
    absl::StatusOr<std::unique_ptr<CodeImage>> image = CodeImage::load(makeImage(bytes));
    if (image.ok())
      return void(++loaded);
    ++refused;
    absl::StatusCode codeOf = image.status().code();
    EXPECT_TRUE(codeOf == absl::StatusCode::kDataLoss ||
                codeOf == absl::StatusCode::kFailedPrecondition)
        << image.status();
    EXPECT_THAT(image.status().message(), HasSubstr("cpu image 'x86-64-v3'"));
  };
  for (size_t length = 0; length < code.size(); length += 7)
    check(code.substr(0, length));
  // The headers (ELF, program headers, dynamic section) are in the first 1 KiB.
  for (int trial = 0; trial < 3000; ++trial) {
    std::string damaged = code;
    for (int flips = 1 + trial % 4; flips > 0; --flips)
      damaged[random() % std::min<size_t>(damaged.size(), 1024)] = static_cast<char>(random());
    check(damaged);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0); // bytes of code or padding that no check reads
}

} // namespace
} // namespace kiln::cpu
