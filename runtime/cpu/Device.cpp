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

#include <algorithm>
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

void Device::runPhase(const Phase &phase, uint32_t participant, bool profiled) {
  if (participant == 0)
    copyAll(phase.copies);
  void *scratch = scratchStride_ == 0 ? nullptr : scratch_.data + scratchStride_ * participant;
  for (const ResolvedDispatch &dispatch : phase.dispatches) {
    TileRange range = tileRange(dispatch.tiles, participant, threads_);
    if (range.begin >= range.end)
      continue;
    if (!profiled) {
      dispatch.function(dispatch.bindings.data(), range.begin, range.end, scratch);
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    dispatch.function(dispatch.bindings.data(), range.begin, range.end, scratch);
    kernelNanoseconds_[participant][dispatch.kernel] +=
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
  }
}

absl::Status Device::submit(uint32_t index, const std::string &) {
  Slot &slot = *slots_[index];
  auto start = std::chrono::steady_clock::now();
  copyAll(slot.inputs);
  // The training step (slot 0) is profiled per kernel: two clock reads per dispatch.
  bool profiled = index == 0;
  if (profiled && kernelNanoseconds_.empty())
    kernelNanoseconds_.assign(threads_, std::vector<uint64_t>(functions_.size(), 0));
  for (const Phase &phase : slot.phases) {
    auto phaseStart = std::chrono::steady_clock::now();
    team_->run([&](uint32_t participant) { runPhase(phase, participant, profiled); });
    if (profiled)
      phaseNanoseconds_ +=
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - phaseStart)
                                    .count());
  }
  ++slot.runs;
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
  uint64_t runs = slots_.empty() ? 0 : slots_.front()->runs;
  if (runs > 0 && !kernelNanoseconds_.empty()) {
    std::vector<uint64_t> total(functions_.size(), 0);
    uint64_t all = 0;
    for (const std::vector<uint64_t> &row : kernelNanoseconds_)
      for (size_t kernel = 0; kernel < row.size(); ++kernel) {
        total[kernel] += row[kernel];
        all += row[kernel];
      }
    std::vector<size_t> order(total.size());
    for (size_t kernel = 0; kernel < order.size(); ++kernel)
      order[kernel] = kernel;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return total[a] > total[b]; });
    std::string profile = "[";
    for (size_t kernel : order) {
      if (total[kernel] == 0)
        continue;
      absl::StrAppend(
          &profile, profile.size() > 1 ? ", " : "",
          "{\"kernel\": ", jsonString(plan_->kernels(static_cast<int>(kernel)).name()),
          ", \"seconds_per_step\": ", jsonNumber(static_cast<double>(total[kernel]) * 1e-9 / runs),
          ", \"share\": ", jsonNumber(static_cast<double>(total[kernel]) / all), "}");
    }
    profile += "]";
    stats.members.push_back({"kernel_profile", profile});
    stats.members.push_back({"phase_seconds_per_step",
                             jsonNumber(static_cast<double>(phaseNanoseconds_) * 1e-9 / runs)});
  }
  return stats;
}

} // namespace kiln::cpu
