//===- CompileTargets.cpp - kiln-exec-compile-targets ---------------------===//
//
// Lowering dominates compile time (LLVM's optimizer and the NVPTX backend for
// PTX), and the kernels are independent: each job lowers one kernel for one
// target on a clone, on the MLIR context's thread pool. Jobs write into their
// own slots, which are set on the kernels in plan order afterwards, so the plan
// does not depend on scheduling.
//
// A kernel's PTX depends on its name only through the symbols derived from it
// (the .entry, its parameters). Kernels are keyed by their gpu.module printed
// with the name replaced by a placeholder; each key is lowered once under the
// placeholder, and every kernel of the key gets that PTX with the placeholder
// replaced by its own name. SPIR-V, cheap to make, is lowered per kernel.
//
//===----------------------------------------------------------------------===//

#include "kiln/Exec/Passes.h"

#include "Accesses.h"
#include "CpuKernels.h"

#include "kiln/Targets/CpuTarget.h"
#include "kiln/Targets/KernelTargets.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Threading.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::exec {
#define GEN_PASS_DEF_EXECCOMPILETARGETS
#include "kiln/Exec/Passes.h.inc"
} // namespace kiln::exec

using namespace mlir;

namespace kiln::exec {
namespace {

/// Stands for a kernel's name in the module lowered for all kernels of one key; no emitted
/// code holds it otherwise.
constexpr llvm::StringLiteral kPlaceholder = "kiln_shared_kernel_placeholder";
/// PTX is lowered for sm_80 alone: the driver compiles PTX for the device at load, and PTX for
/// compute capability 8.0 runs on every newer device (9.0 included). Kiln's kernels use no
/// sm_90 feature, and the PTX LLVM made for sm_90 was the sm_80 text with another .target
/// line, for every kernel of the samples; lowering it too doubled the CUDA target's compile time.
constexpr llvm::StringRef kCudaArchs[] = {"sm_80"};

/// `text` with every occurrence of `from` replaced by `to`.
std::string replaceAll(llvm::StringRef text, llvm::StringRef from, llvm::StringRef to) {
  std::string result;
  result.reserve(text.size());
  while (true) {
    size_t at = text.find(from);
    if (at == llvm::StringRef::npos)
      break;
    result += text.take_front(at);
    result += to;
    text = text.drop_front(at + from.size());
  }
  result += text;
  return result;
}

/// A clone of `kernel` (in a builtin.module that owns it) under the name kernels are lowered
/// under, "kernels"; with `placeholder`, the gpu.func's name is replaced by the placeholder.
OwningOpRef<ModuleOp> cloneForLowering(gpu::GPUModuleOp kernel, llvm::StringRef name,
                                       bool placeholder) {
  OwningOpRef<ModuleOp> holder = ModuleOp::create(kernel.getLoc());
  auto clone = cast<gpu::GPUModuleOp>(kernel->clone());
  holder->push_back(clone);
  clone.setSymName("kernels");
  if (placeholder)
    for (auto func : clone.getOps<gpu::GPUFuncOp>())
      SymbolTable::setSymbolName(func, replaceAll(func.getName(), name, kPlaceholder));
  return holder;
}

gpu::GPUModuleOp loweredModule(const OwningOpRef<ModuleOp> &holder) {
  return *(*const_cast<OwningOpRef<ModuleOp> &>(holder)).getOps<gpu::GPUModuleOp>().begin();
}

struct Queued {
  KernelOp kernel;
  gpu::GPUModuleOp code;
  OwningOpRef<ModuleOp> forSpirv;
};

class ExecCompileTargets : public impl::ExecCompileTargetsBase<ExecCompileTargets> {
public:
  void getDependentDialects(DialectRegistry &registry) const override {
    ExecCompileTargetsBase::getDependentDialects(registry);
    targets::registerCpuKernelDialects(registry);
  }
  void runOnOperation() override;
};

void ExecCompileTargets::runOnOperation() {
  ModuleOp module = getOperation();
  PlanOp plan = requirePlan(module, getArgument());
  if (!plan)
    return signalPassFailure();
  bool vulkan = false, cuda = false, cpu = false;
  for (Attribute target : plan.getTargets()) {
    vulkan = vulkan || llvm::cast<StringAttr>(target).getValue() == "vulkan";
    cuda = cuda || llvm::cast<StringAttr>(target).getValue() == "cuda";
    cpu = cpu || llvm::cast<StringAttr>(target).getValue() == "cpu";
  }
  // The CPU images, one per ISA, each linking every kernel (LLVM's O3 on the whole module).
  if (cpu && failed(compileCpuImages(module, plan)))
    return signalPassFailure();
  std::vector<Queued> queue;
  for (auto kernel : plan.getBlock().getOps<KernelOp>())
    if (auto code = llvm::dyn_cast_or_null<gpu::GPUModuleOp>(kernel.getCodeModule()))
      queue.push_back({kernel, code, cloneForLowering(code, kernel.getSymName(), false)});

  // Kernels identical up to their name share one PTX lowering.
  std::vector<OwningOpRef<ModuleOp>> unique;
  std::vector<size_t> uniqueOf(queue.size());
  if (cuda) {
    llvm::StringMap<size_t> byText;
    for (auto [position, queued] : llvm::enumerate(queue)) {
      OwningOpRef<ModuleOp> canonical =
          cloneForLowering(queued.code, queued.kernel.getSymName(), /*placeholder=*/true);
      std::string text;
      llvm::raw_string_ostream stream(text);
      canonical->print(stream);
      auto [it, inserted] = byText.try_emplace(text, unique.size());
      if (inserted)
        unique.push_back(std::move(canonical));
      uniqueOf[position] = it->second;
    }
  }

  // One job per kernel's SPIR-V and one per unique kernel's PTX.
  struct Job {
    size_t item;
    bool spirv; // SPIR-V of queue[item], else PTX of unique[item]
  };
  std::vector<Job> jobs;
  if (vulkan)
    for (size_t position = 0; position < queue.size(); ++position)
      jobs.push_back({position, true});
  for (size_t item = 0; item < unique.size(); ++item)
    jobs.push_back({item, false});

  std::vector<std::optional<std::vector<uint32_t>>> spirv(queue.size());
  std::vector<std::optional<std::vector<std::string>>> ptx(unique.size());
  parallelForEach(&getContext(), jobs, [&](const Job &job) {
    if (job.spirv) {
      FailureOr<std::vector<uint32_t>> code =
          targets::lowerToSpirv(loweredModule(queue[job.item].forSpirv));
      if (succeeded(code))
        spirv[job.item] = *std::move(code);
      return;
    }
    FailureOr<std::vector<std::string>> code =
        targets::lowerToPtx(loweredModule(unique[job.item]), kCudaArchs);
    if (succeeded(code))
      ptx[job.item] = *std::move(code);
  });

  bool ok = true;
  Builder builder(&getContext());
  for (auto [position, queued] : llvm::enumerate(queue)) {
    KernelOp kernel = queued.kernel;
    if (vulkan) {
      if (!spirv[position]) {
        kernel.emitError("cannot compile kernel '")
            << kernel.getSymName() << "' to SPIR-V (see the error above)";
        ok = false;
      } else {
        std::string bytes;
        bytes.reserve(spirv[position]->size() * 4);
        for (uint32_t word : *spirv[position])
          for (int shift = 0; shift < 32; shift += 8)
            bytes.push_back(static_cast<char>((word >> shift) & 0xff));
        kernel.setSpirvAttr(builder.getStringAttr(bytes));
      }
    }
    if (cuda) {
      const std::optional<std::vector<std::string>> &code = ptx[uniqueOf[position]];
      if (!code) {
        kernel.emitError("cannot compile kernel '")
            << kernel.getSymName() << "' to PTX (see the error above)";
        ok = false;
      } else {
        llvm::SmallVector<NamedAttribute> entries;
        for (auto [arch, text] : llvm::zip_equal(kCudaArchs, *code))
          entries.push_back(builder.getNamedAttr(
              arch, builder.getStringAttr(replaceAll(text, kPlaceholder, kernel.getSymName()))));
        kernel.setPtxAttr(builder.getDictionaryAttr(entries));
      }
    }
  }
  if (!ok)
    return signalPassFailure();
  for (Queued &queued : queue) {
    queued.kernel.removeCodeAttr();
    queued.code.erase();
  }
}

} // namespace
} // namespace kiln::exec
