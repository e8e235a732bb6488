//===- InspectSupport.cpp - What the kiln inspect views share -------------===//

#include "InspectViews.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace kiln::tool::inspect {
namespace {

void printRow(const std::vector<std::string> &cells, const std::vector<size_t> &widths) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 < cells.size())
      line += std::string(widths[i] + 2 - std::min(widths[i] + 2, cells[i].size()), ' ');
  }
  std::printf("%s\n", line.c_str());
}

} // namespace

int fail(const std::string &message) {
  std::fprintf(stderr, "kiln inspect: %s\n", message.c_str());
  return 1;
}

const char *roleName(plan::BufferRole role) {
  switch (role) {
  case plan::BUFFER_ROLE_TRANSIENT:
    return "transient";
  case plan::BUFFER_ROLE_VARIABLE:
    return "variable";
  case plan::BUFFER_ROLE_INPUT:
    return "input";
  case plan::BUFFER_ROLE_OUTPUT:
    return "output";
  case plan::BUFFER_ROLE_CONSTANT:
    return "constant";
  default:
    return "unspecified";
  }
}

uint64_t elementCount(const plan::TensorSpec &tensor) {
  uint64_t count = 1;
  for (int64_t extent : tensor.shape())
    count *= static_cast<uint64_t>(extent);
  return count;
}

std::string shapeText(const plan::TensorSpec &tensor) {
  std::string text = "[";
  for (int i = 0; i < tensor.shape_size(); ++i)
    text += (i ? ", " : "") + std::to_string(tensor.shape(i));
  return text + "]";
}

std::string dim3Text(const plan::Dim3 &dim) {
  return "(" + std::to_string(dim.x()) + "," + std::to_string(dim.y()) + "," +
         std::to_string(dim.z()) + ")";
}

/// The layer a variable belongs to: its name up to the last '.', so "fc1.weight" and
/// "fc1.bias" form layer "fc1"; a name without '.' is its own layer.
std::string layerOf(const std::string &name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

/// Distinct op names of a kernel in first-seen order, e.g. "graph.add, graph.mul".
std::string kernelOps(const plan::Kernel &kernel) {
  std::vector<std::string> names;
  for (const plan::SourceOp &op : kernel.source_ops())
    if (std::find(names.begin(), names.end(), op.op_name()) == names.end())
      names.push_back(op.op_name());
  std::string text;
  for (size_t i = 0; i < names.size(); ++i)
    text += (i ? ", " : "") + names[i];
  return text;
}

/// Prints `rows` (the first one the header) as left-aligned columns with a rule below the header.
void printTable(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  size_t total = 0;
  for (size_t width : widths)
    total += width + 2;
  printRow(rows.front(), widths);
  std::printf("%s\n", std::string(total - 2, '-').c_str());
  for (size_t i = 1; i < rows.size(); ++i)
    printRow(rows[i], widths);
}

} // namespace kiln::tool::inspect
