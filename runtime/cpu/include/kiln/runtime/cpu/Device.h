//===- Device.h - A plan's buffers and programs on the host CPU -*- C++ -*-===//
//
// The native CPU implementation of session::Device (docs/design/cpu-runtime.md).
// load() picks the best CpuImage the host can run, maps it (CodeImage.h),
// resolves every kernel's entry, allocates the arena and one allocation per
// other buffer (64-byte aligned) and starts the thread team. recordProgram()
// resolves each dispatch's binding pointers once and splits the program's
// commands into phases at its barriers. submit() is ONE call that runs the
// whole program on the calling thread with the team:
//
//   input copies: the slot's staging -> the program's input buffers
//   per phase: every participant runs its fixed tile range of every dispatch
//              of the phase (the caller also does the phase's copies), then
//              all meet at the phase's end
//   output copies: the program's output buffers -> the slot's readback
//
// so the run has finished when submit() returns and wait() never waits.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CPU_DEVICE_H
#define KILN_RUNTIME_CPU_DEVICE_H

#include "kiln/runtime/cpu/CodeImage.h"
#include "kiln/runtime/cpu/ThreadTeam.h"
#include "kiln/runtime/session/Device.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::cpu {

/// The ISAs this host can run, best first ("x86-64-v4", "x86-64-v3"; "aarch64").
std::vector<std::string> hostIsas();

/// The image of `plan` the cpu device runs: the first of hostIsas() (or `requested` alone,
/// when given) the plan carries an image for; null when there is none.
const plan::CpuImage *chooseImage(const plan::Plan &plan, const std::string &requested = {});

class Device : public session::Device {
public:
  /// A device whose team has `threads` participants (0: defaultThreadCount()).
  /// `isa` empty: the best image the plan carries that this CPU runs; else that image.
  explicit Device(uint32_t threads, std::string isa = {});
  ~Device() override;

  /// load() fails with FailedPrecondition when the plan carries no image the host can run
  /// (naming both lists) and with CodeImage::load's or CodeImage::entry's error naming the ISA,
  /// the kernel and the offset; ResourceExhausted naming the buffer when memory runs out.
  /// stats() adds "isa", "threads", "phases_per_step" and "kernel_profile": per kernel, the
  /// seconds its dispatches took per run of the training step (summed over the threads, so
  /// 2 threads busy for 1 ms count 2 ms) and their share of all kernel time; and
  /// "phase_seconds_per_step", the step's phases timed on the calling thread (barrier waits
  /// included).
  KILN_SESSION_DEVICE_OVERRIDES;

  uint32_t threads() const { return threads_; }
  /// The loaded image (after load()).
  const CodeImage &image() const { return *image_; }

private:
  /// 64-byte aligned, zero-initialised host memory.
  struct Allocation {
    std::byte *data = nullptr;
    uint64_t bytes = 0;
  };
  struct ResolvedDispatch {
    KernelFunction function = nullptr;
    uint32_t kernel = 0;
    std::vector<void *> bindings;
    uint32_t tiles = 0;
  };
  struct ResolvedCopy {
    const std::byte *source = nullptr;
    std::byte *destination = nullptr;
    uint64_t bytes = 0;
  };
  /// Commands between two barriers: independent of each other.
  struct Phase {
    std::vector<ResolvedDispatch> dispatches;
    std::vector<ResolvedCopy> copies;
  };
  struct Slot {
    Allocation staging, readback;
    std::vector<ResolvedCopy> inputs, outputs;
    std::vector<Phase> phases;
    bool timed = false;
    double seconds = 0;
    uint64_t runs = 0;
  };

  absl::StatusOr<Allocation> allocate(uint64_t bytes, const std::string &what);
  absl::Status loadCode();
  absl::Status allocateBuffers();
  void runPhase(const Phase &phase, uint32_t participant, bool profiled);

  uint32_t threads_;
  std::string requestedIsa_;
  const plan::Plan *plan_ = nullptr;
  std::unique_ptr<CodeImage> image_;
  std::vector<KernelFunction> functions_; // per kernel
  std::vector<uint32_t> tileCounts_;      // per kernel
  uint64_t scratchStride_ = 0;            // per participant, 64-byte multiple
  Allocation scratch_;
  std::vector<Allocation> allocations_; // every allocation, freed at destruction
  std::vector<std::byte *> addresses_;  // per plan buffer
  Allocation arena_;
  uint64_t memoryBytes_ = 0;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unique_ptr<ThreadTeam> team_;
  /// Nanoseconds per participant and kernel in the training step's runs (slot 0's program);
  /// each participant writes its own row only.
  std::vector<std::vector<uint64_t>> kernelNanoseconds_;
  uint64_t phaseNanoseconds_ = 0;
};

} // namespace kiln::cpu

#endif // KILN_RUNTIME_CPU_DEVICE_H
