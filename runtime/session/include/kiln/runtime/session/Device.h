//===- Device.h - What a device does for a session --------------*- C++ -*-===//
//
// The session core (Session.h) does everything every device does the same
// way: matching host tensors against the plan's inputs, the staging layout,
// the two alternating step slots and their outputs, programs by name,
// variable I/O, waiting with a timeout, and stats. A Device does the rest:
// it owns the memory of the plan's buffers (the transient arena plus one
// allocation per other buffer), moves bytes between the host and them, and
// records a program ONCE into a slot that the session then submits as one
// unit per run (a command buffer, a CUDA graph, a host call).
//
// Adding a device means implementing this interface and a `create` that
// checks the plan for the device and hands both to session::Session
// (docs/design/session.md).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SESSION_DEVICE_H
#define KILN_RUNTIME_SESSION_DEVICE_H

#include "kiln/plan/plan.pb.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kiln::session {

/// A tensor of a program that the host writes before a run (an input) or reads after it (an
/// output): plan buffer `buffer`, its first `bytes` bytes, at `offset` in the slot's input
/// staging or output readback memory.
struct StagedTensor {
  std::string name;
  uint32_t buffer = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

/// What Device::recordProgram records into a new slot.
struct ProgramRecording {
  std::string program;               ///< The plan's name of the program ("train", "eval").
  const plan::Step *step = nullptr;  ///< Its commands, in order; owned by the plan.
  std::vector<StagedTensor> inputs;  ///< Copied from staging to their buffers first.
  std::vector<StagedTensor> outputs; ///< Copied from their buffers to readback last.
  uint64_t stagingBytes = 0;         ///< Size of the slot's input staging (>= 16).
  uint64_t readbackBytes = 0;        ///< Size of the slot's output readback (>= 16).
  bool timed = false;                ///< Measure each run's device time (the step slots).
  std::string label;                 ///< "step slot 0", "program 'eval'": for messages.
};

struct RecordedProgram {
  uint32_t slot = 0;       ///< The device's handle of the slot, for submit() and the rest.
  uint64_t dispatches = 0; ///< Kernel dispatches one run of the slot makes.
};

/// Bytes for plan buffer `buffer` (from its start).
struct BufferWrite {
  uint32_t buffer = 0;
  std::span<const std::byte> bytes;
};

/// A device-specific counter: a JSON key and its value as JSON text ("3", "\"sm_90\"").
struct StatsMember {
  std::string key;
  std::string value;
};

/// What only the device knows about itself, for SessionStats.
struct DeviceStats {
  std::string name;                 ///< "llvmpipe (LLVM 15.0.6, 256 bits)", "NVIDIA H100".
  std::string type;                 ///< "discrete GPU", "CPU", "GPU", "host".
  uint64_t kernels = 0;             ///< Kernels made ready to dispatch (pipelines, functions).
  uint64_t deviceMemoryBytes = 0;   ///< Every allocation the device made, staging included.
  std::vector<StatsMember> members; ///< Printed after the common keys, in this order.
};

/// A device a session runs a plan on. The session calls it from one thread; calls after a
/// failure with Unavailable (device lost) are not made. Every `activity` names the work for
/// error messages ("submitting step 3").
class Device {
public:
  virtual ~Device() = default;

  /// Prepares `plan` (already validated and checked by the device's create): kernels, the
  /// arena and one allocation per buffer outside it. `plan` outlives the device. Fails naming
  /// the buffer or kernel (ResourceExhausted when memory runs out).
  virtual absl::Status load(const plan::Plan &plan) = 0;

  /// Sets every buffer in `writes` to its bytes and every byte of every other buffer and of
  /// the arena to zero, then waits; done once, before anything is recorded or run.
  virtual absl::Status initializeBuffers(std::span<const BufferWrite> writes) = 0;

  /// Allocates a slot (host staging and readback of the sizes given, whatever the device
  /// needs to run) and records `recording` into it once: input copies, the program's commands
  /// with the synchronization they need, output copies.
  virtual absl::StatusOr<RecordedProgram> recordProgram(const ProgramRecording &recording) = 0;

  /// The slot's input staging memory (ProgramRecording::stagingBytes long); the host writes
  /// the inputs here while the slot is not running.
  virtual std::span<std::byte> inputStaging(uint32_t slot) = 0;
  /// Runs the slot once, asynchronously, after everything submitted before (steps, program
  /// runs, buffer writes); makes the host's staging writes visible first. One submission.
  virtual absl::Status submit(uint32_t slot, const std::string &activity) = 0;
  /// Waits up to `timeout` for the slot's last submission: true when it has finished, false
  /// when the time ran out (the work may still run).
  virtual absl::StatusOr<bool> wait(uint32_t slot, std::chrono::nanoseconds timeout,
                                    const std::string &activity) = 0;
  /// Whether the slot's last submission has finished, without waiting.
  virtual bool finished(uint32_t slot) = 0;
  /// The slot's output readback memory after its last submission finished.
  virtual absl::StatusOr<std::span<const std::byte>> outputReadback(uint32_t slot) = 0;
  /// Device time of the slot's last (finished, timed) run; empty when it cannot be measured.
  virtual std::optional<double> deviceSeconds(uint32_t slot) = 0;

  /// Copies the first bytes.size() bytes of plan buffer `buffer` to the host, after every
  /// submission so far (the session waits for its slots first); waits.
  virtual absl::Status readBuffer(uint32_t buffer, std::span<std::byte> bytes,
                                  const std::string &activity) = 0;
  /// Replaces the first bytes.size() bytes of plan buffer `buffer`, after every submission
  /// so far and before every later one; waits.
  virtual absl::Status writeBuffer(uint32_t buffer, std::span<const std::byte> bytes,
                                   const std::string &activity) = 0;

  /// Counters only the device knows.
  virtual DeviceStats stats() const = 0;
};

} // namespace kiln::session

/// Declares every member function of session::Device as an override, in the class body of an
/// implementation (vulkan::Device, cuda::Device, reference::Device), so the interface is listed
/// once; each implementation's header documents what its functions add.
#define KILN_SESSION_DEVICE_OVERRIDES                                                              \
  absl::Status load(const ::kiln::plan::Plan &plan) override;                                      \
  absl::Status initializeBuffers(std::span<const ::kiln::session::BufferWrite> writes) override;   \
  absl::StatusOr<::kiln::session::RecordedProgram> recordProgram(                                  \
      const ::kiln::session::ProgramRecording &recording) override;                                \
  std::span<std::byte> inputStaging(uint32_t slot) override;                                       \
  absl::Status submit(uint32_t slot, const std::string &activity) override;                        \
  absl::StatusOr<bool> wait(uint32_t slot, std::chrono::nanoseconds timeout,                       \
                            const std::string &activity) override;                                 \
  bool finished(uint32_t slot) override;                                                           \
  absl::StatusOr<std::span<const std::byte>> outputReadback(uint32_t slot) override;               \
  std::optional<double> deviceSeconds(uint32_t slot) override;                                     \
  absl::Status readBuffer(uint32_t buffer, std::span<std::byte> bytes,                             \
                          const std::string &activity) override;                                   \
  absl::Status writeBuffer(uint32_t buffer, std::span<const std::byte> bytes,                      \
                           const std::string &activity) override;                                  \
  ::kiln::session::DeviceStats stats() const override

#endif // KILN_RUNTIME_SESSION_DEVICE_H
