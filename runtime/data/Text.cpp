//===- Text.cpp - Byte-level text for language models ---------------------===//

#include "kiln/runtime/data/Text.h"

#include "DataFile.h"

#include "kiln/runtime/Philox.h"

#include "absl/strings/str_cat.h"

#include <algorithm>
#include <cmath>

namespace kiln::data {
namespace {

constexpr const char *kRole = "text file";

} // namespace

TextSplits splitText(std::vector<uint8_t> bytes, const std::string &name) {
  auto held = static_cast<size_t>(std::floor(bytes.size() * kTextValidationFraction));
  TextSplits splits;
  splits.train.name = name + "/train";
  splits.validation.name = name + "/validation";
  splits.validation.bytes.assign(bytes.end() - static_cast<std::ptrdiff_t>(held), bytes.end());
  bytes.resize(bytes.size() - held);
  splits.train.bytes = std::move(bytes);
  return splits;
}

absl::StatusOr<TextSplits> loadTextFile(const std::filesystem::path &path) {
  absl::StatusOr<std::vector<uint8_t>> bytes =
      readDataFile(path, kRole,
                   "Hint: give --data text:FILE a file of plain text (UTF-8 or any "
                   "bytes: every byte is one token)");
  if (!bytes.ok())
    return bytes.status();
  if (bytes->empty())
    return absl::InvalidArgumentError(absl::StrCat(
        kRole, " '", path.string(), "' is empty; it should hold the text to train on"));
  return splitText(*std::move(bytes), path.filename().string());
}

absl::Status checkWindowFits(const TextSplit &split, int64_t contextLength) {
  int64_t size = static_cast<int64_t>(split.bytes.size());
  if (contextLength < 1)
    return absl::InvalidArgumentError(absl::StrCat(
        "text '", split.name, "': the context length must be >= 1, got ", contextLength));
  if (size < contextLength + 1)
    return absl::InvalidArgumentError(
        absl::StrCat("text '", split.name, "' has ", size, " bytes, but one window of ",
                     contextLength, " tokens and its next-token targets needs ", contextLength + 1,
                     "; give a longer text (the validation split is the last ",
                     static_cast<int>(kTextValidationFraction * 100),
                     "% of the file) or build the model with a shorter context"));
  return absl::OkStatus();
}

Dataset windowsAt(const TextSplit &split, std::span<const int64_t> offsets, int64_t contextLength,
                  std::string name) {
  Dataset dataset;
  dataset.name = std::move(name);
  std::vector<int64_t> shape = {static_cast<int64_t>(offsets.size()), contextLength};
  HostTensor tokens(DType::kI32, shape), targets(DType::kI32, shape);
  std::span<int32_t> tokenValues = tokens.i32(), targetValues = targets.i32();
  for (size_t row = 0; row < offsets.size(); ++row) {
    const uint8_t *window = split.bytes.data() + offsets[row];
    for (int64_t t = 0; t < contextLength; ++t) {
      tokenValues[row * contextLength + t] = window[t];
      targetValues[row * contextLength + t] = window[t + 1];
    }
  }
  dataset.extraFields.emplace(std::string(kTokensField), std::move(tokens));
  dataset.extraFields.emplace(std::string(kTargetsField), std::move(targets));
  return dataset;
}

absl::StatusOr<Dataset> validationWindows(const TextSplit &split, int64_t batchSize,
                                          int64_t contextLength, int64_t maxBatches) {
  if (batchSize < 1 || maxBatches < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("text '", split.name,
                     "': the batch size and the number of batches must be "
                     ">= 1, got ",
                     batchSize, " and ", maxBatches));
  if (absl::Status status = checkWindowFits(split, contextLength); !status.ok())
    return status;
  int64_t size = static_cast<int64_t>(split.bytes.size());
  int64_t batches =
      std::min(maxBatches, std::max<int64_t>(1, (size - 1) / (batchSize * contextLength)));
  int64_t windows = batches * batchSize;
  int64_t last = size - contextLength - 1;
  std::vector<int64_t> offsets(windows);
  for (int64_t i = 0; i < windows; ++i)
    offsets[i] = windows == 1 ? 0
                              : static_cast<int64_t>((static_cast<unsigned __int128>(i) * last) /
                                                     static_cast<uint64_t>(windows - 1));
  return windowsAt(split, offsets, contextLength, split.name + " windows");
}

absl::StatusOr<TextSampler> TextSampler::create(std::shared_ptr<const TextSplit> split,
                                                TextSamplerOptions options) {
  if (!split)
    return absl::InvalidArgumentError("TextSampler: the text is null");
  if (options.batchSize < 1)
    return absl::InvalidArgumentError(absl::StrCat("TextSampler for text '", split->name,
                                                   "': batchSize must be >= 1, got ",
                                                   options.batchSize));
  if (absl::Status status = checkWindowFits(*split, options.contextLength); !status.ok())
    return status;
  return TextSampler(std::move(split), options);
}

TextSampler::TextSampler(std::shared_ptr<const TextSplit> split, TextSamplerOptions options)
    : split_(std::move(split)), options_(options),
      batchesPerEpoch_(std::max<int64_t>(1, (static_cast<int64_t>(split_->bytes.size()) - 1) /
                                                (options_.batchSize * options_.contextLength))) {}

int64_t TextSampler::offset(int64_t batch, int64_t row) const {
  uint64_t index = static_cast<uint64_t>(batch) * static_cast<uint64_t>(options_.batchSize) +
                   static_cast<uint64_t>(row);
  philox::Counter words = philox::randomBlock(options_.seed, kTextWindowStream, index);
  uint64_t random = static_cast<uint64_t>(words[0]) | static_cast<uint64_t>(words[1]) << 32;
  uint64_t positions = split_->bytes.size() - static_cast<uint64_t>(options_.contextLength);
  return static_cast<int64_t>((static_cast<unsigned __int128>(random) * positions) >> 64);
}

Batch TextSampler::make(DataPosition position) const {
  int64_t global = position.epoch * batchesPerEpoch_ + position.batch;
  std::vector<int64_t> offsets(options_.batchSize);
  for (int64_t row = 0; row < options_.batchSize; ++row)
    offsets[row] = offset(global, row);
  Dataset windows = windowsAt(*split_, offsets, options_.contextLength, split_->name);
  Batch batch;
  batch.position = position;
  batch.nextPosition = position.batch + 1 < batchesPerEpoch_
                           ? DataPosition{position.epoch, position.batch + 1}
                           : DataPosition{position.epoch + 1, 0};
  batch.tensors = std::move(windows.extraFields);
  return batch;
}

absl::StatusOr<Batch> TextSampler::batchAt(DataPosition position) const {
  if (absl::Status status = checkPosition(position); !status.ok())
    return status;
  return make(position);
}

Batch TextSampler::next() {
  Batch batch = make(position_);
  position_ = batch.nextPosition;
  return batch;
}

absl::Status TextSampler::checkPosition(DataPosition position) const {
  if (position.epoch < 0 || position.batch < 0 || position.batch >= batchesPerEpoch_)
    return absl::OutOfRangeError(absl::StrCat(
        "text sampler for '", split_->name, "': position (epoch ", position.epoch, ", batch ",
        position.batch, ") is out of range; epochs are >= 0 and each has ", batchesPerEpoch_,
        " batches. Hint: a checkpoint from a run with another text, batch size or context "
        "length cannot resume this one"));
  return absl::OkStatus();
}

absl::Status TextSampler::seek(DataPosition position) {
  if (absl::Status status = checkPosition(position); !status.ok())
    return status;
  position_ = position;
  return absl::OkStatus();
}

} // namespace kiln::data
