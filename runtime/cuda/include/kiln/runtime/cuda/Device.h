//===- Device.h - A plan's buffers and programs on CUDA ---------*- C++ -*-===//
//
// The CUDA implementation of session::Device. load() retains the device's
// primary context, JIT-loads each kernel's PTX (the highest arch the device
// supports) and allocates one device allocation per plan buffer outside the
// arena plus one for the arena. recordProgram() captures a program into a
// CUDA graph, once, with its own pinned host staging; on the device's one
// stream the graph does:
//
//   H2D copies: the slot's pinned input area -> the program's input buffers
//   the plan's dispatches (cuLaunchKernel) and copies (D2D), in plan order
//   D2H copies: the program's output buffers -> the slot's pinned output area
//
// Barriers need no node: the stream (and so the captured graph, a chain)
// orders every command after the previous one. submit() is one cuGraphLaunch
// between two events; the second says when the slot is free and its outputs
// are ready. Every call makes the context current first, so the thread that
// drives the session may change between calls.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_DEVICE_H
#define KILN_RUNTIME_CUDA_DEVICE_H

#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/CudaDriver.h"
#include "kiln/runtime/session/Device.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kiln::cuda {

class Device : public session::Device {
public:
  /// `waitTimeout` bounds the waits of initializeBuffers, readBuffer and writeBuffer.
  Device(const CudaDriver &driver, CudaDeviceInfo info, CUdevice device,
         std::chrono::seconds waitTimeout);
  /// Waits for submitted work, then releases everything.
  ~Device() override;

  /// load() fails with FailedPrecondition if no PTX entry of a kernel fits the device's
  /// compute capability, with the driver's error otherwise (CUDA_ERROR_INVALID_PTX with the
  /// JIT log, out of memory as ResourceExhausted), naming the driver call and the kernel or
  /// buffer. stats() adds "compute_capability", "ptx_archs" (the archs loaded) and
  /// "graph_nodes_per_step".
  KILN_SESSION_DEVICE_OVERRIDES;

  const CudaDeviceInfo &info() const { return info_; }

private:
  /// Pinned host memory (cuMemAllocHost), freed with the device.
  struct PinnedBuffer {
    void *data = nullptr;
    uint64_t size = 0;
    std::byte *bytes() const { return static_cast<std::byte *>(data); }
  };
  /// An instantiated graph with its pinned staging and events.
  struct Slot {
    PinnedBuffer staging;  ///< Inputs, at the recording's offsets.
    PinnedBuffer readback; ///< Outputs, at the recording's offsets.
    CUgraph graph = nullptr;
    CUgraphExec exec = nullptr;
    CUevent started = nullptr;  ///< Recorded before the launch (for device time).
    CUevent finished = nullptr; ///< Recorded after the launch.
    uint64_t nodes = 0;         ///< Nodes of the captured graph.
    bool timed = false;
  };

  /// Makes the device's context current on the calling thread.
  absl::Status makeCurrent(const std::string &activity);
  /// Polls `event` until it completes (true) or `timeout` passes (false).
  absl::StatusOr<bool> waitForEvent(CUevent event, std::chrono::nanoseconds timeout,
                                    const std::string &activity);
  /// Records scratchEvent_ on the stream and waits for it: everything submitted so far is done.
  absl::Status drainStream(const std::string &activity);

  // Setup, in DeviceSetup.cpp.
  absl::Status openContext();
  absl::Status loadKernels();
  absl::Status allocateBuffers();
  /// Captures `recording` reading and writing `slot`'s staging into slot.graph and
  /// instantiates it; returns its dispatches.
  absl::StatusOr<uint64_t> capture(const session::ProgramRecording &recording, Slot &slot);

  const CudaDriver &driver_;
  CudaDeviceInfo info_;
  CUdevice device_;
  std::chrono::seconds waitTimeout_;
  const plan::Plan *plan_ = nullptr;
  CUcontext context_ = nullptr; // the device's primary context, retained
  CUstream stream_ = nullptr;
  CUevent scratchEvent_ = nullptr;
  std::vector<CUmodule> modules_;        // one per kernel
  std::vector<CUfunction> functions_;    // one per kernel
  std::vector<std::string> ptxArchs_;    // the arch loaded, per kernel
  std::vector<CUdeviceptr> allocations_; // every cuMemAlloc, freed at destruction
  std::vector<CUdeviceptr> addresses_;   // per plan buffer
  CUdeviceptr arena_ = 0;
  uint64_t deviceMemoryBytes_ = 0;
  std::vector<std::unique_ptr<Slot>> slots_;
};

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_DEVICE_H
