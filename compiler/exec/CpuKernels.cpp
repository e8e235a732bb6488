//===- CpuKernels.cpp - Kernels' CPU functions into the plan's images ------===//
//
// See CpuKernels.h. Every kernel gets its CPU function from kernels/'s CPU emitters
// (CpuKernelEmitter.h), mask conversions included; a kernel they cannot compile is refused
// at the kernel, naming the targets that do compile it. The images are made for x86-64-v3 (the plan's required
// image, which runs here), x86-64-v4 and aarch64, in that order, from one module holding
// every kernel's function in plan order.
//
//===----------------------------------------------------------------------===//

#include "CpuKernels.h"

#include "kiln/Kernels/CpuKernelEmitter.h"
#include "kiln/Targets/CpuTarget.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include <array>

using namespace mlir;

namespace kiln::exec {

namespace {

/// Where a kernel's CPU code module keeps its scratch bytes per thread until the images.
constexpr llvm::StringLiteral kScratchAttrName = "kiln.cpu_scratch_bytes";

constexpr std::array<targets::CpuIsa, 3> kIsas = {
    targets::CpuIsa::X86_64_V3, targets::CpuIsa::X86_64_V4, targets::CpuIsa::AArch64};

} // namespace

std::string cpuModuleName(llvm::StringRef kernel) { return (kernel + "_cpu").str(); }

namespace {

/// A new `builtin.module @<kernel>_cpu` at the end of `module`, or an error at the op that
/// already has that name.
FailureOr<ModuleOp> createCodeModule(ModuleOp module, Location loc, llvm::StringRef kernel) {
  std::string name = cpuModuleName(kernel);
  if (Operation *existing = SymbolTable::lookupSymbolIn(module, name))
    return existing->emitOpError("is named like the CPU code of kernel @") << kernel
                                                                            << "; rename it";
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  return builder.create<ModuleOp>(loc, StringRef(name));
}

void recordCpuCode(ModuleOp code, const kernels::CpuKernelInfo &info, KernelOp kernel) {
  Builder builder(code.getContext());
  code->setAttr(kScratchAttrName,
                builder.getI64IntegerAttr(static_cast<int64_t>(info.scratchBytes)));
  kernel.setCpuCodeAttr(FlatSymbolRefAttr::get(code.getSymNameAttr()));
  kernel.setCpuTileCountAttr(builder.getI64IntegerAttr(info.tileCount));
}

} // namespace

LogicalResult addCpuKernel(ModuleOp module, func::FuncOp callee, llvm::StringRef kind,
                           KernelOp kernel) {
  FailureOr<ModuleOp> code = createCodeModule(module, callee.getLoc(), callee.getSymName());
  if (failed(code))
    return failure();
  FailureOr<kernels::CpuKernelInfo> info =
      kernels::emitCpuKernel(callee, *code, kernels::TargetConfig::cpuTarget());
  if (failed(info)) {
    code->erase();
    return emitError(callee.getLoc())
           << "the CPU target cannot compile " << kind << " kernel @" << callee.getSymName()
           << " (see the error above); compile with --target vulkan|cuda";
  }
  recordCpuCode(*code, *info, kernel);
  return success();
}

LogicalResult addCpuMaskConversion(ModuleOp module, Location loc, llvm::StringRef name,
                                   int64_t count, bool pack, KernelOp kernel) {
  FailureOr<ModuleOp> code = createCodeModule(module, loc, name);
  if (failed(code))
    return failure();
  FailureOr<kernels::CpuKernelInfo> info = kernels::emitCpuMaskConversion(
      *code, loc, name, count, pack, kernels::TargetConfig::cpuTarget());
  if (failed(info)) {
    code->erase();
    return failure();
  }
  recordCpuCode(*code, *info, kernel);
  return success();
}

LogicalResult compileCpuImages(ModuleOp module, PlanOp plan) {
  Builder builder(module.getContext());
  OwningOpRef<ModuleOp> all = ModuleOp::create(plan.getLoc());
  llvm::SmallVector<KernelOp> kernels;
  llvm::SmallVector<ModuleOp> codes;
  llvm::SmallVector<int64_t> scratchBytes;
  for (auto kernel : plan.getBlock().getOps<KernelOp>()) {
    std::optional<StringRef> name = kernel.getCpuCode();
    auto code = name ? SymbolTable::lookupSymbolIn(module, *name) : nullptr;
    if (!code || !llvm::isa<ModuleOp>(code) || !kernel.getCpuTileCount())
      return kernel.emitOpError("has no CPU code but the plan targets cpu");
    for (Operation &op : llvm::cast<ModuleOp>(code).getBody()->getOperations())
      all->getBody()->push_back(op.clone());
    kernels.push_back(kernel);
    codes.push_back(llvm::cast<ModuleOp>(code));
    auto scratch = code->getAttrOfType<IntegerAttr>(kScratchAttrName);
    scratchBytes.push_back(scratch ? scratch.getInt() : 0);
  }
  if (kernels.empty())
    return success(); // no code to run, so no image (the runtime loads none)
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
          builder.getNamedAttr("scratch_bytes", builder.getI64IntegerAttr(scratchBytes[position])),
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
