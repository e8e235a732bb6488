//===- PlanValidation.h - Semantic checks and queries on plans --*- C++ -*-===//
//
// The rules a plan must satisfy beyond parsing (every index in range, every
// size consistent, every output owned by one program), checked once at load so
// runtimes can index without re-checking, plus the small queries runtimes need
// to interpret a plan (its programs with their resolved input/output lists).
// The rules are documented next to each field in plan.proto.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PLANVALIDATION_H
#define KILN_RUNTIME_PLANVALIDATION_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::plan {

/// Checks every rule of plan.proto. Returns OK or InvalidArgument with a message naming the
/// first offending element (e.g. "step command 4 (dispatch of kernel 'add'): binding 1 names
/// buffer 9 but the plan has 6 buffers"). A plan that passes can be indexed without checks.
absl::Status validatePlan(const Plan &plan);

/// The part of validatePlan that checks native CPU code (CpuPlanValidation.cpp): with
/// TARGET_CPU, an image for x86-64-v3 and, in every kernel, one entry per image; wherever
/// present, known unique ISAs, non-empty code with a 32-byte sha256, entries naming an image
/// with offsets inside its code, tile counts >= 1 and bounded scratch. The loader
/// (runtime/cpu) checks the hash and the ELF itself.
absl::Status validateCpuCode(const Plan &plan);

/// The ISA every plan targeting cpu carries an image for.
inline constexpr char kBaselineCpuIsa[] = "x86-64-v3";

/// The program name of Plan.step.
inline constexpr char kTrainProgram[] = "train";

/// One program of a plan with its input and output lists resolved.
struct ProgramView {
  std::string name;              ///< "train" for Plan.step, else Step.name.
  const Step *step = nullptr;    ///< Points into the plan; valid while the plan lives.
  std::vector<uint32_t> inputs;  ///< Indices into Plan.inputs the program stages, as listed.
  std::vector<uint32_t> outputs; ///< Indices into Plan.outputs the program reads back.
};

/// The programs of a plan that passed validatePlan: the training step first (named "train"),
/// then Plan.programs in order. Empty (legacy) lists of Plan.step are expanded: every input,
/// and every output that no other program lists, in plan order.
std::vector<ProgramView> planPrograms(const Plan &plan);

/// Which bindings `kernel` writes, as the plan records it: bindings 0..output_bindings-1 (the
/// exec plan's declared accesses, which the serializer prints). A plan written before
/// output_bindings existed records none; its kernels are read from their SPIR-V
/// (kernelWrittenBindings, PlanChecker.h). `kiln inspect` and the exec importer ask this.
std::vector<bool> declaredWrittenBindings(const Kernel &kernel);

/// "vulkan", "cuda", "cpu" or "unspecified".
const char *targetName(Target target);
/// The plan's targets as "vulkan, cuda", or "no target" when it lists none (for messages).
std::string targetNames(const Plan &plan);

/// True if `plan.metadata().targets` lists `target`.
bool hasTarget(const Plan &plan, Target target);

/// The host dtype of a plan dtype; InvalidArgument for DTYPE_UNSPECIFIED.
absl::StatusOr<kiln::DType> hostDType(DType dtype);
/// The plan dtype of a host dtype.
DType planDType(kiln::DType dtype);

/// Elements x element size of `tensor` (a validated plan's tensors never overflow).
uint64_t tensorByteSize(const TensorSpec &tensor);
/// tensorByteSize rounded up to a multiple of 4: the size of the tensor's buffer.
uint64_t tensorBufferSize(const TensorSpec &tensor);

/// "f32[128x784]" for messages.
std::string describeTensor(const TensorSpec &tensor);

} // namespace kiln::plan

#endif // KILN_RUNTIME_PLANVALIDATION_H
