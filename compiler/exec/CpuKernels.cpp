//===- CpuKernels.cpp - Kernels' CPU functions into the plan's images ------===//
//
// See CpuKernels.h. Kernels of the kinds compiler/targets builds (pointwise, and matmul
// without epilogue) get a CPU function; every other kind is refused at the kernel, naming
// the targets that do compile it. The images are made for x86-64-v3 (the plan's required
// image, which runs here), x86-64-v4 and aarch64, in that order, from one module holding
// every kernel's function in plan order.
//
//===----------------------------------------------------------------------===//

#include "CpuKernels.h"

#include "kiln/Targets/CpuTarget.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include <array>

using namespace mlir;

namespace kiln::exec {

namespace {

constexpr std::array<targets::CpuIsa, 3> kIsas = {
    targets::CpuIsa::X86_64_V3, targets::CpuIsa::X86_64_V4, targets::CpuIsa::AArch64};

} // namespace

std::string cpuModuleName(llvm::StringRef kernel) { return (kernel + "_cpu").str(); }

LogicalResult refuseCpuKernel(Location loc, llvm::StringRef kind, llvm::StringRef kernel) {
  return emitError(loc) << "the CPU target does not compile '" << kind << "' kernels yet (kernel @"
                        << kernel << "); compile with --target vulkan|cuda";
}

LogicalResult addCpuKernel(ModuleOp module, func::FuncOp callee, llvm::StringRef kind,
                           KernelOp kernel) {
  if (kind != "pointwise" && kind != "matmul")
    return refuseCpuKernel(callee.getLoc(), kind, callee.getSymName());
  std::string name = cpuModuleName(callee.getSymName());
  if (Operation *existing = SymbolTable::lookupSymbolIn(module, name))
    return existing->emitOpError("is named like the CPU code of kernel @")
           << callee.getSymName() << "; rename it";
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto code = builder.create<ModuleOp>(callee.getLoc(), StringRef(name));
  FailureOr<targets::CpuKernelTiling> tiling = kind == "pointwise"
                                                   ? targets::buildCpuPointwiseKernel(callee, code)
                                                   : targets::buildCpuMatmulKernel(callee, code);
  if (failed(tiling)) {
    code.erase();
    return emitError(callee.getLoc())
           << "the CPU target cannot compile kernel @" << callee.getSymName()
           << " (see the error above); compile with --target vulkan|cuda";
  }
  kernel.setCpuCodeAttr(FlatSymbolRefAttr::get(code.getSymNameAttr()));
  kernel.setCpuTileCountAttr(builder.getI64IntegerAttr(tiling->tileCount));
  return success();
}

LogicalResult compileCpuImages(ModuleOp module, PlanOp plan) {
  Builder builder(module.getContext());
  OwningOpRef<ModuleOp> all = ModuleOp::create(plan.getLoc());
  llvm::SmallVector<KernelOp> kernels;
  llvm::SmallVector<ModuleOp> codes;
  for (auto kernel : plan.getBlock().getOps<KernelOp>()) {
    std::optional<StringRef> name = kernel.getCpuCode();
    auto code = name ? SymbolTable::lookupSymbolIn(module, *name) : nullptr;
    if (!code || !llvm::isa<ModuleOp>(code) || !kernel.getCpuTileCount())
      return kernel.emitOpError("has no CPU code but the plan targets cpu");
    for (Operation &op : llvm::cast<ModuleOp>(code).getBody()->getOperations())
      all->getBody()->push_back(op.clone());
    kernels.push_back(kernel);
    codes.push_back(llvm::cast<ModuleOp>(code));
  }
  if (kernels.empty())
    return plan.emitOpError("has no kernels: the CPU target cannot compile a plan without ")
           << "kernels yet (every cpu plan carries an x86-64-v3 image, and an image holds at "
              "least one kernel); compile with --target vulkan|cuda";
  llvm::SmallVector<NamedAttribute> images;
  llvm::SmallVector<llvm::SmallVector<Attribute>> entries(kernels.size());
  for (targets::CpuIsa isa : kIsas) {
    FailureOr<targets::CpuImage> image = targets::compileCpuImage(*all, isa);
    if (failed(image))
      return plan.emitOpError("cannot be compiled: the CPU target cannot compile its kernels for ")
             << targets::cpuIsaName(isa) << " (see the error above); compile with --target "
             << "vulkan|cuda";
    llvm::StringMap<uint64_t> offsets;
    for (const targets::CpuEntry &entry : image->entries)
      offsets[entry.kernel] = entry.offset;
    for (auto [position, kernel] : llvm::enumerate(kernels)) {
      auto offset = offsets.find(kernel.getSymName());
      if (offset == offsets.end())
        return kernel.emitOpError("internal compiler error: the ")
               << targets::cpuIsaName(isa) << " image has no entry for this kernel";
      entries[position].push_back(builder.getDictionaryAttr({
          builder.getNamedAttr("isa", builder.getStringAttr(targets::cpuIsaName(isa))),
          builder.getNamedAttr("offset",
                               builder.getI64IntegerAttr(static_cast<int64_t>(offset->second))),
          builder.getNamedAttr("tile_count", builder.getI64IntegerAttr(*kernel.getCpuTileCount())),
          builder.getNamedAttr("scratch_bytes", builder.getI64IntegerAttr(0)),
      }));
    }
    std::string bytes(image->bytes.begin(), image->bytes.end());
    images.push_back(builder.getNamedAttr(targets::cpuIsaName(isa), builder.getStringAttr(bytes)));
  }
  plan.setCpuImagesAttr(builder.getDictionaryAttr(images));
  for (auto [position, kernel] : llvm::enumerate(kernels)) {
    kernel.setCpuEntriesAttr(builder.getArrayAttr(entries[position]));
    kernel.removeCpuCodeAttr();
    kernel.removeCpuTileCountAttr();
    codes[position].erase();
  }
  return success();
}

} // namespace kiln::exec
