//===- InspectViews.h - The views of kiln inspect --------------*- C++ -*-===//
//
// Each view prints one aspect of a plan and returns the exit status;
// InspectCommand.cpp picks one from the command line. The helpers at the end
// are shared by the views.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_INSPECTVIEWS_H
#define KILN_TOOLS_KILN_INSPECTVIEWS_H

#include "kiln/plan/plan.pb.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::tool::inspect {

// InspectMemory.cpp
int showBuffers(const plan::Plan &plan);
int showMemory(const plan::Plan &plan);
/// The arena over the planner's timeline as a self-contained SVG document.
std::string arenaSvg(const plan::Plan &plan);

// InspectCode.cpp
int showIr(const plan::Plan &plan);
int showSpirv(const plan::Plan &plan, const std::string &key);
int showPtx(const plan::Plan &plan, const std::string &key, const std::string &arch);

// InspectExec.cpp
/// Prints `plan` as the exec.plan it was serialized from (compiler/exec/Import.cpp), each
/// kernel's code shown by its size.
int showExec(const plan::Plan &plan);

// InspectSupport.cpp
/// Prints "kiln inspect: <message>" to stderr; returns 1.
int fail(const std::string &message);
const char *roleName(plan::BufferRole role);
uint64_t elementCount(const plan::TensorSpec &tensor);
std::string shapeText(const plan::TensorSpec &tensor);
std::string dim3Text(const plan::Dim3 &dim);
/// The layer a variable belongs to: its name up to the last '.', so "fc1.weight" and
/// "fc1.bias" form layer "fc1"; a name without '.' is its own layer.
std::string layerOf(const std::string &name);
/// Distinct op names of a kernel in first-seen order, e.g. "graph.add, graph.mul".
std::string kernelOps(const plan::Kernel &kernel);
/// Prints `rows` (the first one the header) as left-aligned columns with a rule below the header.
void printTable(const std::vector<std::vector<std::string>> &rows);

} // namespace kiln::tool::inspect

#endif // KILN_TOOLS_KILN_INSPECTVIEWS_H
