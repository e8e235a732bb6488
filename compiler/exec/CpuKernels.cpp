//===- CpuKernels.cpp - Kernels' CPU functions into the plan's images ------===//
//
// See CpuKernels.h. Every kernel gets its CPU function from kernels/'s CPU emitters
// (CpuKernelEmitter.h), mask conversions included; a kernel they cannot compile is refused
// at the kernel, naming the targets that do compile it. The images are made for x86-64-v3 (the
// plan's required image, which runs here), x86-64-v4 and aarch64, in that order, from one module
// holding every kernel's function in plan order.
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

/// Where a kernel's CPU code variant keeps its tile count and scratch bytes per thread until
/// the images.
constexpr llvm::StringLiteral kScratchAttrName = "kiln.cpu_scratch_bytes";
constexpr llvm::StringLiteral kTilesAttrName = "kiln.cpu_tile_count";

/// The code variants of a kernel: 8 f32 lanes (AVX2, NEON) and 16 (AVX-512), each a module
/// nested in the kernel's code module.
struct Variant {
  llvm::StringLiteral name;
  int64_t lanes;
};
constexpr std::array<Variant, 2> kVariants = {Variant{"lanes8", 8}, Variant{"lanes16", 16}};

llvm::StringRef variantOf(targets::CpuIsa isa) {
  return isa == targets::CpuIsa::X86_64_V4 ? "lanes16" : "lanes8";
}

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
    return existing->emitOpError("is named like the CPU code of kernel @")
           << kernel << "; rename it";
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  return builder.create<ModuleOp>(loc, StringRef(name));
}

/// Emits every variant of a kernel with `emit(into, config)` into the kernel's code module
/// and records it on `kernel` (its cpu_tile_count is the 8-lane variant's, the baseline's).
LogicalResult addVariants(
    ModuleOp module, Location loc, llvm::StringRef name, KernelOp kernel,
    llvm::function_ref<FailureOr<kernels::CpuKernelInfo>(ModuleOp, const kernels::TargetConfig &)>
        emit) {
  FailureOr<ModuleOp> code = createCodeModule(module, loc, name);
  if (failed(code))
    return failure();
  Builder builder(module.getContext());
  OpBuilder nested = OpBuilder::atBlockEnd(code->getBody());
  std::optional<uint32_t> baselineTiles;
  for (const Variant &variant : kVariants) {
    auto into = nested.create<ModuleOp>(loc, StringRef(variant.name));
    FailureOr<kernels::CpuKernelInfo> info =
        emit(into, kernels::TargetConfig::cpuTarget(variant.lanes));
    if (failed(info)) {
      code->erase();
      return failure();
    }
    into->setAttr(kScratchAttrName,
                  builder.getI64IntegerAttr(static_cast<int64_t>(info->scratchBytes)));
    into->setAttr(kTilesAttrName, builder.getI64IntegerAttr(info->tileCount));
    if (!baselineTiles)
      baselineTiles = info->tileCount;
  }
  kernel.setCpuCodeAttr(FlatSymbolRefAttr::get(code->getSymNameAttr()));
  kernel.setCpuTileCountAttr(builder.getI64IntegerAttr(*baselineTiles));
  return success();
}

} // namespace

LogicalResult addCpuKernel(ModuleOp module, func::FuncOp callee, llvm::StringRef kind,
                           KernelOp kernel) {
  LogicalResult added = addVariants(module, callee.getLoc(), callee.getSymName(), kernel,
                                    [&](ModuleOp into, const kernels::TargetConfig &config) {
                                      return kernels::emitCpuKernel(callee, into, config);
                                    });
  if (failed(added))
    return emitError(callee.getLoc())
           << "the CPU target cannot compile " << kind << " kernel @" << callee.getSymName()
           << " (see the error above); compile with --target vulkan|cuda";
  return success();
}

LogicalResult addCpuMaskConversion(ModuleOp module, Location loc, llvm::StringRef name,
                                   int64_t count, bool pack, KernelOp kernel) {
  return addVariants(module, loc, name, kernel,
                     [&](ModuleOp into, const kernels::TargetConfig &config) {
                       return kernels::emitCpuMaskConversion(into, loc, name, count, pack, config);
                     });
}

LogicalResult compileCpuImages(ModuleOp module, PlanOp plan) {
  Builder builder(module.getContext());
  // One module of every kernel's function per variant, in plan order.
  llvm::StringMap<OwningOpRef<ModuleOp>> all;
  llvm::StringMap<llvm::SmallVector<ModuleOp>> variantsOf;
  for (const Variant &variant : kVariants)
    all[variant.name] = ModuleOp::create(plan.getLoc());
  llvm::SmallVector<KernelOp> kernels;
  llvm::SmallVector<ModuleOp> codes;
  for (auto kernel : plan.getBlock().getOps<KernelOp>()) {
    std::optional<StringRef> name = kernel.getCpuCode();
    auto code = name ? llvm::dyn_cast_or_null<ModuleOp>(SymbolTable::lookupSymbolIn(module, *name))
                     : ModuleOp();
    if (!code || !kernel.getCpuTileCount())
      return kernel.emitOpError("has no CPU code but the plan targets cpu");
    for (const Variant &variant : kVariants) {
      auto nested =
          llvm::dyn_cast_or_null<ModuleOp>(SymbolTable::lookupSymbolIn(code, variant.name));
      if (!nested || !nested->getAttrOfType<IntegerAttr>(kTilesAttrName) ||
          !nested->getAttrOfType<IntegerAttr>(kScratchAttrName))
        return kernel.emitOpError("internal compiler error: its CPU code has no ")
               << variant.name << " variant";
      for (Operation &op : nested.getBody()->getOperations())
        all[variant.name]->getBody()->push_back(op.clone());
      variantsOf[variant.name].push_back(nested);
    }
    kernels.push_back(kernel);
    codes.push_back(code);
  }
  if (kernels.empty())
    return success(); // no code to run, so no image (the runtime loads none)
  llvm::SmallVector<NamedAttribute> images;
  llvm::SmallVector<llvm::SmallVector<Attribute>> entries(kernels.size());
  for (targets::CpuIsa isa : kIsas) {
    llvm::StringRef variant = variantOf(isa);
    FailureOr<targets::CpuImage> image = targets::compileCpuImage(*all[variant], isa);
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
          builder.getNamedAttr("tile_count",
                               variantsOf[variant][position]->getAttr(kTilesAttrName)),
          builder.getNamedAttr("scratch_bytes",
                               variantsOf[variant][position]->getAttr(kScratchAttrName)),
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
