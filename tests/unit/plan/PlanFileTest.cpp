//===- PlanFileTest.cpp - .kplan writing, reading and every rejection -----===//

#include "TestPlans.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/Sha256.h"

#include "google/protobuf/util/message_differencer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace kiln::plan {
namespace {

using ::testing::HasSubstr;

std::string tempPath(const std::string &name) {
  return (std::filesystem::path(::testing::TempDir()) / name).string();
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Decodes `bytes` and returns the error message (empty if it decoded).
std::string decodeError(const std::string &bytes, absl::StatusCode expectedCode) {
  absl::StatusOr<Plan> plan = decodePlanFile(bytes, "test.kplan");
  if (plan.ok())
    return "";
  EXPECT_EQ(plan.status().code(), expectedCode) << plan.status();
  return std::string(plan.status().message());
}

TEST(PlanFileTest, RoundTripGivesAnEqualPlan) {
  Plan original = testing::makeValidPlan();
  std::string path = tempPath("roundtrip.kplan");
  ASSERT_TRUE(writePlanFile(original, path).ok());
  absl::StatusOr<Plan> loaded = readPlanFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, *loaded));
  EXPECT_EQ(loaded->kernels(1).name(), "scale");
  EXPECT_EQ(loaded->step().commands_size(), 7);
}

TEST(PlanFileTest, RoundTripKeepsProgramsAndGraphModule) {
  Plan original = testing::makeProgramsPlan();
  std::string path = tempPath("programs.kplan");
  ASSERT_TRUE(writePlanFile(original, path).ok());
  absl::StatusOr<Plan> loaded = readPlanFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, *loaded));
  EXPECT_EQ(loaded->step().name(), "train");
  EXPECT_THAT(loaded->step().outputs(), ::testing::ElementsAre(0u));
  ASSERT_EQ(loaded->programs_size(), 1);
  EXPECT_EQ(loaded->programs(0).name(), "eval");
  EXPECT_THAT(loaded->programs(0).inputs(), ::testing::ElementsAre(0u));
  EXPECT_THAT(loaded->programs(0).outputs(), ::testing::ElementsAre(1u));
  EXPECT_EQ(loaded->programs(0).commands_size(), 3);
  EXPECT_THAT(loaded->graph_module(), HasSubstr("module @accumulate"));
  EXPECT_EQ(loaded->graph_module(), original.graph_module());
}

TEST(PlanFileTest, HeaderLayoutIsAsDocumented) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  std::string payload = serializePlan(testing::makeValidPlan());
  ASSERT_EQ(bytes.size(), kPlanHeaderSize + payload.size());
  EXPECT_EQ(bytes.substr(0, 8), "KILNPLAN");
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4));
  EXPECT_EQ(bytes.substr(12, 4), std::string("\x38\x00\x00\x00", 4));
  EXPECT_EQ(static_cast<uint8_t>(bytes[16]), payload.size() & 0xff);
  EXPECT_EQ(static_cast<uint8_t>(bytes[17]), (payload.size() >> 8) & 0xff);
  Sha256Digest digest = sha256(payload);
  EXPECT_EQ(bytes.substr(24, 32), std::string(digest.begin(), digest.end()));
  EXPECT_EQ(bytes.substr(56), payload);
}

TEST(PlanFileTest, IdenticalPlansGiveIdenticalBytes) {
  std::string first = tempPath("first.kplan"), second = tempPath("second.kplan");
  ASSERT_TRUE(writePlanFile(testing::makeValidPlan(), first).ok());
  ASSERT_TRUE(writePlanFile(testing::makeValidPlan(), second).ok());
  EXPECT_EQ(readBytes(first), readBytes(second));
  absl::StatusOr<Plan> reloaded = readPlanFile(first);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(encodePlanFile(*reloaded), readBytes(first));
  Plan changed = testing::makeValidPlan();
  changed.mutable_metadata()->set_model_name("other");
  EXPECT_NE(encodePlanFile(changed), readBytes(first));
}

TEST(PlanFileTest, MissingFileIsNotFound) {
  absl::StatusOr<Plan> plan = readPlanFile(tempPath("does-not-exist.kplan"));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(plan.status().message(), HasSubstr("cannot open plan file"));
  EXPECT_THAT(plan.status().message(), HasSubstr("does-not-exist.kplan"));
  EXPECT_THAT(plan.status().message(), HasSubstr("no such file"));
}

TEST(PlanFileTest, DirectoryIsNotAPlanFile) {
  absl::StatusOr<Plan> plan = readPlanFile(::testing::TempDir());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("it is a directory, not a regular file"));
}

// A device that never ends (or a pipe) is refused by its kind before anything is read.
TEST(PlanFileTest, ADeviceIsNotAPlanFile) {
  absl::StatusOr<Plan> plan = readPlanFile("/dev/zero");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(),
              HasSubstr("cannot read plan file '/dev/zero': it is a character device, not a "
                        "regular file"));
}

TEST(PlanFileTest, EmptyFileIsNotAPlan) {
  EXPECT_THAT(decodeError("", absl::StatusCode::kInvalidArgument),
              HasSubstr("'test.kplan' is not a Kiln plan: the file is empty"));
}

