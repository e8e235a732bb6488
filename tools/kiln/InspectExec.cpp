//===- InspectExec.cpp - kiln inspect --exec: a plan as exec IR -----------===//
//
// The plan read back as the exec dialect, so a compiled plan can be read the
// way the compiler's dumps are: buffers with their roles and arena offsets,
// kernels with their bindings' access, programs of dispatches, copies and
// barriers. SPIR-V and PTX would bury that text, so each kernel shows their
// sizes instead (`code_bytes`); --spirv and --ptx show the code itself.
//
//===----------------------------------------------------------------------===//

#include "InspectViews.h"

#include "kiln/Dialect/Exec/ExecDialect.h"
#include "kiln/Exec/Serialize.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <string>

namespace kiln::tool::inspect {

int showExec(const plan::Plan &plan) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.loadDialect<exec::ExecDialect>();
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diagnostic) {
    errors += diagnostic.str() + "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
  mlir::FailureOr<exec::PlanOp> imported = exec::importPlan(plan, *module);
  if (mlir::failed(imported)) {
    std::fprintf(stderr, "kiln inspect: %s", errors.c_str());
    return 1;
  }
  mlir::Builder builder(&context);
  for (auto kernel : imported->getBlock().getOps<exec::KernelOp>()) {
    llvm::SmallVector<mlir::NamedAttribute> sizes;
    if (std::optional<llvm::StringRef> spirv = kernel.getSpirv())
      sizes.push_back(builder.getNamedAttr("spirv", builder.getI64IntegerAttr(spirv->size())));
    if (std::optional<mlir::DictionaryAttr> ptx = kernel.getPtx())
      for (mlir::NamedAttribute code : *ptx)
        sizes.push_back(builder.getNamedAttr(
            code.getName(),
            builder.getI64IntegerAttr(llvm::cast<mlir::StringAttr>(code.getValue()).size())));
    kernel.removeSpirvAttr();
    kernel.removePtxAttr();
    if (!sizes.empty())
      kernel->setAttr("code_bytes", builder.getDictionaryAttr(sizes));
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  imported->print(os);
  std::printf("%s\n", os.str().c_str());
  return 0;
}

} // namespace kiln::tool::inspect
