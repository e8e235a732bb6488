//===- DeviceSetup.cpp - Turning a plan into CUDA objects -----------------===//
//
// What the CUDA device does once: retain the device's primary context,
// JIT-load each kernel's PTX, allocate the buffers and the arena, and capture
// each recording into a CUDA graph. Also the destructor.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/Device.h"

#include "kiln/runtime/PlanValidation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cstring>

namespace kiln::cuda {

namespace {

/// Bytes of the JIT's error and info logs kept for messages.
constexpr size_t kJitLogBytes = 8192;

std::string describeBytes(uint64_t bytes) {
  return absl::StrCat(bytes, " bytes (", absl::StrFormat("%.1f", bytes / 1048576.0), " MiB)");
}

} // namespace

absl::Status Device::openContext() {
  std::string activity = absl::StrCat("device ", info_.index, " ('", info_.name, "')");
  KILN_CU_CHECK(driver_, activity, cuDevicePrimaryCtxRetain, &context_, device_);
  KILN_CU_CHECK(driver_, activity, cuCtxSetCurrent, context_);
  KILN_CU_CHECK(driver_, absl::StrCat("the stream of ", activity), cuStreamCreate, &stream_,
                CU_STREAM_NON_BLOCKING);
  KILN_CU_CHECK(driver_, "the session's scratch event", cuEventCreate, &scratchEvent_,
                CU_EVENT_DISABLE_TIMING);
  return absl::OkStatus();
}

absl::Status Device::loadKernels() {
  for (const plan::Kernel &kernel : plan_->kernels()) {
    absl::StatusOr<int> chosen = selectPtxCode(kernel, info_.computeMajor, info_.computeMinor);
    if (!chosen.ok())
      return chosen.status();
    const plan::PtxCode &code = kernel.ptx_code(*chosen);
    std::string activity = absl::StrCat("kernel \"", kernel.name(), "\", ", code.arch());

    std::string errorLog(kJitLogBytes, '\0');
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {errorLog.data(), reinterpret_cast<void *>(uintptr_t{kJitLogBytes - 1})};
    CUmodule module = nullptr;
    // The PTX text must be NUL-terminated; std::string's c_str() is.
    CUresult loaded = driver_.cuModuleLoadDataEx(&module, code.ptx().c_str(), 2, options, values);
    if (loaded != CUDA_SUCCESS) {
      errorLog.resize(std::strlen(errorLog.c_str()));
      while (!errorLog.empty() && (errorLog.back() == '\n' || errorLog.back() == ' '))
        errorLog.pop_back();
      return cudaError(driver_, loaded, "cuModuleLoadDataEx", activity, __FILE__, __LINE__,
                       errorLog.empty() ? std::string()
                                        : absl::StrCat(" (JIT log: ", errorLog, ")"));
    }
    modules_.push_back(module);
    CUfunction function = nullptr;
    CUresult found = driver_.cuModuleGetFunction(&function, module, kernel.entry_point().c_str());
    if (found != CUDA_SUCCESS)
      return cudaError(driver_, found, "cuModuleGetFunction",
                       absl::StrCat(activity, ", entry point \"", kernel.entry_point(), "\""),
                       __FILE__, __LINE__,
                       " (HINT: Kernel.entry_point must name a .visible .entry of its PTX)");
    functions_.push_back(function);
    ptxArchs_.push_back(code.arch());
  }
  return absl::OkStatus();
}

absl::Status Device::allocateBuffers() {
  auto allocate = [&](uint64_t size, const std::string &what) -> absl::StatusOr<CUdeviceptr> {
    CUdeviceptr pointer = 0;
    CUresult result = driver_.cuMemAlloc(&pointer, size);
    if (result != CUDA_SUCCESS)
      return cudaError(driver_, result, "cuMemAlloc", absl::StrCat(what, ", ", describeBytes(size)),
                       __FILE__, __LINE__);
    allocations_.push_back(pointer);
    deviceMemoryBytes_ += size;
    return pointer;
  };
  CUdeviceptr arena = 0;
  uint64_t arenaBytes = plan_->memory().arena_bytes();
  if (arenaBytes > 0) {
    absl::StatusOr<CUdeviceptr> allocated = allocate(arenaBytes, "the transient arena");
    if (!allocated.ok())
      return allocated.status();
    arena = *allocated;
    arena_ = arena;
  }
  addresses_.assign(plan_->buffers_size(), 0);
  for (int index = 0; index < plan_->buffers_size(); ++index) {
    const plan::Buffer &buffer = plan_->buffers(index);
    if (buffer.in_arena()) {
      if (buffer.arena_offset() + buffer.size_bytes() > arenaBytes)
        return absl::InvalidArgumentError(absl::StrCat(
            "buffer ", index, " ('", buffer.name(), "') lies at arena offset ",
            buffer.arena_offset(), " with ", describeBytes(buffer.size_bytes()),
            ", beyond the arena of ", describeBytes(arenaBytes), "; the plan is inconsistent"));
      addresses_[index] = arena + buffer.arena_offset();
      continue;
    }
    absl::StatusOr<CUdeviceptr> allocated =
        allocate(buffer.size_bytes(), absl::StrCat("buffer '", buffer.name(), "'"));
    if (!allocated.ok())
      return allocated.status();
    addresses_[index] = *allocated;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Device::capture(const session::ProgramRecording &recording, Slot &slot) {
  std::string activity = absl::StrCat("capturing ", recording.label);
  uint64_t dispatches = 0;
  KILN_CU_CHECK(driver_, activity, cuStreamBeginCapture, stream_,
                CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
  // Ends the capture on every path, so a failure leaves the stream usable for the destructor.
  CUgraph graph = nullptr;
  bool capturing = true;
  auto endCapture = [&]() -> CUresult {
    capturing = false;
    return driver_.cuStreamEndCapture(stream_, &graph);
  };
  auto recordCommands = [&]() -> absl::Status {
    for (const session::StagedTensor &input : recording.inputs)
      KILN_CU_CHECK(driver_, absl::StrCat(activity, ": input '", input.name, "'"),
                    cuMemcpyHtoDAsync, addresses_[input.buffer],
                    slot.staging.bytes() + input.offset, input.bytes, stream_);
    const plan::Step &step = *recording.step;
    for (int index = 0; index < step.commands_size(); ++index) {
      const plan::Command &command = step.commands(index);
      if (command.has_dispatch()) {
        const plan::Dispatch &dispatch = command.dispatch();
        const plan::Kernel &kernel = plan_->kernels(dispatch.kernel());
        std::vector<CUdeviceptr> pointers;
        for (uint32_t buffer : dispatch.buffers())
          pointers.push_back(addresses_[buffer]);
        std::vector<void *> parameters;
        for (CUdeviceptr &pointer : pointers)
          parameters.push_back(&pointer);
        const plan::Dim3 &groups = dispatch.group_count();
        const plan::Dim3 &block = kernel.workgroup_size();
        KILN_CU_CHECK(driver_,
                      absl::StrCat(activity, ", command ", index, ": kernel \"", kernel.name(),
                                   "\" grid ", groups.x(), "x", groups.y(), "x", groups.z(),
                                   " block ", block.x(), "x", block.y(), "x", block.z()),
                      cuLaunchKernel, functions_[dispatch.kernel()], groups.x(), groups.y(),
                      groups.z(), block.x(), block.y(), block.z(), 0, stream_,
                      parameters.empty() ? nullptr : parameters.data(), nullptr);
        ++dispatches;
      } else if (command.has_copy()) {
        const plan::Copy &copy = command.copy();
        KILN_CU_CHECK(driver_,
                      absl::StrCat(activity, ", command ", index, ": copy '",
                                   plan_->buffers(copy.src_buffer()).name(), "' -> '",
                                   plan_->buffers(copy.dst_buffer()).name(), "'"),
                      cuMemcpyDtoDAsync, addresses_[copy.dst_buffer()],
                      addresses_[copy.src_buffer()], copy.size_bytes(), stream_);
      }
      // A barrier needs nothing: the stream runs the commands one after another.
    }
    for (const session::StagedTensor &output : recording.outputs)
      KILN_CU_CHECK(driver_, absl::StrCat(activity, ": output '", output.name, "'"),
                    cuMemcpyDtoHAsync, slot.readback.bytes() + output.offset,
                    addresses_[output.buffer], output.bytes, stream_);
    return absl::OkStatus();
  };
  absl::Status recorded = recordCommands();
  CUresult ended = capturing ? endCapture() : CUDA_SUCCESS;
  if (!recorded.ok()) {
    if (graph)
      driver_.cuGraphDestroy(graph);
    return recorded;
  }
  if (ended != CUDA_SUCCESS)
    return cudaError(driver_, ended, "cuStreamEndCapture", activity, __FILE__, __LINE__);
  slot.graph = graph;
  size_t nodes = 0;
  KILN_CU_CHECK(driver_, activity, cuGraphGetNodes, graph, nullptr, &nodes);
  slot.nodes = nodes;
  KILN_CU_CHECK(driver_, absl::StrCat("instantiating the graph of ", recording.label),
                cuGraphInstantiateWithFlags, &slot.exec, graph, 0);
  return dispatches;
}

Device::~Device() {
  if (!context_)
    return;
  // Best effort: a lost context fails these calls, and there is no one left to tell.
  driver_.cuCtxSetCurrent(context_);
  if (stream_)
    driver_.cuStreamSynchronize(stream_);
  auto release = [&](Slot &slot) {
    if (slot.exec)
      driver_.cuGraphExecDestroy(slot.exec);
    if (slot.graph)
      driver_.cuGraphDestroy(slot.graph);
    if (slot.started)
      driver_.cuEventDestroy(slot.started);
    if (slot.finished)
      driver_.cuEventDestroy(slot.finished);
    if (slot.staging.data)
      driver_.cuMemFreeHost(slot.staging.data);
    if (slot.readback.data)
      driver_.cuMemFreeHost(slot.readback.data);
  };
  for (std::unique_ptr<Slot> &slot : slots_)
    release(*slot);
  for (CUmodule module : modules_)
    driver_.cuModuleUnload(module);
  for (CUdeviceptr pointer : allocations_)
    driver_.cuMemFree(pointer);
  if (scratchEvent_)
    driver_.cuEventDestroy(scratchEvent_);
  if (stream_)
    driver_.cuStreamDestroy(stream_);
  driver_.cuDevicePrimaryCtxRelease(device_);
}

} // namespace kiln::cuda
