//===- InspectExec.h - kiln inspect --exec ---------------------*- C++ -*-===//
#ifndef KILN_TOOLS_KILN_INSPECTEXEC_H
#define KILN_TOOLS_KILN_INSPECTEXEC_H

#include "kiln/plan/plan.pb.h"

namespace kiln::tool {

/// Prints `plan` as the exec.plan it was serialized from (compiler/exec/Import.cpp), each
/// kernel's code shown by its size; returns the exit status.
int showExec(const plan::Plan &plan);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_INSPECTEXEC_H
