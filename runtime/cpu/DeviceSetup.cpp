//===- DeviceSetup.cpp - Loading a plan onto the CPU device ---------------===//
//
// cpu::Device's setup: the host's ISAs and the image picked for it, kernel
// entries, the plan's memory, and recording a program (binding pointers
// resolved, commands split into phases at barriers). The per-run calls are in
// Device.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cpu/Device.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/StatusMacros.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace kiln::cpu {

namespace {

constexpr uint64_t kAlignment = 64;

uint64_t roundUp(uint64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

} // namespace

std::vector<std::string> hostIsas() {
  std::vector<std::string> isas;
#if defined(__x86_64__)
  __builtin_cpu_init();
  bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
            __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe") &&
            __builtin_cpu_supports("lzcnt");
  bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl");
  if (v4)
    isas.push_back("x86-64-v4");
  if (v3)
    isas.push_back("x86-64-v3");
#elif defined(__aarch64__)
  isas.push_back("aarch64");
#endif
  return isas;
}

const plan::CpuImage *chooseImage(const plan::Plan &plan, const std::string &requested) {
  std::vector<std::string> isas =
      requested.empty() ? hostIsas() : std::vector<std::string>{requested};
  for (const std::string &isa : isas)
    for (const plan::CpuImage &image : plan.cpu_images())
      if (image.isa() == isa)
        return &image;
  return nullptr;
}

Device::Device(uint32_t threads, std::string isa)
    : threads_(threads == 0 ? defaultThreadCount() : threads), requestedIsa_(std::move(isa)) {}

Device::~Device() {
  team_.reset();
  for (Allocation &allocation : allocations_)
    ::operator delete (allocation.data, std::align_val_t{kAlignment});
}

absl::StatusOr<Device::Allocation> Device::allocate(uint64_t bytes, const std::string &what) {
  uint64_t size = roundUp(std::max<uint64_t>(bytes, 1));
  void *data = ::operator new (size, std::align_val_t{kAlignment}, std::nothrow);
  if (data == nullptr)
    return absl::ResourceExhaustedError(
        absl::StrCat("cpu device: out of memory allocating ", size, " bytes for ", what));
  std::memset(data, 0, size);
  Allocation allocation{static_cast<std::byte *>(data), bytes};
  allocations_.push_back(allocation);
  memoryBytes_ += size;
  return allocation;
}

absl::Status Device::load(const plan::Plan &plan) {
  plan_ = &plan;
  KILN_RETURN_IF_ERROR(loadCode());
  KILN_RETURN_IF_ERROR(allocateBuffers());
  team_ = std::make_unique<ThreadTeam>(threads_);
  return absl::OkStatus();
}

absl::Status Device::loadCode() {
  if (plan_->kernels().empty())
    return absl::OkStatus(); // nothing to run: the plan's outputs are copies and constants
  std::vector<std::string> host = hostIsas(), carried;
  if (!requestedIsa_.empty()) {
    if (std::find(host.begin(), host.end(), requestedIsa_) == host.end())
      return absl::FailedPreconditionError(
          absl::StrCat("the cpu image for ", requestedIsa_, " was asked for, but this CPU runs ",
                       host.empty() ? std::string("no known ISA") : absl::StrJoin(host, ", ")));
    host = {requestedIsa_};
  }
  for (const plan::CpuImage &image : plan_->cpu_images())
    carried.push_back(image.isa());
  const plan::CpuImage *chosen = chooseImage(*plan_, requestedIsa_);
  if (chosen == nullptr)
    return absl::FailedPreconditionError(
        absl::StrCat("plan '", plan_->metadata().model_name(), "' carries cpu images for ",
                     carried.empty() ? std::string("no ISA") : absl::StrJoin(carried, ", "),
                     " but this CPU runs ",
                     host.empty() ? std::string("none of them") : absl::StrJoin(host, ", ")));
  absl::StatusOr<std::unique_ptr<CodeImage>> image = CodeImage::load(*chosen);
  if (!image.ok())
    return image.status();
  image_ = *std::move(image);
  uint64_t scratch = 0;
  for (const plan::Kernel &kernel : plan_->kernels()) {
    const plan::CpuEntry *entry = nullptr;
    for (const plan::CpuEntry &candidate : kernel.cpu_entries())
      if (candidate.isa() == chosen->isa())
        entry = &candidate;
    if (entry == nullptr)
      return absl::FailedPreconditionError(absl::StrCat(
          "kernel '", kernel.name(), "' has no entry in the ", chosen->isa(), " image"));
    absl::StatusOr<KernelFunction> function = image_->entry(entry->offset(), kernel.name());
    if (!function.ok())
      return function.status();
    functions_.push_back(*function);
    tileCounts_.push_back(entry->tile_count());
    scratch = std::max(scratch, entry->scratch_bytes());
  }
  scratchStride_ = roundUp(scratch);
  if (scratchStride_ == 0)
    return absl::OkStatus();
  absl::StatusOr<Allocation> allocation =
      allocate(scratchStride_ * threads_, absl::StrCat("the scratch of ", threads_, " threads"));
  if (!allocation.ok())
    return allocation.status();
  scratch_ = *allocation;
  return absl::OkStatus();
}

absl::Status Device::allocateBuffers() {
  if (plan_->memory().arena_bytes() > 0) {
    absl::StatusOr<Allocation> arena = allocate(plan_->memory().arena_bytes(), "the arena");
    if (!arena.ok())
      return arena.status();
    arena_ = *arena;
  }
  for (const plan::Buffer &buffer : plan_->buffers()) {
    if (buffer.in_arena()) {
      addresses_.push_back(arena_.data + buffer.arena_offset());
      continue;
    }
    absl::StatusOr<Allocation> allocation =
        allocate(buffer.size_bytes(), absl::StrCat("buffer '", buffer.name(), "'"));
    if (!allocation.ok())
      return allocation.status();
    addresses_.push_back(allocation->data);
  }
  return absl::OkStatus();
}

absl::StatusOr<session::RecordedProgram>
Device::recordProgram(const session::ProgramRecording &recording) {
  auto slot = std::make_unique<Slot>();
  slot->timed = recording.timed;
  absl::StatusOr<Allocation> staging =
      allocate(recording.stagingBytes, absl::StrCat("the input staging of ", recording.label));
  if (!staging.ok())
    return staging.status();
  absl::StatusOr<Allocation> readback =
      allocate(recording.readbackBytes, absl::StrCat("the readback of ", recording.label));
  if (!readback.ok())
    return readback.status();
  slot->staging = *staging;
  slot->readback = *readback;
  for (const session::StagedTensor &input : recording.inputs)
    slot->inputs.push_back(
        {slot->staging.data + input.offset, addresses_[input.buffer], input.bytes});
  for (const session::StagedTensor &output : recording.outputs)
    slot->outputs.push_back(
        {addresses_[output.buffer], slot->readback.data + output.offset, output.bytes});
  uint64_t dispatches = 0;
  slot->phases.emplace_back();
  for (const plan::Command &command : recording.step->commands()) {
    Phase &phase = slot->phases.back();
    if (command.has_barrier()) {
      if (!phase.dispatches.empty() || !phase.copies.empty())
        slot->phases.emplace_back();
    } else if (command.has_copy()) {
      const plan::Copy &copy = command.copy();
      phase.copies.push_back(
          {addresses_[copy.src_buffer()], addresses_[copy.dst_buffer()], copy.size_bytes()});
    } else if (command.has_dispatch()) {
      const plan::Dispatch &dispatch = command.dispatch();
      ResolvedDispatch resolved{
          functions_[dispatch.kernel()], dispatch.kernel(), {}, tileCounts_[dispatch.kernel()]};
      for (uint32_t buffer : dispatch.buffers())
        resolved.bindings.push_back(addresses_[buffer]);
      phase.dispatches.push_back(std::move(resolved));
      ++dispatches;
    }
  }
  if (slot->phases.back().dispatches.empty() && slot->phases.back().copies.empty())
    slot->phases.pop_back();
  slots_.push_back(std::move(slot));
  return session::RecordedProgram{static_cast<uint32_t>(slots_.size() - 1), dispatches};
}

} // namespace kiln::cpu
