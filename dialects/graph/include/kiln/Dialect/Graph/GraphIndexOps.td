//===- GraphIndexOps.td - Kiln graph dialect, index ops -*- tablegen -*-===//
//
// Reads and sums at positions held in an i32 tensor: `graph.gather` (an
// embedding lookup; a view whose element reads its index first) and its
// adjoint `graph.scatter_add` (a reduction over the index positions whose
// terms combine in ascending order on every device: the same bits
// everywhere). An index outside [0, size) reads zeros and adds nothing, never
// touching memory outside the table. Shape rules (IndexShapes.h), element
// functions, iteration spaces and VJPs are in lib/GraphIndex.cpp;
// docs/design/gather.md explains the design.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_GRAPH_INDEX_OPS
#define KILN_GRAPH_INDEX_OPS

def Graph_GatherOp : Graph_ViewOp<"gather", [InferTypeOpAdaptor]> {
  let summary = "Rows of a table at i32 indices: table[..., indices[i...], ...]";
  let description = [{
    For `table` of shape `[A..., V, B...]` (`V` at `axis`) and `indices` of
    any shape `[N...]` (i32, rank 0 included), the result has shape
    `[A..., N..., B...]` and

      result[a..., n..., b...] = table[a..., indices[n...], b...]

    when `0 <= indices[n...] < V`, and 0 otherwise: an out-of-range index
    gives a row of zeros (a defined result, never a read outside the table).
    As `torch.index_select` / `jnp.take(table, indices, axis)` for in-range
    indices; `kiln::gatherOutOfRange` counts the others. A view: kernels
    load the index, compare it with `V`, and load the table element (or
    take 0) where they read the result. The gradient with respect to the
    table is `graph.scatter_add` of the result's gradient along the same
    axis; the indices take none.

    ```mlir
    %e = graph.gather %wte, %tokens axis = 0
        : tensor<256x128xf32>, tensor<12x64xi32> -> tensor<12x64x128xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$table, Graph_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $indices `axis` `=` $axis attr-dict `:` type($table) `,` type($indices) `->`
    type($result)
  }];
}

def Graph_ScatterAddOp : Graph_IteratingOp<"scatter_add", [], ["buildReductionTermAt"]> {
  let summary = "Sums slices of updates into the rows their i32 indices name (gather's adjoint)";
  let description = [{
    For a result of shape `[A..., V, B...]` (`V` at `axis`, given by the
    result type), `indices` of shape `[N...]` (i32) and `updates` of shape
    `[A..., N..., B...]` (the shape `graph.gather` of the result would have):

      result[a..., v, b...] = sum over n... with indices[n...] == v of
                              updates[a..., n..., b...]

    An index outside [0, V) adds to no row. The sum runs over the index
    positions one at a time in ascending row-major order of `n...`,
    starting from +0, in float32 on every device (no atomics, no tree): the
    result is bit-identical on every device and every run, and equal to the
    reference device's. A reduction: one thread per result element visits
    every index position, O(result elements x index elements) work. The
    gradient with respect to `updates` is `graph.gather` of the result's
    gradient at the same indices; the indices take none.

    ```mlir
    %dwte = graph.scatter_add %g, %tokens axis = 0
        : tensor<12x64x128xf32>, tensor<12x64xi32> -> tensor<256x128xf32>
    ```
  }];
  let arguments = (ins Graph_FloatTensor:$updates, Graph_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Graph_FloatTensor:$result);
  let assemblyFormat = [{
    $updates `,` $indices `axis` `=` $axis attr-dict `:` type($updates) `,` type($indices) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

#endif // KILN_GRAPH_INDEX_OPS
