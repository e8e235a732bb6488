//===- Device.cpp - A plan's buffers and programs on CUDA -----------------===//
//
// The per-run path of the CUDA device (one cuGraphLaunch between two events,
// polling the end event with a timeout), initial values and variable I/O on
// the stream, and the device's stats. Setup and graph capture are in
// DeviceSetup.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/Device.h"

#include "kiln/runtime/StatsJson.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <cstring>
#include <set>
#include <thread>

namespace kiln::cuda {

Device::Device(const CudaDriver &driver, CudaDeviceInfo info, CUdevice device,
               std::chrono::seconds waitTimeout)
    : driver_(driver), info_(std::move(info)), device_(device), waitTimeout_(waitTimeout) {}

absl::Status Device::load(const plan::Plan &plan) {
  plan_ = &plan;
  KILN_RETURN_IF_ERROR(openContext());
  KILN_RETURN_IF_ERROR(loadKernels());
  return allocateBuffers();
}

absl::Status Device::makeCurrent(const std::string &activity) {
  KILN_CU_CHECK(driver_, activity, cuCtxSetCurrent, context_);
  return absl::OkStatus();
}

absl::StatusOr<bool> Device::waitForEvent(CUevent event, std::chrono::nanoseconds timeout,
                                          const std::string &activity) {
  // cuEventSynchronize has no timeout; poll, sleeping briefly once the wait is not short.
  auto start = std::chrono::steady_clock::now();
  for (int polls = 0;; ++polls) {
    CUresult result = driver_.cuEventQuery(event);
    if (result == CUDA_SUCCESS)
      return true;
    if (result != CUDA_ERROR_NOT_READY)
      return cudaError(driver_, result, "cuEventQuery", activity, __FILE__, __LINE__);
    if (std::chrono::steady_clock::now() - start > timeout)
      return false;
    if (polls < 1000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

absl::Status Device::drainStream(const std::string &activity) {
  KILN_CU_CHECK(driver_, activity, cuEventRecord, scratchEvent_, stream_);
  absl::StatusOr<bool> finished = waitForEvent(scratchEvent_, waitTimeout_, activity);
  if (!finished.ok())
    return finished.status();
  if (!*finished)
    return absl::DeadlineExceededError(absl::StrCat(activity, " did not finish within ",
                                                    waitTimeout_.count(),
                                                    " s; this session cannot continue"));
  return absl::OkStatus();
}

absl::Status Device::initializeBuffers(std::span<const session::BufferWrite> writes) {
  std::string activity = "uploading initial values";
  KILN_RETURN_IF_ERROR(makeCurrent(activity));
  absl::flat_hash_set<uint32_t> written;
  for (const session::BufferWrite &write : writes)
    written.insert(write.buffer);
  // Zero everything else once, so runs are deterministic even if a kernel reads a transient
  // before writing it; then upload (stream order: after the zeroing).
  for (int index = 0; index < plan_->buffers_size(); ++index) {
    const plan::Buffer &buffer = plan_->buffers(index);
    if (buffer.in_arena() || written.contains(index))
      continue;
    KILN_CU_CHECK(driver_, absl::StrCat("zeroing buffer '", buffer.name(), "'"), cuMemsetD8Async,
                  addresses_[index], 0, buffer.size_bytes(), stream_);
  }
  if (arena_ != 0)
    KILN_CU_CHECK(driver_, "zeroing the transient arena", cuMemsetD8Async, arena_, 0,
                  plan_->memory().arena_bytes(), stream_);
  // The caller keeps the bytes alive until this returns, after the stream drained.
  for (const session::BufferWrite &write : writes)
    KILN_CU_CHECK(driver_,
                  absl::StrCat("initialising buffer '", plan_->buffers(write.buffer).name(), "'"),
                  cuMemcpyHtoDAsync, addresses_[write.buffer], write.bytes.data(),
                  write.bytes.size(), stream_);
  return drainStream(activity);
}

absl::StatusOr<session::RecordedProgram>
Device::recordProgram(const session::ProgramRecording &recording) {
  KILN_RETURN_IF_ERROR(makeCurrent(absl::StrCat("recording ", recording.label)));
  // Owned by slots_ from the start, so the destructor frees whatever a failure left behind.
  slots_.push_back(std::make_unique<Slot>());
  Slot &slot = *slots_.back();
  slot.timed = recording.timed;
  auto pin = [&](PinnedBuffer &buffer, uint64_t size, const std::string &what) -> absl::Status {
    buffer.size = size;
    KILN_CU_CHECK(driver_, absl::StrCat(what, " of ", recording.label, ", ", size, " bytes"),
                  cuMemAllocHost, &buffer.data, buffer.size);
    std::memset(buffer.data, 0, buffer.size);
    return absl::OkStatus();
  };
  KILN_RETURN_IF_ERROR(pin(slot.staging, recording.stagingBytes, "pinned input staging"));
  KILN_RETURN_IF_ERROR(pin(slot.readback, recording.readbackBytes, "pinned output readback"));
  KILN_CU_CHECK(driver_, absl::StrCat("the start event of ", recording.label), cuEventCreate,
                &slot.started, CU_EVENT_DEFAULT);
  KILN_CU_CHECK(driver_, absl::StrCat("the end event of ", recording.label), cuEventCreate,
                &slot.finished, CU_EVENT_DEFAULT);
  absl::StatusOr<uint64_t> dispatches = capture(recording, slot);
  if (!dispatches.ok())
    return dispatches.status();
  return session::RecordedProgram{static_cast<uint32_t>(slots_.size() - 1), *dispatches};
}

std::span<std::byte> Device::inputStaging(uint32_t slot) {
  return {slots_[slot]->staging.bytes(), slots_[slot]->staging.size};
}

absl::Status Device::submit(uint32_t index, const std::string &activity) {
  KILN_RETURN_IF_ERROR(makeCurrent(activity));
  Slot &slot = *slots_[index];
  KILN_CU_CHECK(driver_, activity, cuEventRecord, slot.started, stream_);
  KILN_CU_CHECK(driver_, activity, cuGraphLaunch, slot.exec, stream_);
  KILN_CU_CHECK(driver_, activity, cuEventRecord, slot.finished, stream_);
  return absl::OkStatus();
}

absl::StatusOr<bool> Device::wait(uint32_t slot, std::chrono::nanoseconds timeout,
                                  const std::string &activity) {
  KILN_RETURN_IF_ERROR(makeCurrent(activity));
  return waitForEvent(slots_[slot]->finished, timeout, activity);
}

bool Device::finished(uint32_t slot) {
  return makeCurrent("collecting stats").ok() &&
         driver_.cuEventQuery(slots_[slot]->finished) == CUDA_SUCCESS;
}

absl::StatusOr<std::span<const std::byte>> Device::outputReadback(uint32_t slot) {
  // Pinned memory that the graph's D2H copies wrote before the end event: nothing to do.
  return std::span<const std::byte>(slots_[slot]->readback.bytes(), slots_[slot]->readback.size);
}

std::optional<double> Device::deviceSeconds(uint32_t slot) {
  if (!slots_[slot]->timed)
    return std::nullopt;
  float milliseconds = 0;
  if (driver_.cuEventElapsedTime(&milliseconds, slots_[slot]->started, slots_[slot]->finished) !=
      CUDA_SUCCESS)
    return std::nullopt;
  return milliseconds * 1e-3;
}

absl::Status Device::readBuffer(uint32_t buffer, std::span<std::byte> bytes,
                                const std::string &activity) {
  KILN_RETURN_IF_ERROR(makeCurrent(activity));
  KILN_CU_CHECK(driver_, activity, cuMemcpyDtoHAsync, bytes.data(), addresses_[buffer],
                bytes.size(), stream_);
  return drainStream(activity);
}

absl::Status Device::writeBuffer(uint32_t buffer, std::span<const std::byte> bytes,
                                 const std::string &activity) {
  KILN_RETURN_IF_ERROR(makeCurrent(activity));
  // Stream order puts the copy after every submitted step; waiting keeps `bytes` alive.
  KILN_CU_CHECK(driver_, activity, cuMemcpyHtoDAsync, addresses_[buffer], bytes.data(),
                bytes.size(), stream_);
  return drainStream(activity);
}

session::DeviceStats Device::stats() const {
  session::DeviceStats stats;
  stats.name = info_.name;
  stats.type = "GPU";
  stats.kernels = functions_.size();
  stats.deviceMemoryBytes = deviceMemoryBytes_;
  std::set<std::string> archs(ptxArchs_.begin(), ptxArchs_.end());
  stats.members = {
      {"compute_capability",
       jsonString(computeCapabilityName(info_.computeMajor, info_.computeMinor))},
      {"ptx_archs", jsonString(absl::StrJoin(archs, ", "))},
      {"graph_nodes_per_step", absl::StrCat(slots_.empty() ? 0 : slots_.front()->nodes)},
  };
  return stats;
}

} // namespace kiln::cuda
