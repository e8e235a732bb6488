//===- KernelCompiler.cpp - Every kernel's target code, in parallel ------===//
//
// Lowering dominates compile time (LLVM's optimizer and the NVPTX backend for PTX), and the
// kernels are independent: each job lowers one kernel for one target on a clone, on the
// MLIR context's thread pool. Jobs write into their own slots, which are copied into the
// plan in queue order afterwards, so the plan does not depend on scheduling.
//
// A kernel's PTX depends on its name only through the symbols derived from it (the .entry,
// its parameters). Kernels are keyed by their gpu.module printed with the name replaced by
// a placeholder; each key is lowered once under the placeholder, and every kernel of the
// key gets that PTX with the placeholder replaced by its own name. SPIR-V, cheap to make,
// is lowered per kernel.
//
//===----------------------------------------------------------------------===//
#include "KernelCompiler.h"

#include "kiln/Targets/KernelTargets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Threading.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <optional>

using namespace mlir;

namespace kiln::codegen {

namespace {

/// Stands for a kernel's name in the module lowered for all kernels of one key; no emitted
/// code holds it otherwise.
constexpr llvm::StringLiteral kPlaceholder = "kiln_shared_kernel_placeholder";
constexpr llvm::StringRef kCudaArchs[] = {"sm_80", "sm_90"};

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

/// A clone of `kernel` (in a builtin.module that owns it) with `name` replaced by the
/// placeholder in the gpu.func's and the gpu.module's symbols.
OwningOpRef<ModuleOp> cloneUnderPlaceholder(gpu::GPUModuleOp kernel, llvm::StringRef name) {
  OwningOpRef<ModuleOp> holder = ModuleOp::create(kernel.getLoc());
  auto clone = cast<gpu::GPUModuleOp>(kernel->clone());
  holder->push_back(clone);
  clone.setSymName(replaceAll(clone.getSymName(), name, kPlaceholder));
  for (auto func : clone.getOps<gpu::GPUFuncOp>())
    SymbolTable::setSymbolName(func, replaceAll(func.getName(), name, kPlaceholder));
  return holder;
}

} // namespace

void KernelCompiler::add(uint32_t index, llvm::StringRef name, gpu::GPUModuleOp kernel,
                         Operation *where) {
  queue_.push_back({index, name.str(), kernel, where});
}

LogicalResult KernelCompiler::compileAll(plan::Plan &plan) {
  bool vulkan = llvm::is_contained(targets_, plan::TARGET_VULKAN);
  bool cuda = llvm::is_contained(targets_, plan::TARGET_CUDA);

  // Kernels identical up to their name share one PTX lowering.
  std::vector<OwningOpRef<ModuleOp>> unique;
  std::vector<size_t> uniqueOf(queue_.size());
  if (cuda) {
    llvm::StringMap<size_t> byText;
    for (auto [position, queued] : llvm::enumerate(queue_)) {
      OwningOpRef<ModuleOp> canonical = cloneUnderPlaceholder(queued.kernel, queued.name);
      std::string text;
      llvm::raw_string_ostream stream(text);
      canonical->print(stream);
      auto [it, inserted] = byText.try_emplace(text, unique.size());
      if (inserted)
        unique.push_back(std::move(canonical));
      uniqueOf[position] = it->second;
    }
  }

  // One job per kernel's SPIR-V and one per unique kernel's PTX (all architectures at once:
  // they share the lowering to NVVM).
  struct Job {
    size_t item;
    bool spirv; // SPIR-V of queue_[item], else PTX of unique[item]
  };
  std::vector<Job> jobs;
  if (vulkan)
    for (size_t position = 0; position < queue_.size(); ++position)
      jobs.push_back({position, true});
  for (size_t item = 0; item < unique.size(); ++item)
    jobs.push_back({item, false});

  std::vector<std::optional<std::vector<uint32_t>>> spirv(queue_.size());
  std::vector<std::optional<std::vector<std::string>>> ptx(unique.size());
  MLIRContext *context = queue_.empty() ? nullptr : queue_.front().kernel.getContext();
  if (context)
    parallelForEach(context, jobs, [&](const Job &job) {
      if (job.spirv) {
        FailureOr<std::vector<uint32_t>> code = targets::lowerToSpirv(queue_[job.item].kernel);
        if (succeeded(code))
          spirv[job.item] = *std::move(code);
        return;
      }
      auto kernel = *unique[job.item]->getOps<gpu::GPUModuleOp>().begin();
      FailureOr<std::vector<std::string>> code = targets::lowerToPtx(kernel, kCudaArchs);
      if (succeeded(code))
        ptx[job.item] = *std::move(code);
    });

  bool ok = true;
  for (auto [position, queued] : llvm::enumerate(queue_)) {
    plan::Kernel *entry = plan.mutable_kernels(queued.index);
    for (plan::Target target : targets_) {
      if (target == plan::TARGET_VULKAN) {
        if (!spirv[position]) {
          queued.where->emitError("cannot compile kernel '")
              << queued.name << "' to SPIR-V (see the error above)";
          ok = false;
          continue;
        }
        std::string *words = entry->mutable_spirv();
        for (uint32_t word : *spirv[position])
          for (int shift = 0; shift < 32; shift += 8)
            words->push_back(static_cast<char>((word >> shift) & 0xff));
      } else if (target == plan::TARGET_CUDA) {
        const std::optional<std::vector<std::string>> &code = ptx[uniqueOf[position]];
        if (!code) {
          queued.where->emitError("cannot compile kernel '")
              << queued.name << "' to PTX (see the error above)";
          ok = false;
          continue;
        }
        for (auto [arch, text] : llvm::zip_equal(kCudaArchs, *code)) {
          plan::PtxCode *entryCode = entry->add_ptx_code();
          entryCode->set_arch(arch.str());
          entryCode->set_ptx(replaceAll(text, kPlaceholder, queued.name));
        }
      }
    }
  }
  return success(ok);
}

} // namespace kiln::codegen
