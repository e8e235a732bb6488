//===- Embedding.h - Gather and embedding lookup ----------------*- C++ -*-===//
//
// graph.gather along an axis (embedding lookup) and the Embedding layer. An index outside
// [0, size) gives zeros, never a wild read, and is counted: see gatherOutOfRange. The gradient
// of a gather is graph.scatter_add, deterministic on every device.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EMBEDDING_H
#define KILN_EMBEDDING_H

#include "kiln/Init.h"
#include "kiln/Layers.h"
#include "kiln/Ops.h"

namespace kiln {

/// result[i..., j...] = table[..., indices[i...], ...] with the indexed axis `axis` of `table`
/// replaced by the dims of `indices` (i32), as torch.index_select / jnp.take(table, indices, axis).
/// Rows for indices outside [0, table.dim(axis)) are zero. `axis` may be negative (from the
/// end). Indices that are not i32 and an axis outside [-rank, rank) are errors at `loc`. The
/// table's gradient is a deterministic graph.scatter_add (docs/design/gather.md).
Tensor gather(Tensor table, Tensor indices, int64_t axis = 0,
              SourceLocation loc = SourceLocation::current());

/// The number of elements of `indices` outside [0, size), as an f32 scalar (tensor<f32>), to be
/// returned as a step output so the count is visible at run time: the sum of 1 - gather(ones
/// [size], indices), computed on the device (exact below 2^24 indices).
Tensor gatherOutOfRange(Tensor indices, int64_t size,
                        SourceLocation loc = SourceLocation::current());

/// torch.nn.Embedding: indices [...] (i32) -> rows [..., dim] of the weight "<name>.weight"
/// [num, dim], initialized N(0, 0.02) (GPT-2's and nanoGPT's choice; PyTorch's own default is
/// N(0, 1): setWeightInit(Init::normal(0, 1))). An index outside [0, num) gives a row of zeros
/// (count them with gatherOutOfRange(indices, num)). Unnamed embeddings are embedding1, ...
class Embedding : public Layer {
public:
  Embedding(int64_t num, int64_t dim) : Layer("embedding"), num_(num), dim_(dim) {}

  /// Replaces the weight's initializer; call before the first application.
  Embedding &setWeightInit(Init init) {
    weightInit_ = init;
    return *this;
  }

  int64_t num() const { return num_; }
  int64_t dim() const { return dim_; }
  /// The weight [num, dim] as read in the program of the last application (an output head
  /// tied to the embedding multiplies by it); empty before the first application.
  Tensor weight() const { return weight_; }

protected:
  Tensor forward(Tensor indices, SourceLocation loc) override;

private:
  int64_t num_;
  int64_t dim_;
  Init weightInit_ = Init::normal(0.0, 0.02);
  Tensor weight_;
};

} // namespace kiln

#endif // KILN_EMBEDDING_H
