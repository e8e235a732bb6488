//===- TextTest.cpp - Byte-level text: splits, windows, sampling ----------===//

#include "DataTestFiles.h"

#include "kiln/runtime/data/Text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace kiln::data {
namespace {

using ::kiln::data::testing::Bytes;
using ::kiln::data::testing::gzip;
using ::kiln::data::testing::writeFile;
using ::testing::AllOf;
using ::testing::HasSubstr;

/// Byte i of the test texts: a pattern with every byte value 0..255 (not text at all: every
/// byte is a token, whatever it is).
Bytes patternText(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>((i * 37 + i / 256) % 256);
  return bytes;
}

std::shared_ptr<const TextSplit> split(Bytes bytes) {
  return std::make_shared<const TextSplit>(TextSplit{"t/train", std::move(bytes)});
}

/// Checks that row `row` of `tokens` / `targets` [rows, T] is a window of `text` shifted by
/// one, and returns its offset (-1 when it is not a window).
int64_t windowOffset(const Bytes &text, const HostTensor &tokens, const HostTensor &targets,
                     int64_t row) {
  int64_t context = tokens.shape()[1];
  std::span<const int32_t> x = tokens.i32().subspan(row * context, context);
  std::span<const int32_t> y = targets.i32().subspan(row * context, context);
  for (int64_t offset = 0; offset + context < static_cast<int64_t>(text.size()); ++offset) {
    bool match = true;
    for (int64_t t = 0; t < context && match; ++t)
      match = x[t] == text[offset + t] && y[t] == text[offset + t + 1];
    if (match)
      return offset;
  }
  return -1;
}

class TextTest : public testing::TempDirTest {};

TEST_F(TextTest, TheLastTenthOfTheFileIsTheValidationSplit) {
  Bytes bytes = patternText(1005);
  writeFile(dir() / "corpus.txt", bytes);
  absl::StatusOr<TextSplits> splits = loadTextFile(dir() / "corpus.txt");
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->train.name, "corpus.txt/train");
  EXPECT_EQ(splits->validation.name, "corpus.txt/validation");
  ASSERT_EQ(splits->validation.bytes.size(), 100u) << "floor(1005 * 0.1)";
  EXPECT_EQ(splits->train.bytes, Bytes(bytes.begin(), bytes.begin() + 905));
  EXPECT_EQ(splits->validation.bytes, Bytes(bytes.begin() + 905, bytes.end()));
}

TEST_F(TextTest, AGzipFileIsInflated) {
  Bytes bytes = patternText(300);
  writeFile(dir() / "corpus.txt.gz", gzip(bytes));
  absl::StatusOr<TextSplits> splits = loadTextFile(dir() / "corpus.txt.gz");
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->train.bytes, Bytes(bytes.begin(), bytes.begin() + 270));
}

TEST_F(TextTest, MissingEmptyAndCorruptFilesAreRefusedNamingTheFile) {
  std::string missing = (dir() / "nope.txt").string();
  absl::Status status = loadTextFile(missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(missing));

  writeFile(dir() / "empty.txt", {});
  status = loadTextFile(dir() / "empty.txt").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("empty.txt"), HasSubstr("is empty")));

  // A gzip stream cut in half: the magic says gzip, the data ends early.
  Bytes compressed = gzip(patternText(4000));
  compressed.resize(compressed.size() / 2);
  writeFile(dir() / "cut.txt.gz", compressed);
  status = loadTextFile(dir() / "cut.txt.gz").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cut.txt.gz"));

  // A directory is not a text file.
  status = loadTextFile(dir()).status();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(dir().string()));
}

TEST_F(TextTest, ASplitShorterThanOneWindowIsRefused) {
  TextSplit text{"tiny/validation", patternText(8)};
  EXPECT_TRUE(checkWindowFits(text, 7).ok()) << "7 tokens and the 8th as the last target";
  absl::Status status = checkWindowFits(text, 8);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("tiny/validation"), HasSubstr("has 8 bytes"), HasSubstr("needs 9")));
  EXPECT_FALSE(validationWindows(text, 2, 8, 4).ok());
  EXPECT_FALSE(
      TextSampler::create(split(patternText(8)), {.batchSize = 2, .contextLength = 8}).ok());
  EXPECT_FALSE(
      TextSampler::create(split(patternText(100)), {.batchSize = 0, .contextLength = 8}).ok());
  EXPECT_FALSE(TextSampler::create(nullptr, {}).ok());
}