TEST(PlanFileTest, BadMagicIsNotAPlan) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  bytes[0] = 'X';
  EXPECT_THAT(decodeError(bytes, absl::StatusCode::kInvalidArgument),
              HasSubstr("is not a Kiln plan: it does not start with the magic"));
  EXPECT_THAT(decodeError("# some text file\n", absl::StatusCode::kInvalidArgument),
              HasSubstr("is not a Kiln plan"));
}

TEST(PlanFileTest, OtherVersionIsNamedWithThisBuildsVersion) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  bytes[8] = 7;
  EXPECT_THAT(decodeError(bytes, absl::StatusCode::kFailedPrecondition),
              HasSubstr("has format version 7 but this build reads version 1"));
}

TEST(PlanFileTest, WrongHeaderSizeIsCorruption) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  bytes[12] = 40;
  EXPECT_THAT(decodeError(bytes, absl::StatusCode::kDataLoss),
              HasSubstr("declares a 40-byte header but version 1 headers are 56 bytes"));
}

TEST(PlanFileTest, TruncatedFilesSayExpectedAndActualSizes) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  size_t full = bytes.size();
  std::string message = decodeError(bytes.substr(0, full - 10), absl::StatusCode::kDataLoss);
  EXPECT_THAT(message, HasSubstr("is truncated: expected " + std::to_string(full) + " bytes"));
  EXPECT_THAT(message, HasSubstr("got " + std::to_string(full - 10)));
  EXPECT_THAT(decodeError(bytes.substr(0, 56), absl::StatusCode::kDataLoss),
              HasSubstr("is truncated: expected " + std::to_string(full)));
  EXPECT_THAT(decodeError(bytes.substr(0, 30), absl::StatusCode::kDataLoss),
              HasSubstr("is truncated: expected at least 56 header bytes, got 30"));
  EXPECT_THAT(decodeError(bytes.substr(0, 10), absl::StatusCode::kDataLoss),
              HasSubstr("expected at least 56 header bytes, got 10"));
  // Every prefix is rejected without crashing.
  for (size_t length = 0; length < full; ++length)
    EXPECT_FALSE(decodePlanFile(std::string_view(bytes).substr(0, length), "prefix").ok())
        << "prefix of " << length << " bytes decoded";
}

TEST(PlanFileTest, TrailingBytesAreCorruption) {
  std::string bytes = encodePlanFile(testing::makeValidPlan()) + "xyz";
  EXPECT_THAT(decodeError(bytes, absl::StatusCode::kDataLoss),
              HasSubstr("has 3 unexpected bytes after its"));
}

TEST(PlanFileTest, FlippedPayloadByteFailsTheChecksum) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  for (size_t offset : {size_t{56}, bytes.size() / 2, bytes.size() - 1}) {
    std::string corrupted = bytes;
    corrupted[offset] ^= 0x10;
    std::string message = decodeError(corrupted, absl::StatusCode::kDataLoss);
    EXPECT_THAT(message, HasSubstr("failed its checksum (the file is corrupted)"))
        << "offset " << offset;
  }
  std::string corruptedDigest = bytes;
  corruptedDigest[30] ^= 1;
  EXPECT_THAT(decodeError(corruptedDigest, absl::StatusCode::kDataLoss),
              HasSubstr("failed its checksum"));
}

TEST(PlanFileTest, EverySingleBitFlipIsRejected) {
  std::string bytes = encodePlanFile(testing::makeValidPlan());
  for (size_t offset = 0; offset < bytes.size(); ++offset)
    for (int bit : {0, 7}) {
      std::string corrupted = bytes;
      corrupted[offset] ^= static_cast<char>(1 << bit);
      EXPECT_FALSE(decodePlanFile(corrupted, "flipped").ok())
          << "flipping bit " << bit << " of byte " << offset << " went unnoticed";
    }
}

TEST(PlanFileTest, UnparsablePayloadWithValidChecksum) {
  std::string payload = "\xff\xff\xff\xff not a protobuf";
  std::string bytes = encodePlanFile(Plan());
  bytes.resize(16);
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  Sha256Digest digest = sha256(payload);
  bytes.append(digest.begin(), digest.end());
  bytes += payload;
  EXPECT_THAT(decodeError(bytes, absl::StatusCode::kDataLoss),
              HasSubstr("payload does not parse as a kiln.plan.Plan"));
}

TEST(PlanFileTest, SemanticErrorsAreReportedByTheLoader) {
  Plan plan = testing::makeValidPlan();
  plan.mutable_step()->mutable_commands(0)->mutable_dispatch()->set_kernel(5);
  std::string path = tempPath("bad-kernel.kplan");
  writeBytes(path, encodePlanFile(plan));
  absl::StatusOr<Plan> loaded = readPlanFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("is invalid: step command 0 (dispatch) names kernel 5 but the plan has "
                        "2 kernels"));
}

TEST(PlanFileTest, WriterRefusesInvalidPlansAndBadPaths) {
  Plan plan = testing::makeValidPlan();
  plan.mutable_buffers(2)->set_size_bytes(6);
  absl::Status invalid = writePlanFile(plan, tempPath("invalid.kplan"));
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.message(), HasSubstr("refusing to write invalid plan"));
  absl::Status badPath = writePlanFile(testing::makeValidPlan(), tempPath("no/such/dir/p.kplan"));
  EXPECT_EQ(badPath.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(badPath.message(), HasSubstr("cannot open"));
}

} // namespace
} // namespace kiln::plan
