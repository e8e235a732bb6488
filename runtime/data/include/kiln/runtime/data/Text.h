//===- Text.h - Byte-level text for language models -------------*- C++ -*-===//
//
// A text file as a stream of byte tokens (each byte 0..255 is one token; no
// tokenizer, no vocabulary file): the last 10% of the file is the validation
// split, the rest the training split. A language model trains on windows of T
// consecutive tokens and predicts each next one, so a window at offset o gives
//   tokens[t]  = text[o + t]        t = 0 .. T-1
//   targets[t] = text[o + t + 1]    (the tokens shifted by one)
// both as i32. Training batches are B windows at random offsets; validation
// uses a fixed set of evenly spaced windows. Everything is a pure function of
// the file, B, T and the seed (Philox-4x32-10, kiln/runtime/Philox.h), so a
// run resumed at (epoch, batch) sees the windows an uninterrupted run would.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_TEXT_H
#define KILN_RUNTIME_DATA_TEXT_H

#include "kiln/runtime/data/Batcher.h"
#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::data {

/// The fields of a text batch: the window and the window shifted by one.
inline constexpr std::string_view kTokensField = "tokens";
inline constexpr std::string_view kTargetsField = "targets";
/// Byte-level tokens: every byte value is a token.
inline constexpr int64_t kByteVocabulary = 256;
/// The share of the file, at its end, held out for validation.
inline constexpr double kTextValidationFraction = 0.1;
/// The Philox stream (key: the seed) that draws the training windows' offsets, far from the
/// initializers' small stream numbers and the Batcher's shuffle streams (2^63 + epoch).
inline constexpr uint64_t kTextWindowStream = (uint64_t{1} << 62) + 0x74657874; // "text"

/// One split of a text: its bytes.
struct TextSplit {
  /// For messages: "<file name>/train" or "<file name>/validation".
  std::string name;
  std::vector<uint8_t> bytes;
};

/// The two splits of a text file.
struct TextSplits {
  TextSplit train;
  TextSplit validation;
};

/// Splits `bytes` (named `name`): the last floor(size * kTextValidationFraction) bytes are the
/// validation split, the others the training split, in file order.
TextSplits splitText(std::vector<uint8_t> bytes, const std::string &name);

/// Reads the text file at `path` (a gzip-compressed file is inflated) and splits it. Fails with
/// NotFound for a missing file and InvalidArgument for an empty one, naming the file.
absl::StatusOr<TextSplits> loadTextFile(const std::filesystem::path &path);

/// Checks that `split` holds at least one window of `contextLength` tokens and its targets,
/// contextLength + 1 bytes; InvalidArgument naming the split, its size and the need otherwise.
absl::Status checkWindowFits(const TextSplit &split, int64_t contextLength);

/// Windows at `offsets` (each in [0, size - contextLength - 1]) of `split` as a dataset named
/// `name` with the fields "tokens" and "targets", each i32 [offsets.size(), contextLength].
Dataset windowsAt(const TextSplit &split, std::span<const int64_t> offsets, int64_t contextLength,
                  std::string name);

/// The fixed validation windows of `split` for batches of `batchSize` windows: W = batchSize *
/// min(maxBatches, max(1, (size - 1) / (batchSize * contextLength))) windows at the evenly
/// spaced offsets floor(i * (size - contextLength - 1) / (W - 1)), i = 0 .. W-1 (offset 0 when
/// W is 1). When the split holds W non-overlapping windows they do not overlap; a small split
/// still gives one batch, of overlapping windows. Fails like checkWindowFits, and with
/// InvalidArgument when batchSize, contextLength or maxBatches is < 1.
absl::StatusOr<Dataset> validationWindows(const TextSplit &split, int64_t batchSize,
                                          int64_t contextLength, int64_t maxBatches);

struct TextSamplerOptions {
  int64_t batchSize = 8;
  int64_t contextLength = 64;
  uint64_t seed = 0;
};

/// Serves training batches of random windows: row r of batch k (k = epoch * batchesPerEpoch +
/// batch) starts at offset
///   o = (w * (size - contextLength)) >> 64,   w = x[0] | x[1] << 32,  i = k*B + r
/// where x = philox::randomBlock(seed, kTextWindowStream, i), a 128-bit product (uniform in
/// [0, size - contextLength - 1] with a bias below size / 2^64). An epoch is
/// max(1, (size - 1) / (batchSize * contextLength)) batches: about one pass over the tokens.
/// Each batch holds "tokens" and "targets", i32 [batchSize, contextLength]. Copyable; one
/// instance is not safe to use from two threads at once.
class TextSampler {
public:
  /// Fails with InvalidArgument when `split` is null or too short (checkWindowFits), or
  /// batchSize or contextLength is < 1.
  static absl::StatusOr<TextSampler> create(std::shared_ptr<const TextSplit> split,
                                            TextSamplerOptions options);

  const TextSamplerOptions &options() const { return options_; }
  int64_t batchesPerEpoch() const { return batchesPerEpoch_; }
  /// The offset of row `row` of global batch `batch`.
  int64_t offset(int64_t batch, int64_t row) const;
  /// The batch at `position`, without moving the cursor; OutOfRange like Batcher::batchAt.
  absl::StatusOr<Batch> batchAt(DataPosition position) const;
  /// The batch at the cursor; then advances it.
  Batch next();
  DataPosition position() const { return position_; }
  /// Moves the cursor; OutOfRange for a position outside the stream, leaving it where it was.
  absl::Status seek(DataPosition position);

private:
  TextSampler(std::shared_ptr<const TextSplit> split, TextSamplerOptions options);
  Batch make(DataPosition position) const;
  absl::Status checkPosition(DataPosition position) const;

  std::shared_ptr<const TextSplit> split_;
  TextSamplerOptions options_;
  int64_t batchesPerEpoch_ = 1;
  DataPosition position_;
};

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_TEXT_H