TEST_F(TextTest, ValidationWindowsAreFixedEvenlySpacedAndShiftedByOne) {
  TextSplit text{"v", patternText(1000)};
  // (1000 - 1) / (4 * 16) = 15 batches fit without overlap; at most 3 are taken.
  absl::StatusOr<Dataset> windows = validationWindows(text, 4, 16, 3);
  ASSERT_TRUE(windows.ok()) << windows.status();
  ASSERT_EQ(windows->size(), 12);
  const HostTensor &tokens = windows->extraFields.at("tokens");
  const HostTensor &targets = windows->extraFields.at("targets");
  EXPECT_EQ(tokens.shape(), (std::vector<int64_t>{12, 16}));
  EXPECT_EQ(tokens.dtype(), DType::kI32);
  EXPECT_EQ(targets.dtype(), DType::kI32);
  int64_t last = 1000 - 16 - 1;
  int64_t previous = -1;
  for (int64_t i = 0; i < 12; ++i) {
    int64_t offset = i * last / 11;
    for (int64_t t = 0; t < 16; ++t) {
      ASSERT_EQ(tokens.i32()[i * 16 + t], text.bytes[offset + t]) << "window " << i;
      ASSERT_EQ(targets.i32()[i * 16 + t], text.bytes[offset + t + 1]) << "window " << i;
    }
    if (i > 0)
      EXPECT_GE(offset - previous, 16) << "the windows do not overlap";
    previous = offset;
  }
  EXPECT_EQ(previous, last) << "the last window ends at the split's end";
  // The same split gives the same windows.
  absl::StatusOr<Dataset> again = validationWindows(text, 4, 16, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(std::equal(tokens.i32().begin(), tokens.i32().end(),
                         again->extraFields.at("tokens").i32().begin()));
  EXPECT_TRUE(validateDataset(*windows).ok());
}

TEST_F(TextTest, ASmallValidationSplitStillGivesOneBatch) {
  TextSplit text{"v", patternText(20)};
  absl::StatusOr<Dataset> windows = validationWindows(text, 4, 16, 8);
  ASSERT_TRUE(windows.ok()) << windows.status();
  EXPECT_EQ(windows->size(), 4) << "one batch of overlapping windows";
  const HostTensor &tokens = windows->extraFields.at("tokens");
  const HostTensor &targets = windows->extraFields.at("targets");
  std::set<int64_t> offsets;
  for (int64_t row = 0; row < 4; ++row)
    offsets.insert(windowOffset(text.bytes, tokens, targets, row));
  EXPECT_EQ(offsets, (std::set<int64_t>{0, 1, 2, 3}));
}

TEST_F(TextTest, TrainingWindowsAreRandomSeededAndShiftedByOne) {
  Bytes bytes = patternText(5000);
  auto text = split(bytes);
  auto sampler = TextSampler::create(text, {.batchSize = 4, .contextLength = 32, .seed = 7});
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  EXPECT_EQ(sampler->batchesPerEpoch(), (5000 - 1) / (4 * 32));
  std::set<int64_t> offsets;
  for (int b = 0; b < 20; ++b) {
    Batch batch = sampler->next();
    EXPECT_EQ(batch.position.batch, b);
    ASSERT_EQ(batch.tensors.size(), 2u);
    const HostTensor &tokens = batch.tensors.at("tokens");
    const HostTensor &targets = batch.tensors.at("targets");
    ASSERT_EQ(tokens.shape(), (std::vector<int64_t>{4, 32}));
    ASSERT_EQ(targets.shape(), (std::vector<int64_t>{4, 32}));
    for (int64_t row = 0; row < 4; ++row) {
      int64_t offset = sampler->offset(b, row);
      ASSERT_GE(offset, 0);
      ASSERT_LE(offset, 5000 - 32 - 1);
      for (int64_t t = 0; t < 32; ++t) {
        ASSERT_EQ(tokens.i32()[row * 32 + t], bytes[offset + t]);
        ASSERT_EQ(targets.i32()[row * 32 + t], bytes[offset + t + 1]);
      }
      offsets.insert(offset);
    }
  }
  EXPECT_GT(offsets.size(), 70u) << "80 random offsets out of 4968 are nearly all distinct";

  // The same seed gives the same windows; another seed others.
  auto same = TextSampler::create(text, {.batchSize = 4, .contextLength = 32, .seed = 7});
  auto other = TextSampler::create(text, {.batchSize = 4, .contextLength = 32, .seed = 8});
  ASSERT_TRUE(same.ok() && other.ok());
  int differing = 0;
  for (int b = 0; b < 20; ++b)
    for (int64_t row = 0; row < 4; ++row) {
      EXPECT_EQ(same->offset(b, row), sampler->offset(b, row));
      differing += other->offset(b, row) != sampler->offset(b, row);
    }
  EXPECT_GT(differing, 70);
}

TEST_F(TextTest, ASeekResumesTheStreamAndBadPositionsAreOutOfRange) {
  auto text = split(patternText(700));
  auto sampler = TextSampler::create(text, {.batchSize = 2, .contextLength = 16, .seed = 3});
  ASSERT_TRUE(sampler.ok());
  int64_t perEpoch = sampler->batchesPerEpoch();
  ASSERT_EQ(perEpoch, (700 - 1) / 32);
  std::vector<Batch> stream;
  for (int64_t i = 0; i < perEpoch + 3; ++i)
    stream.push_back(sampler->next());
  EXPECT_EQ(stream[perEpoch].position, (DataPosition{1, 0}));
  EXPECT_EQ(stream[perEpoch - 1].nextPosition, (DataPosition{1, 0}));

  auto resumed = TextSampler::create(text, {.batchSize = 2, .contextLength = 16, .seed = 3});
  ASSERT_TRUE(resumed->seek(stream[perEpoch - 2].nextPosition).ok());
  for (int64_t i = perEpoch - 1; i < perEpoch + 3; ++i) {
    Batch batch = resumed->next();
    EXPECT_EQ(batch.position, stream[i].position);
    for (const char *field : {"tokens", "targets"})
      EXPECT_TRUE(std::equal(batch.tensors.at(field).i32().begin(),
                             batch.tensors.at(field).i32().end(),
                             stream[i].tensors.at(field).i32().begin()))
          << field << " of batch " << i;
  }
  auto at = sampler->batchAt({1, 1});
  ASSERT_TRUE(at.ok());
  EXPECT_TRUE(std::equal(at->tensors.at("tokens").i32().begin(),
                         at->tensors.at("tokens").i32().end(),
                         stream[perEpoch + 1].tensors.at("tokens").i32().begin()));

  absl::Status status = resumed->seek({0, perEpoch});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("t/train"));
  EXPECT_EQ(resumed->batchAt({-1, 0}).status().code(), absl::StatusCode::kOutOfRange);
}

} // namespace
} // namespace kiln::data
