//===- OpRegistryIndex.cpp - Samples of gather and scatter_add -----------===//
//
// graph.gather along the first, a middle and the last axis, with rank-0, 1
// and 2 indices, repeated indices (more indices than rows, so some row is
// read twice and its gradient sums two terms or more), indices drawn with
// out-of-range values, and constant indices that hold -1, V, INT32_MIN and
// INT32_MAX for certain; graph.scatter_add with repeated, out-of-range and
// constant indices along the first and a middle axis, and with about 16
// terms per row. Indices are i32 operands (not differentiated) or constants.
//
// The references compute each element as the ops' documentation states it:
// gather reads the table row the index names (0 outside [0, V)), scatter_add
// sums, in double, the updates whose index names the row.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"

#include <cstdint>

namespace kiln::ops_test {
namespace {

/// The values of a row-major i32 tensor of `shape` as a dense literal body: "[[1, 2], [3, 4]]"
/// (a bare number for rank 0).
std::string i32List(const std::vector<int64_t> &values, const Shape &shape, size_t dim = 0,
                    size_t offset = 0) {
  if (dim == shape.size())
    return std::to_string(values[offset]);
  size_t stride = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d)
    stride *= static_cast<size_t>(shape[d]);
  std::string out = "[";
  for (int64_t i = 0; i < shape[dim]; ++i)
    out += (i ? ", " : "") + i32List(values, shape, dim + 1, offset + i * stride);
  return out + "]";
}

Shape gatheredShape(const Shape &table, const Shape &indices, int64_t axis) {
  Shape shape(table.begin(), table.begin() + axis);
  shape.insert(shape.end(), indices.begin(), indices.end());
  shape.insert(shape.end(), table.begin() + axis + 1, table.end());
  return shape;
}

/// table [A, V, B] (flattened around axis) at `indices` (N of them): [A, N, B].
std::vector<double> gatherReference(const Tensor &table, const std::vector<double> &indices,
                                    int64_t axis) {
  int64_t outer = 1, inner = 1, rows = table.shape[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= table.shape[d];
  for (size_t d = axis + 1; d < table.shape.size(); ++d)
    inner *= table.shape[d];
  std::vector<double> out;
  for (int64_t o = 0; o < outer; ++o)
    for (double index : indices)
      for (int64_t i = 0; i < inner; ++i) {
        auto row = static_cast<int64_t>(index);
        out.push_back(row >= 0 && row < rows ? table.values[(o * rows + row) * inner + i] : 0.0);
      }
  return out;
}

/// updates [A, N, B] summed into the rows of a [A, V, B] result.
std::vector<double> scatterReference(const Tensor &updates, const std::vector<double> &indices,
                                     const Shape &result, int64_t axis) {
  int64_t outer = 1, inner = 1, rows = result[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= result[d];
  for (size_t d = axis + 1; d < result.size(); ++d)
    inner *= result[d];
  auto count = static_cast<int64_t>(indices.size());
  std::vector<double> out(static_cast<size_t>(outer * rows * inner), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t v = 0; v < rows; ++v)
      for (int64_t i = 0; i < inner; ++i)
        for (int64_t n = 0; n < count; ++n)
          if (static_cast<int64_t>(indices[n]) == v)
            out[(o * rows + v) * inner + i] += updates.values[(o * count + n) * inner + i];
  return out;
}

std::string gatherText(const Shape &table, const Shape &indices, int64_t axis,
                       const std::string &indexValue) {
  return "%result = graph.gather %arg0, " + indexValue + " axis = " + std::to_string(axis) + " : " +
         tensorType(table) + ", " + tensorType(indices, ElementType::kI32) + " -> " +
         tensorType(gatheredShape(table, indices, axis));
}

std::string scatterText(const Shape &updates, const Shape &indices, const Shape &result,
                        int64_t axis, const std::string &indexValue) {
  return "%result = graph.scatter_add %arg0, " + indexValue + " axis = " + std::to_string(axis) +
         " : " + tensorType(updates) + ", " + tensorType(indices, ElementType::kI32) + " -> " +
         tensorType(result);
}

/// A differentiable f32-valued sample.
OpSample sampleOf(std::string op, std::string name, std::vector<OperandSpec> operands,
                  Shape resultShape, std::string assembly,
                  std::function<std::vector<double>(const std::vector<Tensor> &)> reference) {
  OpSample sample;
  sample.op = std::move(op);
  sample.sample = std::move(name);
  sample.operands = std::move(operands);
  sample.resultShape = std::move(resultShape);
  sample.assembly = std::move(assembly);
  sample.reference = std::move(reference);
  return sample;
}

/// Indices drawn by the harness (operand 1): `draw` kLabels (in range) or kAnyLabels (some
/// out of range) over [0, rows).
OpSample gather(std::string name, Shape table, Shape indices, int64_t axis,
                Draw draw = Draw::kLabels) {
  return sampleOf(
      "gather", std::move(name), {{table}, {indices, draw, table[axis]}},
      gatheredShape(table, indices, axis), gatherText(table, indices, axis, "%arg1"),
      [axis](const std::vector<Tensor> &v) { return gatherReference(v[0], v[1].values, axis); });
}

/// Constant indices, so the out-of-range ones are certain.
OpSample gatherConstant(std::string name, Shape table, Shape indices, std::vector<int64_t> values,
                        int64_t axis) {
  std::string constant = "%indices = graph.constant dense<" + i32List(values, indices) +
                         "> : " + tensorType(indices, ElementType::kI32) + "\n    ";
  std::vector<double> asDoubles(values.begin(), values.end());
  return sampleOf("gather", std::move(name), {{table}}, gatheredShape(table, indices, axis),
                  constant + gatherText(table, indices, axis, "%indices"),
                  [axis, asDoubles](const std::vector<Tensor> &v) {
                    return gatherReference(v[0], asDoubles, axis);
                  });
}

OpSample scatterAdd(std::string name, Shape result, Shape indices, int64_t axis,
                    Draw draw = Draw::kLabels) {
  Shape updates = gatheredShape(result, indices, axis);
  return sampleOf("scatter_add", std::move(name), {{updates}, {indices, draw, result[axis]}},
                  result, scatterText(updates, indices, result, axis, "%arg1"),
                  [result, axis](const std::vector<Tensor> &v) {
                    return scatterReference(v[0], v[1].values, result, axis);
                  });
}

OpSample scatterAddConstant(std::string name, Shape result, Shape indices,
                            std::vector<int64_t> values, int64_t axis) {
  Shape updates = gatheredShape(result, indices, axis);
  std::string constant = "%indices = graph.constant dense<" + i32List(values, indices) +
                         "> : " + tensorType(indices, ElementType::kI32) + "\n    ";
  std::vector<double> asDoubles(values.begin(), values.end());
  return sampleOf("scatter_add", std::move(name), {{updates}}, result,
                  constant + scatterText(updates, indices, result, axis, "%indices"),
                  [result, axis, asDoubles](const std::vector<Tensor> &v) {
                    return scatterReference(v[0], asDoubles, result, axis);
                  });
}

} // namespace

void appendIndexSamples(std::vector<OpSample> &r) {
  constexpr int64_t kMin = INT32_MIN, kMax = INT32_MAX;
  r.push_back(gather("axis0", {5, 3}, {4}, 0));
  r.push_back(gather("axis1", {2, 6, 3}, {4}, 1));
  r.push_back(gather("last_axis", {3, 4}, {2, 3}, 1));
  r.push_back(gather("rank2_indices", {7, 4}, {3, 4}, 0));
  r.push_back(gather("scalar_index", {5, 3}, {}, 0));
  // 10 indices into 3 rows: some row is read at least 4 times.
  r.push_back(gather("repeated_indices", {3, 5}, {10}, 0));
  // Drawn from [-2, 6) for 4 rows.
  r.push_back(gather("drawn_out_of_range", {4, 3}, {12}, 0, Draw::kAnyLabels));
  r.push_back(gatherConstant("out_of_range", {4, 3}, {8}, {3, -1, 0, 4, 3, kMax, kMin, 1}, 0));
  r.push_back(gatherConstant("axis1_rank2_out_of_range", {2, 5}, {2, 2}, {4, -3, 5, 4}, 1));

  // 10 updates into 4 rows: repeated indices.
  r.push_back(scatterAdd("axis0_repeated", {4, 3}, {10}, 0));
  r.push_back(scatterAdd("axis1_rank2_indices", {2, 5, 4}, {3, 2}, 1));
  r.push_back(scatterAdd("drawn_out_of_range", {3, 2}, {12}, 0, Draw::kAnyLabels));
  r.push_back(scatterAddConstant("out_of_range", {3, 2}, {6}, {1, 1, -1, 3, 1, 0}, 0));
  // About 16 terms per row.
  r.push_back(scatterAdd("many_terms", {4, 4}, {64}, 0));
}

} // namespace kiln::ops_test
