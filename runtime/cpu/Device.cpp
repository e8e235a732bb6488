//===- Device.cpp - Running programs on the CPU device --------------------===//
//
// The per-run calls of cpu::Device: one submit() runs a whole program with
// the thread team and returns when it has finished; buffer I/O is memcpy.
// Setup and recording are in DeviceSetup.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cpu/Device.h"

#include "kiln/runtime/StatsJson.h"

#include "absl/strings/str_cat.h"

#include <chrono>
#include <cstring>
#include <fstream>

namespace kiln::cpu {

namespace {

template <typename Copies> void copyAll(const Copies &copies) {
  for (const auto &copy : copies)
    std::memcpy(copy.destination, copy.source, copy.bytes);
}

/// "model name" from /proc/cpuinfo, or a plain name where there is none.
std::string cpuName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.starts_with("model name")) {
      size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size())
        return line.substr(colon + 2);
    }
  return "host CPU";
}

} // namespace

absl::Status Device::initializeBuffers(std::span<const session::BufferWrite> writes) {
  // Every allocation starts zeroed (Device::allocate); only the writes remain.
  for (const session::BufferWrite &write : writes)
    std::memcpy(addresses_[write.buffer], write.bytes.data(), write.bytes.size());
  return absl::OkStatus();
}

std::span<std::byte> Device::inputStaging(uint32_t slot) {
  return {slots_[slot]->staging.data, slots_[slot]->staging.bytes};
}

void Device::runPhase(const Phase &phase, uint32_t participant) {
  if (participant == 0)
    copyAll(phase.copies);
  void *scratch = scratchStride_ == 0 ? nullptr : scratch_.data + scratchStride_ * participant;
  for (const ResolvedDispatch &dispatch : phase.dispatches) {
    TileRange range = tileRange(dispatch.tiles, participant, threads_);
    if (range.begin < range.end)
      dispatch.function(dispatch.bindings.data(), range.begin, range.end, scratch);
  }
}

absl::Status Device::submit(uint32_t index, const std::string &) {
  Slot &slot = *slots_[index];
  auto start = std::chrono::steady_clock::now();
  copyAll(slot.inputs);
  for (const Phase &phase : slot.phases)
    team_->run([&](uint32_t participant) { runPhase(phase, participant); });
  copyAll(slot.outputs);
  slot.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return absl::OkStatus();
}

absl::StatusOr<bool> Device::wait(uint32_t, std::chrono::nanoseconds, const std::string &) {
  return true; // submit() returns when the run has finished
}

bool Device::finished(uint32_t) { return true; }

absl::StatusOr<std::span<const std::byte>> Device::outputReadback(uint32_t slot) {
  return std::span<const std::byte>(slots_[slot]->readback.data, slots_[slot]->readback.bytes);
}

std::optional<double> Device::deviceSeconds(uint32_t slot) {
  if (!slots_[slot]->timed)
    return std::nullopt;
  return slots_[slot]->seconds;
}

absl::Status Device::readBuffer(uint32_t buffer, std::span<std::byte> bytes, const std::string &) {
  std::memcpy(bytes.data(), addresses_[buffer], bytes.size());
  return absl::OkStatus();
}

absl::Status Device::writeBuffer(uint32_t buffer, std::span<const std::byte> bytes,
                                 const std::string &) {
  std::memcpy(addresses_[buffer], bytes.data(), bytes.size());
  return absl::OkStatus();
}

session::DeviceStats Device::stats() const {
  session::DeviceStats stats;
  stats.name = cpuName();
  stats.type = "CPU";
  stats.kernels = functions_.size();
  stats.deviceMemoryBytes = memoryBytes_;
  stats.members = {
      {"isa", jsonString(image_ ? image_->isa() : std::string())},
      {"threads", absl::StrCat(threads_)},
      {"phases_per_step", absl::StrCat(slots_.empty() ? 0 : slots_.front()->phases.size())},
  };
  return stats;
}

} // namespace kiln::cpu
