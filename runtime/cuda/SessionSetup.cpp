//===- SessionSetup.cpp - Turning a plan into CUDA objects ----------------===//
//
// Everything a session does once, at creation: retain the device's primary
// context, JIT-load each kernel's PTX, allocate the buffers and the arena,
// upload initial values, and capture each program into a CUDA graph (the
// step twice, once per pinned staging slot). Also the destructor.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/Session.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cstring>

namespace kiln::cuda {

namespace {

/// Pinned staging regions start at multiples of this, so copies stay aligned.
constexpr uint64_t kStagingAlignment = 16;
/// Bytes of the JIT's error and info logs kept for messages.
constexpr size_t kJitLogBytes = 8192;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string describeBytes(uint64_t bytes) {
  return absl::StrCat(bytes, " bytes (", absl::StrFormat("%.1f", bytes / 1048576.0), " MiB)");
}

} // namespace

absl::Status Session::openContext(CUdevice device) {
  cuDevice_ = device;
  std::string activity = absl::StrCat("device ", device_.index, " ('", device_.name, "')");
  KILN_CU_CHECK(driver_, activity, cuDevicePrimaryCtxRetain, &context_, device);
  KILN_CU_CHECK(driver_, activity, cuCtxSetCurrent, context_);
  KILN_CU_CHECK(driver_, absl::StrCat("the stream of ", activity), cuStreamCreate, &stream_,
                CU_STREAM_NON_BLOCKING);
  KILN_CU_CHECK(driver_, "the session's scratch event", cuEventCreate, &scratchEvent_,
                CU_EVENT_DISABLE_TIMING);
  return absl::OkStatus();
}

absl::Status Session::loadKernels() {
  for (const plan::Kernel &kernel : plan_.kernels()) {
    absl::StatusOr<int> chosen = selectPtxCode(kernel, device_.computeMajor, device_.computeMinor);
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

absl::Status Session::allocateBuffers() {
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
  uint64_t arenaBytes = plan_.memory().arena_bytes();
  if (arenaBytes > 0) {
    absl::StatusOr<CUdeviceptr> allocated = allocate(arenaBytes, "the transient arena");
    if (!allocated.ok())
      return allocated.status();
    arena = *allocated;
    arenaAllocationBytes_ = arenaBytes;
  }
  addresses_.assign(plan_.buffers_size(), 0);
  for (int index = 0; index < plan_.buffers_size(); ++index) {
    const plan::Buffer &buffer = plan_.buffers(index);
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
    if (buffer.role() == plan::BUFFER_ROLE_TRANSIENT)
      transientOutsideArenaBytes_ += buffer.size_bytes();
  }
  return absl::OkStatus();
}

absl::Status Session::uploadInitialValues() {
  std::string activity = "uploading initial values";
  // Zero everything but variables and constants once, so runs are deterministic even if a
  // kernel reads a transient before writing it; then upload (stream order: after the zeroing).
  for (int index = 0; index < plan_.buffers_size(); ++index) {
    const plan::Buffer &buffer = plan_.buffers(index);
    if (buffer.role() == plan::BUFFER_ROLE_VARIABLE ||
        buffer.role() == plan::BUFFER_ROLE_CONSTANT || buffer.in_arena())
      continue;
    KILN_CU_CHECK(driver_, absl::StrCat("zeroing buffer '", buffer.name(), "'"), cuMemsetD8Async,
                  address(index), 0, buffer.size_bytes(), stream_);
  }
  if (arenaAllocationBytes_ > 0)
    KILN_CU_CHECK(driver_, "zeroing the transient arena", cuMemsetD8Async, allocations_.front(), 0,
                  arenaAllocationBytes_, stream_);
  // The host values must outlive the asynchronous copies: keep them until the stream drains.
  std::vector<HostTensor> values;
  values.reserve(plan_.variables_size());
  for (const plan::Variable &variable : plan_.variables()) {
    values.push_back(plan::initialValue(variable));
    KILN_CU_CHECK(driver_, absl::StrCat("initialising variable '", variable.tensor().name(), "'"),
                  cuMemcpyHtoDAsync, address(variable.tensor().buffer()),
                  values.back().bytes().data(), values.back().sizeInBytes(), stream_);
  }
  for (int index = 0; index < plan_.buffers_size(); ++index) {
    const plan::Buffer &buffer = plan_.buffers(index);
    if (buffer.role() == plan::BUFFER_ROLE_CONSTANT)
      KILN_CU_CHECK(driver_, absl::StrCat("uploading constant '", buffer.name(), "'"),
                    cuMemcpyHtoDAsync, address(index), buffer.constant_data().data(),
                    buffer.constant_data().size(), stream_);
  }
  ++otherSubmits_;
  return drainStream(activity);
}

absl::Status Session::createSlot(Slot &slot, Program &program, const std::string &label) {
  auto pin = [&](PinnedBuffer &buffer, uint64_t size, const std::string &what) -> absl::Status {
    buffer.size = std::max<uint64_t>(size, kStagingAlignment);
    KILN_CU_CHECK(driver_, absl::StrCat(what, " of ", label, ", ", describeBytes(buffer.size)),
                  cuMemAllocHost, &buffer.data, buffer.size);
    std::memset(buffer.data, 0, buffer.size);
    return absl::OkStatus();
  };
  KILN_RETURN_IF_ERROR(pin(slot.staging, program.stagingSize, "pinned input staging"));
  KILN_RETURN_IF_ERROR(pin(slot.readback, program.readbackSize, "pinned output readback"));
  KILN_CU_CHECK(driver_, absl::StrCat("the start event of ", label), cuEventCreate, &slot.started,
                CU_EVENT_DEFAULT);
  KILN_CU_CHECK(driver_, absl::StrCat("the end event of ", label), cuEventCreate, &slot.finished,
                CU_EVENT_DEFAULT);
  return captureProgram(program, slot, label);
}

absl::Status Session::captureProgram(Program &program, Slot &slot, const std::string &label) {
  std::string activity = absl::StrCat("capturing ", label);
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
    uint64_t dispatches = 0;
    for (size_t position = 0; position < program.view.inputs.size(); ++position) {
      const plan::TensorSpec &tensor = plan_.inputs(program.view.inputs[position]).tensor();
      KILN_CU_CHECK(driver_, absl::StrCat(activity, ": input '", tensor.name(), "'"),
                    cuMemcpyHtoDAsync, address(tensor.buffer()),
                    slot.staging.bytes() + program.inputOffsets[position],
                    plan::tensorByteSize(tensor), stream_);
    }
    const plan::Step &step = *program.view.step;
    for (int index = 0; index < step.commands_size(); ++index) {
      const plan::Command &command = step.commands(index);
      if (command.has_dispatch()) {
        const plan::Dispatch &dispatch = command.dispatch();
        const plan::Kernel &kernel = plan_.kernels(dispatch.kernel());
        std::vector<CUdeviceptr> pointers;
        for (uint32_t buffer : dispatch.buffers())
          pointers.push_back(address(buffer));
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
                                   plan_.buffers(copy.src_buffer()).name(), "' -> '",
                                   plan_.buffers(copy.dst_buffer()).name(), "'"),
                      cuMemcpyDtoDAsync, address(copy.dst_buffer()), address(copy.src_buffer()),
                      copy.size_bytes(), stream_);
      }
      // A barrier needs nothing: the stream runs the commands one after another.
    }
    for (size_t position = 0; position < program.view.outputs.size(); ++position) {
      const plan::TensorSpec &tensor = plan_.outputs(program.view.outputs[position]).tensor();
      KILN_CU_CHECK(driver_, absl::StrCat(activity, ": output '", tensor.name(), "'"),
                    cuMemcpyDtoHAsync, slot.readback.bytes() + program.outputOffsets[position],
                    address(tensor.buffer()), plan::tensorByteSize(tensor), stream_);
    }
    program.dispatches = dispatches;
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
  program.graphNodes = nodes;
  KILN_CU_CHECK(driver_, absl::StrCat("instantiating the graph of ", label),
                cuGraphInstantiateWithFlags, &slot.exec, graph, 0);
  return absl::OkStatus();
}

absl::Status Session::createSlots() {
  for (Program &program : programs_) {
    for (uint32_t input : program.view.inputs) {
      program.inputOffsets.push_back(program.stagingSize);
      program.stagingSize =
          alignUp(program.stagingSize + plan::tensorByteSize(plan_.inputs(input).tensor()),
                  kStagingAlignment);
    }
    for (uint32_t output : program.view.outputs) {
      program.outputOffsets.push_back(program.readbackSize);
      program.readbackSize =
          alignUp(program.readbackSize + plan::tensorByteSize(plan_.outputs(output).tensor()),
                  kStagingAlignment);
    }
  }
  for (uint32_t index = 0; index < slots_.size(); ++index) {
    KILN_RETURN_IF_ERROR(
        createSlot(slots_[index], programs_.front(), absl::StrCat("step slot ", index)));
    ++recordedSteps_;
  }
  for (size_t index = 1; index < programs_.size(); ++index) {
    Program &program = programs_[index];
    KILN_RETURN_IF_ERROR(
        createSlot(program.slot, program, absl::StrCat("program '", program.view.name, "'")));
    ++recordedPrograms_;
  }
  return absl::OkStatus();
}

Session::~Session() {
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
  for (Slot &slot : slots_)
    release(slot);
  for (Program &program : programs_)
    release(program.slot);
  for (CUmodule module : modules_)
    driver_.cuModuleUnload(module);
  for (CUdeviceptr pointer : allocations_)
    driver_.cuMemFree(pointer);
  if (scratchEvent_)
    driver_.cuEventDestroy(scratchEvent_);
  if (stream_)
    driver_.cuStreamDestroy(stream_);
  driver_.cuDevicePrimaryCtxRelease(cuDevice_);
}

} // namespace kiln::cuda
