//===- Serialize.h - The exec plan and the protobuf plan ---------*- C++ -*-===//
//
// The serializer prints an exec.plan as the protobuf plan (runtime/plan/plan.proto)
// field for field: buffers, kernels, inputs and variables in the order the plan
// holds them, outputs in program order, @train as Plan.step and the other
// programs as Plan.programs. The importer reads a protobuf plan back as an
// exec.plan, so a compiled plan can be shown as IR and hand-built plans can go
// through the same passes; serializing an imported plan gives the same bytes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_EXEC_SERIALIZE_H
#define KILN_EXEC_SERIALIZE_H

#include "kiln/Dialect/Exec/ExecDialect.h"
#include "kiln/plan/plan.pb.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>

namespace kiln::exec {

/// `plan` as the protobuf plan, with `graphModule` (the source graph module's text) as its
/// graph_module. Fails with an error at the op the plan cannot express (a kernel without code
/// for one of the plan's targets).
mlir::FailureOr<plan::Plan> serializePlan(PlanOp plan, std::string graphModule);

/// Reads `plan` (which must pass plan::validatePlan) into a new exec.plan at the start of
/// `module`. Kernels that declare no output_bindings (plans written before it existed) get
/// their access from their SPIR-V, as plan::kernelWrittenBindings reads it.
mlir::FailureOr<PlanOp> importPlan(const plan::Plan &plan, mlir::ModuleOp module);

} // namespace kiln::exec

#endif // KILN_EXEC_SERIALIZE_H
