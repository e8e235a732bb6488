//===- Embedding.cpp - Gather, its out-of-range count, the Embedding layer -===//
//
// The shape rule is the dialect's (IndexShapes.h), run under the builder's
// diagnostic capture, so a mistake (indices that are not i32, an axis out of
// range) is reported at the user's call with the verifier's message.
//
//===----------------------------------------------------------------------===//

#include "kiln/Embedding.h"

#include "OpSupport.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Dialect/Graph/IndexShapes.h"

#include "absl/strings/str_cat.h"

#include <limits>

using namespace mlir;

namespace kiln {
Tensor gather(Tensor table, Tensor indices, int64_t axis, SourceLocation loc) {
  Builder *b = builderFor("gather", {table, indices}, loc);
  if (!b)
    return poisoned({table, indices});
  int64_t rank = table.rank();
  if (axis < -rank || axis >= rank) {
    b->reportError(absl::StrCat("gather: axis ", axis, " is out of range for the table ",
                                describe(table.type()), " of rank ", rank, " (-", rank,
                                " <= axis < ", rank, ")"),
                   loc);
    return b->poison();
  }
  if (axis < 0)
    axis += rank;
  FailureOr<RankedTensorType> type;
  if (!b->check(
          [&](Location l) {
            type = graph::inferGatherType(l, table.type(), indices.type(), axis);
            return success(succeeded(type));
          },
          loc))
    return b->poison();
  return b->create<graph::GatherOp>(loc, *type, table.value(), indices.value(),
                                    static_cast<uint64_t>(axis));
}

Tensor gatherOutOfRange(Tensor indices, int64_t size, SourceLocation loc) {
  Builder *b = builderFor("gatherOutOfRange", {indices}, loc);
  if (!b)
    return poisoned({indices});
  if (!indices.type().getElementType().isSignlessInteger(32)) {
    b->reportError(
        absl::StrCat("gatherOutOfRange: indices must be i32, got ", describe(indices.type())), loc);
    return b->poison();
  }
  if (size < 0 || size > std::numeric_limits<int32_t>::max()) {
    b->reportError(absl::StrCat("gatherOutOfRange: size must be in [0, 2^31), got ", size), loc);
    return b->poison();
  }
  int64_t count = indices.type().getNumElements();
  if (size == 0 || count == 0)
    return b->constant({}, static_cast<float>(count), loc);
  // 1 where an index reads a row, 0 where it is out of range.
  Tensor read = gather(b->constant({size}, 1.0f, loc), indices, 0, loc);
  Tensor missed = sub(1.0f, read, loc);
  return missed.rank() == 0 ? missed : reduceSum(missed, loc);
}

Tensor Embedding::forward(Tensor indices, SourceLocation loc) {
  Builder &b = *indices.builder();
  if (num_ <= 0 || dim_ <= 0) {
    b.reportError(absl::StrCat("Embedding(", num_, ", ", dim_, ") needs positive sizes"), loc);
    return b.poison();
  }
  if (!indices.type().getElementType().isSignlessInteger(32)) {
    b.reportError(absl::StrCat("Embedding expects i32 indices but got ", describe(indices.type())),
                  loc);
    return b.poison();
  }
  // The weight is read once per program: a later program (Builder::beginProgram) declares the
  // same name again and gets a read of the same variable there.
  if (!weight_.ok() || weight_.value().getParentBlock() != b.opBuilder().getInsertionBlock())
    weight_ = b.parameter("weight", {num_, dim_}, weightInit_, loc);
  return gather(weight_, indices, 0, loc);
}

} // namespace kiln
