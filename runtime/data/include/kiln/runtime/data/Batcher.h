//===- Batcher.h - Fixed-size, reproducibly shuffled batches ----*- C++ -*-===//
//
// Cuts a Dataset into batches of a fixed size for a plan compiled with static
// shapes, in an order that is a pure function of (seed, epoch, batch index):
// a run resumed from a checkpoint at (epoch, batch) sees exactly the batches
// an uninterrupted run would have seen.
//
// The order of epoch e is a Fisher-Yates shuffle of 0..N-1 driven by
// Philox-4x32-10 (kiln/runtime/Philox.h) with key `seed` and stream
// kShuffleStreamBase + e. With word(k) the k-th random word of that stream:
//   order = [0, 1, ..., N-1]
//   for k = 0 .. N-2:  i = N-1-k
//     r = word(2k) | word(2k+1) << 32                  (64 random bits)
//     j = (r * (i+1)) >> 64                             (128-bit product; j in [0, i])
//     swap(order[i], order[j])
// The multiply-shift maps 64 bits onto [0, i] with a bias below (i+1) / 2^64,
// far below anything a training run can observe. Batch b of epoch e holds
// examples order[b*B .. b*B+B-1]; the N % B examples left at the end of an
// epoch are dropped (with shuffling on, a different few in each epoch).
//
// A batch holds the dataset fields the options ask for, each as a tensor
// [B, example shape...] (or [B, elements per example] when flattened); by
// default the classification fields "images" and "labels".
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATA_BATCHER_H
#define KILN_RUNTIME_DATA_BATCHER_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::data {

/// The shuffle draws from Philox streams kShuffleStreamBase + epoch, far from the small stream
/// numbers initializers use, so a model and its data order may share one seed without sharing
/// random numbers.
inline constexpr uint64_t kShuffleStreamBase = uint64_t{1} << 63;

/// Tensors by graph.input name, the type devices take for a step.
using TensorMap = std::map<std::string, HostTensor, std::less<>>;

/// Where a batch sits in the data stream.
struct DataPosition {
  int64_t epoch = 0;
  /// 0 <= batch < batchesPerEpoch.
  int64_t batch = 0;

  friend bool operator==(const DataPosition &, const DataPosition &) = default;
};

/// One batch, ready for a device step.
struct Batch {
  /// This batch's place in the stream.
  DataPosition position;
  /// The position of the batch after this one: what a checkpoint taken after training on this
  /// batch records, and what Batcher::seek takes to resume.
  DataPosition nextPosition;
  /// One tensor per BatcherOptions::fields, by its name; by default {imagesInput: f32
  /// [B, features] (or [B, exampleShape...]), labelsInput: i32 [B]}.
  TensorMap tensors;
};

/// One tensor of every batch: the rows of a dataset field.
struct BatchField {
  /// The dataset field (Dataset::fields()).
  std::string field;
  /// The tensor's name in Batch::tensors (the graph.input it feeds); empty: the field's name.
  std::string name = {};
  /// true: [B, elements per example]; false: [B, the field's example shape...].
  bool flatten = false;
};

struct BatcherOptions {
  /// Examples per batch; every batch has exactly this many.
  int64_t batchSize = 64;
  /// Key of the shuffle (see the top of this file).
  uint64_t seed = 0;
  /// false: every epoch visits the examples in dataset order.
  bool shuffle = true;
  /// graph.input names of the two tensors.
  std::string imagesInput = "images";
  std::string labelsInput = "labels";
  /// true: images are [B, numFeatures]; false: [B, exampleShape...] (e.g. [B, 3, 32, 32]).
  bool flattenImages = true;
  /// The tensors of each batch, any fields of the dataset; empty: images and labels as the
  /// three options above say.
  std::vector<BatchField> fields = {};
};

/// Serves batches of a dataset in a reproducible order, with a cursor that can be saved and
/// restored. Copyable; copies share the (immutable) dataset. One instance is not safe to use
/// from two threads at once (the Prefetcher gives its batcher to the worker alone).
class Batcher {
public:
  /// Fails with InvalidArgument when `dataset` is null or inconsistent (see validateDataset),
  /// has 2^32 or more examples, when batchSize < 1 or larger than the dataset (every batch
  /// would be dropped), when the input names are empty or equal, or when a BatchField names a
  /// field the dataset lacks (the message lists the fields it has).
  static absl::StatusOr<Batcher> create(std::shared_ptr<const Dataset> dataset,
                                        BatcherOptions options);

  const Dataset &dataset() const { return *dataset_; }
  const BatcherOptions &options() const { return options_; }
  /// floor(dataset size / batchSize): the trailing partial batch is dropped.
  int64_t batchesPerEpoch() const { return batchesPerEpoch_; }

  /// The order in which epoch `epoch` (>= 0) visits the examples: a permutation of
  /// 0..size-1 as described at the top of this file (0..size-1 itself when shuffle is off).
  std::vector<uint32_t> epochOrder(int64_t epoch) const;

  /// The batch at `position`, without moving the cursor. Fails with OutOfRange when the
  /// epoch is negative or the batch is not in [0, batchesPerEpoch).
  absl::StatusOr<Batch> batchAt(DataPosition position) const;

  /// The batch at the cursor; then advances the cursor (to batch 0 of the next epoch after
  /// the last batch of an epoch). Never fails: the batcher was validated on creation.
  Batch next();

  /// The position next() will serve.
  DataPosition position() const { return position_; }
  /// Moves the cursor, e.g. to a checkpoint's Batch::nextPosition. Fails with OutOfRange like
  /// batchAt, leaving the cursor where it was.
  absl::Status seek(DataPosition position);

private:
  Batcher(std::shared_ptr<const Dataset> dataset, BatcherOptions options);
  absl::Status checkPosition(DataPosition position) const;
  DataPosition after(DataPosition position) const;
  Batch gather(DataPosition position, const std::vector<uint32_t> &order) const;

  /// A BatchField resolved against the dataset.
  struct Column {
    std::string field;
    std::string name;
    DType dtype;
    /// The shape of one example in the batch tensor.
    std::vector<int64_t> exampleShape;
    size_t rowBytes;
  };

  std::shared_ptr<const Dataset> dataset_;
  BatcherOptions options_;
  std::vector<Column> columns_;
  int64_t batchesPerEpoch_ = 0;
  DataPosition position_;
  /// epochOrder(cachedEpoch_), computed once per epoch by next().
  int64_t cachedEpoch_ = -1;
  std::vector<uint32_t> cachedOrder_;
};

} // namespace kiln::data

#endif // KILN_RUNTIME_DATA_BATCHER_H
