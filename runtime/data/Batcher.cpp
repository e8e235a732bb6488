//===- Batcher.cpp - Fixed-size, reproducibly shuffled batches ------------===//

#include "kiln/runtime/data/Batcher.h"

#include "kiln/runtime/Philox.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace kiln::data {

absl::StatusOr<Batcher> Batcher::create(std::shared_ptr<const Dataset> dataset,
                                        BatcherOptions options) {
  if (!dataset)
    return absl::InvalidArgumentError("Batcher: the dataset is null");
  if (absl::Status status = validateDataset(*dataset); !status.ok())
    return status;
  auto invalid = [&](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("Batcher for dataset '", dataset->name, "': ", problem));
  };
  if (dataset->size() > int64_t{UINT32_MAX})
    return invalid(absl::StrCat("it has ", dataset->size(),
                                " examples; at most 2^32 - 1 are "
                                "supported"));
  if (options.batchSize < 1)
    return invalid(absl::StrCat("batchSize must be >= 1, got ", options.batchSize));
  if (options.batchSize > dataset->size())
    return invalid(absl::StrCat("batchSize ", options.batchSize, " is larger than the ",
                                dataset->size(),
                                " examples, and partial batches are dropped, so there would be "
                                "no batch at all. Hint: use a batch size <= ",
                                dataset->size()));
  std::vector<BatchField> fields = options.fields;
  if (fields.empty()) {
    if (options.imagesInput.empty() || options.labelsInput.empty())
      return invalid("the images and labels input names must not be empty");
    if (options.imagesInput == options.labelsInput)
      return invalid(absl::StrCat("the images and labels inputs have the same name '",
                                  options.imagesInput, "'"));
    fields = {{std::string(kImagesField), options.imagesInput, options.flattenImages},
              {std::string(kLabelsField), options.labelsInput, false}};
  }
  std::vector<FieldSpec> available = dataset->fields();
  std::vector<Column> columns;
  for (const BatchField &wanted : fields) {
    auto spec = std::find_if(available.begin(), available.end(),
                             [&](const FieldSpec &field) { return field.name == wanted.field; });
    if (spec == available.end())
      return invalid(
          absl::StrCat("it has no field '", wanted.field, "'; its fields are ",
                       absl::StrJoin(available, ", ", [](std::string *out, const FieldSpec &field) {
                         absl::StrAppend(out, field.name, " (", field.describe(), ")");
                       })));
    std::string name = wanted.name.empty() ? wanted.field : wanted.name;
    if (std::any_of(columns.begin(), columns.end(),
                    [&](const Column &column) { return column.name == name; }))
      return invalid(absl::StrCat("two batch tensors are named '", name, "'"));
    int64_t elements = 1;
    for (int64_t dimension : spec->exampleShape)
      elements *= dimension;
    std::vector<int64_t> exampleShape = spec->exampleShape;
    if (wanted.flatten)
      exampleShape = {elements};
    columns.push_back({spec->name, std::move(name), spec->dtype, std::move(exampleShape),
                       static_cast<size_t>(elements) * dtypeSize(spec->dtype)});
  }
  Batcher batcher(std::move(dataset), std::move(options));
  batcher.columns_ = std::move(columns);
  return batcher;
}

Batcher::Batcher(std::shared_ptr<const Dataset> dataset, BatcherOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)),
      batchesPerEpoch_(dataset_->size() / options_.batchSize) {}

std::vector<uint32_t> Batcher::epochOrder(int64_t epoch) const {
  uint32_t size = static_cast<uint32_t>(dataset_->size());
  std::vector<uint32_t> order(size);
  std::iota(order.begin(), order.end(), 0);
  if (!options_.shuffle || size < 2)
    return order;
  uint64_t stream = kShuffleStreamBase + static_cast<uint64_t>(epoch);
  philox::Counter words{};
  for (uint64_t k = 0; k + 1 < size; ++k) {
    // Words 2k and 2k+1 are half of Philox block k / 2.
    if (k % 2 == 0)
      words = philox::randomBlock(options_.seed, stream, k / 2);
    uint64_t low = words[2 * (k % 2)];
    uint64_t high = words[2 * (k % 2) + 1];
    uint64_t random = low | high << 32;
    uint64_t i = size - 1 - k;
    uint64_t j = static_cast<uint64_t>((static_cast<unsigned __int128>(random) * (i + 1)) >> 64);
    std::swap(order[i], order[j]);
  }
  return order;
}

absl::Status Batcher::checkPosition(DataPosition position) const {
  if (position.epoch < 0 || position.batch < 0 || position.batch >= batchesPerEpoch_)
    return absl::OutOfRangeError(absl::StrCat(
        "Batcher for dataset '", dataset_->name, "': position (epoch ", position.epoch, ", batch ",
        position.batch, ") is out of range; epochs are >= 0 and each has ", batchesPerEpoch_,
        " batches (", dataset_->size(), " examples / batch size ", options_.batchSize,
        "). Hint: a checkpoint from a run with another dataset or batch "
        "size cannot resume this one"));
  return absl::OkStatus();
}

DataPosition Batcher::after(DataPosition position) const {
  if (position.batch + 1 < batchesPerEpoch_)
    return {position.epoch, position.batch + 1};
  return {position.epoch + 1, 0};
}

Batch Batcher::gather(DataPosition position, const std::vector<uint32_t> &order) const {
  int64_t batchSize = options_.batchSize;
  Batch batch;
  batch.position = position;
  batch.nextPosition = after(position);
  for (const Column &column : columns_) {
    std::vector<int64_t> shape = {batchSize};
    shape.insert(shape.end(), column.exampleShape.begin(), column.exampleShape.end());
    HostTensor tensor(column.dtype, std::move(shape));
    std::span<const uint8_t> source = dataset_->fieldBytes(column.field);
    uint8_t *destination = tensor.bytes().data();
    for (int64_t row = 0; row < batchSize; ++row) {
      uint32_t example = order[position.batch * batchSize + row];
      std::memcpy(destination + row * column.rowBytes, source.data() + example * column.rowBytes,
                  column.rowBytes);
    }
    batch.tensors.emplace(column.name, std::move(tensor));
  }
  return batch;
}

absl::StatusOr<Batch> Batcher::batchAt(DataPosition position) const {
  if (absl::Status status = checkPosition(position); !status.ok())
    return status;
  if (position.epoch == cachedEpoch_)
    return gather(position, cachedOrder_);
  return gather(position, epochOrder(position.epoch));
}

Batch Batcher::next() {
  if (cachedEpoch_ != position_.epoch) {
    cachedOrder_ = epochOrder(position_.epoch);
    cachedEpoch_ = position_.epoch;
  }
  Batch batch = gather(position_, cachedOrder_);
  position_ = batch.nextPosition;
  return batch;
}

absl::Status Batcher::seek(DataPosition position) {
  if (absl::Status status = checkPosition(position); !status.ok())
    return status;
  position_ = position;
  return absl::OkStatus();
}

} // namespace kiln::data
