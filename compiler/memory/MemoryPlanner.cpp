//===- MemoryPlanner.cpp - The exec memory passes over a protobuf plan ----===//
//
// For plans that exist only as protobuf (hand-built in tests, or read from a
// file): the plan is imported as an exec.plan, the same passes the compiler
// runs (copy elision, arena allocation, barrier placement; compiler/exec) plan
// it, and the serializer prints it back. There is one planner; this is a way in.
//
//===----------------------------------------------------------------------===//

#include "kiln/Memory/MemoryPlanner.h"

#include "kiln/Exec/Passes.h"
#include "kiln/Exec/Serialize.h"

#include "absl/strings/str_cat.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

namespace kiln::memory {

absl::StatusOr<plan::MemorySummary> planMemory(plan::Plan &plan, const MemoryPlanOptions &options) {
  uint32_t alignment = options.alignment;
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("memory alignment ", alignment, " is not a power of two"));
  for (int index = 0; index < plan.buffers_size(); ++index)
    if (plan.buffers(index).in_arena())
      return absl::InvalidArgumentError(
          absl::StrCat("buffer ", index, " ('", plan.buffers(index).name(),
                       "') is already in an arena; plan memory once, on the code generator's "
                       "output"));

  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.loadDialect<exec::ExecDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diagnostic) {
    absl::StrAppend(&diagnostics, diagnostics.empty() ? "" : "; ", diagnostic.str());
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
  mlir::FailureOr<exec::PlanOp> imported = exec::importPlan(plan, *module);
  if (mlir::failed(imported))
    return absl::InvalidArgumentError(diagnostics);

  mlir::PassManager pm(&context);
  if (options.elideCopies)
    pm.addPass(exec::createExecElideCopies());
  exec::ExecAllocateArenaOptions arena;
  arena.alignment = alignment;
  arena.reuseInPlace = options.reuseInPlace;
  pm.addPass(exec::createExecAllocateArena(arena));
  // The passes expect a plan without barriers; placement puts back the ones it needs.
  for (exec::ProgramOp program : imported->getBlock().getOps<exec::ProgramOp>())
    for (auto barrier : llvm::make_early_inc_range(program.getBlock().getOps<exec::BarrierOp>()))
      barrier.erase();
  pm.addPass(exec::createExecPlaceBarriers());
  if (mlir::failed(pm.run(*module)))
    return absl::InternalError("memory planning failed: " + diagnostics);
  mlir::FailureOr<plan::Plan> planned = exec::serializePlan(*imported, plan.graph_module());
  if (mlir::failed(planned))
    return absl::InternalError("memory planning failed: " + diagnostics);
  plan = *std::move(planned);
  return plan.memory();
}

} // namespace kiln::memory
