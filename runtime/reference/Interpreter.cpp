//===- Interpreter.cpp - Runs one instruction of the plan ----------------===//
//
// The dispatch from an instruction to its kernel: one switch per op, never per
// element. Slots hold T for floats, int32_t for labels and one byte per mask
// element.
//
//===----------------------------------------------------------------------===//

#include "Plan.h"

#include "absl/strings/str_cat.h"
#include "llvm/ADT/SmallVector.h"

#include <cstring>

namespace kiln::reference {
namespace {

template <typename T> T *data(HostTensor &tensor) {
  return reinterpret_cast<T *>(tensor.bytes().data());
}

} // namespace

template <typename T> absl::Status execute(const Instruction &instruction, Plan &plan) {
  std::vector<HostTensor> &slots = plan.slots;
  auto operand = [&](size_t i) -> HostTensor & { return slots[instruction.operands[i]]; };
  HostTensor &result = slots[instruction.result];
  switch (instruction.kind) {
  case OpKind::kRead: {
    const HostTensor &value = plan.variables[instruction.variable].value;
    std::memcpy(result.bytes().data(), value.bytes().data(), value.sizeInBytes());
    return absl::OkStatus();
  }
  case OpKind::kElementwise: {
    llvm::SmallVector<const T *, 3> operands;
    for (size_t i = 0; i < instruction.operands.size(); ++i)
      operands.push_back(data<T>(operand(i)));
    instruction.elementwise.run(operands.data(), data<T>(result), instruction.count);
    return absl::OkStatus();
  }
  case OpKind::kCompare:
    compare(instruction.compare, data<T>(operand(0)), data<T>(operand(1)), data<uint8_t>(result),
            instruction.count);
    return absl::OkStatus();
  case OpKind::kSelect:
    select(data<uint8_t>(operand(0)), data<T>(operand(1)), data<T>(operand(2)), data<T>(result),
           instruction.count);
    return absl::OkStatus();
  case OpKind::kStridedCopy:
    stridedCopy(data<T>(operand(0)), data<T>(result), instruction.strided);
    return absl::OkStatus();
  case OpKind::kReshape:
    std::memcpy(result.bytes().data(), operand(0).bytes().data(), result.sizeInBytes());
    return absl::OkStatus();
  case OpKind::kReduce:
    reduce(instruction.reduce, data<T>(operand(0)), data<T>(result), instruction.reduction);
    return absl::OkStatus();
  case OpKind::kMatmul: {
    T *lhsScratch = instruction.lhsScratch < 0 ? nullptr : data<T>(slots[instruction.lhsScratch]);
    T *rhsScratch = instruction.rhsScratch < 0 ? nullptr : data<T>(slots[instruction.rhsScratch]);
    matmul(data<T>(operand(0)), data<T>(operand(1)), data<T>(result), instruction.matmul,
           lhsScratch, rhsScratch);
    return absl::OkStatus();
  }
  case OpKind::kSoftmax:
  case OpKind::kLogSoftmax:
    softmax(instruction.kind == OpKind::kLogSoftmax, data<T>(operand(0)), data<T>(result),
            instruction.axis);
    return absl::OkStatus();
  case OpKind::kOneHot:
    oneHot(data<int32_t>(operand(0)), data<T>(result), instruction.count, instruction.axis.size);
    return absl::OkStatus();
  case OpKind::kSoftmaxCrossEntropy:
    return softmaxCrossEntropy(data<T>(operand(0)), data<int32_t>(operand(1)), data<T>(result),
                               instruction.axis, instruction.where);
  case OpKind::kConv2d:
    conv2d(data<T>(operand(0)), data<T>(operand(1)), data<T>(result), instruction.conv);
    return absl::OkStatus();
  case OpKind::kConv2dInputGrad:
    conv2dInputGrad(data<T>(operand(0)), data<T>(operand(1)), data<T>(result), instruction.conv);
    return absl::OkStatus();
  case OpKind::kConv2dWeightGrad:
    conv2dWeightGrad(data<T>(operand(0)), data<T>(operand(1)), data<T>(result), instruction.conv);
    return absl::OkStatus();
  case OpKind::kDropoutMask:
    dropoutMask(data<T>(operand(0)), data<uint8_t>(result), instruction.count, instruction.dropout);
    return absl::OkStatus();
  case OpKind::kWindowCopy: {
    std::vector<const T *> operands;
    for (size_t i = 0; i < instruction.operands.size(); ++i)
      operands.push_back(data<T>(operand(i)));
    windowCopy(operands, data<T>(result), instruction.window);
    return absl::OkStatus();
  }
  case OpKind::kIota:
    iota(data<T>(result), instruction.iota);
    return absl::OkStatus();
  case OpKind::kAttention: {
    auto slot = [&](size_t r) { return data<T>(slots[instruction.results[r]]); };
    attention(data<T>(operand(0)), data<T>(operand(1)), data<T>(operand(2)), slot(0), slot(1),
              instruction.attention);
    return absl::OkStatus();
  }
  case OpKind::kAttentionGrad: {
    auto slot = [&](size_t r) { return data<T>(slots[instruction.results[r]]); };
    attentionGrad(data<T>(operand(0)), data<T>(operand(1)), data<T>(operand(2)),
                  data<T>(operand(3)), data<T>(operand(4)), data<T>(operand(5)),
                  data<T>(operand(6)), slot(0), slot(1), slot(2), instruction.attention);
    return absl::OkStatus();
  }
  case OpKind::kGather:
    gather(data<T>(operand(0)), data<int32_t>(operand(1)), data<T>(result), instruction.index);
    return absl::OkStatus();
  case OpKind::kScatterAdd:
    scatterAdd(data<T>(operand(0)), data<int32_t>(operand(1)), data<T>(result), instruction.index);
    return absl::OkStatus();
  case OpKind::kMse:
    meanSquaredError(data<T>(operand(0)), data<T>(operand(1)), data<T>(result), instruction.count);
    return absl::OkStatus();
  }
  return absl::InternalError(absl::StrCat("reference device: ", instruction.where,
                                          " has an instruction kind the interpreter lacks"));
}

template absl::Status execute<float>(const Instruction &, Plan &);
template absl::Status execute<double>(const Instruction &, Plan &);

} // namespace kiln::reference
